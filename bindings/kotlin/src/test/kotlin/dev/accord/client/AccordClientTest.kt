package dev.accord.client

import dev.accord.AccordConfig
import dev.accord.AccordException
import dev.accord.ChangeEvent
import dev.accord.ChangeOrigin
import dev.accord.ConflictResolution
import dev.accord.LogLine
import dev.accord.ServerConfig
import dev.accord.SyncOutcome
import dev.accord.SyncSettings
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** The Kotlin layer against a real `accord serve` on loopback. */
class AccordClientTest : ServerTest() {
    private fun AccordClient.syncDone(): dev.accord.SyncReport = runBlocking {
        sync().also { assertEquals(SyncOutcome.Done, it.outcome, "sync: ${it.reason}") }
    }

    @Test
    fun offlineEditsOnTwoDevicesConverge() = runBlocking {
        val phone = device("phone")
        val laptop = device("laptop")
        phone.notes().put(Note("shared", "Groceries", "milk\neggs\n"))
        phone.syncDone()
        laptop.syncDone()

        // Offline: each device edits its own note and a different part of the shared one.
        phone.notes().put(Note("p1", "From the phone"))
        laptop.notes().put(Note("l1", "From the laptop"))
        phone.notes().put(Note("shared", "Groceries for Sunday", "milk\neggs\n"))
        laptop.notes().put(Note("shared", "Groceries", "milk\neggs\nbread\n"))

        phone.syncDone()
        val merging = laptop.syncDone()
        phone.syncDone()

        assertTrue(merging.merged >= 1, "the laptop merged the shared note: $merging")
        val onPhone = phone.notes().all()
        assertEquals(onPhone, laptop.notes().all())
        assertEquals(listOf("l1", "p1", "shared"), onPhone.map { it.id })
        val shared = onPhone.single { it.id == "shared" }
        assertEquals("Groceries for Sunday", shared.title)
        assertEquals("milk\neggs\nbread\n", shared.body)
        assertEquals(0, phone.pendingMutations())
        assertEquals(0, laptop.pendingMutations())
    }

    @Test
    fun observeEmitsOnLocalAndSyncedChanges() = runBlocking {
        val phone = device("phone")
        val laptop = device("laptop")
        val events = Channel<ChangeEvent>(Channel.UNLIMITED)
        val registered = CompletableDeferred<Unit>()
        val watcher = launch {
            laptop.changes("notes") { registered.complete(Unit) }.collect { events.send(it) }
        }
        val lists = Channel<List<Note>>(Channel.UNLIMITED)
        val listWatcher = launch { laptop.notes().observeAll().collect { lists.send(it) } }
        withTimeout(10_000) { registered.await() }
        assertEquals(emptyList(), withTimeout(10_000) { lists.receive() })

        laptop.notes().put(Note("local", "Written here"))
        val local = withTimeout(10_000) { events.receive() }
        assertEquals(ChangeEvent("notes", listOf("local"), ChangeOrigin.LOCAL), local)
        assertEquals(listOf("local"), withTimeout(10_000) { lists.receive() }.map { it.id })

        phone.notes().put(Note("remote", "Written on the phone"))
        phone.syncDone()
        laptop.syncDone()
        val synced = withTimeout(10_000) { events.receive() }
        assertEquals(ChangeOrigin.SYNC, synced.origin)
        assertEquals(listOf("remote"), synced.ids)
        // The list flow is conflated: wait for the list that has both notes.
        withTimeout(10_000) {
            while (lists.receive().map { it.id } != listOf("local", "remote")) Unit
        }

        // Writes to other collections are not this collection's changes.
        laptop.put("settings", "theme", """{"dark":true}""")
        laptop.notes().delete("local")
        val deleted = withTimeout(10_000) { events.receive() }
        assertEquals(ChangeEvent("notes", listOf("local"), ChangeOrigin.LOCAL), deleted)
        watcher.cancel()
        listWatcher.cancel()
    }

    @Test
    fun errorsArriveAsTypedExceptionsWithMessages() = runBlocking {
        val phone = device("phone")
        val bad = assertThrows<AccordException.InvalidInput> {
            runBlocking { phone.put("notes", "n1", "{not json") }
        }
        assertTrue(bad.message!!.contains("not valid JSON"), bad.message)
        val notObject = assertThrows<AccordException.InvalidInput> {
            runBlocking { phone.put("notes", "n1", "[1, 2]") }
        }
        assertTrue(notObject.message!!.contains("a record is a JSON object"), notObject.message)
        val noId = assertThrows<AccordException.InvalidInput> {
            runBlocking { phone.put("notes", "", "{}") }
        }
        assertTrue(noId.message!!.contains("record id"), noId.message)
        val noPath = assertThrows<AccordException.InvalidInput> {
            runBlocking { AccordClient.open(AccordConfig(path = " ")) }
        }
        assertTrue(noPath.message!!.contains("config.path is empty"), noPath.message)

        // A sync problem is an outcome, not an exception: a bad token will not get better.
        val stranger = AccordClient.open(
            AccordConfig(
                path = server.dir.resolve("stranger.db").toString(),
                server = ServerConfig(server.url, "acc_not-a-token", server.space),
            ),
        ).also { opened += it }
        val refused = stranger.sync()
        assertIs<SyncOutcome.Failure>(refused.outcome)
        assertEquals(SyncDecision.FAILURE, refused.decision)
        assertTrue(refused.reason!!.isNotBlank())

        // No server listening: transient, so WorkManager should retry.
        val unreachable = AccordClient.open(
            AccordConfig(
                path = server.dir.resolve("offline.db").toString(),
                server = ServerConfig("http://127.0.0.1:1", "acc_x", server.space),
                sync = SyncSettings(retryBudgetMs = 300, backoffBaseMs = 10, backoffCapMs = 50),
            ),
        ).also { opened += it }
        val offline = unreachable.sync()
        assertIs<SyncOutcome.Retry>(offline.outcome, offline.reason)
        assertEquals(SyncDecision.RETRY, offline.decision)

        val local = AccordClient.open(AccordConfig(path = server.dir.resolve("local.db").toString()))
            .also { opened += it }
        val noServer = local.sync()
        assertIs<SyncOutcome.Failure>(noServer.outcome)
        assertTrue(noServer.reason!!.contains("no server configured"), noServer.reason)
    }

    @Test
    fun interruptStopsARunningSync() = runBlocking {
        val phone = device("phone")
        phone.notes().putAll((1..2_000).map { Note("n$it", "Note $it") })
        phone.syncDone()

        // Small pages, so the pull takes many steps and the interrupt lands between two.
        val laptop = device("laptop", SyncSettings(pageLimit = 50))
        val stopped = laptop.sync { laptop.interrupt() }
        assertEquals(SyncOutcome.Cancelled, stopped.outcome)
        assertEquals(SyncDecision.RETRY, stopped.decision)
        assertTrue(stopped.pulled in 1..1_999, "stopped part way: pulled ${stopped.pulled}")

        // Nothing was half-done: the next sync picks up where it stopped (a page is
        // applied with its cursor, so the pages before the interrupt are not sent again).
        val resumed = laptop.syncDone()
        assertTrue(resumed.pulled < 2_000, "resumed, not restarted: pulled ${resumed.pulled}")
        assertEquals(2_000, laptop.notes().all().size)
    }

    @Test
    fun cancellingTheCoroutineInterruptsTheSync() = runBlocking {
        val phone = device("phone")
        phone.notes().putAll((1..2_000).map { Note("n$it", "Note $it") })
        phone.syncDone()
        val laptop = device("laptop", SyncSettings(pageLimit = 50))
        val firstProgress = CompletableDeferred<Unit>()
        val job = launch { laptop.sync { firstProgress.complete(Unit) } }
        withTimeout(10_000) { firstProgress.await() }
        // What WorkManager does when a worker is stopped: cancel its coroutine.
        withTimeout(10_000) { job.cancel(); job.join() }
        assertTrue(job.isCancelled)
        assertTrue(laptop.notes().all().size < 2_000, "the pull stopped part way")
        laptop.syncDone()
        assertEquals(2_000, laptop.notes().all().size)
    }

    @Test
    fun closeTwiceIsSafe() = runBlocking {
        val phone = device("phone")
        phone.notes().put(Note("n1", "Kept"))
        val registered = CompletableDeferred<Unit>()
        val ended = launch { phone.changes(null) { registered.complete(Unit) }.toList() }
        withTimeout(10_000) { registered.await() }
        phone.close()
        phone.close()
        assertTrue(phone.isClosed)
        // Observing flows complete instead of hanging.
        withTimeout(10_000) { ended.join() }
        val closed = assertThrows<AccordException.Closed> { runBlocking { phone.notes().all() } }
        assertTrue(closed.message!!.contains("closed"), closed.message)
        assertIs<SyncOutcome.Failure>(phone.sync().outcome)
        phone.interrupt() // a no-op, not a crash

        // The data is on disk: the same file opens again with the note in it.
        val again = AccordClient.open(AccordConfig(path = server.dir.resolve("phone.db").toString()))
        again.use { assertEquals(Note("n1", "Kept"), it.notes().get("n1")) }
        again.close()
    }

    @Test
    fun aThousandRecordsRoundTripInOneBatch() = runBlocking {
        val phone = device("phone")
        val laptop = device("laptop")
        val notes = (1..1_000).map { i ->
            Note("n%04d".format(i), "Note $i", "line $i\n".repeat(3), listOf("t${i % 7}"))
        }
        phone.notes().putAll(notes)
        assertEquals(notes, phone.notes().all())
        assertEquals(1_000, phone.pendingMutations())

        val pushed = phone.syncDone()
        assertEquals(1_000L, pushed.pushed)
        val pulled = laptop.syncDone()
        assertEquals(1_000L, pulled.pulled)
        assertEquals(notes, laptop.notes().all())

        val tagged = laptop.notes().where("title", "Note 42")
        assertEquals(listOf(notes[41]), tagged)
        val page = laptop.notes().query(orderBy = "title", descending = true, limit = 3)
        assertEquals(listOf("Note 999", "Note 998", "Note 997"), page.map { it.title })
        assertNull(laptop.notes().get("missing"))
        assertFalse(laptop.notes().delete("missing"))
        assertEquals(laptop.notes().all().first().id, laptop.notes().observeAll().first().first().id)
    }

    @Test
    fun overlappingEditsAreLoggedAndCanBeResolvedToEitherSide() = runBlocking {
        val phone = device("phone")
        // A model file that is not there: merges fall back, and the report says why.
        val missingModel = server.dir.resolve("no-such-model.gguf").toString()
        val laptop = AccordClient.open(
            server.device("laptop", server.user("laptop")).copy(modelPath = missingModel),
        ).also { opened += it }
        phone.notes().put(Note("list", "Shopping", "milk\n"))
        phone.syncDone()
        laptop.syncDone()
        phone.notes().put(Note("list", "Shopping", "oat milk\n"))
        laptop.notes().put(Note("list", "Shopping", "soy milk\n"))
        phone.syncDone()
        val report = laptop.syncDone()

        assertTrue(report.modelError!!.contains("no-such-model.gguf"), report.modelError)
        val note = report.merges.single { it.id == "list" }
        val logged = laptop.conflicts(openOnly = false).single { it.conflictId == note.conflictId }
        assertTrue(logged.localJson!!.contains("soy milk"), logged.localJson)
        assertTrue(logged.remoteJson!!.contains("oat milk"), logged.remoteJson)

        laptop.resolveConflict(note.conflictId, ConflictResolution.UseLocal)
        assertEquals("soy milk\n", laptop.notes().get("list")!!.body)
        assertTrue(laptop.conflicts(openOnly = true).none { it.conflictId == note.conflictId })
        // The restored side is a local edit: it syncs to the phone.
        laptop.syncDone()
        phone.syncDone()
        assertEquals("soy milk\n", phone.notes().get("list")!!.body)

        val unknown = assertThrows<AccordException> {
            runBlocking { laptop.resolveConflict(9_999, ConflictResolution.KeepMerged) }
        }
        assertTrue(unknown.message!!.isNotBlank())
    }

    @Test
    fun capturedLogLinesAreUploadedAtSync() = runBlocking {
        val phone = device("phone")
        phone.log("ERROR", "db", "write took 900 ms")
        phone.logAll((1..99).map { LogLine("INFO", "net", "request $it took ${it * 3} ms") })
        val report = phone.syncDone()
        assertNull(report.logsError)
        assertEquals(100L, report.logsUploaded)
    }
}
