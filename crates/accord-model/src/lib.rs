//! Accord's on-device language model: GGUF files of the llama family (SmolLM2, Llama)
//! and Qwen2, run on the CPU with candle's quantized tensors and Accord's own kernels.
//!
//! It implements [`accord_model_api::LanguageModel`], the one trait the sync engine
//! (`accord`, through its `model` feature) and the log summary (`accord-logs`) call
//! through; they never name anything else here. An app that does not want a model builds
//! the engine without that feature and ships none of this crate.
//!
//! [`GgufModel`] loads a file now; [`LazyModel`] on first use (what
//! `accord::Config::with_model` uses, so a sync that needs no model maps no weights).

pub mod chat_template;
pub mod gguf;
pub mod gguf_model;
mod kernels;
pub mod lazy;
pub mod locate;
pub mod tokenizer;
mod transformer;
mod weights;

pub use accord_model_api::{
    Budget, ChatMessage, ContinuationScore, Generation, InterruptHandle, LanguageModel, ModelError,
    Role, StopReason,
};
pub use chat_template::ChatTemplate;
pub use gguf::{Architecture, GgufFile, Hyperparameters};
pub use gguf_model::{GgufModel, LoadOptions, LoadReport, Speed};
pub use lazy::LazyModel;
pub use locate::{KnownModel, KNOWN_MODELS};
pub use tokenizer::Tokenizer;
