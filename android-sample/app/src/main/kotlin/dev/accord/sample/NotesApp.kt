package dev.accord.sample

import android.app.Application
import android.content.Context
import android.net.Uri
import android.security.NetworkSecurityPolicy
import dev.accord.AccordConfig
import dev.accord.ServerConfig
import dev.accord.client.AccordClient
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async

/** Whatever holds the process's [AccordClient]: the app, or a test's application. */
interface AccordOwner {
    /** The open client; suspends while the store is being opened (off the main thread). */
    suspend fun accord(): AccordClient
}

/** Holds the one [AccordClient] of the process and schedules background sync. */
class NotesApp : Application(), AccordOwner {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    // Opening reads (and may migrate) the database file: never on the main thread. It
    // starts in onCreate and every caller awaits the same opening.
    private val opening: Deferred<AccordClient> =
        scope.async(Dispatchers.IO, start = CoroutineStart.LAZY) { AccordClient.open(config()) }

    override suspend fun accord(): AccordClient = opening.await()

    override fun onCreate() {
        super.onCreate()
        opening.start()
        SyncScheduler.schedulePeriodic(this)
    }

    private fun config() = AccordConfig(
        path = getDatabasePath(DATABASE).apply { parentFile?.mkdirs() }.path,
        server = BuildConfig.ACCORD_TOKEN.takeIf { it.isNotBlank() }?.let { token ->
            ServerConfig(checkCleartext(BuildConfig.ACCORD_SERVER_URL), token, BuildConfig.ACCORD_SPACE)
        },
    )

    companion object {
        /** The database file; res/xml/backup_rules.xml and data_extraction_rules.xml keep
         * it (device id, outbox) out of backups, so a restored phone is a new device. */
        const val DATABASE = "accord-notes.db"
    }
}

/**
 * Accord's HTTP client is native code, which Android's network security config does not
 * reach: the app applies its cleartext rule (res/xml/network_security_config.xml) itself
 * before handing a plain `http` URL to it.
 */
internal fun checkCleartext(url: String): String {
    val uri = Uri.parse(url)
    val host = uri.host.orEmpty()
    check(uri.scheme != "http" || NetworkSecurityPolicy.getInstance().isCleartextTrafficPermitted(host)) {
        "cleartext HTTP to '$host' is not permitted by network_security_config.xml: use https"
    }
    return url
}

/** The process's Accord, from any context; suspends until the store is open. */
suspend fun Context.accord(): AccordClient = (applicationContext as AccordOwner).accord()
