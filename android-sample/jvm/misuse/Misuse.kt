// Compiled by build.sh, which fails unless kotlinc refuses this file: proof that the
// compile step checks the sample against the Android API rather than passing anything.
package dev.accord.sample.misuse

import android.content.Context
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import dev.accord.sample.SyncWorker

fun misuse(context: Context) {
    // A periodic-work policy where one-off work is enqueued.
    WorkManager.getInstance(context).enqueueUniqueWork(
        "sync",
        ExistingPeriodicWorkPolicy.KEEP,
        OneTimeWorkRequestBuilder<SyncWorker>().build(),
    )
    // A constraint WorkManager does not have.
    Constraints.Builder().setRequiresNetwork(true)
}
