//! Helpers the tests of several crates share, written once: [`FakeModel`], a language
//! model whose answers a test chooses, and [`test_model_path`], where the real test model
//! is. A dev-dependency only; nothing here ships.

mod fake_model;

use std::path::PathBuf;

pub use fake_model::FakeModel;

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
