//! `accord model info|tokenize|generate`: look inside and try the on-device model.
//! (Its speed and memory beside llama.cpp: `accord-bench model`.)

use std::path::PathBuf;
use std::time::Duration;

use accord_model::{
    Budget, ChatMessage, GgufFile, GgufModel, KnownModel, LanguageModel, LoadOptions, Tokenizer,
};
use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};

use crate::model_path::default_model_path;

/// Which model file a command uses.
#[derive(Args, Debug, Clone)]
pub struct ModelChoice {
    /// GGUF file to load (default: $ACCORD_MODEL, else the first model present in
    /// $ACCORD_MODELS_DIR or ./models, fetched by scripts/fetch-models.sh).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Check the file's sha256 first (known models only).
    #[arg(long)]
    pub verify: bool,
    /// Keep every matrix in the file's own format, even where candle has no fast
    /// kernel for it (slower; for comparing against the requantized load).
    #[arg(long)]
    pub no_requantize: bool,
    /// Do not use Accord's own kernels (Q4_1/Q5_0/Q8_0, and Q5_1 on arm64; AVX2 or NEON):
    /// those formats are requantized to Q8_0 and every matrix runs on candle's kernels,
    /// as on CPUs without AVX2 or NEON.
    #[arg(long)]
    pub no_own_kernels: bool,
}

impl ModelChoice {
    fn path(&self) -> Result<PathBuf> {
        match &self.model {
            Some(p) => Ok(p.clone()),
            None => default_model_path().ok_or_else(|| {
                anyhow!(
                    "no model: pass --model FILE, set ACCORD_MODEL, or run scripts/fetch-models.sh"
                )
            }),
        }
    }

    fn load(&self) -> Result<GgufModel> {
        let path = self.path()?;
        let mut options = LoadOptions {
            requantize: !self.no_requantize,
            own_kernels: !self.no_own_kernels,
            ..LoadOptions::default()
        };
        if self.verify {
            let known = KnownModel::by_path(&path)
                .ok_or_else(|| anyhow!("no known checksum for {}", path.display()))?;
            options.sha256 = Some(known.sha256.to_string());
        }
        Ok(GgufModel::load(&path, &options)?)
    }
}

/// `accord model ...`
#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Load the model and print the load report (architecture, quantization, what was
    /// requantized, memory, load time).
    Info(ModelChoice),
    /// Print the token ids of TEXT (special tokens parsed, no BOS), as llama-tokenize
    /// does. Reads only the file's metadata, not the weights.
    Tokenize {
        #[command(flatten)]
        choice: ModelChoice,
        /// Tokenize this file's exact bytes instead of TEXT.
        #[arg(long, conflicts_with = "text")]
        file: Option<PathBuf>,
        /// Text to tokenize.
        #[arg(required_unless_present = "file")]
        text: Option<String>,
    },
    /// Answer PROMPT as a one-turn chat, greedily, and print timing.
    Generate {
        #[command(flatten)]
        choice: ModelChoice,
        /// Most tokens to generate.
        #[arg(long, default_value_t = 128)]
        max_tokens: usize,
        /// Wall-clock budget in seconds.
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        /// System turn (default: the template's own).
        #[arg(long)]
        system: Option<String>,
        /// The user turn.
        prompt: String,
    },
}

/// Runs `accord model ...`.
pub fn run_model(cmd: ModelCommand) -> Result<std::process::ExitCode> {
    match cmd {
        ModelCommand::Info(choice) => {
            let model = choice.load()?;
            println!("{}", model.report());
        }
        ModelCommand::Tokenize { choice, file, text } => {
            let gguf = GgufFile::open(&choice.path()?, None)?;
            let tokenizer = Tokenizer::from_gguf(&gguf)?;
            let text = match file {
                Some(f) => std::fs::read_to_string(&f)
                    .with_context(|| format!("cannot read {}", f.display()))?,
                None => text.unwrap_or_default(),
            };
            println!("{:?}", tokenizer.encode(&text, true));
        }
        ModelCommand::Generate {
            choice,
            max_tokens,
            seconds,
            system,
            prompt,
        } => {
            let model = choice.load()?;
            let mut messages = Vec::new();
            if let Some(s) = system {
                messages.push(ChatMessage::system(s));
            }
            messages.push(ChatMessage::user(prompt));
            let text = model.chat_prompt(&messages)?;
            let budget = Budget::new(max_tokens, Duration::from_secs_f64(seconds.max(0.0)));
            let g = model.generate(&text, &budget)?;
            println!("{}", g.text);
            eprintln!(
                "[{} prompt tokens, {} generated, stop {:?}, {:.2} s, {:.1} tok/s]",
                g.prompt_tokens,
                g.tokens,
                g.stop,
                g.elapsed.as_secs_f64(),
                g.tokens as f64 / g.elapsed.as_secs_f64().max(1e-9)
            );
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
