package dev.accord.client

import dev.accord.Accord
import dev.accord.AccordConfig
import dev.accord.RecordData
import dev.accord.SyncOutcome
import dev.accord.accordVersion
import java.io.File
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import kotlin.test.assertEquals

/**
 * What a call across the FFI costs from Kotlin, printed as a markdown table (no timed
 * assertions: the figures depend on the machine). Runs only when `accord.bench.out`
 * names the file to write: `make bench-kotlin`.
 */
class FfiBenchmark {
    private val out = System.getProperty("accord.bench.out").orEmpty()

    private data class Row(val what: String, val calls: Int, val totalNs: Long) {
        val perCallUs get() = totalNs / 1_000.0 / calls
    }

    private inline fun measure(what: String, calls: Int, repeat: Int = 5, body: () -> Unit): Row {
        body() // warm up: JIT, JNA structures, SQLite statement cache
        val best = (1..repeat).minOf {
            val t0 = System.nanoTime()
            body()
            System.nanoTime() - t0
        }
        return Row(what, calls, best)
    }

    @Test
    fun ffiCallCosts() {
        assumeTrue(out.isNotBlank(), "set -Daccord.bench.out=FILE (make bench-kotlin) to run")
        val server = TestServer.start()
        val rows = mutableListOf<Row>()
        val notes = mutableListOf<String>()
        try {
            val accord = Accord.open(AccordConfig(path = server.dir.resolve("bench.db").toString()))
            val n = 10_000
            rows += measure("free function `accordVersion()`", n) { repeat(n) { accordVersion() } }
            rows += measure("object method `deviceId()`", n) { repeat(n) { accord.deviceId() } }
            val records = (1..1_000).map { RecordData("n$it", """{"title":"Note $it","body":"line $it\n"}""") }
            rows += measure("`put` x 1,000, one call each", 1_000, repeat = 3) {
                records.forEach { accord.put("notes", it.id, it.json) }
            }
            rows += measure("`putMany` of 1,000, one call", 1, repeat = 3) {
                accord.putMany("notes", records)
            }
            rows += measure("`list` of 1,000 records", 1) { check(accord.list("notes").size == 1_000) }
            accord.shutdown()
            accord.close()

            val client = AccordClient.openBlocking(AccordConfig(path = server.dir.resolve("client.db").toString()))
            rows += measure("`AccordClient.put` (suspend, Dispatchers.IO) x 1,000", 1_000, repeat = 3) {
                runBlocking { records.forEach { client.put("notes", it.id, it.json) } }
            }
            client.close()

            notes += syncComparison(server)
        } finally {
            server.close()
        }
        val table = buildString {
            appendLine("# Kotlin FFI benchmark")
            appendLine()
            appendLine(
                "Command: `make bench-kotlin` (debug build of libaccord_ffi, the one the tests " +
                    "use; JVM ${System.getProperty("java.version")}, JNA ${com.sun.jna.Native.VERSION}, " +
                    "${Runtime.getRuntime().availableProcessors()} cores shared with other builds). " +
                    "Best of 3-5 runs after a warm-up; `put` one by one is one SQLite transaction " +
                    "per call, so it shows what batching saves, not the bare FFI cost.",
            )
            appendLine()
            appendLine("| what | calls | total ms | per call µs |")
            appendLine("| --- | ---: | ---: | ---: |")
            rows.forEach {
                appendLine("| ${it.what} | ${it.calls} | ${"%.2f".format(it.totalNs / 1e6)} | ${"%.1f".format(it.perCallUs)} |")
            }
            appendLine()
            notes.forEach { appendLine(it) }
        }
        File(out).writeText(table)
        println(table)
    }

    /** A full first sync of 10,000 records driven from Kotlin, and the same from the CLI. */
    private fun syncComparison(server: TestServer): List<String> {
        val count = 10_000
        val writer = AccordClient.openBlocking(server.device("writer", server.user("writer")))
        runBlocking {
            writer.putMany("notes", (1..count).map { RecordData("n$it", """{"title":"Note $it","body":"line $it\n"}""") })
            // A pass pushes a bounded number of batches; push until nothing is queued.
            repeat(10) { if (writer.pendingMutations() > 0) assertEquals(SyncOutcome.Done, writer.sync().outcome) }
            assertEquals(0, writer.pendingMutations())
        }
        writer.close()

        val config = server.device("kotlin-reader", server.user("kotlin-reader"))
        val reader = AccordClient.openBlocking(config)
        val t0 = System.nanoTime()
        val report = runBlocking { reader.sync() }
        val kotlinMs = (System.nanoTime() - t0) / 1e6
        assertEquals(SyncOutcome.Done, report.outcome)
        assertEquals(count.toLong(), report.pulled)
        reader.close()

        val token = server.user("cli-reader")
        val store = server.dir.resolve("cli-reader.db").toString()
        val t1 = System.nanoTime()
        val p = ProcessBuilder(
            TestServer.accordBin, "client", "--store", store, "--server", server.url,
            "--token", token, "--space", server.space, "sync",
        ).redirectErrorStream(true).start()
        val cliOut = p.inputStream.bufferedReader().readText()
        check(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0) { "accord client sync failed: $cliOut" }
        val cliMs = (System.nanoTime() - t1) / 1e6
        return listOf(
            "| first sync of $count records (pull) | driven from | wall ms |",
            "| --- | --- | ---: |",
            "| | Kotlin, `AccordClient.sync()` | ${"%.0f".format(kotlinMs)} |",
            "| | CLI, `accord client ... sync` (includes process start) | ${"%.0f".format(cliMs)} |",
        )
    }
}
