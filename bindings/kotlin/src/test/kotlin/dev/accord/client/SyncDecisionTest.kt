package dev.accord.client

import dev.accord.SyncOutcome
import dev.accord.SyncReport
import org.junit.jupiter.api.Test
import kotlin.test.assertEquals
import kotlin.test.assertNull

class SyncDecisionTest {
    private fun report(outcome: SyncOutcome) = SyncReport(
        outcome, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, emptyList(), 0, null, null, emptyList(),
    )

    @Test
    fun eachOutcomeMapsToTheWorkManagerResultItNeeds() {
        assertEquals(SyncDecision.SUCCESS, report(SyncOutcome.Done).decision)
        assertEquals(SyncDecision.RETRY, report(SyncOutcome.Retry("503")).decision)
        assertEquals(SyncDecision.RETRY, report(SyncOutcome.Cancelled).decision)
        assertEquals(SyncDecision.FAILURE, report(SyncOutcome.Failure("bad token")).decision)
        assertEquals("bad token", report(SyncOutcome.Failure("bad token")).reason)
        assertNull(report(SyncOutcome.Done).reason)
    }
}
