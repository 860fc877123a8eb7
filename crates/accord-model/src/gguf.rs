//! Opening and validating a GGUF file: header, metadata, tensor table, checksum.
//!
//! candle's parser reads the header with bounds checks; this layer adds what a user of
//! the library needs on top: a missing, truncated or corrupt file, an unknown
//! architecture or a wrong checksum becomes a [`ModelError`] that names the file and says
//! what to do, never a panic.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::GgmlDType;
use sha2::{Digest, Sha256};

use super::ModelError;

/// The model families this build can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// Llama and its relatives (SmolLM2): interleaved rotary embedding, no attention bias.
    Llama,
    /// Qwen2 / Qwen2.5: half-split (NeoX) rotary embedding, bias on q, k and v.
    Qwen2,
}

impl Architecture {
    /// The `general.architecture` value in a GGUF file.
    pub fn gguf_name(self) -> &'static str {
        match self {
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
        }
    }

    fn from_gguf_name(name: &str) -> Option<Self> {
        match name {
            "llama" => Some(Architecture::Llama),
            "qwen2" => Some(Architecture::Qwen2),
            _ => None,
        }
    }
}

/// The shape of the network, read from `<arch>.*` metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Hyperparameters {
    /// Family.
    pub arch: Architecture,
    /// Transformer blocks.
    pub layers: usize,
    /// Width of the residual stream.
    pub embedding: usize,
    /// Width of the feed-forward hidden layer.
    pub feed_forward: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    pub kv_heads: usize,
    /// Dimension of one head.
    pub head_dim: usize,
    /// Epsilon of the RMS norms.
    pub rms_eps: f32,
    /// Base of the rotary embedding frequencies.
    pub rope_base: f32,
    /// Longest sequence the model was trained for.
    pub context_length: usize,
}

/// A GGUF file whose header and tensor table were read and checked (every tensor's byte
/// range lies inside the file). The loader then memory-maps the file and uses the
/// tensors in place (`weights::MappedFile`).
pub struct GgufFile {
    pub(crate) path: PathBuf,
    pub(crate) content: Content,
    pub(crate) file_len: u64,
    pub(crate) hyper: Hyperparameters,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("hyper", &self.hyper)
            .finish_non_exhaustive()
    }
}

pub(crate) fn invalid(path: &Path, reason: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn io_error(path: &Path, source: std::io::Error) -> ModelError {
    ModelError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The sha256 of a file, lowercase hex. Streams the file (1 MiB at a time), so checking a
/// large model does not pull it into memory.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl GgufFile {
    /// Reads and validates the header of the GGUF file at `path`. With `sha256`, the
    /// whole file is checked against it first.
    pub fn open(path: &Path, sha256: Option<&str>) -> Result<Self, ModelError> {
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        let file_len = file.metadata().map_err(|e| io_error(path, e))?.len();
        if let Some(expected) = sha256 {
            let actual = sha256_file(path)?;
            if !actual.eq_ignore_ascii_case(expected.trim()) {
                return Err(invalid(
                    path,
                    format!(
                        "sha256 is {actual}, expected {expected}; the file is damaged or a \
                         different model: fetch it again (scripts/fetch-models.sh)"
                    ),
                ));
            }
        }
        let mut magic = [0u8; 4];
        let mut reader = BufReader::new(file);
        reader
            .read_exact(&mut magic)
            .map_err(|_| invalid(path, "file is shorter than a GGUF header"))?;
        if &magic != b"GGUF" {
            return Err(invalid(
                path,
                format!("not a GGUF file (magic {magic:02x?}, expected \"GGUF\")"),
            ));
        }
        let mut file = reader.into_inner();
        std::io::Seek::rewind(&mut file).map_err(|e| io_error(path, e))?;
        let mut reader = BufReader::new(file);
        match header_alignment(&mut reader) {
            Some(a) if a == 0 || !a.is_power_of_two() => {
                return Err(invalid(
                    path,
                    format!("corrupt GGUF header: general.alignment is {a}, not a power of two"),
                ))
            }
            _ => {}
        }
        std::io::Seek::rewind(&mut reader).map_err(|e| io_error(path, e))?;
        let content = Content::read(&mut reader)
            .map_err(|e| invalid(path, format!("corrupt GGUF header: {e}")))?;
        let hyper = hyperparameters(path, &content)?;
        let gguf = GgufFile {
            path: path.to_path_buf(),
            content,
            file_len,
            hyper,
        };
        gguf.check_tensor_table()?;
        Ok(gguf)
    }

    /// The network's shape.
    pub fn hyperparameters(&self) -> &Hyperparameters {
        &self.hyper
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the file in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// A metadata string, if present and a string.
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        match self.content.metadata.get(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// A metadata integer of any width, if present.
    pub fn meta_u64(&self, key: &str) -> Option<u64> {
        self.content.metadata.get(key).and_then(value_u64)
    }

    /// A metadata boolean, if present.
    pub fn meta_bool(&self, key: &str) -> Option<bool> {
        match self.content.metadata.get(key) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// A metadata array, if present.
    pub(crate) fn meta_array(&self, key: &str) -> Option<&Vec<Value>> {
        match self.content.metadata.get(key) {
            Some(Value::Array(a)) => Some(a),
            _ => None,
        }
    }

    /// The type and shape (outermost dimension first) of a tensor.
    pub fn tensor_info(&self, name: &str) -> Option<(GgmlDType, &[usize])> {
        self.content
            .tensor_infos
            .get(name)
            .map(|t| (t.ggml_dtype, t.shape.dims()))
    }

    /// Number of tensors of each type, e.g. `{"Q4_1": 210, "F32": 61}`.
    pub fn tensor_type_counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for info in self.content.tensor_infos.values() {
            *counts.entry(format!("{:?}", info.ggml_dtype)).or_insert(0) += 1;
        }
        counts
    }

    /// Total number of weights.
    pub fn parameter_count(&self) -> u64 {
        self.content
            .tensor_infos
            .values()
            .map(|t| t.shape.elem_count() as u64)
            .sum()
    }

    /// Byte range of a tensor's data in the file. Checked against the file length by
    /// [`check_tensor_table`](Self::check_tensor_table), so a truncated file is refused
    /// before any weight is read.
    pub(crate) fn tensor_range(
        &self,
        name: &str,
    ) -> Result<(GgmlDType, Vec<usize>, u64, usize), ModelError> {
        let info = self
            .content
            .tensor_infos
            .get(name)
            .ok_or_else(|| invalid(&self.path, format!("tensor {name} is missing")))?;
        // Not `shape.elem_count()`: the dimensions are the file's, and their product
        // may overflow.
        let elems = info
            .shape
            .dims()
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| invalid(&self.path, format!("tensor {name}: shape overflows")))?;
        let block = info.ggml_dtype.block_size();
        if block == 0 || elems % block != 0 {
            return Err(invalid(
                &self.path,
                format!(
                    "tensor {name}: {elems} elements is not a whole number of blocks of {block}"
                ),
            ));
        }
        let bytes = (elems / block)
            .checked_mul(info.ggml_dtype.type_size())
            .ok_or_else(|| invalid(&self.path, format!("tensor {name}: size overflows")))?;
        let start = self
            .content
            .tensor_data_offset
            .checked_add(info.offset)
            .ok_or_else(|| invalid(&self.path, format!("tensor {name}: offset overflows")))?;
        let end = start
            .checked_add(bytes as u64)
            .ok_or_else(|| invalid(&self.path, format!("tensor {name}: size overflows")))?;
        if end > self.file_len {
            return Err(invalid(
                &self.path,
                format!(
                    "truncated: tensor {name} ends at byte {end} but the file has {} bytes; \
                     fetch the model again",
                    self.file_len
                ),
            ));
        }
        Ok((info.ggml_dtype, info.shape.dims().to_vec(), start, bytes))
    }

    fn check_tensor_table(&self) -> Result<(), ModelError> {
        for name in self.content.tensor_infos.keys() {
            self.tensor_range(name)?;
        }
        Ok(())
    }
}

/// The `general.alignment` candle's [`Content::read`] will use, read by walking the
/// metadata without keeping it: candle rounds the tensor data offset up to it without
/// checking it, so a file saying 0 would make it divide by zero. `None` when the key is
/// absent or of a type candle ignores (it then uses 32), and when the header cannot be
/// walked (candle then reports what is wrong). Reads nothing beyond the file; allocates
/// nothing that depends on it.
fn header_alignment<R: Read>(reader: &mut R) -> Option<u64> {
    fn bytes<const N: usize, R: Read>(r: &mut R) -> Option<[u8; N]> {
        let mut b = [0u8; N];
        r.read_exact(&mut b).ok()?;
        Some(b)
    }
    fn skip<R: Read>(r: &mut R, n: u64) -> Option<()> {
        let skipped = std::io::copy(&mut r.take(n), &mut std::io::sink()).ok()?;
        (skipped == n).then_some(())
    }
    // Lengths are u32 in GGUF v1, u64 from v2 on.
    fn length<R: Read>(r: &mut R, wide: bool) -> Option<u64> {
        if wide {
            Some(u64::from_le_bytes(bytes(r)?))
        } else {
            Some(u32::from_le_bytes(bytes(r)?).into())
        }
    }
    // Skips one value of GGUF type `ty`.
    fn value<R: Read>(r: &mut R, ty: u32, wide: bool, depth: usize) -> Option<()> {
        match ty {
            0 | 1 | 7 => skip(r, 1),
            2 | 3 => skip(r, 2),
            4..=6 => skip(r, 4),
            10..=12 => skip(r, 8),
            8 => {
                let n = length(r, wide)?;
                skip(r, n)
            }
            9 if depth < 64 => {
                let inner = u32::from_le_bytes(bytes(r)?);
                let n = length(r, wide)?;
                let fixed = match inner {
                    0 | 1 | 7 => Some(1u64),
                    2 | 3 => Some(2),
                    4..=6 => Some(4),
                    10..=12 => Some(8),
                    _ => None,
                };
                match fixed {
                    Some(size) => skip(r, n.checked_mul(size)?),
                    // Strings and arrays: each takes at least 8 bytes, so a length
                    // the file cannot hold ends at its end.
                    None => (0..n).try_for_each(|_| value(r, inner, wide, depth + 1)),
                }
            }
            _ => None,
        }
    }
    let _magic: [u8; 4] = bytes(reader)?;
    let wide = match u32::from_le_bytes(bytes(reader)?) {
        1 => false,
        2 | 3 => true,
        _ => return None,
    };
    let _tensors = length(reader, wide)?;
    let entries = length(reader, wide)?;
    let mut alignment = None;
    for _ in 0..entries {
        let n = length(reader, wide)?;
        // candle drops trailing NULs from keys; the key is short, so longer ones are
        // skipped rather than read.
        let is_alignment = if n <= 64 {
            let mut key = vec![0u8; n as usize];
            reader.read_exact(&mut key).ok()?;
            while key.last() == Some(&0) {
                key.pop();
            }
            key == b"general.alignment"
        } else {
            skip(reader, n)?;
            false
        };
        let ty = u32::from_le_bytes(bytes(reader)?);
        if !is_alignment {
            value(reader, ty, wide, 0)?;
            continue;
        }
        // The last entry wins, as in candle's map; these are the types it reads.
        alignment = match ty {
            0 => Some(u64::from(u8::from_le_bytes(bytes(reader)?))),
            2 => Some(u64::from(u16::from_le_bytes(bytes(reader)?))),
            4 => Some(u64::from(u32::from_le_bytes(bytes(reader)?))),
            1 => u64::try_from(i8::from_le_bytes(bytes(reader)?)).ok(),
            3 => u64::try_from(i16::from_le_bytes(bytes(reader)?)).ok(),
            5 => u64::try_from(i32::from_le_bytes(bytes(reader)?)).ok(),
            _ => {
                value(reader, ty, wide, 0)?;
                None
            }
        };
    }
    alignment
}

fn value_u64(v: &Value) -> Option<u64> {
    match v {
        Value::U8(x) => Some(*x as u64),
        Value::U16(x) => Some(*x as u64),
        Value::U32(x) => Some(*x as u64),
        Value::U64(x) => Some(*x),
        Value::I8(x) => u64::try_from(*x).ok(),
        Value::I16(x) => u64::try_from(*x).ok(),
        Value::I32(x) => u64::try_from(*x).ok(),
        Value::I64(x) => u64::try_from(*x).ok(),
        _ => None,
    }
}

fn value_f32(v: &Value) -> Option<f32> {
    match v {
        Value::F32(x) => Some(*x),
        Value::F64(x) => Some(*x as f32),
        other => value_u64(other).map(|x| x as f32),
    }
}

fn hyperparameters(path: &Path, content: &Content) -> Result<Hyperparameters, ModelError> {
    let arch_name = match content.metadata.get("general.architecture") {
        Some(Value::String(s)) => s.as_str(),
        _ => return Err(invalid(path, "general.architecture is missing")),
    };
    let arch = Architecture::from_gguf_name(arch_name).ok_or_else(|| {
        invalid(
            path,
            format!("architecture '{arch_name}' is not supported (use a llama or qwen2 model)"),
        )
    })?;
    let int = |key: &str| -> Result<usize, ModelError> {
        let full = format!("{arch_name}.{key}");
        content
            .metadata
            .get(&full)
            .and_then(value_u64)
            .and_then(|v| usize::try_from(v).ok())
            .filter(|v| *v > 0)
            .ok_or_else(|| invalid(path, format!("metadata {full} is missing or zero")))
    };
    let float = |key: &str, default: f32| -> f32 {
        content
            .metadata
            .get(&format!("{arch_name}.{key}"))
            .and_then(value_f32)
            .unwrap_or(default)
    };
    let layers = int("block_count")?;
    let embedding = int("embedding_length")?;
    let heads = int("attention.head_count")?;
    let kv_heads = int("attention.head_count_kv").unwrap_or(heads);
    if embedding % heads != 0 || heads % kv_heads != 0 {
        return Err(invalid(
            path,
            format!("inconsistent shape: {embedding} wide, {heads} heads, {kv_heads} kv heads"),
        ));
    }
    let head_dim = embedding / heads;
    if head_dim % 2 != 0 || layers > 1024 || embedding > 1 << 16 {
        return Err(invalid(path, "implausible model shape"));
    }
    Ok(Hyperparameters {
        arch,
        layers,
        embedding,
        feed_forward: int("feed_forward_length")?,
        heads,
        kv_heads,
        head_dim,
        rms_eps: float("attention.layer_norm_rms_epsilon", 1e-6),
        rope_base: float("rope.freq_base", 10_000.0),
        context_length: int("context_length").unwrap_or(2048),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn sha256_of_a_file_is_its_lowercase_hex_digest() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"abc").unwrap();
        assert_eq!(
            sha256_file(f.path()).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
