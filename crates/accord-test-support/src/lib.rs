//! Helpers the tests of several crates share, written once: [`FakeModel`], a language
//! model whose answers a test chooses, [`test_model_path`], where the real test model
//! is, and [`on_a_terminal`], a command run as at a terminal. A dev-dependency only;
//! nothing here ships.

mod fake_model;

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub use fake_model::FakeModel;

/// Runs `command` (program, then arguments; `env NAME=VALUE ...` sets variables) on a
/// pseudo-terminal (util-linux `script`), as a person at a terminal would, and returns
/// everything the terminal showed. Fails the calling test when the command fails.
#[allow(clippy::panic)] // a test helper: failing the calling test is its error report
pub fn on_a_terminal<S: AsRef<str>>(command: &[S]) -> String {
    let line = command
        .iter()
        .map(|a| format!("'{}'", a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => panic!("util-linux `script` runs commands on a pseudo-terminal: {e}"),
    };
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// File name of the small model the tests load (SmolLM2-135M-Instruct, Q4_1), as
/// `scripts/fetch-models.sh smollm2` (`make model`) installs it.
pub const TEST_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The real test model: `$ACCORD_TEST_MODEL`, else the checkout's `models/` folder. Fails
/// the calling test, saying how to fetch it, when the file is not there.
pub fn test_model_path() -> PathBuf {
    let path = std::env::var_os("ACCORD_TEST_MODEL")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../models")
                .join(TEST_MODEL_FILE)
        });
    assert!(
        path.is_file(),
        "test model {} is missing: run `make model` (scripts/fetch-models.sh smollm2), or \
         point ACCORD_TEST_MODEL at {TEST_MODEL_FILE}",
        path.display()
    );
    path
}
