//! Cooperative cancellation shared by sync, model and bulk work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag that long-running work checks between steps. Cloning shares the flag, so a
/// handle given to another thread (WorkManager's `onStopped`, a UI button) stops work
/// started from this one. Safe to call from any thread.
#[derive(Debug, Clone, Default)]
pub struct InterruptHandle {
    flag: Arc<AtomicBool>,
}

impl InterruptHandle {
    /// A new, unset flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the work watching this flag to stop at its next check.
    pub fn interrupt(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// True once [`interrupt`](Self::interrupt) was called and not yet [`reset`](Self::reset).
    pub fn is_interrupted(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Clears the flag; called when new work starts so an old request does not stop it.
    pub fn reset(&self) {
        self.flag.store(false, Ordering::SeqCst);
    }
}
