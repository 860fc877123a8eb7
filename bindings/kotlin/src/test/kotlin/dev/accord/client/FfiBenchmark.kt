package dev.accord.client

import dev.accord.Accord
import dev.accord.AccordConfig
import dev.accord.IntegrityCheckingUniffiLib
import dev.accord.UniffiLib
import dev.accord.UniffiRustCallStatus
import dev.accord.RecordData
import dev.accord.SyncOutcome
import dev.accord.accordVersion
import java.io.File
import java.lang.management.ManagementFactory
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import kotlin.test.assertEquals

/**
 * What a call across the FFI costs from Kotlin, printed as markdown tables (no timed
 * assertions: the figures depend on the machine), with the pieces of a trivial call
 * timed apart. Runs only when `accord.bench.out` names the file to write: `make
 * bench-kotlin`, once per library build (`accord.bench.profile`).
 */
class FfiBenchmark {
    private val out = System.getProperty("accord.bench.out").orEmpty()

    /** Which library build is loaded (`make bench-kotlin` runs debug, then release). */
    private val profile = System.getProperty("accord.bench.profile").orEmpty().ifBlank { "debug" }

    private data class Row(val what: String, val calls: Int, val wallNs: Long, val cpuNs: Long, val processNs: Long) {
        val wallUs get() = wallNs / 1_000.0 / calls
        val cpuUs get() = cpuNs / 1_000.0 / calls
        val processUs get() = processNs / 1_000.0 / calls
    }

    private val threads = ManagementFactory.getThreadMXBean()
    private val jvm = ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean

    /** Best wall time, best CPU time of this thread and best CPU time of the whole JVM
     * over [repeat] runs after two warm-ups. The thread's CPU is the call itself; the
     * JVM's adds what the call leaves to other threads (JNA's cleaner freeing native
     * memory, the garbage collector); the wall time also holds what the other builds
     * on this machine took from us. */
    private inline fun measure(what: String, calls: Int, repeat: Int = 5, body: () -> Unit): Row {
        repeat(2) { body() } // warm up: JIT, JNA structures, SQLite statement cache
        var wall = Long.MAX_VALUE
        var cpu = Long.MAX_VALUE
        var process = Long.MAX_VALUE
        repeat(repeat) {
            val p0 = jvm.processCpuTime
            val c0 = threads.currentThreadCpuTime
            val t0 = System.nanoTime()
            body()
            wall = minOf(wall, System.nanoTime() - t0)
            cpu = minOf(cpu, threads.currentThreadCpuTime - c0)
            process = minOf(process, jvm.processCpuTime - p0)
        }
        return Row(what, calls, wall, cpu, process)
    }

    @Test
    fun ffiCallCosts() {
        assumeTrue(out.isNotBlank(), "set -Daccord.bench.out=FILE (make bench-kotlin) to run")
        val server = TestServer.start()
        val rows = mutableListOf<Row>()
        val parts = mutableListOf<Row>()
        val notes = mutableListOf<String>()
        try {
            val accord = Accord.open(AccordConfig(path = server.dir.resolve("bench.db").toString()))
            val n = 20_000
            // Until the JIT has compiled the generated code, its compiler threads and the
            // collector take the cores under the first rows: run every trivial path first.
            repeat(5 * n) { accordVersion(); accord.deviceId(); accord.interrupt() }
            rows += measure("free function `accordVersion()` (returns a String)", n) { repeat(n) { accordVersion() } }
            rows += measure("object method `deviceId()` (returns a String)", n) { repeat(n) { accord.deviceId() } }
            rows += measure("object method `interrupt()` (no argument, no result)", n) { repeat(n) { accord.interrupt() } }
            parts += breakdown(accord, n)
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

            // The sync comparison drives the debug `accord` CLI: compare it with the debug library only.
            if (profile == "debug") notes += syncComparison(server)
        } finally {
            server.close()
        }
        val section = buildString {
            appendLine("## libaccord_ffi, $profile build")
            appendLine()
            appendLine(
                "JVM ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}, " +
                    "JNA ${com.sun.jna.Native.VERSION}, UniFFI 0.32.2 bindings (JNA direct mapping), " +
                    "${Runtime.getRuntime().availableProcessors()} cores shared with other builds. " +
                    "Best of 3-5 runs after two warm-ups; *thread CPU* is the calling thread's " +
                    "CPU time, *JVM CPU* all the JVM's threads' (adding JNA's cleaner and the " +
                    "garbage collector: what the call costs the device), *wall* also holds the " +
                    "time other processes took the cores. `put` one by one is one SQLite transaction per call, so it shows " +
                    "what batching saves, not the bare FFI cost.",
            )
            appendLine()
            appendLine("| what | calls | wall ms | wall µs/call | thread CPU µs/call | JVM CPU µs/call |")
            appendLine("| --- | ---: | ---: | ---: | ---: | ---: |")
            rows.forEach { appendLine(it.line()) }
            appendLine()
            appendLine("Where a trivial call's time goes (the pieces the generated code runs for one call):")
            appendLine()
            appendLine("| piece | calls | wall ms | wall µs/call | thread CPU µs/call | JVM CPU µs/call |")
            appendLine("| --- | ---: | ---: | ---: | ---: | ---: |")
            parts.forEach { appendLine(it.line()) }
            if (notes.isNotEmpty()) {
                appendLine()
                notes.forEach { appendLine(it) }
            }
        }
        File(out).writeText(section)
        println(section)
    }

    private fun Row.line() =
        "| $what | $calls | ${"%.2f".format(wallNs / 1e6)} | ${"%.2f".format(wallUs)} | ${"%.2f".format(cpuUs)} | ${jvmCpu()} |"

    /** The JVM's CPU clock ticks in milliseconds here: below 50 ms a run is not measured. */
    private fun Row.jvmCpu() = if (processNs < 50_000_000) "–" else "%.1f".format(processUs)

    /**
     * The pieces of one generated call, each timed alone through the generated code's
     * internals: a bare JNA direct call with no structure, the `RustCallStatus` structure
     * every call allocates, and the interrupt call with that structure reused.
     */
    private fun breakdown(accord: Accord, n: Int): List<Row> {
        val parts = mutableListOf<Row>()
        parts += measure("JNA direct call, int result, no structure (`ffi_accord_ffi_uniffi_contract_version`)", n) {
            repeat(n) { IntegrityCheckingUniffiLib.ffi_accord_ffi_uniffi_contract_version() }
        }
        parts += measure("allocating one `UniffiRustCallStatus` (JNA `Structure` with a nested `RustBuffer`)", n) {
            repeat(n) { UniffiRustCallStatus() }
        }
        val status = UniffiRustCallStatus()
        // One handle of our own to clone from (cloning does not consume it); freed below.
        val base = accord.uniffiCloneHandle()
        parts += measure("clone the object handle + `interrupt`, one status reused (2 native calls)", n) {
            repeat(n) {
                val handle = UniffiLib.uniffi_accord_ffi_fn_clone_accord(base, status)
                UniffiLib.uniffi_accord_ffi_fn_method_accord_interrupt(handle, status)
            }
        }
        parts += measure("the same, a new status per native call (what the generated code does)", n) {
            repeat(n) {
                val handle = UniffiLib.uniffi_accord_ffi_fn_clone_accord(base, UniffiRustCallStatus())
                UniffiLib.uniffi_accord_ffi_fn_method_accord_interrupt(handle, UniffiRustCallStatus())
            }
        }
        UniffiLib.uniffi_accord_ffi_fn_free_accord(base, status)
        return parts
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
