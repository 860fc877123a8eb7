//! The forward pass of a llama-family or Qwen2 decoder over candle's quantized matmul.
//!
//! Why our own rather than candle-transformers' `quantized_llama` / `quantized_qwen2`:
//! those keep a dequantized f32 copy of the token embedding (544 MB for Qwen2.5-0.5B),
//! own a KV cache we cannot truncate (scoring reuses a prompt's cache for several
//! continuations), and pull in candle-nn and candle-transformers at compile time. Here
//! the weights stay quantized (embedding rows are dequantized on lookup), matmuls go
//! through candle's SIMD kernels, and the small element-wise steps (norms, rotary
//! embedding, attention, SwiGLU) run on plain slices without tensor allocations.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::gguf::{invalid, Architecture, GgufFile, Hyperparameters};
use super::kernels::{self, NativeFormat};
use super::ModelError;

fn runtime(e: candle_core::Error) -> ModelError {
    ModelError::Runtime(e.to_string())
}

/// Quantizations candle has no SIMD dot product for: matmuls over them run scalar code,
/// 3-10x slower than llama.cpp, so they are requantized at load.
fn needs_requantization(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

/// A weight matrix `[out, in]` in a quantized format.
#[derive(Clone)]
pub(crate) struct QWeight {
    q: Arc<QTensor>,
    inp: usize,
    /// Our AVX2 kernel for the format, where candle has no fast one.
    native: Option<NativeFormat>,
}

impl QWeight {
    fn new(q: Arc<QTensor>, inp: usize, own_kernels: bool) -> Self {
        let native = NativeFormat::for_dtype(q.dtype()).filter(|_| own_kernels);
        QWeight { q, inp, native }
    }

    /// `x` is `m` rows of `inp` values; returns `m` rows of `out` values.
    fn matmul(&self, x: &[f32], m: usize) -> Result<Vec<f32>, ModelError> {
        if let Some(format) = self.native {
            let rows = self.q.shape().dims().first().copied().unwrap_or(0);
            let data = self.q.data().map_err(runtime)?;
            return Ok(kernels::matmul(format, &data, rows, self.inp, x, m));
        }
        let xt = Tensor::from_slice(x, (m, self.inp), &Device::Cpu).map_err(runtime)?;
        let y = xt.apply_op1_no_bwd(self.q.as_ref()).map_err(runtime)?;
        y.flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(runtime)
    }
}

/// Several matrices applied to the same input (q, k, v; or gate, up). When they share a
/// format their rows are stacked into one matrix at load: one quantization of the input
/// and one parallel region per token instead of three.
enum Projection {
    Fused { weight: QWeight, widths: Vec<usize> },
    Separate(Vec<QWeight>),
}

impl Projection {
    fn new(
        parts: Vec<(QTensor, usize)>,
        inp: usize,
        own_kernels: bool,
    ) -> Result<Self, ModelError> {
        let dtype = parts[0].0.dtype();
        if parts.iter().all(|(t, _)| t.dtype() == dtype) {
            let mut bytes = Vec::new();
            for (t, _) in &parts {
                bytes.extend_from_slice(&t.data().map_err(runtime)?);
            }
            let rows: usize = parts.iter().map(|(_, n)| n).sum();
            let q =
                qtensor_from_ggml(dtype, &bytes, vec![rows, inp], &Device::Cpu).map_err(runtime)?;
            Ok(Projection::Fused {
                weight: QWeight::new(Arc::new(q), inp, own_kernels),
                widths: parts.iter().map(|(_, n)| *n).collect(),
            })
        } else {
            Ok(Projection::Separate(
                parts
                    .into_iter()
                    .map(|(t, _)| QWeight::new(Arc::new(t), inp, own_kernels))
                    .collect(),
            ))
        }
    }

    /// One output (m rows) per matrix.
    fn apply(&self, x: &[f32], m: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        match self {
            Projection::Separate(ws) => ws.iter().map(|w| w.matmul(x, m)).collect(),
            Projection::Fused { weight, widths } => {
                let y = weight.matmul(x, m)?;
                let total: usize = widths.iter().sum();
                let mut outs: Vec<Vec<f32>> =
                    widths.iter().map(|w| Vec::with_capacity(w * m)).collect();
                for row in y.chunks_exact(total) {
                    let mut off = 0;
                    for (out, w) in outs.iter_mut().zip(widths) {
                        out.extend_from_slice(&row[off..off + w]);
                        off += w;
                    }
                }
                Ok(outs)
            }
        }
    }
}

struct Layer {
    attn_norm: Vec<f32>,
    qkv: Projection,
    q_bias: Option<Vec<f32>>,
    k_bias: Option<Vec<f32>>,
    v_bias: Option<Vec<f32>>,
    o: QWeight,
    ffn_norm: Vec<f32>,
    gate_up: Projection,
    down: QWeight,
}

/// What loading did to the weights, for the load report.
#[derive(Debug, Clone, Default)]
pub(crate) struct WeightStats {
    pub requantized: Vec<(String, usize)>,
    pub native: Vec<(String, usize)>,
    pub bytes_in_memory: usize,
}

/// Reads tensors out of the file one at a time, so peak memory is the weights plus
/// the largest single tensor (candle's CPU storage owns its blocks, so the file cannot
/// be used in place; reading through the page cache keeps the mapped file out of RSS).
struct TensorReader<'a> {
    gguf: &'a GgufFile,
    file: std::fs::File,
    buf: Vec<u8>,
    stats: WeightStats,
    own_kernels: bool,
}

impl TensorReader<'_> {
    fn raw(&mut self, name: &str) -> Result<(GgmlDType, Vec<usize>), ModelError> {
        use std::io::{Read, Seek, SeekFrom};
        let (dtype, dims, start, bytes) = self.gguf.tensor_range(name)?;
        self.buf.resize(bytes, 0);
        let path = self.gguf.path();
        self.file
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.file.read_exact(&mut self.buf))
            .map_err(|e| invalid(path, format!("cannot read tensor {name}: {e}")))?;
        Ok((dtype, dims))
    }

    fn qtensor(&mut self, name: &str) -> Result<QTensor, ModelError> {
        let (dtype, dims) = self.raw(name)?;
        qtensor_from_ggml(dtype, &self.buf, dims, &Device::Cpu)
            .map_err(|e| invalid(self.gguf.path(), format!("tensor {name}: {e}")))
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
        let t = self.qtensor(name)?;
        let v = t
            .dequantize(&Device::Cpu)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(runtime)?;
        if v.len() != len {
            return Err(invalid(
                self.gguf.path(),
                format!("tensor {name} has {} values, expected {len}", v.len()),
            ));
        }
        self.stats.bytes_in_memory += v.len() * 4;
        Ok(v)
    }

    fn optional_vector(&mut self, name: &str, len: usize) -> Result<Option<Vec<f32>>, ModelError> {
        if self.gguf.tensor_info(name).is_none() {
            return Ok(None);
        }
        self.vector(name, len).map(Some)
    }

    /// A matrix of `out` rows by `inp` columns, requantized when its format is slow.
    fn weight(
        &mut self,
        name: &str,
        out: usize,
        inp: usize,
        requantize: bool,
    ) -> Result<QWeight, ModelError> {
        let own = self.own_kernels;
        Ok(QWeight::new(
            Arc::new(self.matrix(name, out, inp, requantize)?),
            inp,
            own,
        ))
    }

    /// [`weight`](Self::weight) as a bare tensor, for stacking into a [`Projection`].
    fn matrix(
        &mut self,
        name: &str,
        out: usize,
        inp: usize,
        requantize: bool,
    ) -> Result<QTensor, ModelError> {
        let t = self.qtensor(name)?;
        if t.shape().dims() != [out, inp] {
            return Err(invalid(
                self.gguf.path(),
                format!(
                    "tensor {name} has shape {:?}, expected [{out}, {inp}]",
                    t.shape().dims()
                ),
            ));
        }
        let from = t.dtype();
        let native = NativeFormat::for_dtype(from).filter(|_| self.own_kernels);
        if needs_requantization(from) && native.is_some() {
            let label = format!("{from:?}");
            match self.stats.native.iter_mut().find(|(l, _)| *l == label) {
                Some((_, n)) => *n += 1,
                None => self.stats.native.push((label, 1)),
            }
        }
        let t = if requantize && needs_requantization(from) && native.is_none() {
            let f = t.dequantize(&Device::Cpu).map_err(runtime)?;
            let q = QTensor::quantize(&f, GgmlDType::Q8_0).map_err(runtime)?;
            let label = format!("{from:?}->Q8_0");
            match self.stats.requantized.iter_mut().find(|(l, _)| *l == label) {
                Some((_, n)) => *n += 1,
                None => self.stats.requantized.push((label, 1)),
            }
            q
        } else {
            t
        };
        self.stats.bytes_in_memory += t.storage_size_in_bytes();
        Ok(t)
    }
}

/// The network: weights and the precomputed rotary tables.
pub(crate) struct Transformer {
    pub hyper: Hyperparameters,
    embed: Arc<QTensor>,
    layers: Vec<Layer>,
    out_norm: Vec<f32>,
    output: QWeight,
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
        let file = std::fs::File::open(path).map_err(|e| ModelError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let mut r = TensorReader {
            gguf,
            file,
            buf: Vec::new(),
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
            r.weight("token_embd.weight", vocab, d, requantize)?.q
        } else {
            let t = Arc::new(r.qtensor("token_embd.weight")?);
            r.stats.bytes_in_memory += t.storage_size_in_bytes();
            t
        };
        let mut layers = Vec::with_capacity(h.layers);
        for i in 0..h.layers {
            let n = |s: &str| format!("blk.{i}.{s}");
            layers.push(Layer {
                attn_norm: r.vector(&n("attn_norm.weight"), d)?,
                qkv: Projection::new(
                    vec![
                        (r.matrix(&n("attn_q.weight"), q_dim, d, requantize)?, q_dim),
                        (
                            r.matrix(&n("attn_k.weight"), kv_dim, d, requantize)?,
                            kv_dim,
                        ),
                        (
                            r.matrix(&n("attn_v.weight"), kv_dim, d, requantize)?,
                            kv_dim,
                        ),
                    ],
                    d,
                    own_kernels,
                )?,
                q_bias: r.optional_vector(&n("attn_q.bias"), q_dim)?,
                k_bias: r.optional_vector(&n("attn_k.bias"), kv_dim)?,
                v_bias: r.optional_vector(&n("attn_v.bias"), kv_dim)?,
                o: r.weight(&n("attn_output.weight"), d, q_dim, requantize)?,
                ffn_norm: r.vector(&n("ffn_norm.weight"), d)?,
                gate_up: Projection::new(
                    vec![
                        (
                            r.matrix(&n("ffn_gate.weight"), h.feed_forward, d, requantize)?,
                            h.feed_forward,
                        ),
                        (
                            r.matrix(&n("ffn_up.weight"), h.feed_forward, d, requantize)?,
                            h.feed_forward,
                        ),
                    ],
                    d,
                    own_kernels,
                )?,
                down: r.weight(&n("ffn_down.weight"), d, h.feed_forward, requantize)?,
            });
        }
        let out_norm = r.vector("output_norm.weight", d)?;
        let output = if tied {
            QWeight::new(embed.clone(), d, own_kernels)
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
        let ids = Tensor::from_slice(tokens, n, &Device::Cpu).map_err(runtime)?;
        let mut x = self
            .embed
            .embedding(&ids)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(runtime)?;
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
