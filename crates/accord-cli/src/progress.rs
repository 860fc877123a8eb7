//! Progress bars for long work on a terminal: a sync, driven by the core's progress
//! callback (the same figures Kotlin's progress listener gets). `accord-bench` includes
//! this file too, for its syncs and its long steps. Drawn on standard error, and only when standard output is a terminal and no
//! machine-readable output was asked for, so a pipe or `--json` gets nothing extra.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{HumanBytes, HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};

use accord::sync::{SyncPhase, SyncProgress};
use accord::ProgressListener;

/// Whether progress may be drawn: standard output is a terminal (a person is watching),
/// standard error too (where the bar goes), and `machine_output` (e.g. `--json`) is off.
pub fn wanted(machine_output: bool) -> bool {
    !machine_output && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// Shows `bar` on standard error when `enabled`; it was configured while hidden, so its
/// first frame is already complete.
pub(crate) fn show(bar: &ProgressBar, enabled: bool) {
    if enabled {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
}

/// Ends `bar` with its last frame left on screen, and the cursor on the next line (a
/// finished bar leaves it at the end of its line).
fn leave(bar: &ProgressBar, enabled: bool) {
    bar.finish();
    if enabled {
        eprintln!();
    }
}

pub(crate) fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this file; a bad one is a bug caught by the tests,
    // and falls back to the default style rather than failing a sync.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

const COUNTED: &str = "{prefix:>5} [{bar:30}] {human_pos}/{human_len} {msg}";
const UNCOUNTED: &str = "{prefix:>5} {spinner} {human_pos} {msg}";
/// `n` per second over `elapsed`, rounded, with thousands separators.
fn rate(n: u64, elapsed: std::time::Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if secs < 0.001 {
        return "-".into();
    }
    format!("{}/s", HumanCount((n as f64 / secs).round() as u64))
}

/// One line per sync phase: records pulled of the total the server announced (a
/// spinner when it cannot count), bytes moved, rate and elapsed time. Each phase's line
/// stays on screen when the next begins.
pub struct SyncBar {
    enabled: bool,
    current: Mutex<Phase>,
}

/// The phase being drawn, and when it began: at the previous phase's last update (or
/// when the bar was made), since a phase reports only after its first batch.
struct Phase {
    bar: Option<(SyncPhase, ProgressBar)>,
    began: Instant,
    last_update: Instant,
}

impl SyncBar {
    /// A bar that draws only when `enabled` (see [`wanted`]).
    pub fn new(enabled: bool) -> Arc<SyncBar> {
        let now = Instant::now();
        Arc::new(SyncBar {
            enabled,
            current: Mutex::new(Phase {
                bar: None,
                began: now,
                last_update: now,
            }),
        })
    }

    /// The listener to give `Accord::sync_with_progress`.
    pub fn listener(self: &Arc<Self>) -> ProgressListener {
        let me = self.clone();
        Arc::new(move |p: &SyncProgress| me.update(p))
    }

    fn update(&self, p: &SyncProgress) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if current.bar.as_ref().map(|(phase, _)| *phase) != Some(p.phase) {
            if let Some((_, done)) = current.bar.take() {
                leave(&done, self.enabled);
            }
            let bar = ProgressBar::with_draw_target(p.total, ProgressDrawTarget::hidden());
            bar.set_style(style(if p.total.is_some() {
                COUNTED
            } else {
                UNCOUNTED
            }));
            bar.set_prefix(match p.phase {
                SyncPhase::Pull => "pull",
                SyncPhase::Push => "push",
                SyncPhase::Logs => "logs",
            });
            current.began = current.last_update;
            current.bar = Some((p.phase, bar));
        }
        let began = current.began;
        current.last_update = now;
        let Some((phase, bar)) = current.bar.as_ref() else {
            return;
        };
        if let Some(total) = p.total {
            if bar.length() != Some(total) {
                bar.set_style(style(COUNTED));
                bar.set_length(total);
            }
        }
        let unit = match phase {
            SyncPhase::Pull => "records",
            SyncPhase::Push => "mutations",
            SyncPhase::Logs => "report",
        };
        let elapsed = now.duration_since(began);
        bar.set_position(p.done);
        bar.set_message(format!(
            "{unit}  {}  {}  {:.1} s",
            HumanBytes(p.bytes_received + p.bytes_sent),
            rate(p.done, elapsed),
            elapsed.as_secs_f64()
        ));
        if bar.is_hidden() {
            show(bar, self.enabled);
        }
    }

    /// Leaves the last phase's line on screen.
    pub fn finish(&self) {
        if let Some((_, bar)) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .bar
            .take()
        {
            leave(&bar, self.enabled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_are_valid() {
        for t in [COUNTED, UNCOUNTED] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }

    #[test]
    fn a_hidden_bar_follows_the_phases_and_their_totals() {
        let bar = SyncBar::new(false);
        let listener = bar.listener();
        let at = |phase, done, total| SyncProgress {
            phase,
            done,
            total,
            bytes_sent: 0,
            bytes_received: 10 * done,
        };
        listener(&at(SyncPhase::Pull, 500, Some(1200)));
        {
            let current = bar.current.lock().unwrap();
            let (phase, b) = current.bar.as_ref().unwrap();
            assert_eq!(
                (*phase, b.position(), b.length()),
                (SyncPhase::Pull, 500, Some(1200))
            );
        }
        listener(&at(SyncPhase::Push, 3, None));
        {
            let current = bar.current.lock().unwrap();
            let (phase, b) = current.bar.as_ref().unwrap();
            assert_eq!(
                (*phase, b.position(), b.length()),
                (SyncPhase::Push, 3, None)
            );
        }
        bar.finish();
        assert!(bar.current.lock().unwrap().bar.is_none());
    }
}
