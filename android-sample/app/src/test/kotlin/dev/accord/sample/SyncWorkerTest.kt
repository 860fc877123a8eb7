package dev.accord.sample

import android.app.Application
import android.content.Context
import org.robolectric.RuntimeEnvironment
import androidx.work.Data
import androidx.work.ForegroundUpdater
import androidx.work.ListenableWorker
import androidx.work.ProgressUpdater
import androidx.work.WorkInfo
import androidx.work.WorkerFactory
import androidx.work.WorkerParameters
import androidx.work.impl.utils.taskexecutor.SerialExecutor
import androidx.work.impl.utils.taskexecutor.TaskExecutor
import com.google.common.util.concurrent.Futures
import com.google.common.util.concurrent.ListenableFuture
import dev.accord.AccordConfig
import dev.accord.RecordData
import dev.accord.ServerConfig
import dev.accord.SyncOutcome
import dev.accord.SyncSettings
import dev.accord.client.AccordClient
import dev.accord.client.TestServer
import java.util.UUID
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executor
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/** The application under test: hands SyncWorker a client opened against a test server. */
class TestNotesApp : Application(), AccordOwner {
    @Volatile lateinit var client: AccordClient

    override suspend fun accord(): AccordClient = client
}

/**
 * [SyncWorker] on the JVM under Robolectric (Android 15 framework), with the host build
 * of libaccord_ffi through JNA, against a real `accord serve` on loopback. WorkerParameters
 * are built the way work-testing's TestListenableWorkerBuilder builds them (that artifact
 * is not served here): synchronous task executors, a recording ProgressUpdater.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = TestNotesApp::class)
class SyncWorkerTest {
    private lateinit var server: TestServer
    private val clients = mutableListOf<AccordClient>()
    private val progress = CopyOnWriteArrayList<Data>()
    private var firstProgress = CountDownLatch(1)
    private val background = Executors.newCachedThreadPool()
    private val app get() = RuntimeEnvironment.getApplication() as TestNotesApp

    @Before
    fun start() {
        server = TestServer.start()
    }

    @After
    fun stop() {
        clients.forEach { it.close() }
        server.close()
        background.shutdownNow()
    }

    private fun open(config: AccordConfig): AccordClient =
        runBlocking { AccordClient.open(config) }.also { clients += it }

    private fun device(name: String, sync: SyncSettings? = null) =
        open(server.device(name, server.user(name), sync))

    private object Direct : Executor {
        override fun execute(command: Runnable) = command.run()
    }

    private object DirectTasks : TaskExecutor {
        private val serial = object : SerialExecutor {
            override fun execute(command: Runnable) = command.run()
            override fun hasPendingTasks() = false
        }
        override fun getMainThreadExecutor(): Executor = Direct
        override fun getSerialTaskExecutor(): SerialExecutor = serial
    }

    /** A completed `ListenableFuture<Void>`, what WorkManager's updaters return. */
    @Suppress("UNCHECKED_CAST")
    private fun done(): ListenableFuture<Void> = Futures.immediateFuture<Any?>(null) as ListenableFuture<Void>

    /** The test makes its worker itself; nothing asks the factory. */
    private object NoWorkers : WorkerFactory() {
        override fun createWorker(appContext: Context, workerClassName: String, workerParameters: WorkerParameters) = null
    }

    private fun worker(context: Context): SyncWorker {
        val progressUpdater = ProgressUpdater { _, _, data ->
            progress += data
            if (data.getLong(SyncWorker.DONE, 0) > 0) firstProgress.countDown()
            done()
        }
        val foregroundUpdater = ForegroundUpdater { _, _, _ -> done() }
        val params = WorkerParameters(
            UUID.randomUUID(), Data.EMPTY, emptyList(), WorkerParameters.RuntimeExtras(),
            0, 0, background, Dispatchers.Default, DirectTasks,
            NoWorkers, progressUpdater, foregroundUpdater,
        )
        return SyncWorker(context, params)
    }

    private fun run(worker: ListenableWorker): ListenableWorker.Result =
        worker.startWork().get(60, TimeUnit.SECONDS)

    @Test
    fun aSyncThatFinishesIsSuccessWithWhatItMovedAndReportsProgress() {
        val phone = device("phone")
        runBlocking {
            phone.putMany("notes", (1..30).map { RecordData("n$it", """{"title":"Note $it"}""") })
            assertEquals(SyncOutcome.Done, phone.sync().outcome)
        }
        app.client = device("laptop", SyncSettings(pageLimit = 10))
        val result = run(worker(app))

        assertTrue("$result", result is ListenableWorker.Result.Success)
        assertEquals(30L, result.outputData.getLong(SyncWorker.PULLED, -1))
        assertEquals(30, runBlocking { app.client.list("notes") }.size)
        // setProgress reached WorkManager's ProgressUpdater with the phase and the count.
        val pulls = progress.filter { it.getString(SyncWorker.PHASE) == "PULL" }
        assertTrue("progress: $progress", pulls.isNotEmpty())
        assertTrue("progress: $progress", pulls.maxOf { it.getLong(SyncWorker.DONE, 0) } >= 10)
    }

    @Test
    fun anUnreachableServerIsRetry() {
        app.client = open(
            AccordConfig(
                path = server.dir.resolve("offline.db").toString(),
                server = ServerConfig("http://127.0.0.1:1", "acc_x", server.space),
                sync = SyncSettings(retryBudgetMs = 300, backoffBaseMs = 10, backoffCapMs = 50),
            ),
        )
        val result = run(worker(app))
        assertEquals(ListenableWorker.Result.retry(), result)
    }

    @Test
    fun aRevokedTokenIsFailureWithTheReason() {
        app.client = device("phone")
        assertTrue(run(worker(app)) is ListenableWorker.Result.Success)
        server.revokeTokens("phone")

        val result = run(worker(app))
        assertTrue("$result", result is ListenableWorker.Result.Failure)
        val reason = result.outputData.getString(SyncWorker.REASON).orEmpty()
        assertTrue("reason: $reason", reason.isNotBlank())
    }

    @Test
    fun stoppingTheWorkerInterruptsTheSync() {
        val phone = device("phone")
        runBlocking {
            phone.putMany("notes", (1..2_000).map { RecordData("n$it", """{"title":"Note $it"}""") })
            assertEquals(SyncOutcome.Done, phone.sync().outcome)
        }
        // Small pages: the pull takes many steps, so the stop lands between two.
        app.client = device("laptop", SyncSettings(pageLimit = 20))
        val worker = worker(app)
        val future = worker.startWork()
        assertTrue("no progress", firstProgress.await(30, TimeUnit.SECONDS))
        // What WorkManager's WorkerWrapper does when constraints are lost or time is up
        // (awaitWithin): stop the worker, then cancel the future startWork returned.
        worker.stop(WorkInfo.STOP_REASON_CONSTRAINT_CONNECTIVITY)
        future.cancel(false)
        assertTrue(future.isCancelled)

        // A second sync waits for the first to end. It pulls what the stopped one had
        // not: some pages but not all, so the native sync stopped part way rather than
        // running on to the end behind the cancelled worker, and nothing is pulled twice.
        val next = runBlocking { app.client.sync() }
        assertEquals(SyncOutcome.Done, next.outcome)
        assertTrue("stopped part way, resumed: pulled ${next.pulled}", next.pulled in 1..1_999)
        assertEquals(2_000, runBlocking { app.client.list("notes") }.size)
    }
}
