package dev.accord.client

import dev.accord.AccordException
import dev.accord.ConflictResolution
import dev.accord.SyncOutcome
import dev.accord.SyncSettings
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.Serializable
import kotlinx.serialization.json.JsonNull
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

@Serializable
data class Task(val id: String, val title: String, val due: Int? = null, val status: String = "open")

/** Queries beyond equality, and the flows an app builds its screens on, against a real
 * `accord serve` on loopback. */
class QueriesAndFlowsTest : ServerTest() {
    private fun AccordClient.tasks() = collection("tasks", Task.serializer()) { it.id }

    private suspend fun <T> Channel<T>.next(): T = withTimeout(10_000) { receive() }

    @Test
    fun rangeInAndPrefixFiltersSelectByJsonFields() = runBlocking {
        val phone = device("phone")
        phone.tasks().putAll(
            listOf(
                Task("t1", "Buy milk", due = 3),
                Task("t2", "Buy bread", due = 1, status = "done"),
                Task("t3", "Call Bob", due = 7),
                Task("t4", "buy stamps", due = 5, status = "snoozed"),
                Task("t5", "Plan trip"),
            ),
        )
        phone.tasks().createIndex("due")
        val soon = phone.tasks().query(where = listOf(field("due") lt 5), orderBy = "due")
        assertEquals(listOf("t2", "t1"), soon.map { it.id })
        val window = phone.tasks().query(where = listOf(field("due") ge 3, field("due") le 5), orderBy = "due")
        assertEquals(listOf("t1", "t4"), window.map { it.id })
        val active = phone.tasks().query(where = listOf(field("status") isIn listOf("open", "snoozed")))
        assertEquals(listOf("t1", "t3", "t4", "t5"), active.map { it.id })
        val buys = phone.tasks().query(where = listOf(field("title") startsWith "Buy"), orderBy = "title")
        assertEquals(listOf("t2", "t1"), buys.map { it.id }, "case-sensitive")
        assertEquals(listOf("t5"), phone.tasks().where("due", null).map { it.id })

        val bad = assertThrows<AccordException.InvalidInput> {
            runBlocking { phone.tasks().query(where = listOf(field("due") gt listOf(1))) }
        }
        assertTrue(bad.message!!.contains("not a string, number, boolean or null"), bad.message)
        val againstNull = assertThrows<AccordException.InvalidInput> {
            runBlocking { phone.tasks().query(where = listOf(field("due") gt JsonNull)) }
        }
        assertTrue(againstNull.message!!.contains("'due' > null"), againstNull.message)
        val badIndex = assertThrows<AccordException.InvalidInput> {
            runBlocking { phone.tasks().createIndex("a..b") }
        }
        assertTrue(badIndex.message!!.contains("empty part"), badIndex.message)
    }

    @Test
    fun observingOneRecordEmitsItsOwnChangesAndItsDeletion() = runBlocking {
        val phone = device("phone")
        val laptop = device("laptop")
        val seen = Channel<Task?>(Channel.UNLIMITED)
        val watcher = launch(start = CoroutineStart.UNDISPATCHED) {
            laptop.tasks().observe("t1").collect { seen.send(it) }
        }
        assertNull(seen.next())
        laptop.tasks().put(Task("t1", "Buy milk"))
        assertEquals(Task("t1", "Buy milk"), seen.next())
        // Another record's change does not emit for t1; the next value seen is t1's own.
        laptop.tasks().put(Task("t2", "Other"))
        phone.tasks().put(Task("t1", "Buy oat milk", due = 2))
        phone.sync().also { assertEquals(SyncOutcome.Done, it.outcome) }
        laptop.sync().also { assertEquals(SyncOutcome.Done, it.outcome) }
        var synced = seen.next()
        // The laptop pushed its own t1 in the same sync: wait for the merged value.
        while (synced != laptop.tasks().get("t1")) synced = seen.next()
        assertNotNull(synced)
        laptop.tasks().delete("t1")
        assertNull(seen.next())
        watcher.cancel()
    }

    @Test
    fun observingAQueryReRunsItOnlyWhenItsResultChanges() = runBlocking {
        val phone = device("phone")
        phone.tasks().createIndex("due")
        val lists = Channel<List<String>>(Channel.UNLIMITED)
        val watcher = launch(start = CoroutineStart.UNDISPATCHED) {
            phone.tasks().observeQuery(where = listOf(field("due") lt 5), orderBy = "due", limit = 2)
                .collect { tasks -> lists.send(tasks.map { it.id }) }
        }
        assertEquals(emptyList(), lists.next())
        phone.tasks().put(Task("a", "A", due = 4))
        assertEquals(listOf("a"), lists.next())
        phone.tasks().put(Task("b", "B", due = 1))
        assertEquals(listOf("b", "a"), lists.next())
        // Outside the filter, then past the limit: the result is unchanged, nothing emits.
        phone.tasks().put(Task("late", "Late", due = 9))
        phone.tasks().put(Task("c", "C", due = 4))
        // Now it changes: c moves into the first two.
        phone.tasks().put(Task("c", "C", due = 0))
        assertEquals(listOf("c", "b"), lists.next())
        watcher.cancel()
    }

    @Test
    fun syncStatusFollowsASyncAndKeepsTheLastError() = runBlocking {
        val phone = device("phone")
        phone.tasks().putAll((1..500).map { Task("t$it", "Task $it") })
        assertEquals(SyncOutcome.Done, phone.sync().outcome)

        val laptop = device("laptop", SyncSettings(pageLimit = 50))
        assertEquals(SyncStatus(), laptop.syncStatus.value)
        val seen = mutableListOf<SyncStatus>()
        laptop.sync { seen += laptop.syncStatus.value }
        assertTrue(seen.any { it.downloading && it.downloaded > 0 }, "$seen")
        // 500 changes in pages of 50: the fraction climbs through the pull, never past 1.
        val fractions = seen.mapNotNull { it.downloadFraction }
        assertTrue(fractions.any { it > 0f && it < 1f }, "$seen")
        assertEquals(fractions.sorted(), fractions, "$seen")
        val done = laptop.syncStatus.value
        assertTrue(done.connected && !done.syncing, "$done")
        assertNull(done.lastError)
        assertNotNull(done.lastSyncedAtMs)

        val offline = AccordClient.open(
            server.device("offline", "acc_x", SyncSettings(retryBudgetMs = 200, backoffBaseMs = 10))
                .copy(server = dev.accord.ServerConfig("http://127.0.0.1:1", "acc_x", server.space)),
        ).also { opened += it }
        offline.sync()
        val failed = offline.syncStatus.value
        assertTrue(!failed.connected && !failed.syncing, "$failed")
        assertNotNull(failed.lastError)
        assertNull(failed.lastSyncedAtMs)
    }

    @Test
    fun openConflictsFlowListsMergesAwaitingReviewUntilResolved() = runBlocking {
        val phone = device("phone")
        val laptop = device("laptop")
        phone.notes().put(Note("list", "Shopping", "milk\n"))
        phone.sync()
        laptop.sync()
        val open = Channel<List<RecordConflict<Note>>>(Channel.UNLIMITED)
        val watcher = launch(start = CoroutineStart.UNDISPATCHED) {
            laptop.notes().openConflicts().collect { open.send(it) }
        }
        assertEquals(emptyList(), open.next())

        // The same line edited on both: both kept, flagged for review. A change of
        // different fields (title here, tags there) merges without asking anyone.
        phone.notes().put(Note("list", "Shopping", "oat milk\n"))
        laptop.notes().put(Note("list", "Shopping", "soy milk\n"))
        phone.notes().put(Note("other", "Title A"))
        phone.sync()
        laptop.sync()
        val listed = open.next().single()
        assertEquals("list", listed.id)
        assertEquals("soy milk\n", listed.local?.body)
        assertEquals("oat milk\n", listed.remote?.body)
        assertEquals("milk\n", listed.base?.body)
        assertTrue(listed.merged!!.body.contains("soy milk") && listed.merged!!.body.contains("oat milk"))

        // Both added a word at the same point: the suggestion takes both, this device's first.
        assertEquals("soy oat milk\n", listed.suggested?.body)
        assertNotNull(listed.suggestion)

        laptop.resolveConflict(listed.conflictId, ConflictResolution.UseRemote)
        assertEquals(emptyList(), open.next())
        assertEquals("oat milk\n", laptop.notes().get("list")?.body)
        watcher.cancel()
    }

    @Test
    fun aFlaggedMergesSuggestionIsAppliedByOneCall() = runBlocking {
        val phone = device("phone")
        val laptop = device("laptop")
        phone.notes().put(Note("plan", "Plan", "The launch is on Monday.\n"))
        phone.sync()
        laptop.sync()
        // Both rewrote the same words: both kept, flagged; the larger rewrite is suggested.
        phone.notes().put(Note("plan", "Plan", "The launch is on the first Friday of June.\n"))
        laptop.notes().put(Note("plan", "Plan", "The launch is on Tuesday.\n"))
        phone.sync()
        laptop.sync()
        val listed = laptop.notes().openConflicts().first().single()
        assertEquals("The launch is on Tuesday.\nThe launch is on the first Friday of June.\n", listed.merged?.body)
        assertEquals("The launch is on the first Friday of June.\n", listed.suggested?.body)
        assertNotNull(listed.suggestion)

        laptop.resolveConflict(listed.conflictId, ConflictResolution.Suggested)
        assertEquals("The launch is on the first Friday of June.\n", laptop.notes().get("plan")?.body)
        assertEquals(emptyList(), laptop.notes().openConflicts().first())
    }
}
