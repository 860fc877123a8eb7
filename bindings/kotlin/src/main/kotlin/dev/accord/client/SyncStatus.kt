package dev.accord.client

/**
 * Where syncing stands, as [AccordClient.syncStatus] publishes it (a `StateFlow`: the
 * latest value at once, then every change), for a status line or an offline banner.
 */
data class SyncStatus(
    /** The last sync reached the server (false before the first one, and after a sync
     * that could not connect). */
    val connected: Boolean = false,
    /** A sync is pushing local changes now. */
    val uploading: Boolean = false,
    /** A sync is pulling server changes now. */
    val downloading: Boolean = false,
    /** Server changes pulled so far by the running sync. */
    val downloaded: Long = 0,
    /** [downloaded] as a fraction (0 to 1) of the changes the server had to send when
     * the pull began; `null` while unknown (before the first page, or a server too old
     * to count). */
    val downloadFraction: Float? = null,
    /** When a sync last finished with everything pulled and pushed, in milliseconds
     * since the Unix epoch; `null` before the first. */
    val lastSyncedAtMs: Long? = null,
    /** Why the last sync did not finish (`null` when it did, or was cancelled). */
    val lastError: String? = null,
) {
    /** A sync is running. */
    val syncing: Boolean get() = uploading || downloading
}
