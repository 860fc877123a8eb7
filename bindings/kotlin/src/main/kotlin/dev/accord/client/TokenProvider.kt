package dev.accord.client

import dev.accord.CredentialsException
import dev.accord.CredentialsProvider
import java.io.IOException
import kotlinx.coroutines.runBlocking

/**
 * Gives Accord the bearer token for syncing, so a token can be renewed without
 * reopening the client ([AccordClient.open]'s `credentials`).
 *
 * Asked before each sync, and again once when the server refuses the token (HTTP 401):
 * the request is then sent again with the new token; a second refusal ends the sync
 * `FAILURE`, as a refused fixed token does. Runs on the syncing thread, which waits.
 */
fun interface TokenProvider {
    /**
     * The token to send. [refresh] is true when the server has just refused the token
     * returned last: renew it. Throw an [IOException] when no token can be had for now
     * (renewing needs a network that is down): the sync retries within its budget, then
     * ends `RETRY`. Any other exception ends the sync `FAILURE` with its message.
     */
    suspend fun token(refresh: Boolean): String
}

/** [TokenProvider] as the native callback: exceptions become the declared errors. */
internal class NativeTokenProvider(private val provider: TokenProvider) : CredentialsProvider {
    override fun token(refresh: Boolean): String = try {
        runBlocking { provider.token(refresh) }
    } catch (e: CredentialsException) {
        throw e
    } catch (e: IOException) {
        throw CredentialsException.Unavailable(e.describe())
    } catch (e: Throwable) {
        // Errors too: nothing may escape into JNA, which would hand Rust no answer.
        throw CredentialsException.Failed(e.describe())
    }

    private fun Throwable.describe() = "${javaClass.simpleName}: ${message ?: "no message"}"
}
