//! Accord's own diagnostics, handed to the app: the engine (`accord::*` targets) and
//! its HTTP and TLS layers (`ureq`, `rustls`) log through the `log` facade; a
//! [`DiagnosticsSink`] installed here receives what passes its level, so an app can
//! route it to Logcat or Timber.
//!
//! One logger per process: [`install_diagnostics_sink`] sets it the first time and
//! replaces the sink and level after that. Until a sink is installed, `log`'s level is
//! `Off`, and a disabled call site costs one atomic load.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock, RwLock};

use crate::error::{AccordError, CallbackError, Result};

/// How much a diagnostic line matters, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DiagnosticLevel {
    /// Something failed (a sync that ended in failure).
    Error,
    /// Something went wrong and will be retried.
    Warn,
    /// What a sync did: started, retried, renewed a token, ended.
    Info,
    /// Each page, batch and request.
    Debug,
    /// Everything the HTTP and TLS layers say.
    Trace,
}

/// Receives Accord's diagnostics.
///
/// Called on the thread that logs (often a sync's), with no Accord lock held. Return
/// quickly (hand the line to Logcat or a queue). Lines logged by the sink itself, or
/// by Accord calls it makes, are dropped rather than sent back into it. An exception
/// thrown here is ignored: it never fails the work that logged.
#[uniffi::export(callback_interface)]
pub trait DiagnosticsSink: Send + Sync {
    /// One line: its level, where it comes from (`accord::sync`, `ureq::...`) and what
    /// it says.
    fn log(
        &self,
        level: DiagnosticLevel,
        target: String,
        message: String,
    ) -> Result<(), CallbackError>;
}

/// Sends Accord's diagnostics at `level` and above to `sink`, for the whole process.
/// A later call replaces the sink and the level. Fails only if something else in this
/// library already installed a `log` logger.
#[uniffi::export]
pub fn install_diagnostics_sink(
    sink: Box<dyn DiagnosticsSink>,
    level: DiagnosticLevel,
) -> Result<()> {
    let forwarder = forwarder();
    *forwarder.sink.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::from(sink));
    if log::set_logger(forwarder).is_err() && !installed_here(forwarder) {
        *forwarder.sink.write().unwrap_or_else(|p| p.into_inner()) = None;
        return Err(AccordError::invalid(
            "another logger is installed in this library; Accord's diagnostics go there",
        ));
    }
    log::set_max_level(filter(level));
    Ok(())
}

/// Stops sending diagnostics; logging is then off again (free at every call site).
#[uniffi::export]
pub fn remove_diagnostics_sink() {
    log::set_max_level(log::LevelFilter::Off);
    if let Some(f) = FORWARDER.get() {
        *f.sink.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

static FORWARDER: OnceLock<Forwarder> = OnceLock::new();

fn forwarder() -> &'static Forwarder {
    FORWARDER.get_or_init(|| Forwarder {
        sink: RwLock::new(None),
    })
}

/// True when the process's `log` logger is ours.
fn installed_here(forwarder: &'static Forwarder) -> bool {
    std::ptr::addr_eq(log::logger(), forwarder as &dyn log::Log)
}

fn filter(level: DiagnosticLevel) -> log::LevelFilter {
    match level {
        DiagnosticLevel::Error => log::LevelFilter::Error,
        DiagnosticLevel::Warn => log::LevelFilter::Warn,
        DiagnosticLevel::Info => log::LevelFilter::Info,
        DiagnosticLevel::Debug => log::LevelFilter::Debug,
        DiagnosticLevel::Trace => log::LevelFilter::Trace,
    }
}

fn level_of(level: log::Level) -> DiagnosticLevel {
    match level {
        log::Level::Error => DiagnosticLevel::Error,
        log::Level::Warn => DiagnosticLevel::Warn,
        log::Level::Info => DiagnosticLevel::Info,
        log::Level::Debug => DiagnosticLevel::Debug,
        log::Level::Trace => DiagnosticLevel::Trace,
    }
}

/// The process's `log` logger: forwards to the installed sink.
struct Forwarder {
    sink: RwLock<Option<Arc<dyn DiagnosticsSink>>>,
}

thread_local! {
    /// Set while this thread is inside the sink: what the sink logs is dropped, so a
    /// sink that logs (or calls Accord) cannot recurse into itself.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

impl log::Log for Forwarder {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        // `try_with`: a line logged while this thread's locals are being destroyed is
        // dropped, where `with` would panic.
        if !self.enabled(record.metadata()) || IN_SINK.try_with(Cell::get).unwrap_or(true) {
            return;
        }
        // Cloned out so the lock is not held while foreign code runs: the sink may
        // install or remove a sink without deadlocking.
        let Some(sink) = self.sink.read().unwrap_or_else(|p| p.into_inner()).clone() else {
            return;
        };
        let _ = IN_SINK.try_with(|s| s.set(true));
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // A sink that fails is ignored: diagnostics never fail the work they describe.
            let _ = sink.log(
                level_of(record.level()),
                record.target().to_string(),
                record.args().to_string(),
            );
        }));
        let _ = IN_SINK.try_with(|s| s.set(false));
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    type Lines = Arc<Mutex<Vec<(DiagnosticLevel, String, String)>>>;

    struct Collecting(Lines);

    impl DiagnosticsSink for Collecting {
        fn log(
            &self,
            level: DiagnosticLevel,
            target: String,
            message: String,
        ) -> Result<(), CallbackError> {
            // Logging from inside the sink must neither recurse nor deadlock.
            log::error!(target: "inside", "dropped");
            // Other tests of this binary sync while this one runs: keep this test's lines.
            if target == "accord::test" {
                self.0.lock().unwrap().push((level, target, message));
            }
            Err(CallbackError::Failed {
                reason: "a failing sink is ignored".into(),
            })
        }
    }

    // One test: the logger is process-wide, and tests run in parallel.
    #[test]
    fn the_sink_gets_lines_at_its_level_and_above_and_can_be_replaced_and_removed() {
        let first: Lines = Arc::default();
        install_diagnostics_sink(Box::new(Collecting(first.clone())), DiagnosticLevel::Info)
            .unwrap();
        log::debug!(target: "accord::test", "too fine");
        log::info!(target: "accord::test", "kept {}", 1);
        log::error!(target: "accord::test", "kept too");
        assert_eq!(
            *first.lock().unwrap(),
            vec![
                (
                    DiagnosticLevel::Info,
                    "accord::test".into(),
                    "kept 1".into()
                ),
                (
                    DiagnosticLevel::Error,
                    "accord::test".into(),
                    "kept too".into()
                ),
            ]
        );

        let second: Lines = Arc::default();
        install_diagnostics_sink(Box::new(Collecting(second.clone())), DiagnosticLevel::Debug)
            .unwrap();
        log::debug!(target: "accord::test", "now kept");
        assert_eq!(first.lock().unwrap().len(), 2);
        assert_eq!(second.lock().unwrap().len(), 1);

        remove_diagnostics_sink();
        log::error!(target: "accord::test", "nobody listens");
        assert_eq!(second.lock().unwrap().len(), 1);
        assert_eq!(log::max_level(), log::LevelFilter::Off);
    }
}
