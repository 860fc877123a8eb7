//! [`LazyModel`]: a model file that is loaded the first time it is needed.
//!
//! Most merges never reach the arbiter's model call, and a phone should not map and
//! prepare half a gigabyte of weights at app start for a sync that may not need them.
//! A file that cannot be loaded fails every call with the same error, so the caller
//! falls back and reports it; it is never retried within one `LazyModel`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{
    Budget, ChatMessage, ContinuationScore, Generation, GgufModel, LanguageModel, LoadOptions,
    ModelError,
};

/// A GGUF model loaded on first use. Shared between threads like any [`LanguageModel`].
pub struct LazyModel {
    path: PathBuf,
    options: LoadOptions,
    name: String,
    loaded: OnceLock<Result<GgufModel, String>>,
}

impl std::fmt::Debug for LazyModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyModel")
            .field("path", &self.path)
            .field("loaded", &self.loaded.get().map(|r| r.is_ok()))
            .finish()
    }
}

impl LazyModel {
    /// A model at `path`, to be loaded with `options` when first called. Its name (for
    /// the conflict log) is the file name without `.gguf`, known before loading.
    pub fn new(path: impl Into<PathBuf>, options: LoadOptions) -> Self {
        let path = path.into();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.strip_suffix(".gguf").unwrap_or(n).to_string())
            .unwrap_or_else(|| "model".to_string());
        LazyModel {
            path,
            options,
            name,
            loaded: OnceLock::new(),
        }
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the file now if it was not loaded yet; the model, or why it cannot be used.
    pub fn get(&self) -> Result<&GgufModel, ModelError> {
        self.loaded
            .get_or_init(|| GgufModel::load(&self.path, &self.options).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|reason| ModelError::Invalid {
                path: self.path.display().to_string(),
                reason: reason.clone(),
            })
    }

    /// Why loading failed, if it was tried and failed.
    pub fn load_error(&self) -> Option<&str> {
        match self.loaded.get() {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }

    /// True once the file was loaded successfully.
    pub fn is_loaded(&self) -> bool {
        matches!(self.loaded.get(), Some(Ok(_)))
    }
}

impl LanguageModel for LazyModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn chat_prompt(&self, messages: &[ChatMessage]) -> Result<String, ModelError> {
        self.get()?.chat_prompt(messages)
    }

    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        self.get()?.count_tokens(text)
    }

    fn score(
        &self,
        prompt: &str,
        continuations: &[&str],
        budget: &Budget,
    ) -> Result<Vec<ContinuationScore>, ModelError> {
        self.get()?.score(prompt, continuations, budget)
    }

    fn generate(&self, prompt: &str, budget: &Budget) -> Result<Generation, ModelError> {
        self.get()?.generate(prompt, budget)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_missing_file_fails_every_call_with_the_same_clear_error() {
        let m = LazyModel::new("/nonexistent/Tiny.Q8_0.gguf", LoadOptions::default());
        assert_eq!(m.name(), "Tiny.Q8_0");
        assert!(
            m.load_error().is_none(),
            "nothing is loaded before the first call"
        );
        let budget = Budget::new(10, Duration::from_secs(1));
        let first = m.score("a", &["b"], &budget).unwrap_err();
        assert!(matches!(first, ModelError::Invalid { .. }), "{first}");
        assert!(first.to_string().contains("/nonexistent/Tiny.Q8_0.gguf"));
        assert!(m.load_error().is_some());
        assert!(m.count_tokens("x").is_err());
        assert!(!m.is_loaded());
    }
}
