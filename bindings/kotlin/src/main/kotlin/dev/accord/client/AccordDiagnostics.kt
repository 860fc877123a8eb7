package dev.accord.client

import dev.accord.DiagnosticLevel
import dev.accord.DiagnosticsSink
import dev.accord.installDiagnosticsSink
import dev.accord.removeDiagnosticsSink

/**
 * Accord's own diagnostics (what a sync did, retried, renewed; the HTTP and TLS layers
 * below it), for the app's log: Logcat, Timber.
 *
 * ```
 * AccordDiagnostics.install(DiagnosticLevel.INFO) { level, target, message ->
 *     Log.i("Accord", "$level $target: $message")
 * }
 * ```
 *
 * One sink per process: installing again replaces the sink and its level. Nothing is
 * formatted or sent across the FFI below the level, or at all before [install].
 */
object AccordDiagnostics {
    /**
     * Sends lines at [level] and above to [sink]. The sink runs on the thread that
     * logged (often a sync's): keep it quick. Lines it causes itself are dropped, and an
     * exception it throws is ignored.
     */
    fun install(
        level: DiagnosticLevel = DiagnosticLevel.INFO,
        sink: (level: DiagnosticLevel, target: String, message: String) -> Unit,
    ) {
        installDiagnosticsSink(
            object : DiagnosticsSink {
                override fun log(level: DiagnosticLevel, target: String, message: String) {
                    // Nothing may escape into JNA; the native side ignores a failed sink anyway.
                    try {
                        sink(level, target, message)
                    } catch (_: Throwable) {
                    }
                }
            },
            level,
        )
    }

    /** Stops sending diagnostics. */
    fun remove() = removeDiagnosticsSink()
}
