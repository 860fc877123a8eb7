//! The language model as the engine sees it: the [`LanguageModel`] trait the merge
//! arbiter and the log summary call through, with its budget and message types (from
//! `accord-model-api`). The runtime that implements it is the `accord-model` crate,
//! built in only with this crate's `model` feature; without it a configured model path
//! is reported as unusable and merges fall back exactly as for a missing file.

use std::path::{Path, PathBuf};
#[cfg(feature = "model")]
use std::sync::Arc;

pub use accord_model_api::{
    Budget, ChatMessage, ContinuationScore, Generation, LanguageModel, ModelError, Role, StopReason,
};

/// The model file a [`crate::Config`] names, opened lazily: nothing is mapped until the
/// arbiter or the log summary first calls it.
pub(crate) struct ModelFile {
    path: PathBuf,
    #[cfg(feature = "model")]
    lazy: Option<Arc<accord_model::LazyModel>>,
}

impl ModelFile {
    /// The model at `path`; usable only if the file exists and the runtime is built in.
    pub(crate) fn open(path: &Path) -> ModelFile {
        ModelFile {
            path: path.to_path_buf(),
            #[cfg(feature = "model")]
            lazy: path.is_file().then(|| {
                Arc::new(accord_model::LazyModel::new(
                    path,
                    accord_model::LoadOptions::default(),
                ))
            }),
        }
    }

    /// The model to call, shared; `None` when the file is missing.
    #[cfg(feature = "model")]
    pub(crate) fn shared(&self) -> Option<Arc<dyn LanguageModel>> {
        self.lazy
            .as_ref()
            .map(|m| m.clone() as Arc<dyn LanguageModel>)
    }

    /// The model to call, borrowed; `None` when the file is missing.
    #[cfg(feature = "model")]
    pub(crate) fn get(&self) -> Option<&dyn LanguageModel> {
        self.lazy.as_deref().map(|m| m as &dyn LanguageModel)
    }

    /// Why the model cannot be used, if it cannot: the file is missing, or loading it
    /// (on first use) failed.
    #[cfg(feature = "model")]
    pub(crate) fn error(&self) -> Option<String> {
        match &self.lazy {
            None => Some(format!(
                "model file {} not found; overlapping edits are decided without it",
                self.path.display()
            )),
            Some(m) => m.load_error().map(|e| {
                format!(
                    "model {} could not be loaded ({e}); merges that needed it kept both sides",
                    self.path.display()
                )
            }),
        }
    }

    /// No model without the runtime.
    #[cfg(not(feature = "model"))]
    pub(crate) fn shared(&self) -> Option<std::sync::Arc<dyn LanguageModel>> {
        None
    }

    /// No model without the runtime.
    #[cfg(not(feature = "model"))]
    pub(crate) fn get(&self) -> Option<&dyn LanguageModel> {
        None
    }

    /// Why the model is not used: this build has no model runtime.
    #[cfg(not(feature = "model"))]
    pub(crate) fn error(&self) -> Option<String> {
        Some(format!(
            "model {} not used: this build of Accord has no model runtime (cargo feature `model`); overlapping edits are decided without it",
            self.path.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_model_that_cannot_be_used_is_reported_and_never_called() {
        let file = ModelFile::open(Path::new("/nonexistent/Tiny.Q8_0.gguf"));
        assert!(file.get().is_none());
        assert!(file.shared().is_none());
        let why = file.error().unwrap_or_default();
        assert!(why.contains("/nonexistent/Tiny.Q8_0.gguf"), "{why}");
        if cfg!(feature = "model") {
            assert!(why.contains("not found"), "{why}");
        } else {
            assert!(why.contains("no model runtime"), "{why}");
        }
    }

    /// Built without the runtime, even a file that exists is not loaded.
    #[cfg(not(feature = "model"))]
    #[test]
    fn without_the_runtime_an_existing_model_file_is_reported_unusable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        std::fs::write(&path, b"GGUF").unwrap();
        let file = ModelFile::open(&path);
        assert!(file.get().is_none());
        let why = file.error().unwrap_or_default();
        assert!(why.contains("cargo feature `model`"), "{why}");
    }
}
