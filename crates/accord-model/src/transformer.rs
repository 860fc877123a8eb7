//! The forward pass of a llama-family or Qwen2 decoder over quantized weights in place.
//!
//! Why our own rather than candle-transformers' `quantized_llama` / `quantized_qwen2`:
//! those keep a dequantized f32 copy of the token embedding (544 MB for Qwen2.5-0.5B),
//! own a KV cache we cannot truncate (scoring reuses a prompt's cache for several
//! continuations), read every weight into owned memory, and pull in candle-nn and
//! candle-transformers at compile time. Here the weights stay quantized in the
//! memory-mapped file ([`super::weights`]; embedding rows are dequantized on lookup),
//! matmuls run our AVX2/NEON kernels or candle's block kernels on those slices, and the
//! small element-wise steps (norms, rotary embedding, attention, SwiGLU) run on plain
//! slices without tensor allocations.

use std::sync::Mutex;
use std::time::Instant;

use candle_core::quantized::GgmlDType;

use super::gguf::{invalid, Architecture, GgufFile, Hyperparameters};
use super::weights::{matmul, MappedFile, Matrix, Origin};
use super::ModelError;

/// Quantizations candle has no SIMD dot product for: matmuls over them run scalar code,
/// 3-10x slower than llama.cpp, so they are requantized at load where our kernels do
/// not cover them.
fn needs_requantization(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

/// Several matrices applied to the same input (q, k, v; or gate, up): run together by
/// [`matmul`], one quantization of the input and one parallel region per token.
struct Projection(Vec<Matrix>);

impl Projection {
    /// One output (m rows) per matrix.
    fn apply(&self, x: &[f32], m: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        let parts: Vec<&Matrix> = self.0.iter().collect();
        matmul(&parts, x, m)
    }
}

struct Layer {
    attn_norm: Vec<f32>,
    qkv: Projection,
    q_bias: Option<Vec<f32>>,
    k_bias: Option<Vec<f32>>,
    v_bias: Option<Vec<f32>>,
    o: Matrix,
    ffn_norm: Vec<f32>,
    gate_up: Projection,
    down: Matrix,
}

/// What loading did to the weights, for the load report.
#[derive(Debug, Clone, Default)]
pub(crate) struct WeightStats {
    /// Matrices converted at load, as `("Q4_1->Q8_0", count)`.
    pub requantized: Vec<(String, usize)>,
    /// Matrices our AVX2/NEON kernels run, as `("Q5_0", count)`.
    pub native: Vec<(String, usize)>,
    /// The instruction set those kernels ran with (`AVX2`, `NEON`, `NEON+dotprod`).
    pub native_instruction_set: Option<&'static str>,
    /// Bytes of weights owned by the process: converted or copied matrices, f32 norms.
    pub bytes_in_memory: usize,
    /// Bytes of weights read in place from the mapped file.
    pub bytes_mapped: usize,
    /// Tensors copied out of the map because their offset was not aligned for their
    /// blocks.
    pub copied: usize,
}

fn count(list: &mut Vec<(String, usize)>, label: String) {
    match list.iter_mut().find(|(l, _)| *l == label) {
        Some((_, n)) => *n += 1,
        None => list.push((label, 1)),
    }
}

/// Makes the network's matrices and vectors out of the mapped file.
struct TensorReader<'a> {
    gguf: &'a GgufFile,
    file: MappedFile,
    stats: WeightStats,
    own_kernels: bool,
}

impl TensorReader<'_> {
    /// Counts `m` in the load report as mapped in place or held in memory.
    fn account(&mut self, m: &Matrix, origin: Origin) {
        match origin {
            Origin::Mapped => self.stats.bytes_mapped += m.byte_len(),
            Origin::Copied => {
                self.stats.copied += 1;
                self.stats.bytes_in_memory += m.byte_len();
            }
            Origin::Converted => self.stats.bytes_in_memory += m.byte_len(),
        }
    }

    fn view(&mut self, name: &str, rows: usize, cols: usize) -> Result<Matrix, ModelError> {
        let (m, origin) =
            Matrix::from_file(self.gguf, &self.file, name, rows, cols, self.own_kernels)?;
        self.account(&m, origin);
        Ok(m)
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
        // Norms and biases are read once into f32: they are small and used every token.
        let (m, _) = Matrix::from_file(self.gguf, &self.file, name, 1, len, false)?;
        let v = m.to_f32()?;
        self.stats.bytes_in_memory += v.len() * 4;
        Ok(v)
    }

    fn optional_vector(&mut self, name: &str, len: usize) -> Result<Option<Vec<f32>>, ModelError> {
        if self.gguf.tensor_info(name).is_none() {
            return Ok(None);
        }
        self.vector(name, len).map(Some)
    }

    /// A matrix of `out` rows by `inp` columns, requantized to Q8_0 when `requantize`
    /// is set and its format has neither a fast candle kernel nor one of ours.
    fn weight(
        &mut self,
        name: &str,
        out: usize,
        inp: usize,
        requantize: bool,
    ) -> Result<Matrix, ModelError> {
        let (m, origin) =
            Matrix::from_file(self.gguf, &self.file, name, out, inp, self.own_kernels)?;
        let from = m.dtype();
        if requantize && needs_requantization(from) && !m.uses_own_kernel() {
            let q = m.requantize_q8_0()?;
            count(&mut self.stats.requantized, format!("{from:?}->Q8_0"));
            self.stats.bytes_in_memory += q.byte_len();
            return Ok(q);
        }
        if let Some(isa) = m.own_kernel_instruction_set() {
            count(&mut self.stats.native, format!("{from:?}"));
            self.stats.native_instruction_set = Some(isa.name());
        }
        self.account(&m, origin);
        Ok(m)
    }
}

/// The network: weights and the precomputed rotary tables.
pub(crate) struct Transformer {
    pub hyper: Hyperparameters,
    /// Token embedding, kept in its file format; rows are dequantized on lookup.
    embed: Matrix,
    layers: Vec<Layer>,
    out_norm: Vec<f32>,
    output: Matrix,
    vocab: usize,
    /// Positions the rotary tables (and so the KV cache) cover.
    pub max_positions: usize,
    rope_cos: Vec<f32>,
    rope_sin: Vec<f32>,
}

/// Keys and values of every position evaluated so far, per layer. Truncating it
/// forgets the last positions, which is how a prompt is shared by several continuations.
#[derive(Debug, Default, Clone)]
pub(crate) struct KvCache {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    len: usize,
}

impl KvCache {
    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Forgets every position from `len` on.
    pub fn truncate(&mut self, len: usize, row: usize) {
        if len < self.len {
            for l in self.k.iter_mut().chain(self.v.iter_mut()) {
                l.truncate(len * row);
            }
            self.len = len;
        }
    }
}

/// Which logits a forward pass returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Logits {
    /// Only the last position's (generation).
    Last,
    /// Every position's (scoring).
    All,
}

fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let d = weight.len();
    for (row, o) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / d as f32;
        let scale = 1.0 / (ms + eps).sqrt();
        for ((o, v), w) in o.iter_mut().zip(row).zip(weight) {
            *o = v * scale * w;
        }
    }
}

fn add_bias(x: &mut [f32], bias: Option<&Vec<f32>>) {
    if let Some(b) = bias {
        for row in x.chunks_exact_mut(b.len()) {
            for (v, b) in row.iter_mut().zip(b) {
                *v += b;
            }
        }
    }
}

impl Transformer {
    /// Loads every weight of a supported architecture from `gguf`.
    pub fn load(
        gguf: &GgufFile,
        requantize: bool,
        own_kernels: bool,
        max_positions: usize,
    ) -> Result<(Self, WeightStats), ModelError> {
        let h = gguf.hyperparameters().clone();
        let path = gguf.path();
        let mut r = TensorReader {
            gguf,
            file: MappedFile::open(gguf)?,
            stats: WeightStats::default(),
            own_kernels,
        };
        let d = h.embedding;
        let q_dim = h.heads * h.head_dim;
        let kv_dim = h.kv_heads * h.head_dim;
        let embed_dims = gguf
            .tensor_info("token_embd.weight")
            .map(|(_, dims)| dims.to_vec())
            .ok_or_else(|| invalid(path, "tensor token_embd.weight is missing"))?;
        if embed_dims.len() != 2 || embed_dims[1] != d {
            return Err(invalid(
                path,
                format!("token_embd.weight has shape {embed_dims:?}"),
            ));
        }
        let vocab = embed_dims[0];
        let tied = gguf.tensor_info("output.weight").is_none();
        // The embedding is only read row by row unless it doubles as the output matrix,
        // so it keeps its compact format then.
        let embed = if tied {
            r.weight("token_embd.weight", vocab, d, requantize)?
        } else {
            r.view("token_embd.weight", vocab, d)?
        };
        let mut layers = Vec::with_capacity(h.layers);
        for i in 0..h.layers {
            let n = |s: &str| format!("blk.{i}.{s}");
            layers.push(Layer {
                attn_norm: r.vector(&n("attn_norm.weight"), d)?,
                qkv: Projection(vec![
                    r.weight(&n("attn_q.weight"), q_dim, d, requantize)?,
                    r.weight(&n("attn_k.weight"), kv_dim, d, requantize)?,
                    r.weight(&n("attn_v.weight"), kv_dim, d, requantize)?,
                ]),
                q_bias: r.optional_vector(&n("attn_q.bias"), q_dim)?,
                k_bias: r.optional_vector(&n("attn_k.bias"), kv_dim)?,
                v_bias: r.optional_vector(&n("attn_v.bias"), kv_dim)?,
                o: r.weight(&n("attn_output.weight"), d, q_dim, requantize)?,
                ffn_norm: r.vector(&n("ffn_norm.weight"), d)?,
                gate_up: Projection(vec![
                    r.weight(&n("ffn_gate.weight"), h.feed_forward, d, requantize)?,
                    r.weight(&n("ffn_up.weight"), h.feed_forward, d, requantize)?,
                ]),
                down: r.weight(&n("ffn_down.weight"), d, h.feed_forward, requantize)?,
            });
        }
        let out_norm = r.vector("output_norm.weight", d)?;
        let output = if tied {
            embed.clone()
        } else {
            r.weight("output.weight", vocab, d, requantize)?
        };
        let max_positions = max_positions.min(h.context_length).max(1);
        let half = h.head_dim / 2;
        let mut rope_cos = Vec::with_capacity(max_positions * half);
        let mut rope_sin = Vec::with_capacity(max_positions * half);
        for pos in 0..max_positions {
            for i in 0..half {
                let freq = 1.0 / (h.rope_base as f64).powf(2.0 * i as f64 / h.head_dim as f64);
                let angle = pos as f64 * freq;
                rope_cos.push(angle.cos() as f32);
                rope_sin.push(angle.sin() as f32);
            }
        }
        let stats = r.stats;
        Ok((
            Transformer {
                hyper: h,
                embed,
                layers,
                out_norm,
                output,
                vocab,
                max_positions,
                rope_cos,
                rope_sin,
            },
            stats,
        ))
    }

    /// Vocabulary size of the output layer.
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// An empty cache for this network.
    pub fn new_cache(&self) -> KvCache {
        KvCache {
            k: vec![Vec::new(); self.hyper.layers],
            v: vec![Vec::new(); self.hyper.layers],
            len: 0,
        }
    }

    /// Floats per position per layer in the KV cache.
    pub fn kv_row(&self) -> usize {
        self.hyper.kv_heads * self.hyper.head_dim
    }

    /// Rotates each head of `x` (rows of `heads * head_dim`) by its position. Llama
    /// GGUF files store q/k permuted for interleaved pairs; Qwen2 uses half-split pairs.
    fn rope(&self, x: &mut [f32], heads: usize, start: usize) {
        let hd = self.hyper.head_dim;
        let half = hd / 2;
        for (t, row) in x.chunks_exact_mut(heads * hd).enumerate() {
            let pos = start + t;
            let cos = &self.rope_cos[pos * half..(pos + 1) * half];
            let sin = &self.rope_sin[pos * half..(pos + 1) * half];
            for head in row.chunks_exact_mut(hd) {
                match self.hyper.arch {
                    Architecture::Llama => {
                        for i in 0..half {
                            let (a, b) = (head[2 * i], head[2 * i + 1]);
                            head[2 * i] = a * cos[i] - b * sin[i];
                            head[2 * i + 1] = a * sin[i] + b * cos[i];
                        }
                    }
                    Architecture::Qwen2 => {
                        for i in 0..half {
                            let (a, b) = (head[i], head[i + half]);
                            head[i] = a * cos[i] - b * sin[i];
                            head[i + half] = a * sin[i] + b * cos[i];
                        }
                    }
                }
            }
        }
    }

    /// Causal self-attention of `n` new queries (rows of `heads * head_dim`) against
    /// every cached position; the new keys/values are already in `k_all`/`v_all`.
    fn attention(
        &self,
        q: &[f32],
        k_all: &[f32],
        v_all: &[f32],
        n: usize,
        start: usize,
    ) -> Vec<f32> {
        let h = &self.hyper;
        let hd = h.head_dim;
        let q_row = h.heads * hd;
        let kv_row = h.kv_heads * hd;
        let group = h.heads / h.kv_heads;
        let scale = 1.0 / (hd as f32).sqrt();
        let mut out = vec![0f32; n * q_row];
        // One work item per (query, head); each writes its own slice of `out`.
        let per_head = |t: usize, head: usize, dst: &mut [f32], scores: &mut Vec<f32>| {
            let kvh = head / group;
            let qv = &q[t * q_row + head * hd..t * q_row + (head + 1) * hd];
            let ctx = start + t + 1;
            scores.clear();
            let mut max = f32::NEG_INFINITY;
            for j in 0..ctx {
                let kv = &k_all[j * kv_row + kvh * hd..j * kv_row + (kvh + 1) * hd];
                let s = qv.iter().zip(kv).map(|(a, b)| a * b).sum::<f32>() * scale;
                max = max.max(s);
                scores.push(s);
            }
            let mut sum = 0.0;
            for s in scores.iter_mut() {
                *s = (*s - max).exp();
                sum += *s;
            }
            dst.fill(0.0);
            for (j, s) in scores.iter().enumerate() {
                let w = s / sum;
                let vv = &v_all[j * kv_row + kvh * hd..j * kv_row + (kvh + 1) * hd];
                for (o, v) in dst.iter_mut().zip(vv) {
                    *o += w * v;
                }
            }
        };
        let items = n * h.heads;
        if n == 1 {
            let mut scores = Vec::with_capacity(start + 1);
            for (head, dst) in out.chunks_exact_mut(hd).enumerate() {
                per_head(0, head, dst, &mut scores);
            }
            return out;
        }
        // Prompt: spread (query, head) items over candle's worker pool. Each item owns
        // a distinct head-sized slice of `out`, handed out through a mutex per slice.
        let slots: Vec<Mutex<&mut [f32]>> = out.chunks_exact_mut(hd).map(Mutex::new).collect();
        candle_core::utils::barrier_pool().execute_chunked(items, |range| {
            let mut scores = Vec::with_capacity(start + n);
            for item in range {
                let (t, head) = (item / h.heads, item % h.heads);
                if let Ok(mut dst) = slots[item].lock() {
                    per_head(t, head, &mut dst, &mut scores);
                }
            }
        });
        drop(slots);
        out
    }

    /// Runs `tokens` at the positions after those in `cache`, appends their keys and
    /// values to it, and returns logits (`vocab` per returned position).
    pub fn forward(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        logits: Logits,
    ) -> Result<Vec<f32>, ModelError> {
        let h = &self.hyper;
        let n = tokens.len();
        let start = cache.len;
        if n == 0 {
            return Err(ModelError::Input("nothing to evaluate".into()));
        }
        if start + n > self.max_positions {
            return Err(ModelError::Input(format!(
                "{} tokens exceed the context of {} positions; shorten the input",
                start + n,
                self.max_positions
            )));
        }
        if let Some(bad) = tokens.iter().find(|t| **t as usize >= self.vocab) {
            return Err(ModelError::Input(format!(
                "token id {bad} is outside the vocabulary"
            )));
        }
        let d = h.embedding;
        let mut x = vec![0f32; n * d];
        for (t, row) in tokens.iter().zip(x.chunks_exact_mut(d)) {
            self.embed.dequantize_row(*t as usize, row)?;
        }
        let mut normed = vec![0f32; n * d];
        let kv_row = self.kv_row();
        for (li, layer) in self.layers.iter().enumerate() {
            rms_norm(&x, &layer.attn_norm, h.rms_eps, &mut normed);
            let mut qkv = layer.qkv.apply(&normed, n)?.into_iter();
            let (Some(mut q), Some(mut k), Some(mut v)) = (qkv.next(), qkv.next(), qkv.next())
            else {
                return Err(ModelError::Runtime(
                    "q/k/v projection lost an output".into(),
                ));
            };
            add_bias(&mut q, layer.q_bias.as_ref());
            add_bias(&mut k, layer.k_bias.as_ref());
            add_bias(&mut v, layer.v_bias.as_ref());
            self.rope(&mut q, h.heads, start);
            self.rope(&mut k, h.kv_heads, start);
            cache.k[li].truncate(start * kv_row);
            cache.v[li].truncate(start * kv_row);
            cache.k[li].extend_from_slice(&k);
            cache.v[li].extend_from_slice(&v);
            let att = self.attention(&q, &cache.k[li], &cache.v[li], n, start);
            let o = layer.o.matmul(&att, n)?;
            for (a, b) in x.iter_mut().zip(&o) {
                *a += b;
            }
            rms_norm(&x, &layer.ffn_norm, h.rms_eps, &mut normed);
            let mut gu = layer.gate_up.apply(&normed, n)?.into_iter();
            let (Some(mut gate), Some(up)) = (gu.next(), gu.next()) else {
                return Err(ModelError::Runtime(
                    "gate/up projection lost an output".into(),
                ));
            };
            for (g, u) in gate.iter_mut().zip(&up) {
                *g = *g / (1.0 + (-*g).exp()) * u;
            }
            let down = layer.down.matmul(&gate, n)?;
            for (a, b) in x.iter_mut().zip(&down) {
                *a += b;
            }
        }
        cache.len = start + n;
        let (rows, from) = match logits {
            Logits::Last => (1, (n - 1) * d),
            Logits::All => (n, 0),
        };
        let mut last = vec![0f32; rows * d];
        rms_norm(&x[from..], &self.out_norm, h.rms_eps, &mut last);
        self.output.matmul(&last, rows)
    }
}

/// Index of the largest value (first on ties).
pub(crate) fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    let mut best_v = f32::NEG_INFINITY;
    for (i, v) in logits.iter().enumerate() {
        if *v > best_v {
            best_v = *v;
            best = i;
        }
    }
    best as u32
}

/// Natural-log probability of `token` under the softmax of `logits`.
pub(crate) fn log_softmax_at(logits: &[f32], token: u32) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|v| (*v as f64 - max).exp()).sum();
    logits
        .get(token as usize)
        .map_or(f64::NEG_INFINITY, |v| *v as f64 - max - sum.ln())
}

/// Milliseconds since `t`.
pub(crate) fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
