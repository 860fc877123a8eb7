package dev.accord.client

import dev.accord.AccordConfig
import dev.accord.ServerConfig
import dev.accord.SyncSettings
import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/**
 * A real `accord serve` on loopback over a fresh SQLite file, with one space and the
 * users the test asks for: the same server the CLI tests use, driven the way a person
 * would (`accord admin`, then `accord serve --listen 127.0.0.1:0`).
 */
class TestServer private constructor(
    val dir: Path,
    private val process: Process,
    val url: String,
    val space: String,
    private val db: String,
) : AutoCloseable {

    companion object {
        /** The `accord` binary (set by surefire from the cargo target dir). */
        val accordBin: String = System.getProperty("accord.bin") ?: "../../target/debug/accord"

        fun start(space: String = "notes"): TestServer {
            val dir = Files.createTempDirectory("accord-kotlin-test")
            val db = dir.resolve("server.db").toString()
            admin(db, "add-space", space)
            val process = ProcessBuilder(accordBin, "serve", "--db", db, "--listen", "127.0.0.1:0")
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(File("/dev/null")))
                .start()
            val reader = process.inputStream.bufferedReader()
            val seen = StringBuilder()
            var url: String? = null
            // The first line that names the address; bounded, so a broken server fails fast.
            repeat(50) {
                if (url != null) return@repeat
                val line = reader.readLine() ?: run {
                    process.destroyForcibly()
                    error("accord serve exited before listening:\n$seen")
                }
                seen.appendLine(line)
                url = Regex("listening on (https?://\\S+)").find(line)?.groupValues?.get(1)
            }
            val found = url ?: run {
                process.destroyForcibly()
                error("accord serve did not say where it listens:\n$seen")
            }
            // Keep draining its output so the server never blocks on a full pipe.
            Thread { reader.useLines { lines -> lines.forEach { _ -> } } }
                .apply { isDaemon = true }
                .start()
            return TestServer(dir, process, found, space, db)
        }

        private fun admin(db: String, vararg args: String): String {
            val p = ProcessBuilder(accordBin, "admin", "--db", db, *args)
                .redirectErrorStream(true)
                .start()
            val out = p.inputStream.bufferedReader().readText()
            check(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) {
                "accord admin ${args.joinToString(" ")} failed:\n$out"
            }
            return out
        }
    }

    /** A new user granted to the space; returns its token. */
    fun user(name: String): String {
        val out = admin(db, "add-user", name)
        admin(db, "grant", name, space)
        return out.trim().lines().last().trim()
    }

    /** A new token for [name] (its other tokens stay valid until revoked). */
    fun addToken(name: String): String = admin(db, "add-token", name).trim().lines().last().trim()

    /** Revokes every token of [name]: its next sync is refused (401). */
    fun revokeTokens(name: String) {
        admin(db, "revoke-tokens", name)
    }

    /** A device config: a store file in the test dir, synced as [token]. */
    fun device(name: String, token: String, sync: SyncSettings? = null) = AccordConfig(
        path = dir.resolve("$name.db").toString(),
        server = ServerConfig(url, token, space),
        sync = sync,
    )

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly()
        dir.toFile().deleteRecursively()
    }
}
