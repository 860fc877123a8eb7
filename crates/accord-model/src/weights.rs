//! Weight matrices as views into the memory-mapped GGUF file, and the matmul over them.
//!
//! The file is mapped once ([`MappedFile`]); a [`Matrix`] is a byte range of the map
//! plus its format and shape, so loading copies no weights and the kernel page cache is
//! the only copy (shared with any other process mapping the same file). A matmul
//! quantizes the activation rows once to the format the weights' dot product takes
//! (Q8 blocks for our AVX2/NEON kernels, candle's `VecDotType` otherwise: Q8_0, Q8_1 or
//! Q8K) and runs the dot products over chunks of weight rows on candle's worker pool.
//! Several matrices applied to the same input (q/k/v, gate/up) run in one parallel
//! region over the one quantized input ([`matmul`]).
//!
//! Only matrices that cannot be used in place are owned: those requantized at load,
//! f16/bf16 ones (widened to f32), and any whose offset in the file is not aligned for
//! its block type (copied; counted in the load report).

use std::fs::File;
use std::sync::{Arc, Mutex};

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::k_quants::{
    BlockQ2K, BlockQ3K, BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K,
    BlockQ8K, BlockQ8_0, BlockQ8_1, GgmlType,
};
use candle_core::quantized::GgmlDType;
use candle_core::Device;
use memmap2::Mmap;

use super::gguf::{invalid, GgufFile};
use super::kernels::{self, NativeFormat, Q8Block};
use super::ModelError;

/// Runs `$body` with `$T` bound to candle's block type for `$dtype`, or `$other` for
/// the formats without one here (f16, bf16: widened to f32 at load).
macro_rules! with_block_type {
    ($dtype:expr, $T:ident => $body:expr, else => $other:expr) => {
        match $dtype {
            GgmlDType::F32 => {
                type $T = f32;
                $body
            }
            GgmlDType::Q4_0 => {
                type $T = BlockQ4_0;
                $body
            }
            GgmlDType::Q4_1 => {
                type $T = BlockQ4_1;
                $body
            }
            GgmlDType::Q5_0 => {
                type $T = BlockQ5_0;
                $body
            }
            GgmlDType::Q5_1 => {
                type $T = BlockQ5_1;
                $body
            }
            GgmlDType::Q8_0 => {
                type $T = BlockQ8_0;
                $body
            }
            GgmlDType::Q8_1 => {
                type $T = BlockQ8_1;
                $body
            }
            GgmlDType::Q2K => {
                type $T = BlockQ2K;
                $body
            }
            GgmlDType::Q3K => {
                type $T = BlockQ3K;
                $body
            }
            GgmlDType::Q4K => {
                type $T = BlockQ4K;
                $body
            }
            GgmlDType::Q5K => {
                type $T = BlockQ5K;
                $body
            }
            GgmlDType::Q6K => {
                type $T = BlockQ6K;
                $body
            }
            GgmlDType::Q8K => {
                type $T = BlockQ8K;
                $body
            }
            GgmlDType::F16 | GgmlDType::BF16 => $other,
        }
    };
}

/// `bytes` as blocks of `T`, when its address is aligned for `T` and its length a
/// whole number of blocks.
fn cast<T: GgmlType>(bytes: &[u8]) -> Option<&[T]> {
    let size = std::mem::size_of::<T>();
    if size == 0
        || !bytes.len().is_multiple_of(size)
        || !(bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>())
    {
        return None;
    }
    // SAFETY: candle's block types are `#[repr(C)]` structs of integers, f16 and f32
    // (and f32 itself), valid for any bit pattern and without padding (candle asserts
    // their sizes); the pointer is aligned for `T` and the length a whole number of
    // `T`s, both checked above; the result borrows `bytes`, so it cannot outlive them.
    Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const T, bytes.len() / size) })
}

/// The bytes of `blocks`, to store requantized weights as owned bytes.
fn block_bytes<T: GgmlType>(blocks: &[T]) -> &[u8] {
    // SAFETY: as in `cast`: plain-data `#[repr(C)]` blocks without padding, so every
    // byte is initialised; u8 has no alignment requirement; borrows `blocks`.
    unsafe {
        std::slice::from_raw_parts(blocks.as_ptr() as *const u8, std::mem::size_of_val(blocks))
    }
}

/// Owned bytes aligned for every block type (8 bytes).
struct AlignedBytes {
    words: Vec<u64>,
    len: usize,
}

impl AlignedBytes {
    fn from_bytes(bytes: &[u8]) -> Self {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        for (w, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            *w = u64::from_ne_bytes(b);
        }
        AlignedBytes {
            words,
            len: bytes.len(),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialised bytes (`from_bytes`), u8 has
        // no alignment requirement, and the slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr() as *const u8, self.len) }
    }
}

/// Where a matrix's bytes live.
#[derive(Clone)]
enum Backing {
    /// `start..start + len` of the mapped file.
    Mapped {
        map: Arc<Mmap>,
        start: usize,
        len: usize,
    },
    Owned(Arc<AlignedBytes>),
}

/// The GGUF file mapped read-only into memory.
///
/// The weights are read from the map in place, never copied. As in llama.cpp, a model
/// file that is modified or truncated while it is mapped is undefined behaviour (on
/// Linux, touching a page past the new end raises SIGBUS): model files are written once
/// by the fetch script and then only read. Everything checkable is checked before any
/// weight is touched: the map's length against the header's tensor table, and every
/// tensor's range against the map.
pub(crate) struct MappedFile {
    map: Arc<Mmap>,
}

impl MappedFile {
    /// Maps `gguf`'s file. Refuses a file whose length changed since its header was read.
    pub(crate) fn open(gguf: &GgufFile) -> Result<Self, ModelError> {
        let path = gguf.path();
        let io = |e| ModelError::Io {
            path: path.display().to_string(),
            source: e,
        };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and private to this process. Another process
        // changing the file while it is mapped would change or invalidate the bytes
        // under us; that is undefined behaviour we document (see the type's doc), as
        // llama.cpp does. The length is checked against the validated header below.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        if map.len() as u64 != gguf.file_len() {
            return Err(invalid(
                path,
                format!(
                    "the file changed while loading ({} bytes, its header was read from {}); \
                     load it again",
                    map.len(),
                    gguf.file_len()
                ),
            ));
        }
        Ok(MappedFile { map: Arc::new(map) })
    }

    /// The `len` bytes at `start` in the file, in place when aligned for `dtype`'s
    /// blocks, else copied (the `bool` says which: true when copied). A range past the
    /// end of the file is an error.
    fn range(
        &self,
        gguf_path: &std::path::Path,
        name: &str,
        dtype: GgmlDType,
        start: u64,
        len: usize,
    ) -> Result<(Backing, bool), ModelError> {
        let end = start.checked_add(len as u64);
        let in_file = end.is_some_and(|e| e <= self.map.len() as u64);
        if !in_file {
            return Err(invalid(
                gguf_path,
                format!(
                    "truncated: tensor {name} (bytes {start}..{}) lies past the end of the \
                     file ({} bytes); fetch the model again",
                    start.saturating_add(len as u64),
                    self.map.len()
                ),
            ));
        }
        let start = start as usize;
        let align = with_block_type!(dtype, T => std::mem::align_of::<T>(), else => 2);
        let addr = self.map.as_ptr() as usize + start;
        if addr.is_multiple_of(align) {
            let map = self.map.clone();
            Ok((Backing::Mapped { map, start, len }, false))
        } else {
            let bytes = &self.map[start..start + len];
            Ok((
                Backing::Owned(Arc::new(AlignedBytes::from_bytes(bytes))),
                true,
            ))
        }
    }
}

/// How a [`Matrix`]'s dot products are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// Our AVX2 or NEON kernel (`kernels.rs`).
    Own(NativeFormat),
    /// candle's `GgmlType::vec_dot` for the format.
    Candle,
}

/// A weight matrix of `rows` by `cols` in a GGUF format: a view of the mapped file or,
/// where it could not be used in place, owned bytes.
#[derive(Clone)]
pub(crate) struct Matrix {
    backing: Backing,
    dtype: GgmlDType,
    rows: usize,
    cols: usize,
    kernel: Kernel,
}

/// What making a [`Matrix`] did, for the load report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Used in place in the mapped file.
    Mapped,
    /// Copied out of the file: its offset is not aligned for its blocks.
    Copied,
    /// Converted at load (requantized, or f16 widened to f32): owned.
    Converted,
}

impl Matrix {
    /// The tensor `name` of `gguf` as a `rows` x `cols` matrix over `file`. With
    /// `own_kernels`, formats our kernels cover on this CPU use them.
    pub(crate) fn from_file(
        gguf: &GgufFile,
        file: &MappedFile,
        name: &str,
        rows: usize,
        cols: usize,
        own_kernels: bool,
    ) -> Result<(Self, Origin), ModelError> {
        let (dtype, dims, start, len) = gguf.tensor_range(name)?;
        let path = gguf.path();
        let shape_ok = match dims.as_slice() {
            [r, c] => *r == rows && *c == cols,
            [n] => rows == 1 && *n == cols,
            _ => false,
        };
        if !shape_ok {
            return Err(invalid(
                path,
                format!("tensor {name} has shape {dims:?}, expected [{rows}, {cols}]"),
            ));
        }
        let block = dtype.block_size();
        if block == 0 || !cols.is_multiple_of(block) {
            return Err(invalid(
                path,
                format!("tensor {name}: rows of {cols} are not whole {dtype:?} blocks"),
            ));
        }
        let (backing, copied) = file.range(path, name, dtype, start, len)?;
        if matches!(dtype, GgmlDType::F16 | GgmlDType::BF16) {
            // No candle block type for these without the `half` crate; they are small
            // (norms, biases) when they occur, so widen them to f32.
            let bytes = backing_bytes(&backing);
            let t = qtensor_from_ggml(dtype, bytes, vec![rows, cols], &Device::Cpu)
                .and_then(|q| q.dequantize(&Device::Cpu))
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| invalid(path, format!("tensor {name}: {e}")))?;
            return Ok((Matrix::owned_f32(&t, rows, cols), Origin::Converted));
        }
        let kernel = match NativeFormat::for_dtype(dtype).filter(|_| own_kernels) {
            Some(f) => Kernel::Own(f),
            None => Kernel::Candle,
        };
        let origin = if copied {
            Origin::Copied
        } else {
            Origin::Mapped
        };
        Ok((
            Matrix {
                backing,
                dtype,
                rows,
                cols,
                kernel,
            },
            origin,
        ))
    }

    /// An owned f32 matrix.
    fn owned_f32(values: &[f32], rows: usize, cols: usize) -> Self {
        Matrix {
            backing: Backing::Owned(Arc::new(AlignedBytes::from_bytes(block_bytes(values)))),
            dtype: GgmlDType::F32,
            rows,
            cols,
            kernel: Kernel::Candle,
        }
    }

    /// Owned blocks of `dtype` (e.g. from candle's quantizer), with candle's kernel or
    /// ours. `bytes` must hold `rows * cols` values in whole blocks.
    pub(crate) fn owned(
        dtype: GgmlDType,
        bytes: &[u8],
        rows: usize,
        cols: usize,
        own_kernels: bool,
    ) -> Result<Self, ModelError> {
        let block = dtype.block_size();
        if block == 0
            || !cols.is_multiple_of(block)
            || bytes.len() != rows * (cols / block) * dtype.type_size()
        {
            return Err(ModelError::Runtime(format!(
                "{} bytes are not a {rows} x {cols} {dtype:?} matrix",
                bytes.len()
            )));
        }
        let kernel = match NativeFormat::for_dtype(dtype).filter(|_| own_kernels) {
            Some(f) => Kernel::Own(f),
            None => Kernel::Candle,
        };
        Ok(Matrix {
            backing: Backing::Owned(Arc::new(AlignedBytes::from_bytes(bytes))),
            dtype,
            rows,
            cols,
            kernel,
        })
    }

    /// The file's format.
    pub(crate) fn dtype(&self) -> GgmlDType {
        self.dtype
    }

    /// Whether our AVX2 or NEON kernel runs this matrix.
    pub(crate) fn uses_own_kernel(&self) -> bool {
        matches!(self.kernel, Kernel::Own(_))
    }

    /// The instruction set our kernel runs this matrix with, if ours runs it.
    pub(crate) fn own_kernel_instruction_set(&self) -> Option<kernels::InstructionSet> {
        match self.kernel {
            Kernel::Own(format) => Some(format.instruction_set()),
            Kernel::Candle => None,
        }
    }

    /// Bytes of weights.
    pub(crate) fn byte_len(&self) -> usize {
        backing_bytes(&self.backing).len()
    }

    fn bytes(&self) -> &[u8] {
        backing_bytes(&self.backing)
    }

    /// Row `i` dequantized into `out` (`cols` values): token embedding lookup, norms.
    pub(crate) fn dequantize_row(&self, i: usize, out: &mut [f32]) -> Result<(), ModelError> {
        let row_bytes = self.bytes().len() / self.rows.max(1);
        if i >= self.rows || out.len() != self.cols {
            return Err(ModelError::Runtime(format!(
                "row {i} of a {} x {} matrix",
                self.rows, self.cols
            )));
        }
        let row = &self.bytes()[i * row_bytes..(i + 1) * row_bytes];
        with_block_type!(self.dtype, T => {
            let blocks = cast::<T>(row).ok_or_else(|| misaligned(self.dtype))?;
            T::to_float(blocks, out);
            Ok(())
        }, else => Err(misaligned(self.dtype)))
    }

    /// Every value, dequantized (a one-row matrix: a norm or a bias).
    pub(crate) fn to_f32(&self) -> Result<Vec<f32>, ModelError> {
        let mut out = vec![0f32; self.rows * self.cols];
        for (i, row) in out.chunks_exact_mut(self.cols.max(1)).enumerate() {
            self.dequantize_row(i, row)?;
        }
        Ok(out)
    }

    /// The same weights requantized to Q8_0 (owned), for formats candle has only scalar
    /// code for when our kernels cannot run.
    pub(crate) fn requantize_q8_0(&self) -> Result<Self, ModelError> {
        let per_row = self.cols / BlockQ8_0::BLCK_SIZE;
        let mut row = vec![0f32; self.cols];
        let mut q = vec![BlockQ8_0::zeros(); per_row];
        let mut bytes = Vec::with_capacity(self.rows * per_row * std::mem::size_of::<BlockQ8_0>());
        for i in 0..self.rows {
            self.dequantize_row(i, &mut row)?;
            BlockQ8_0::from_float(&row, &mut q);
            bytes.extend_from_slice(block_bytes(&q));
        }
        self.release_pages();
        Matrix::owned(GgmlDType::Q8_0, &bytes, self.rows, self.cols, false)
    }

    /// Tells the kernel this process no longer needs the mapped pages of this matrix
    /// (after requantizing it), so they leave its resident set instead of staying
    /// beside the owned copy. Best effort: a failure only costs memory.
    fn release_pages(&self) {
        #[cfg(unix)]
        if let Backing::Mapped { map, start, len } = &self.backing {
            // SAFETY: the map is read-only and backed by the file, so MADV_DONTNEED only
            // drops clean pages: a later access re-reads the same bytes from the file
            // (pages shared with a neighbouring tensor included). No reference into
            // them is held across this call.
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, *start, *len)
            };
        }
    }

    /// `x` is `m` rows of `cols` values; returns `m` rows of `rows` values.
    pub(crate) fn matmul(&self, x: &[f32], m: usize) -> Result<Vec<f32>, ModelError> {
        matmul(&[self], x, m)?
            .pop()
            .ok_or_else(|| ModelError::Runtime("matmul lost its output".into()))
    }

    /// Which quantized input the dot products take: `None` for ours, else candle's
    /// `VecDotType` of the format.
    fn input_kind(&self) -> Option<GgmlDType> {
        match self.kernel {
            Kernel::Own(_) => None,
            Kernel::Candle => with_block_type!(self.dtype,
                T => Some(<<T as GgmlType>::VecDotType as GgmlType>::DTYPE),
                else => Some(GgmlDType::F32)),
        }
    }

    fn quantize_input(&self, x: &[f32], m: usize) -> Input {
        match self.kernel {
            Kernel::Own(_) => Input::Own(kernels::quantize_rows(x, self.cols, m)),
            Kernel::Candle => with_block_type!(self.dtype,
                T => <<T as GgmlType>::VecDotType as DotInput>::quantize(x, self.cols, m),
                else => Input::F32(x.to_vec())),
        }
    }

    /// This matrix's rows against `input`, ready to run on any thread.
    fn bind<'a>(&'a self, input: &'a Input) -> Result<Box<dyn RowDots + 'a>, ModelError> {
        let w = self.bytes();
        if let Kernel::Own(format) = self.kernel {
            let Input::Own(x) = input else {
                return Err(ModelError::Runtime(
                    "own kernel given a candle input".into(),
                ));
            };
            return Ok(Box::new(OwnRows {
                format,
                w,
                x,
                blocks: self.cols / kernels::QK,
                row_bytes: (self.cols / kernels::QK) * format.block_bytes(),
            }));
        }
        // candle's scalar Q4_1 / Q5_0 / Q5_1 dot products assume an even number of blocks
        // per row (a debug assertion, a panic in debug builds): refuse such a matrix
        // rather than reach it. Requantizing at load (the default) avoids this path.
        let blocks = self.cols / self.dtype.block_size().max(1);
        if matches!(
            self.dtype,
            GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1
        ) && blocks % 2 == 1
        {
            return Err(ModelError::Runtime(format!(
                "{:?} rows of {} values are an odd number of blocks, which candle's kernel \
                 cannot take; load with requantization",
                self.dtype, self.cols
            )));
        }
        with_block_type!(self.dtype, T => {
            let w = cast::<T>(w).ok_or_else(|| misaligned(self.dtype))?;
            let x = <<T as GgmlType>::VecDotType as DotInput>::get(input)
                .ok_or_else(|| ModelError::Runtime("matmul input of the wrong format".into()))?;
            Ok(Box::new(CandleRows::<T> { w, x, cols: self.cols }) as Box<dyn RowDots + 'a>)
        }, else => Err(misaligned(self.dtype)))
    }
}

fn backing_bytes(b: &Backing) -> &[u8] {
    match b {
        Backing::Mapped { map, start, len } => &map[*start..*start + *len],
        Backing::Owned(o) => o.as_bytes(),
    }
}

fn misaligned(dtype: GgmlDType) -> ModelError {
    ModelError::Runtime(format!("{dtype:?} weights are not whole aligned blocks"))
}

/// Activation rows quantized for one kind of dot product.
enum Input {
    Own(Vec<Q8Block>),
    Q8_0(Vec<BlockQ8_0>),
    Q8_1(Vec<BlockQ8_1>),
    Q8K(Vec<BlockQ8K>),
    F32(Vec<f32>),
}

/// The block types candle's dot products take as their second operand.
trait DotInput: GgmlType {
    fn wrap(v: Vec<Self>) -> Input;
    fn get(input: &Input) -> Option<&[Self]>;

    /// `m` rows of `cols` values, each row quantized on its own.
    fn quantize(x: &[f32], cols: usize, m: usize) -> Input {
        let per = cols / Self::BLCK_SIZE;
        let mut out = vec![Self::zeros(); m * per];
        for (row, o) in x.chunks_exact(cols).zip(out.chunks_exact_mut(per)) {
            Self::from_float(row, o);
        }
        Self::wrap(out)
    }
}

/// The [`DotInput`] of a candle block type held in `Input::$variant`.
macro_rules! dot_input {
    ($ty:ty, $variant:ident) => {
        impl DotInput for $ty {
            fn wrap(v: Vec<Self>) -> Input {
                Input::$variant(v)
            }
            fn get(input: &Input) -> Option<&[Self]> {
                match input {
                    Input::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

dot_input!(BlockQ8_0, Q8_0);
dot_input!(BlockQ8_1, Q8_1);
dot_input!(BlockQ8K, Q8K);

impl DotInput for f32 {
    fn wrap(v: Vec<Self>) -> Input {
        Input::F32(v)
    }
    fn get(input: &Input) -> Option<&[Self]> {
        match input {
            Input::F32(v) => Some(v),
            _ => None,
        }
    }
    fn quantize(x: &[f32], _cols: usize, _m: usize) -> Input {
        Input::F32(x.to_vec())
    }
}

/// Dot products of a run of one matrix's rows with every activation row.
trait RowDots: Sync {
    /// `dst[i * m + r] = dot(row first + i, activation row r)`, `dst.len() / m` rows.
    fn run(&self, first: usize, m: usize, dst: &mut [f32]);
}

struct OwnRows<'a> {
    format: NativeFormat,
    w: &'a [u8],
    x: &'a [Q8Block],
    blocks: usize,
    row_bytes: usize,
}

impl RowDots for OwnRows<'_> {
    fn run(&self, first: usize, m: usize, dst: &mut [f32]) {
        let n = dst.len() / m.max(1);
        let w = &self.w[first * self.row_bytes..(first + n) * self.row_bytes];
        kernels::dot_rows(self.format, w, self.x, self.blocks, m, dst);
    }
}

struct CandleRows<'a, T: GgmlType> {
    w: &'a [T],
    x: &'a [T::VecDotType],
    cols: usize,
}

impl<T: GgmlType> RowDots for CandleRows<'_, T> {
    fn run(&self, first: usize, m: usize, dst: &mut [f32]) {
        let per_w = self.cols / T::BLCK_SIZE;
        let per_x = self.cols / <T::VecDotType as GgmlType>::BLCK_SIZE;
        for (i, d) in dst.chunks_exact_mut(m).enumerate() {
            let row = first + i;
            let w = &self.w[row * per_w..(row + 1) * per_w];
            if let Some(next) = self.w.get((row + 1) * per_w..(row + 2) * per_w) {
                kernels::prefetch(block_bytes(next));
            }
            for (r, out) in d.iter_mut().enumerate() {
                *out = T::vec_dot(self.cols, w, &self.x[r * per_x..(r + 1) * per_x]);
            }
        }
    }
}

/// Weight rows per work item: small enough to balance threads, large enough that
/// handing one out costs little beside its dot products.
const CHUNK: usize = 16;

/// `x` (`m` rows of the matrices' common width) through each of `parts`: one output of
/// `m` rows per part. The input is quantized once per kind of dot product the parts
/// take (once in all when they share a format), and every part's rows are computed in
/// one parallel region, so fused projections cost one barrier, not one per matrix.
pub(crate) fn matmul(parts: &[&Matrix], x: &[f32], m: usize) -> Result<Vec<Vec<f32>>, ModelError> {
    let Some(cols) = parts.first().map(|p| p.cols) else {
        return Ok(Vec::new());
    };
    if m == 0 || x.len() != m * cols || parts.iter().any(|p| p.cols != cols) {
        return Err(ModelError::Runtime(format!(
            "matmul of {} values as {m} rows of {cols}",
            x.len()
        )));
    }
    let mut kinds: Vec<Option<GgmlDType>> = Vec::new();
    let mut inputs: Vec<Input> = Vec::new();
    let mut input_of = Vec::with_capacity(parts.len());
    for p in parts {
        let kind = p.input_kind();
        let at = match kinds.iter().position(|k| *k == kind) {
            Some(at) => at,
            None => {
                kinds.push(kind);
                inputs.push(p.quantize_input(x, m));
                kinds.len() - 1
            }
        };
        input_of.push(at);
    }
    let bound = parts
        .iter()
        .zip(&input_of)
        .map(|(p, &i)| p.bind(&inputs[i]))
        .collect::<Result<Vec<_>, _>>()?;
    // Each output is weight-row-major (`[row][m]`) while computed, so a work item
    // writes one contiguous slice; transposed at the end when m > 1.
    let mut outs: Vec<Vec<f32>> = parts.iter().map(|p| vec![0f32; p.rows * m]).collect();
    let mut items: Vec<(usize, usize)> = Vec::new();
    let mut slots: Vec<Mutex<&mut [f32]>> = Vec::new();
    for (pi, out) in outs.iter_mut().enumerate() {
        for (c, dst) in out.chunks_mut(CHUNK * m).enumerate() {
            items.push((pi, c * CHUNK));
            slots.push(Mutex::new(dst));
        }
    }
    candle_core::utils::barrier_pool().execute_chunked(items.len(), |range| {
        for item in range {
            let (pi, first) = items[item];
            if let Ok(mut dst) = slots[item].lock() {
                bound[pi].run(first, m, &mut dst);
            }
        }
    });
    drop(slots);
    if m == 1 {
        return Ok(outs);
    }
    Ok(outs
        .into_iter()
        .map(|t| {
            let rows = t.len() / m;
            let mut out = vec![0f32; m * rows];
            for (i, row) in t.chunks_exact(m).enumerate() {
                for (r, v) in row.iter().enumerate() {
                    out[r * rows + i] = *v;
                }
            }
            out
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::QTensor;
    use candle_core::Tensor;

    fn random(n: usize, rng: &mut fastrand::Rng) -> Vec<f32> {
        (0..n).map(|_| rng.f32() * 4.0 - 2.0).collect()
    }

    fn reference(q: &QTensor, x: &[f32], m: usize, cols: usize) -> Vec<f32> {
        let xt = Tensor::from_slice(x, (m, cols), &Device::Cpu).unwrap();
        xt.apply_op1_no_bwd(q)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    }

    fn assert_close(got: &[f32], expected: &[f32], what: &str) {
        assert_eq!(got.len(), expected.len(), "{what}");
        // Our kernels quantize the activations with an f32 scale, candle's with f16:
        // the sums differ in the last bits of each block, hence a relative tolerance.
        let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
        for (i, (a, b)) in got.iter().zip(expected).enumerate() {
            assert!(
                (a - b).abs() <= 0.02 * scale,
                "{what}, value {i}: {a} vs {b} (scale {scale})"
            );
        }
    }

    /// Every format the models use (and the other block formats), through candle's
    /// kernels on slices and through ours, equals candle's QTensor matmul.
    #[test]
    fn slice_kernels_match_candles_reference_matmul_for_each_format() {
        let mut rng = fastrand::Rng::with_seed(7);
        let (rows, cols) = (37, 512);
        let w = random(rows * cols, &mut rng);
        let wt = Tensor::from_vec(w.clone(), (rows, cols), &Device::Cpu).unwrap();
        for dtype in [
            GgmlDType::Q8_0,
            GgmlDType::Q4K,
            GgmlDType::Q6K,
            GgmlDType::Q5_0,
            GgmlDType::Q4_1,
            GgmlDType::Q4_0,
            GgmlDType::Q5_1,
            GgmlDType::Q5K,
            GgmlDType::Q3K,
            GgmlDType::Q2K,
            GgmlDType::F32,
        ] {
            let q = QTensor::quantize(&wt, dtype).unwrap();
            let bytes = q.data().unwrap();
            for m in [1, 6] {
                let x = random(m * cols, &mut rng);
                let expected = reference(&q, &x, m, cols);
                for own in [false, true] {
                    let mat = Matrix::owned(dtype, &bytes, rows, cols, own).unwrap();
                    let got = mat.matmul(&x, m).unwrap();
                    assert_close(&got, &expected, &format!("{dtype:?} m={m} own={own}"));
                }
            }
            let mat = Matrix::owned(dtype, &bytes, rows, cols, false).unwrap();
            let mut row = vec![0f32; cols];
            mat.dequantize_row(5, &mut row).unwrap();
            let deq = crate::kernels::tests::dequantized(&q);
            assert_eq!(row, deq[5 * cols..6 * cols], "{dtype:?} row lookup");
        }
    }

    /// candle's scalar Q4_1 / Q5_0 / Q5_1 kernels assume an even number of blocks per row
    /// (they assert it in debug builds): such a matrix is an error on that path, not a
    /// panic. (Ours take odd counts: `kernels::tests::native_kernels_handle_an_odd_number_of_blocks`.)
    #[test]
    fn odd_block_rows_are_refused_on_candles_scalar_kernels() {
        let mut rng = fastrand::Rng::with_seed(5);
        let (rows, cols) = (4, 96);
        let wt =
            Tensor::from_vec(random(rows * cols, &mut rng), (rows, cols), &Device::Cpu).unwrap();
        let x = random(cols, &mut rng);
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q5_1] {
            let q = QTensor::quantize(&wt, dtype).unwrap();
            let bytes = q.data().unwrap();
            let mat = Matrix::owned(dtype, &bytes, rows, cols, false).unwrap();
            match mat.matmul(&x, 1) {
                Err(ModelError::Runtime(m)) => assert!(m.contains("odd number"), "{m}"),
                other => panic!("{dtype:?}: expected an error, got {other:?}"),
            }
        }
    }

    /// Fused projections (several matrices, one input, one parallel region) equal
    /// separate matmuls, also when the matrices are of different formats.
    #[test]
    fn fused_matmul_of_mixed_formats_equals_separate_ones() {
        let mut rng = fastrand::Rng::with_seed(11);
        let cols = 256;
        let parts: Vec<Matrix> = [
            (GgmlDType::Q5_0, 40),
            (GgmlDType::Q6K, 24),
            (GgmlDType::Q5_0, 8),
        ]
        .into_iter()
        .map(|(dtype, rows)| {
            let wt = Tensor::from_vec(random(rows * cols, &mut rng), (rows, cols), &Device::Cpu)
                .unwrap();
            let q = QTensor::quantize(&wt, dtype).unwrap();
            Matrix::owned(dtype, &q.data().unwrap(), rows, cols, true).unwrap()
        })
        .collect();
        for m in [1, 5] {
            let x = random(m * cols, &mut rng);
            let refs: Vec<&Matrix> = parts.iter().collect();
            let fused = matmul(&refs, &x, m).unwrap();
            for (p, f) in parts.iter().zip(&fused) {
                assert_eq!(&p.matmul(&x, m).unwrap(), f);
            }
        }
    }

    /// A matrix in the mapped file gives the same products as the same bytes owned, and
    /// a range past the end of the file is an error, not a read past the map.
    #[test]
    fn mapped_views_read_in_place_and_refuse_ranges_past_the_end() {
        use std::io::Write;
        let mut rng = fastrand::Rng::with_seed(3);
        let (rows, cols) = (20, 256);
        let wt =
            Tensor::from_vec(random(rows * cols, &mut rng), (rows, cols), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&wt, GgmlDType::Q4K).unwrap();
        let bytes = q.data().unwrap();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&[0u8; 32]).unwrap();
        f.write_all(&bytes).unwrap();
        f.flush().unwrap();
        let map = Arc::new(unsafe { Mmap::map(f.as_file()) }.unwrap());
        let file = MappedFile { map };
        let path = f.path();
        let (backing, copied) = file
            .range(path, "w", GgmlDType::Q4K, 32, bytes.len())
            .unwrap();
        assert!(!copied, "an aligned offset is used in place");
        let mapped = Matrix {
            backing,
            dtype: GgmlDType::Q4K,
            rows,
            cols,
            kernel: Kernel::Candle,
        };
        let x = random(cols, &mut rng);
        assert_eq!(mapped.matmul(&x, 1).unwrap(), reference(&q, &x, 1, cols));

        // One byte of the matrix past the end, or an offset that overflows.
        for (start, len) in [(33, bytes.len()), (u64::MAX - 4, 16)] {
            match file.range(path, "w", GgmlDType::Q4K, start, len) {
                Err(ModelError::Invalid { reason, .. }) => {
                    assert!(reason.contains("past the end"), "{reason}")
                }
                Err(e) => panic!("wrong error {e}"),
                Ok(_) => panic!("a range past the end was accepted"),
            }
        }
        // An odd offset cannot be read as f16-scaled blocks in place: copied instead.
        let (backing, copied) = file
            .range(path, "w", GgmlDType::Q4K, 31, bytes.len())
            .unwrap();
        assert!(copied);
        assert_eq!(backing_bytes(&backing)[1..], bytes[..bytes.len() - 1]);
    }
}
