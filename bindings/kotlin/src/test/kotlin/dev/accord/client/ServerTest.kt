package dev.accord.client

import dev.accord.SyncSettings
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.BeforeEach

/**
 * A test class against a real `accord serve`: a fresh server before each test; after it,
 * the clients the test opened are closed, then the server is stopped.
 */
abstract class ServerTest {
    protected lateinit var server: TestServer
    protected val opened = mutableListOf<AccordClient>()

    @BeforeEach
    fun startServer() {
        server = TestServer.start()
    }

    @AfterEach
    fun stopServer() {
        opened.forEach { it.close() }
        server.close()
    }

    /** Opens a device of a user of its own name; it is closed after the test. */
    protected suspend fun device(name: String, sync: SyncSettings? = null): AccordClient =
        AccordClient.open(server.device(name, server.user(name), sync)).also { opened += it }
}
