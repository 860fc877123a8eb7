package dev.accord.sample

import android.app.Application
import dev.accord.AccordConfig
import dev.accord.ServerConfig
import dev.accord.client.AccordClient

/** Holds the one [AccordClient] of the process and schedules background sync. */
class NotesApp : Application() {

    /** Opened on first use (a disk read), shared by the screens and the sync worker. */
    val accord: AccordClient by lazy {
        AccordClient.openBlocking(
            AccordConfig(
                path = getDatabasePath("accord-notes.db").apply { parentFile?.mkdirs() }.path,
                server = BuildConfig.ACCORD_TOKEN.takeIf { it.isNotBlank() }?.let { token ->
                    ServerConfig(BuildConfig.ACCORD_SERVER_URL, token, BuildConfig.ACCORD_SPACE)
                },
            ),
        )
    }

    override fun onCreate() {
        super.onCreate()
        SyncScheduler.schedulePeriodic(this)
    }
}

/** The process's Accord, from any context. */
val android.content.Context.accord: AccordClient
    get() = (applicationContext as NotesApp).accord
