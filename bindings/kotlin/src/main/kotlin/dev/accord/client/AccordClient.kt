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
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.serialization.KSerializer
import kotlinx.serialization.json.Json

/**
 * Accord for Kotlin: a local store that syncs, with `suspend` calls and `Flow`s.
 *
 * Every call runs the blocking native call on [dispatcher] (`Dispatchers.IO` by default),
 * so nothing blocks the caller's thread. Calls are coarse on purpose: one native call
 * costs tens of microseconds, so write many records with [putMany] or
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

    companion object {
        /** Opens (creating and migrating as needed) the store described by [config]. */
        suspend fun open(
            config: AccordConfig,
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
        ): AccordClient = withContext(dispatcher) { openBlocking(config, dispatcher) }

        /** [open] for callers that are not in a coroutine (an Android `Application`). */
        fun openBlocking(
            config: AccordConfig,
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
        ): AccordClient = AccordClient(Accord.open(config), dispatcher)

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

    /**
     * Runs one sync pass and says how it ended; see [SyncReport.decision] for what to
     * tell WorkManager. Cancelling the calling coroutine interrupts the sync (it stops
     * between steps, nothing half-done). [onProgress] is called on the caller's context,
     * conflated: a slow receiver sees the latest progress, never stalls the sync.
     */
    suspend fun sync(onProgress: (suspend (SyncProgress) -> Unit)? = null): SyncReport {
        if (closed.get()) return closedReport()
        return coroutineScope {
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
                    if (onProgress == null) {
                        native.sync()
                    } else {
                        native.syncWithProgress(object : SyncProgressListener {
                            override fun onProgress(progress: SyncProgress) {
                                updates.trySend(progress)
                            }
                        })
                    }
                }
            } finally {
                finished.set(true)
                canceller.cancel()
                updates.close()
                forwarder?.join()
            }
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

    /** Settles a logged merge and marks it reviewed. */
    suspend fun resolveConflict(conflictId: Long, resolution: ConflictResolution) =
        io { it.resolveConflict(conflictId, resolution) }

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
