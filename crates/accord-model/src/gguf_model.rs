//! [`GgufModel`]: a GGUF file loaded with candle on the CPU, behind [`LanguageModel`].

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use super::chat_template::ChatTemplate;
use super::gguf::{Architecture, GgufFile};
use super::tokenizer::Tokenizer;
use super::transformer::{argmax, log_softmax_at, ms_since, KvCache, Logits, Transformer};
use super::{
    Budget, ChatMessage, ContinuationScore, Generation, LanguageModel, ModelError, StopReason,
};

/// How to load a model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Check the whole file against this sha256 (hex) before loading.
    pub sha256: Option<String>,
    /// Requantize matrices whose format has no fast candle kernel (Q4_1, Q5_0, Q5_1) to
    /// Q8_0. On by default: without it those models run several times slower.
    pub requantize: bool,
    /// Run Q4_1, Q5_0 and Q8_0 matrices (and Q5_1 on arm64) with Accord's own kernels,
    /// AVX2 on x86-64 and NEON on arm64, chosen by what the CPU has: they stay in place
    /// in the mapped file instead of being requantized, which is smaller in memory and
    /// faster to decode. On by default; elsewhere, or when off, `requantize` applies.
    pub own_kernels: bool,
    /// Longest sequence (prompt plus generated tokens) a call may use; capped by the
    /// model's trained context. Bounds the KV cache and rotary tables.
    pub max_context: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            sha256: None,
            requantize: true,
            own_kernels: true,
            max_context: 4096,
        }
    }
}

/// What loading found and did; returned by [`GgufModel::load`] and shown by
/// `accord model info`.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// The model's name for reports (file stem).
    pub name: String,
    /// Family.
    pub arch: Architecture,
    /// Number of weights.
    pub parameters: u64,
    /// Tensor formats in the file with their counts, most frequent first.
    pub quantization: Vec<(String, usize)>,
    /// Matrices converted at load, as `("Q4_1->Q8_0", count)`; empty when none were.
    pub requantized: Vec<(String, usize)>,
    /// Matrices run by Accord's own kernels (Q4_1, Q5_0 and on arm64 Q5_1, which candle
    /// has only scalar code for, and Q8_0), as `("Q5_0", count)`.
    pub native_kernels: Vec<(String, usize)>,
    /// The instruction set Accord's kernels ran with (`AVX2`, `NEON`,
    /// `NEON+dotprod`); `None` when no matrix used them.
    pub native_instruction_set: Option<&'static str>,
    /// Bytes of weights owned by the process after loading (requantized or copied
    /// matrices, f32 norms); the rest is read in place from the mapped file.
    pub weight_bytes: usize,
    /// Bytes of weights read in place from the memory-mapped file (not copied).
    pub mapped_bytes: usize,
    /// Tensors copied out of the map because their offset in the file was not aligned
    /// for their block type (0 for files written with GGUF's usual alignment).
    pub copied_tensors: usize,
    /// Size of the file.
    pub file_bytes: u64,
    /// Whether the file was checked against a sha256.
    pub sha256_verified: bool,
    /// Wall time of the load.
    pub load_ms: f64,
    /// Vocabulary size.
    pub vocab: usize,
    /// Longest sequence a call may use.
    pub context: usize,
    /// Layers, width, heads.
    pub layers: usize,
    /// Width of the residual stream.
    pub embedding: usize,
    /// Query heads / key-value heads.
    pub heads: (usize, usize),
    /// The recognised chat format.
    pub chat_template: &'static str,
    /// The pre-tokenizer named in the file.
    pub pre_tokenizer: String,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let quant: Vec<String> = self
            .quantization
            .iter()
            .map(|(q, n)| format!("{q}x{n}"))
            .collect();
        writeln!(f, "model        {}", self.name)?;
        writeln!(
            f,
            "architecture {} ({} layers, {} wide, {}/{} heads)",
            self.arch.gguf_name(),
            self.layers,
            self.embedding,
            self.heads.0,
            self.heads.1
        )?;
        writeln!(f, "parameters   {:.1} M", self.parameters as f64 / 1e6)?;
        writeln!(f, "tensors      {}", quant.join(" "))?;
        if !self.native_kernels.is_empty() {
            let r: Vec<String> = self
                .native_kernels
                .iter()
                .map(|(q, n)| format!("{q} x{n}"))
                .collect();
            writeln!(
                f,
                "own kernels  {} ({}, on the file's blocks in place)",
                r.join(", "),
                self.native_instruction_set.unwrap_or("?")
            )?;
        }
        if self.requantized.is_empty() {
            writeln!(f, "requantized  no (every format has a fast kernel)")?;
        } else {
            let r: Vec<String> = self
                .requantized
                .iter()
                .map(|(q, n)| format!("{q} x{n}"))
                .collect();
            writeln!(
                f,
                "requantized  {} (no fast candle kernel for the source format)",
                r.join(", ")
            )?;
        }
        writeln!(
            f,
            "weights      {:.1} MB mapped in place, {:.1} MB owned, {} tensors copied \
             (misaligned); file {:.1} MB",
            self.mapped_bytes as f64 / 1e6,
            self.weight_bytes as f64 / 1e6,
            self.copied_tensors,
            self.file_bytes as f64 / 1e6
        )?;
        writeln!(
            f,
            "sha256       {}",
            if self.sha256_verified {
                "verified"
            } else {
                "not checked"
            }
        )?;
        writeln!(
            f,
            "tokenizer    byte-level BPE, pre-tokenizer {}, {} tokens",
            self.pre_tokenizer, self.vocab
        )?;
        writeln!(f, "chat format  {}", self.chat_template)?;
        writeln!(f, "context      {} tokens", self.context)?;
        write!(f, "load time    {:.0} ms", self.load_ms)
    }
}

/// State that one call at a time may use: the KV cache and the tokens it holds, so the
/// next call can reuse a shared prefix (the same system prompt, the same scoring prompt).
struct Session {
    cache: KvCache,
    tokens: Vec<u32>,
}

/// A GGUF model on the CPU. Calls are serialised by an internal mutex; the model can be
/// shared between threads (`Arc<GgufModel>`).
pub struct GgufModel {
    report: LoadReport,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    net: Transformer,
    stop_tokens: Vec<u32>,
    session: Mutex<Session>,
}

/// Prompt tokens evaluated per forward pass; the budget is checked between chunks, so a
/// long prompt can still be cancelled promptly.
const PROMPT_CHUNK: usize = 64;

impl GgufModel {
    /// Loads the model at `path`. A missing, truncated or corrupt file, an unsupported
    /// architecture or a checksum mismatch is an error, never a panic.
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Self, ModelError> {
        let started = Instant::now();
        let gguf = GgufFile::open(path, options.sha256.as_deref())?;
        let tokenizer = Tokenizer::from_gguf(&gguf)?;
        let template = ChatTemplate::from_source(gguf.meta_str("tokenizer.chat_template"));
        let (net, stats) = Transformer::load(
            &gguf,
            options.requantize,
            options.own_kernels,
            options.max_context,
        )?;
        if net.vocab() < tokenizer.vocab_size() {
            return Err(super::gguf::invalid(
                path,
                format!(
                    "the output layer has {} rows but the tokenizer {} tokens",
                    net.vocab(),
                    tokenizer.vocab_size()
                ),
            ));
        }
        let mut stop_tokens: Vec<u32> = [tokenizer.eos, tokenizer.eot]
            .into_iter()
            .flatten()
            .chain(
                [
                    "<|im_end|>",
                    "<|endoftext|>",
                    "<|eot_id|>",
                    "<|end_of_text|>",
                ]
                .iter()
                .filter_map(|t| tokenizer.token_id(t)),
            )
            .collect();
        stop_tokens.sort_unstable();
        stop_tokens.dedup();
        let mut quantization: Vec<(String, usize)> =
            gguf.tensor_type_counts().into_iter().collect();
        quantization.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let h = gguf.hyperparameters();
        let report = LoadReport {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into()),
            arch: h.arch,
            parameters: gguf.parameter_count(),
            quantization,
            requantized: stats.requantized,
            native_kernels: stats.native,
            native_instruction_set: stats.native_instruction_set,
            weight_bytes: stats.bytes_in_memory,
            mapped_bytes: stats.bytes_mapped,
            copied_tensors: stats.copied,
            file_bytes: gguf.file_len(),
            sha256_verified: options.sha256.is_some(),
            load_ms: ms_since(started),
            vocab: tokenizer.vocab_size(),
            context: net.max_positions,
            layers: h.layers,
            embedding: h.embedding,
            heads: (h.heads, h.kv_heads),
            chat_template: template.name(),
            pre_tokenizer: gguf
                .meta_str("tokenizer.ggml.pre")
                .unwrap_or("default")
                .to_string(),
        };
        let cache = net.new_cache();
        Ok(GgufModel {
            report,
            tokenizer,
            template,
            net,
            stop_tokens,
            session: Mutex::new(Session {
                cache,
                tokens: Vec::new(),
            }),
        })
    }

    /// What loading found and did.
    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    /// The tokenizer built from the file.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Tokens of a prompt as the model sees it: BOS when the model wants one, special
    /// tokens parsed (prompts come from [`LanguageModel::chat_prompt`]).
    pub fn prompt_tokens(&self, prompt: &str) -> Vec<u32> {
        let mut tokens = Vec::new();
        if self.tokenizer.add_bos {
            tokens.extend(self.tokenizer.bos);
        }
        tokens.extend(self.tokenizer.encode(prompt, true));
        tokens
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Session>, ModelError> {
        // A panic inside a previous call poisons the lock; the cache may be half
        // written, so it is cleared rather than trusted.
        Ok(self.session.lock().unwrap_or_else(|poisoned| {
            let mut s = poisoned.into_inner();
            s.cache.truncate(0, self.net.kv_row());
            s.tokens.clear();
            s
        }))
    }

    /// Brings the session's cache to exactly `tokens`, reusing the longest cached
    /// prefix, and returns the logits after the last token. Checks `budget` between
    /// chunks of the prompt.
    fn prefill(
        &self,
        s: &mut Session,
        tokens: &[u32],
        budget: &Budget,
    ) -> Result<Vec<f32>, ModelError> {
        if tokens.is_empty() {
            return Err(ModelError::Input("the prompt is empty".into()));
        }
        let common = s
            .tokens
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count();
        // At least the last token is evaluated again: its logits are not cached.
        let keep = common.min(tokens.len() - 1);
        s.cache.truncate(keep, self.net.kv_row());
        s.tokens.truncate(keep);
        let mut logits = Vec::new();
        for chunk in tokens[keep..].chunks(PROMPT_CHUNK) {
            if let Some(stop) = budget.exhausted() {
                return Err(stop);
            }
            logits = self.net.forward(chunk, &mut s.cache, Logits::Last)?;
            s.tokens.extend_from_slice(chunk);
        }
        Ok(logits)
    }

    fn check_fits(&self, prompt_tokens: usize, extra: usize) -> Result<(), ModelError> {
        if prompt_tokens + extra > self.net.max_positions {
            return Err(ModelError::Input(format!(
                "prompt of {prompt_tokens} tokens plus {extra} more exceeds the model's context of {} tokens; shorten the input",
                self.net.max_positions
            )));
        }
        Ok(())
    }
}

fn stop_reason(e: &ModelError) -> Option<StopReason> {
    match e {
        ModelError::OutOfTime => Some(StopReason::OutOfTime),
        ModelError::Cancelled => Some(StopReason::Cancelled),
        _ => None,
    }
}

impl LanguageModel for GgufModel {
    fn name(&self) -> &str {
        &self.report.name
    }

    fn chat_prompt(&self, messages: &[ChatMessage]) -> Result<String, ModelError> {
        Ok(self.template.render(messages))
    }

    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        Ok(self.tokenizer.encode(text, true).len())
    }

    fn score(
        &self,
        prompt: &str,
        continuations: &[&str],
        budget: &Budget,
    ) -> Result<Vec<ContinuationScore>, ModelError> {
        let prompt_tokens = self.prompt_tokens(prompt);
        // Continuations are document text: special-token spellings in them stay text.
        let conts: Vec<Vec<u32>> = continuations
            .iter()
            .map(|c| self.tokenizer.encode(c, false))
            .collect();
        let total: usize = conts.iter().map(Vec::len).sum();
        if total > budget.max_tokens {
            return Err(ModelError::Input(format!(
                "the continuations have {total} tokens, more than the budget of {}",
                budget.max_tokens
            )));
        }
        let longest = conts.iter().map(Vec::len).max().unwrap_or(0);
        self.check_fits(prompt_tokens.len(), longest)?;
        let mut s = self.lock()?;
        let first_logits = self.prefill(&mut s, &prompt_tokens, budget)?;
        let p = prompt_tokens.len();
        let mut scores = Vec::with_capacity(conts.len());
        for cont in &conts {
            let Some((&first, _)) = cont.split_first() else {
                scores.push(ContinuationScore {
                    logprob: 0.0,
                    tokens: 0,
                });
                continue;
            };
            if let Some(stop) = budget.exhausted() {
                return Err(stop);
            }
            let mut logprob = log_softmax_at(&first_logits, first);
            if cont.len() > 1 {
                // Logits after each of cont[..n-1] predict cont[1..].
                let inputs = &cont[..cont.len() - 1];
                let logits = self.net.forward(inputs, &mut s.cache, Logits::All);
                s.cache.truncate(p, self.net.kv_row());
                let logits = logits?;
                let vocab = self.net.vocab();
                for (row, next) in logits.chunks_exact(vocab).zip(&cont[1..]) {
                    logprob += log_softmax_at(row, *next);
                }
            }
            scores.push(ContinuationScore {
                logprob,
                tokens: cont.len(),
            });
        }
        Ok(scores)
    }

    fn generate(&self, prompt: &str, budget: &Budget) -> Result<Generation, ModelError> {
        let started = Instant::now();
        let prompt_tokens = self.prompt_tokens(prompt);
        self.check_fits(prompt_tokens.len(), 1)?;
        let mut s = self.lock()?;
        let finish = |text: Vec<u8>, tokens: usize, stop: StopReason| Generation {
            text: String::from_utf8_lossy(&text).into_owned(),
            prompt_tokens: prompt_tokens.len(),
            tokens,
            stop,
            elapsed: started.elapsed(),
        };
        let mut logits = match self.prefill(&mut s, &prompt_tokens, budget) {
            Ok(l) => l,
            Err(e) => match stop_reason(&e) {
                Some(stop) => return Ok(finish(Vec::new(), 0, stop)),
                None => return Err(e),
            },
        };
        let mut text = Vec::new();
        let mut produced = 0;
        if budget.max_tokens == 0 {
            return Ok(finish(text, 0, StopReason::MaxTokens));
        }
        loop {
            let next = argmax(&logits);
            if self.stop_tokens.contains(&next) {
                return Ok(finish(text, produced, StopReason::EndOfText));
            }
            self.tokenizer.append_bytes(next, &mut text);
            produced += 1;
            if produced >= budget.max_tokens {
                return Ok(finish(text, produced, StopReason::MaxTokens));
            }
            if let Some(stop) = budget.exhausted().as_ref().and_then(stop_reason) {
                return Ok(finish(text, produced, stop));
            }
            if s.cache.len() + 1 > self.net.max_positions {
                return Ok(finish(text, produced, StopReason::MaxTokens));
            }
            logits = self.net.forward(&[next], &mut s.cache, Logits::Last)?;
            s.tokens.push(next);
        }
    }
}

/// Throughput measured by [`GgufModel::measure_speed`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    /// Prompt tokens per second, the prompt evaluated as one batch.
    pub prompt_tokens_per_s: f64,
    /// Tokens per second decoding one at a time from an empty cache.
    pub decode_tokens_per_s: f64,
}

impl GgufModel {
    /// Measures prompt and decode throughput the way llama-bench does (`-p prompt -n
    /// decode`): arbitrary token ids, prompt as one batch, decode from an empty context,
    /// mean over `reps` runs after a short warm-up. Uses its own cache, not the session's.
    pub fn measure_speed(
        &self,
        prompt: usize,
        decode: usize,
        reps: usize,
    ) -> Result<Speed, ModelError> {
        let vocab = self.tokenizer.vocab_size().max(1) as u64;
        let token = |i: usize| ((i as u64 * 7919 + 13) % vocab) as u32;
        let _guard = self.lock()?;
        let mut cache = self.net.new_cache();
        let warm: Vec<u32> = (0..8).map(token).collect();
        self.net.forward(&warm, &mut cache, Logits::Last)?;
        self.net.forward(&[token(9)], &mut cache, Logits::Last)?;
        let reps = reps.max(1);
        let (mut prompt_s, mut decode_s) = (0.0, 0.0);
        for _ in 0..reps {
            if prompt > 0 {
                let tokens: Vec<u32> = (0..prompt).map(token).collect();
                let mut cache = self.net.new_cache();
                let t = Instant::now();
                self.net.forward(&tokens, &mut cache, Logits::Last)?;
                prompt_s += t.elapsed().as_secs_f64();
            }
            if decode > 0 {
                let mut cache = self.net.new_cache();
                let mut next = token(1);
                let t = Instant::now();
                for _ in 0..decode {
                    let logits = self.net.forward(&[next], &mut cache, Logits::Last)?;
                    next = argmax(&logits);
                }
                decode_s += t.elapsed().as_secs_f64();
            }
        }
        let rate = |n: usize, s: f64| if s > 0.0 { (n * reps) as f64 / s } else { 0.0 };
        Ok(Speed {
            prompt_tokens_per_s: rate(prompt, prompt_s),
            decode_tokens_per_s: rate(decode, decode_s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_evaluated_in_one_batch_equals_one_token_at_a_time() {
        let path = accord_test_support::test_model_path();
        let m = GgufModel::load(&path, &LoadOptions::default()).unwrap();
        let tokens = m.prompt_tokens("The capital of France is Paris, and the capital of Italy is");
        let mut batch = m.net.new_cache();
        let all = m.net.forward(&tokens, &mut batch, Logits::All).unwrap();
        let vocab = m.net.vocab();
        let mut single = m.net.new_cache();
        for (i, t) in tokens.iter().enumerate() {
            let one = m.net.forward(&[*t], &mut single, Logits::Last).unwrap();
            let row = &all[i * vocab..(i + 1) * vocab];
            let diff = row
                .iter()
                .zip(&one)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(diff < 1e-2, "position {i}: logits differ by {diff}");
        }
        let last = &all[(tokens.len() - 1) * vocab..];
        let next = argmax(last);
        assert_eq!(m.tokenizer.decode(&[next]), " Rome");
    }
}
