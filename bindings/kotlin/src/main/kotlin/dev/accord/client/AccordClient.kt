package dev.accord.client

import dev.accord.Accord
import dev.accord.AccordConfig
import dev.accord.AccordException
import dev.accord.AccordRecord
import dev.accord.ChangeEvent
import dev.accord.ChangeObserver
import dev.accord.Conflict
import dev.accord.ConflictResolution
import dev.accord.LogLine
import dev.accord.OpenReport
import dev.accord.RecordData
import dev.accord.RecordQuery
import dev.accord.SyncOutcome
import dev.accord.SyncProgress
import dev.accord.SyncProgressListener
import dev.accord.SyncReport
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.SendChannel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.coroutineScope
import dev.accord.SyncPhase
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.onSubscription
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.serialization.KSerializer
import kotlinx.serialization.json.Json

/**
 * Accord for Kotlin: a local store that syncs, with `suspend` calls and `Flow`s.
 *
 * Every call runs the blocking native call on [dispatcher] (`Dispatchers.IO` by default),
 * so nothing blocks the caller's thread. Calls are coarse on purpose: one native call
 * costs 5-30 µs of CPU, so write many records with [putMany] or
 * [RecordCollection.putAll], never one call per record in a loop.
 *
 * Errors arrive as [AccordException] subclasses (`InvalidInput`, `Database`, `DiskFull`,
 * `SchemaTooNew`, `Interrupted`, `Closed`, `Callback`) whose `message` says what to do.
 * [sync] does not throw for a failed sync: how it ended is in [SyncReport.outcome].
 *
 * [close] stops a running sync, flushes logs, completes every observing flow and
 * releases the native object; calling it again does nothing.
 */
class AccordClient private constructor(
    private val native: Accord,
    private val dispatcher: CoroutineDispatcher,
) : AutoCloseable {

    private val closed = AtomicBoolean(false)
    private val observingFlows = ConcurrentHashMap.newKeySet<SendChannel<ChangeEvent>>()
    private val status = MutableStateFlow(SyncStatus())

    /** Ticks when the conflict log may have changed: a sync ended, a conflict was resolved. */
    private val conflictLogChanged =
        MutableSharedFlow<Unit>(extraBufferCapacity = 1, onBufferOverflow = BufferOverflow.DROP_OLDEST)

    companion object {
        /**
         * Opens (creating and migrating as needed) the store described by [config].
         * With [credentials], each sync asks it for the token (and again after the server
         * refuses one), so a renewed token is used without reopening; `config.server`
         * then names the URL and space only, its `token` left empty.
         */
        suspend fun open(
            config: AccordConfig,
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
            credentials: TokenProvider? = null,
        ): AccordClient = withContext(dispatcher) { openBlocking(config, dispatcher, credentials) }

        /** [open] for callers that are not in a coroutine (an Android `Application`). */
        fun openBlocking(
            config: AccordConfig,
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
            credentials: TokenProvider? = null,
        ): AccordClient = AccordClient(
            if (credentials == null) Accord.open(config)
            else Accord.openWithCredentials(config, NativeTokenProvider(credentials)),
            dispatcher,
        )

        /** The JSON settings used for typed records: unknown fields are kept by the
         * store and ignored when decoding, defaults are written. */
        val json: Json = Json {
            ignoreUnknownKeys = true
            encodeDefaults = true
        }
    }

    /** This device's id. */
    val deviceId: String by lazy { native.deviceId() }

    /** What happened when the store was opened (a migration, a corrupt file moved aside). */
    val openReport: OpenReport by lazy { native.openReport() }

    /** True once [close] was called. */
    val isClosed: Boolean get() = closed.get()

    private suspend fun <T> io(block: (Accord) -> T): T {
        checkOpen()
        return withContext(dispatcher) {
            checkOpen()
            block(native)
        }
    }

    private fun checkOpen() {
        if (closed.get()) throw AccordException.Closed("this Accord instance is closed")
    }

    /** A typed view of [collection]: records are encoded with [serializer], keyed by [idOf]. */
    fun <T> collection(
        collection: String,
        serializer: KSerializer<T>,
        idOf: (T) -> String,
    ): RecordCollection<T> = RecordCollection(this, collection, serializer, idOf)

    /** Creates or replaces one record; [json] must be a JSON object. */
    suspend fun put(collection: String, id: String, json: String) =
        io { it.put(collection, id, json) }

    /** Creates or replaces many records in one transaction and one native call. */
    suspend fun putMany(collection: String, records: List<RecordData>) =
        io { it.putMany(collection, records) }

    /** A live record, or `null`. */
    suspend fun get(collection: String, id: String): AccordRecord? = io { it.get(collection, id) }

    /** Deletes a record; false when there was nothing to delete. */
    suspend fun delete(collection: String, id: String): Boolean = io { it.delete(collection, id) }

    /** Every live record of [collection], by id. */
    suspend fun list(collection: String): List<AccordRecord> = io { it.list(collection) }

    /** Live records matching [query]. */
    suspend fun query(query: RecordQuery): List<AccordRecord> = io { it.query(query) }

    /** Mutations waiting for the server. */
    suspend fun pendingMutations(): Long = io { it.pendingMutations() }

    /**
     * Every committed change to [collection] (all collections when `null`), local or
     * synced, from the moment of collection on. The flow completes when the client is
     * closed; cancelling the collector stops the observer.
     */
    fun changes(collection: String? = null): Flow<ChangeEvent> = changes(collection) {}

    /** [changes], calling [onRegistered] once the native observer is in place: a change
     * committed after that is seen. */
    internal fun changes(collection: String?, onRegistered: suspend () -> Unit): Flow<ChangeEvent> =
        callbackFlow {
            checkOpen()
            val observer = object : ChangeObserver {
                // Runs on the writer's or the sync's thread: hand over and return at once.
                override fun onChange(event: ChangeEvent) {
                    trySend(event)
                }
            }
            val id = withContext(dispatcher) { native.observe(collection, observer) }
            observingFlows.add(channel)
            // close() may have run between checkOpen and add; do not wait forever then.
            if (closed.get()) channel.close()
            onRegistered()
            awaitClose {
                observingFlows.remove(channel)
                if (!closed.get()) runCatching { native.unobserve(id) }
            }
        }.buffer(Channel.UNLIMITED)

    /** Where syncing stands: running or not, pulling or pushing and how far, when the
     * last sync finished, and why the last one did not. Updated by every [sync] of this
     * client (a WorkManager job's included, when it uses the same client). */
    val syncStatus: StateFlow<SyncStatus> = status.asStateFlow()

    /**
     * Runs one sync pass and says how it ended; see [SyncReport.decision] for what to
     * tell WorkManager. Cancelling the calling coroutine interrupts the sync (it stops
     * between steps, nothing half-done). [onProgress] is called on the caller's context,
     * conflated: a slow receiver sees the latest progress, never stalls the sync.
     * [syncStatus] follows the sync as it runs.
     */
    suspend fun sync(onProgress: (suspend (SyncProgress) -> Unit)? = null): SyncReport {
        if (closed.get()) return closedReport()
        status.update { it.copy(downloading = true, uploading = false, downloaded = 0, downloadFraction = null) }
        var report: SyncReport? = null
        try {
            return syncReporting(onProgress).also { report = it }
        } finally {
            status.update { it.finished(report) }
            conflictLogChanged.tryEmit(Unit)
        }
    }

    private fun SyncStatus.progressed(p: SyncProgress) = when (p.phase) {
        SyncPhase.PULL -> copy(
            downloading = true, uploading = false, downloaded = p.done,
            downloadFraction = p.total?.takeIf { it > 0 }?.let { (p.done.toFloat() / it).coerceIn(0f, 1f) },
        )
        SyncPhase.PUSH, SyncPhase.LOGS -> copy(downloading = false, uploading = true)
    }

    private fun SyncStatus.finished(report: SyncReport?): SyncStatus {
        val idle = copy(downloading = false, uploading = false)
        return when (val o = report?.outcome) {
            null -> idle // the caller's coroutine was cancelled before a report
            is SyncOutcome.Done -> idle.copy(
                connected = true, lastSyncedAtMs = System.currentTimeMillis(), lastError = null,
                downloadFraction = if (report.pulled > 0) 1f else null,
            )
            is SyncOutcome.Retry -> idle.copy(connected = false, lastError = o.reason)
            // The server answered (a refused token is an answer); the error says why.
            is SyncOutcome.Failure -> idle.copy(connected = report.bytesReceived > 0, lastError = o.reason)
            is SyncOutcome.Cancelled -> idle
        }
    }

    private suspend fun syncReporting(onProgress: (suspend (SyncProgress) -> Unit)?): SyncReport =
        coroutineScope {
            val updates = Channel<SyncProgress>(Channel.CONFLATED)
            val forwarder = onProgress?.let { receive ->
                launch { for (p in updates) receive(p) }
            }
            val finished = AtomicBoolean(false)
            // Turns cancellation of this coroutine (WorkManager stopping the worker)
            // into an interrupt of the native sync.
            val canceller = launch(start = CoroutineStart.UNDISPATCHED) {
                try {
                    awaitCancellation()
                } finally {
                    if (!finished.get()) interrupt()
                }
            }
            try {
                withContext(dispatcher) {
                    native.syncWithProgress(object : SyncProgressListener {
                        override fun onProgress(progress: SyncProgress) {
                            status.update { it.progressed(progress) }
                            if (onProgress != null) updates.trySend(progress)
                        }
                    })
                }
            } finally {
                finished.set(true)
                canceller.cancel()
                updates.close()
                forwarder?.join()
            }
        }

    /**
     * Stops a sync running now at its next step; it then ends [SyncOutcome.Cancelled].
     * Safe from any thread, and on a closed client (it does nothing).
     */
    fun interrupt() {
        if (!closed.get()) runCatching { native.interrupt() }
    }

    /** Logged merges, newest first; only unresolved ones when [openOnly]. */
    suspend fun conflicts(openOnly: Boolean = true): List<Conflict> = io { it.conflicts(openOnly) }

    /**
     * The merges waiting for a person (flagged for review and not yet resolved, newest
     * first), now and again after every sync and every [resolveConflict] of this client:
     * what a "review merges" screen shows. Emits only when the list changed. Merges made
     * without needing anyone are in [conflicts].
     */
    fun openConflicts(): Flow<List<Conflict>> =
        conflictLogChanged.onSubscription { emit(Unit) }
            .conflate()
            .map { conflicts(openOnly = true).filter { it.needsReview } }
            .distinctUntilChanged()

    /** Settles a logged merge and marks it reviewed. */
    suspend fun resolveConflict(conflictId: Long, resolution: ConflictResolution) {
        io { it.resolveConflict(conflictId, resolution) }
        conflictLogChanged.tryEmit(Unit)
    }

    /**
     * Creates (if missing) an index on [field] (a dot-separated path) of [collection], so
     * queries that filter on it or order by it read the index instead of every record of
     * the collection. It pays for a field queried often in a collection of more than a
     * few hundred records; every write of the collection also updates it.
     */
    suspend fun createIndex(collection: String, field: String) =
        io { it.createIndex(collection, field) }

    /** Captures one log line (buffered natively; summarised and uploaded at sync). */
    suspend fun log(level: String, tag: String, message: String) =
        io { it.log(level, tag, message) }

    /** Captures many log lines in one native call. */
    suspend fun logAll(lines: List<LogLine>) = io { it.logMany(lines) }

    /**
     * Stops a running sync, flushes logs, completes the observing flows and releases the
     * native store. Safe to call more than once and from any thread.
     */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        try {
            native.interrupt()
            native.shutdown()
        } finally {
            observingFlows.forEach { it.close() }
            observingFlows.clear()
            // Frees the native object once calls in flight have returned.
            native.close()
        }
    }

    private fun closedReport() = SyncReport(
        outcome = SyncOutcome.Failure("this Accord instance is closed"),
        pulled = 0, applied = 0, pushed = 0, merged = 0, conflicts = 0, pending = 0,
        retries = 0, bytesSent = 0, bytesReceived = 0, elapsedMs = 0, merges = emptyList(),
        logsUploaded = 0, logsError = null, modelError = null, quarantined = emptyList(),
    )
}
