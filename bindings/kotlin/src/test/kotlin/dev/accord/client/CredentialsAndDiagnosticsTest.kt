package dev.accord.client

import dev.accord.AccordConfig
import dev.accord.AccordException
import dev.accord.DiagnosticLevel
import dev.accord.ServerConfig
import dev.accord.SyncOutcome
import dev.accord.SyncSettings
import java.io.IOException
import java.util.concurrent.ConcurrentLinkedQueue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertTrue

/** The credentials provider and the diagnostics sink against a real `accord serve`. */
class CredentialsAndDiagnosticsTest : ServerTest() {
    /** Runs before [ServerTest.stopServer] closes the clients. */
    @AfterEach
    fun removeSink() {
        AccordDiagnostics.remove()
    }

    /** A device config that names the server but carries no token. */
    private fun tokenless(name: String, sync: SyncSettings? = null) = AccordConfig(
        path = server.dir.resolve("$name.db").toString(),
        server = ServerConfig(url = server.url, space = server.space),
        sync = sync,
    )

    private suspend fun open(name: String, sync: SyncSettings? = null, credentials: TokenProvider) =
        AccordClient.open(tokenless(name, sync), credentials = credentials).also { opened += it }

    @Test
    fun aTokenRotatedOnTheServerIsRenewedThroughTheProviderWithoutReopening() = runBlocking {
        server.user("phone")
        // What the app's auth service would hand out: the server's newest token.
        var issued = server.addToken("phone")
        var cached = issued
        val asked = mutableListOf<Boolean>()
        val phone = open("phone") { refresh ->
            asked += refresh
            if (refresh) cached = issued
            cached
        }

        phone.notes().put(Note("n1", "Before the rotation"))
        assertEquals(SyncOutcome.Done, phone.sync().outcome)
        assertEquals(listOf(false), asked, "asked once, before the sync")

        server.revokeTokens("phone")
        issued = server.addToken("phone")
        phone.notes().put(Note("n2", "After the rotation"))
        val renewed = phone.sync()
        assertEquals(SyncOutcome.Done, renewed.outcome, "sync: ${renewed.reason}")
        assertEquals(listOf(false, false, true), asked, "refused once (401), then renewed")
        assertEquals(0, phone.pendingMutations())

        assertEquals(SyncOutcome.Done, phone.sync().outcome)
        assertEquals(listOf(false, false, true, false), asked)

        // Another device sees both notes: the renewed token really pushed.
        val laptop = AccordClient.open(server.device("laptop", server.user("laptop"))).also { opened += it }
        assertEquals(SyncOutcome.Done, laptop.sync().outcome)
        assertEquals(listOf("n1", "n2"), laptop.notes().all().map { it.id })
    }

    @Test
    fun aProviderThatFailsEndsTheSyncWithAClearErrorNotACrash() = runBlocking {
        server.user("phone")
        val signedOut = open("signed-out") { throw IllegalStateException("the user signed out") }
        val failed = signedOut.sync()
        val failure = assertIs<SyncOutcome.Failure>(failed.outcome)
        assertTrue("credentials provider failed" in failure.reason, failure.reason)
        assertTrue("the user signed out" in failure.reason, failure.reason)
        assertEquals(SyncDecision.FAILURE, failed.decision)

        // No network to renew the token: a retry later, not a failure.
        val offline = open("offline", SyncSettings(retryBudgetMs = 300, backoffBaseMs = 10)) {
            throw IOException("no route to the auth server")
        }
        val later = offline.sync()
        val retry = assertIs<SyncOutcome.Retry>(later.outcome)
        assertTrue("no route to the auth server" in retry.reason, retry.reason)
        assertEquals(SyncDecision.RETRY, later.decision)

        // A provider that cannot renew a refused token: the server's auth failure, once.
        var asked = 0
        val stale = open("stale") { asked++; "acc_not_a_valid_token" }
        val refused = assertIs<SyncOutcome.Failure>(stale.sync().outcome)
        assertTrue("refused access" in refused.reason, refused.reason)
        assertEquals(2, asked, "asked before the sync and once after the 401")

        val blank = open("blank") { "" }
        val empty = assertIs<SyncOutcome.Failure>(blank.sync().outcome)
        assertTrue("empty token" in empty.reason, empty.reason)

        // The client stays usable after all of these.
        signedOut.notes().put(Note("n1", "Still writable"))
        assertEquals(1, signedOut.pendingMutations())
    }

    @Test
    fun aTokenAndAProviderTogetherAreRefused() = runBlocking {
        val both = server.device("both", server.user("both"))
        val e = assertThrows<AccordException.InvalidInput> {
            runBlocking { AccordClient.open(both, credentials = { "acc_x" }) }
        }
        assertTrue("not both" in e.message.orEmpty(), e.message)
        assertThrows<AccordException.InvalidInput> {
            runBlocking {
                AccordClient.open(AccordConfig(path = server.dir.resolve("local.db").toString()), credentials = { "acc_x" })
            }
        }
        Unit
    }

    @Test
    fun theDiagnosticsSinkReceivesASyncAtItsLevelAndNothingBelow() = runBlocking {
        val lines = ConcurrentLinkedQueue<Triple<DiagnosticLevel, String, String>>()
        val phone = AccordClient.open(server.device("phone", server.user("phone"))).also { opened += it }
        phone.notes().put(Note("n1", "Logged"))

        AccordDiagnostics.install(DiagnosticLevel.INFO) { level, target, message ->
            lines += Triple(level, target, message)
        }
        assertEquals(SyncOutcome.Done, phone.sync().outcome)
        val info = lines.toList()
        assertTrue(info.any { it.second == "accord::sync" && "started" in it.third }, "$info")
        assertTrue(
            info.any { it.first == DiagnosticLevel.INFO && it.second == "accord::sync" && "done: pulled 0, pushed 1" in it.third },
            "$info",
        )
        val finer = setOf(DiagnosticLevel.DEBUG, DiagnosticLevel.TRACE)
        assertTrue(info.none { it.first in finer }, "nothing below INFO: $info")

        // DEBUG lets the per-request lines through, Accord's and the HTTP layer's.
        lines.clear()
        AccordDiagnostics.install(DiagnosticLevel.DEBUG) { level, target, message ->
            lines += Triple(level, target, message)
        }
        phone.notes().put(Note("n2", "Logged finer"))
        assertEquals(SyncOutcome.Done, phone.sync().outcome)
        val debug = lines.toList()
        assertTrue(debug.any { it.first == DiagnosticLevel.DEBUG && "pushing 1 mutations" in it.third }, "$debug")
        assertTrue(debug.none { it.first == DiagnosticLevel.TRACE }, "nothing below DEBUG: $debug")

        // A sink that throws changes nothing for the sync; after remove(), nothing arrives.
        AccordDiagnostics.install(DiagnosticLevel.TRACE) { _, _, _ -> throw IllegalStateException("broken sink") }
        assertEquals(SyncOutcome.Done, phone.sync().outcome)
        lines.clear()
        AccordDiagnostics.remove()
        assertEquals(SyncOutcome.Done, phone.sync().outcome)
        assertTrue(lines.isEmpty(), "$lines")
    }
}
