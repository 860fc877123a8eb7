package dev.accord.sample

import kotlin.system.exitProcess
import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure

/** Runs the sample's Robolectric tests with JUnit 4 and closes with the plain
 * "N passed, N failed" line; the exit status is non-zero when any failed. */
fun main() {
    val core = JUnitCore()
    core.addListener(object : org.junit.runner.notification.RunListener() {
        override fun testFinished(description: org.junit.runner.Description) {
            println("test ${description.methodName} finished")
        }
        override fun testFailure(failure: Failure) {
            println("FAILED ${failure.testHeader}\n${failure.trace}")
        }
    })
    val result = core.run(SyncWorkerTest::class.java, BackupRulesTest::class.java)
    val failed = result.failureCount
    println("android-sample tests: ${result.runCount - failed} passed, $failed failed")
    exitProcess(if (failed == 0 && result.runCount > 0) 0 else 1)
}
