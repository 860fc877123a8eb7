package dev.accord.sample

import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.content.pm.ServiceInfo
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.work.CoroutineWorker
import androidx.work.ForegroundInfo
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import dev.accord.AccordException
import dev.accord.client.SyncDecision
import dev.accord.client.decision
import dev.accord.client.reason

/**
 * One sync pass as a WorkManager job. What the outcome means for WorkManager is decided
 * in the Kotlin layer ([decision]); this class wires it up, and app/src/test runs it
 * under Robolectric against a real server.
 *
 * Stopping: when WorkManager stops the worker (constraints lost, time up) it cancels
 * [doWork]'s coroutine — `CoroutineWorker.onStopped` is final and does exactly that — and
 * `AccordClient.sync` turns that cancellation into `interrupt()`, so the native sync
 * stops at its next step with nothing half-done.
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    override suspend fun doWork(): Result {
        val accord = try {
            applicationContext.accord()
        } catch (e: AccordException) {
            // The store could not be opened: a full disk or a busy file may clear up; a
            // database from a newer app version, or an unusable path, will not.
            return when (e) {
                is AccordException.DiskFull, is AccordException.Database -> Result.retry()
                else -> Result.failure(workDataOf(REASON to e.message))
            }
        }
        val report = accord.sync { progress ->
            setProgress(workDataOf(PHASE to progress.phase.name, DONE to progress.done))
        }
        return when (report.decision) {
            SyncDecision.SUCCESS -> Result.success(
                workDataOf(
                    PULLED to report.pulled,
                    PUSHED to report.pushed,
                    MERGED to report.merged,
                    CONFLICTS to report.conflicts,
                ),
            )
            SyncDecision.RETRY -> Result.retry()
            SyncDecision.FAILURE -> Result.failure(workDataOf(REASON to report.reason))
        }
    }

    /** Expedited work runs as a foreground service below Android 12: say so. */
    override suspend fun getForegroundInfo(): ForegroundInfo {
        val manager = applicationContext.getSystemService(NotificationManager::class.java)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O && manager != null) {
            manager.createNotificationChannel(
                NotificationChannel(
                    CHANNEL,
                    applicationContext.getString(R.string.sync_channel),
                    NotificationManager.IMPORTANCE_LOW,
                ),
            )
        }
        val notification = NotificationCompat.Builder(applicationContext, CHANNEL)
            .setContentTitle(applicationContext.getString(R.string.syncing))
            .setSmallIcon(android.R.drawable.stat_notify_sync)
            .setOngoing(true)
            .build()
        return if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            ForegroundInfo(NOTIFICATION_ID, notification, ServiceInfo.FOREGROUND_SERVICE_TYPE_DATA_SYNC)
        } else {
            ForegroundInfo(NOTIFICATION_ID, notification)
        }
    }

    companion object {
        const val PHASE = "phase"
        const val DONE = "done"
        const val PULLED = "pulled"
        const val PUSHED = "pushed"
        const val MERGED = "merged"
        const val CONFLICTS = "conflicts"
        const val REASON = "reason"
        private const val CHANNEL = "accord-sync"
        private const val NOTIFICATION_ID = 7001
    }
}
