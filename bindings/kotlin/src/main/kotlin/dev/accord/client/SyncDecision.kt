package dev.accord.client

import dev.accord.SyncOutcome
import dev.accord.SyncReport

/** What a background job should do after a sync: WorkManager's three results. */
enum class SyncDecision {
    /** Done: `Result.success()`. */
    SUCCESS,

    /** Transient trouble or interrupted: `Result.retry()` (with the request's backoff). */
    RETRY,

    /** Retrying will not help (token, grant, configuration): `Result.failure()`. */
    FAILURE,
}

/**
 * The decision for this report. A cancelled sync is retried: it was stopped (the worker
 * lost its constraints or time), not wrong.
 */
val SyncReport.decision: SyncDecision
    get() = when (outcome) {
        is SyncOutcome.Done -> SyncDecision.SUCCESS
        is SyncOutcome.Retry, is SyncOutcome.Cancelled -> SyncDecision.RETRY
        is SyncOutcome.Failure -> SyncDecision.FAILURE
    }

/** The reason a sync did not finish, or `null` when it did. */
val SyncReport.reason: String?
    get() = when (val o = outcome) {
        is SyncOutcome.Retry -> o.reason
        is SyncOutcome.Failure -> o.reason
        is SyncOutcome.Cancelled -> "interrupted"
        is SyncOutcome.Done -> null
    }
