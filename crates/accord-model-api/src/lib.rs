//! What Accord needs from a language model, and nothing of how one runs.
//!
//! [`LanguageModel`] is what the merge arbiter (in `accord`) and the log summary (in
//! `accord-logs`) need from a model: the model's own chat template, greedy generation
//! within a [`Budget`], and scoring of candidate continuations. The candle-backed GGUF
//! runtime that implements it is the `accord-model` crate, which an app links only when
//! it wants the model (the engine's `model` feature); tests of the layers above use a
//! small fake. [`InterruptHandle`] lives here because a budget carries one.
//!
//! This crate sits below the engine, the log miner and the runtime so that each can
//! name the trait without depending on the others.

use std::time::{Duration, Instant};

pub mod interrupt;

pub use interrupt::InterruptHandle;

/// Who speaks in a chat turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The request.
    User,
    /// The model's answer.
    Assistant,
}

/// One turn of a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Speaker.
    pub role: Role,
    /// Text of the turn.
    pub content: String,
}

impl ChatMessage {
    /// A system turn.
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user turn.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }
}

/// Limits on one model call: a token cap, a wall-clock deadline and a cancel flag.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Most tokens to generate (or, for scoring, to evaluate beyond the prompt).
    pub max_tokens: usize,
    /// Stop when this instant has passed.
    pub deadline: Option<Instant>,
    /// Stop when this is interrupted.
    pub interrupt: Option<InterruptHandle>,
}

impl Budget {
    /// A budget of `max_tokens` tokens and `time` of wall clock, starting now.
    pub fn new(max_tokens: usize, time: Duration) -> Self {
        Budget {
            max_tokens,
            deadline: Some(Instant::now() + time),
            interrupt: None,
        }
    }

    /// The same budget, also stopped by `interrupt`.
    pub fn with_interrupt(mut self, interrupt: InterruptHandle) -> Self {
        self.interrupt = Some(interrupt);
        self
    }

    /// Why work under this budget must stop now, if it must.
    pub fn exhausted(&self) -> Option<ModelError> {
        if self.interrupt.as_ref().is_some_and(|i| i.is_interrupted()) {
            return Some(ModelError::Cancelled);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(ModelError::OutOfTime);
        }
        None
    }
}

/// Log-likelihood of one candidate continuation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContinuationScore {
    /// Sum of the natural-log probabilities of the continuation's tokens.
    pub logprob: f64,
    /// Number of tokens in the continuation.
    pub tokens: usize,
}

impl ContinuationScore {
    /// Mean log-probability per token (0 for an empty continuation).
    pub fn mean(&self) -> f64 {
        if self.tokens == 0 {
            0.0
        } else {
            self.logprob / self.tokens as f64
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The model produced a stop token.
    EndOfText,
    /// The token cap was reached.
    MaxTokens,
    /// The deadline passed.
    OutOfTime,
    /// The call was interrupted.
    Cancelled,
}

/// The result of greedy generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Generated text, without the prompt or the stop token.
    pub text: String,
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub tokens: usize,
    /// Why it ended.
    pub stop: StopReason,
    /// Wall time of the call.
    pub elapsed: Duration,
}

/// What can go wrong with a model. None of these is fatal to a sync: the caller falls
/// back to the deterministic path and reports the error.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model file could not be read.
    #[error("cannot read model file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a GGUF model this build can use (truncated, corrupt, wrong
    /// checksum, unknown architecture or quantization).
    #[error("model file {path} is not usable: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Text that cannot be tokenized or a prompt longer than the model's context.
    #[error("model input rejected: {0}")]
    Input(String),
    /// The time budget was spent.
    #[error("model time budget spent")]
    OutOfTime,
    /// The call was interrupted.
    #[error("model call cancelled")]
    Cancelled,
    /// The model failed while running.
    #[error("model failed: {0}")]
    Runtime(String),
}

/// What the merge arbiter and the log summary need from a language model.
///
/// Implementations are shared between threads; calls on one model are serialised
/// internally (a model holds one KV cache).
pub trait LanguageModel: Send + Sync {
    /// Short name for reports and the conflict log, e.g. `SmolLM2-135M-Instruct-Q4_1`.
    fn name(&self) -> &str;

    /// Formats `messages` with the model's own chat template, ending where the
    /// assistant's answer begins.
    fn chat_prompt(&self, messages: &[ChatMessage]) -> Result<String, ModelError>;

    /// Number of tokens `text` encodes to (no special tokens added).
    fn count_tokens(&self, text: &str) -> Result<usize, ModelError>;

    /// Log-likelihood of each continuation after `prompt`. The prompt is evaluated once
    /// and its KV cache reused for every continuation. Fails with `OutOfTime` or
    /// `Cancelled` when the budget runs out before all are scored.
    fn score(
        &self,
        prompt: &str,
        continuations: &[&str],
        budget: &Budget,
    ) -> Result<Vec<ContinuationScore>, ModelError>;

    /// Greedy (deterministic) generation after `prompt` until a stop token or the
    /// budget. Running out of budget is not an error: the text so far is returned with
    /// the reason it stopped.
    fn generate(&self, prompt: &str, budget: &Budget) -> Result<Generation, ModelError>;
}
