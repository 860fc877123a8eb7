//! Dot products for the formats candle has no fast code for, and for Q8_0: AVX2 on
//! x86-64, NEON on arm64.
//!
//! candle 0.11 runs Q4_1, Q5_0 and Q5_1 dot products in scalar code (10x slower than
//! llama.cpp) on every CPU, and has no NEON code for them on arm64. Requantizing them to
//! Q8_0 at load fixes the speed but makes the weights 1.5-1.9x larger (owned memory on a
//! phone, instead of pages of the mapped file), and decoding reads every weight once per
//! token, so it costs speed again on memory bandwidth. These kernels use the file's own
//! blocks directly:
//!
//! - x86-64 with AVX2, FMA and F16C (`avx2` below): Q4_1, Q5_0 and Q8_0, ported from
//!   ggml's `ggml_vec_dot_q4_1_q8_1`, `ggml_vec_dot_q5_0_q8_0` and
//!   `ggml_vec_dot_q8_0_q8_0`. Q8_0 has a candle kernel, but it widens each block's f16
//!   scale through `half`'s runtime CPU-feature check, which cost a fifth of Qwen2.5's
//!   decode on its 151936 x 896 output matrix. Q5_1 is still requantized there.
//! - arm64 with NEON (`neon` below): Q4_1, Q5_0, Q5_1 and Q8_0, with the `sdot`
//!   instruction where the CPU has the dot-product extension and widening multiplies
//!   where it has not (both chosen at run time, see [`InstructionSet`]).
//!
//! Elsewhere the loader uses candle's kernels and requantization. The caller
//! ([`super::weights`]) spreads rows over threads; this file only computes the dot
//! products of a run of weight rows.

use candle_core::quantized::GgmlDType;

/// Weights per quantization block (every format here, and the Q8 activations alike).
pub(crate) const QK: usize = 32;

/// A block of activations quantized to 8 bits: scale, scale times the sum of the
/// quants (for formats with an offset: Q4_1, Q5_1), and the quants, in -127..=127.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct Q8Block {
    d: f32,
    s: f32,
    qs: [i8; QK],
}

/// The instruction set the kernels run with, chosen at run time from what the CPU has
/// (an arm64 phone without the dot-product extension still gets the NEON kernels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstructionSet {
    /// x86-64 with AVX2, FMA and F16C.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// arm64 NEON: 8-bit products by widening multiplies and pairwise adds.
    #[cfg(target_arch = "aarch64")]
    Neon,
    /// arm64 NEON with the dot-product extension (`sdot`).
    #[cfg(target_arch = "aarch64")]
    NeonDotprod,
}

impl InstructionSet {
    /// The fastest set this CPU has, or `None` where these kernels cannot run (the
    /// loader then requantizes and uses candle's kernels).
    pub(crate) fn detected() -> Option<Self> {
        Self::available().pop()
    }

    /// Every set this CPU can run, slowest first (the tests compare them all).
    fn available() -> Vec<Self> {
        #[allow(unused_mut)] // Nothing is pushed on other architectures.
        let mut sets = Vec::new();
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
        {
            sets.push(Self::Avx2);
        }
        #[cfg(target_arch = "aarch64")]
        if std::arch::is_aarch64_feature_detected!("neon") {
            sets.push(Self::Neon);
            if std::arch::is_aarch64_feature_detected!("dotprod") {
                sets.push(Self::NeonDotprod);
            }
        }
        sets
    }

    /// The name the load report shows.
    pub(crate) fn name(self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => "AVX2",
            #[cfg(target_arch = "aarch64")]
            Self::Neon => "NEON",
            #[cfg(target_arch = "aarch64")]
            Self::NeonDotprod => "NEON+dotprod",
        }
    }
}

/// A weight format these kernels run, with the instruction set chosen for this CPU.
/// Made only from an [`InstructionSet`] the CPU was found to have, which is what makes
/// calling the kernels sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NativeFormat {
    block: BlockFormat,
    isa: InstructionSet,
}

/// The block layouts (ggml's), each 32 weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockFormat {
    /// f16 d, f16 m, 16 bytes of nibbles; value = d * q + m.
    Q4_1,
    /// f16 d, 4 bytes of fifth bits, 16 bytes of nibbles; value = d * (q - 16).
    Q5_0,
    /// f16 d, f16 m, 4 bytes of fifth bits, 16 bytes of nibbles; value = d * q + m.
    /// (No AVX2 kernel: requantized on x86-64.)
    #[cfg(target_arch = "aarch64")]
    Q5_1,
    /// f16 d, 32 signed bytes; value = d * q.
    Q8_0,
}

impl BlockFormat {
    fn block_bytes(self) -> usize {
        match self {
            BlockFormat::Q4_1 => 20,
            BlockFormat::Q5_0 => 22,
            #[cfg(target_arch = "aarch64")]
            BlockFormat::Q5_1 => 24,
            BlockFormat::Q8_0 => 34,
        }
    }
}

impl NativeFormat {
    /// The kernel for `dtype`, when this CPU can run one.
    pub(crate) fn for_dtype(dtype: GgmlDType) -> Option<Self> {
        Self::on(dtype, InstructionSet::detected()?)
    }

    /// The kernel for `dtype` on `isa`, which must be one this CPU has (from
    /// [`InstructionSet::detected`] or [`InstructionSet::available`]).
    fn on(dtype: GgmlDType, isa: InstructionSet) -> Option<Self> {
        let block = match dtype {
            GgmlDType::Q4_1 => BlockFormat::Q4_1,
            GgmlDType::Q5_0 => BlockFormat::Q5_0,
            #[cfg(target_arch = "aarch64")]
            GgmlDType::Q5_1 => BlockFormat::Q5_1,
            GgmlDType::Q8_0 => BlockFormat::Q8_0,
            _ => return None,
        };
        Some(NativeFormat { block, isa })
    }

    /// Bytes of one block of 32 weights.
    pub(crate) fn block_bytes(self) -> usize {
        self.block.block_bytes()
    }

    /// The instruction set the kernel runs with.
    pub(crate) fn instruction_set(self) -> InstructionSet {
        self.isa
    }
}

/// Quantizes `m` rows of `cols` values (a multiple of [`QK`]) for these kernels.
pub(crate) fn quantize_rows(x: &[f32], cols: usize, m: usize) -> Vec<Q8Block> {
    let mut out = Vec::with_capacity(m * (cols / QK));
    for row in x.chunks_exact(cols).take(m) {
        for chunk in row.chunks_exact(QK) {
            let amax = chunk.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut qs = [0i8; QK];
            let mut sum = 0i32;
            for (q, v) in qs.iter_mut().zip(chunk) {
                *q = (v * id).round() as i8;
                sum += *q as i32;
            }
            out.push(Q8Block {
                d,
                s: d * sum as f32,
                qs,
            });
        }
    }
    out
}

/// `dst[i * m + r] = dot(weight row i, activation row r)` for the weight rows in `w`
/// (whole rows of `blocks` blocks in `format`, one after another) and the `m` rows of
/// `x` (each `blocks` blocks, from [`quantize_rows`]). Four activation rows at a time
/// share each weight block's unpacking (prompt evaluation), and give bit for bit what
/// one row at a time gives.
pub(crate) fn dot_rows(
    format: NativeFormat,
    w: &[u8],
    x: &[Q8Block],
    blocks: usize,
    m: usize,
    dst: &mut [f32],
) {
    let row_bytes = blocks * format.block_bytes();
    if row_bytes == 0 || m == 0 {
        // Empty rows (no blocks): every dot product is 0.
        dst.fill(0.0);
        return;
    }
    for (wr, d) in w.chunks_exact(row_bytes).zip(dst.chunks_exact_mut(m)) {
        let mut r = 0;
        while r + 4 <= m {
            let four = dot4(format, wr, &x[r * blocks..(r + 4) * blocks], blocks);
            d[r..r + 4].copy_from_slice(&four);
            r += 4;
        }
        for (r, out) in d.iter_mut().enumerate().skip(r) {
            *out = dot(format, wr, &x[r * blocks..(r + 1) * blocks]);
        }
    }
}

/// Asks the CPU to start loading `bytes` into cache: used one weight row ahead of
/// candle's dot products, which stream the weights like ours but do not prefetch.
pub(crate) fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for at in (0..bytes.len()).step_by(64) {
        // SAFETY: a prefetch is a hint: it reads nothing architecturally and cannot
        // fault; `at` is inside `bytes` anyway.
        unsafe { avx2::prefetch_line(bytes.as_ptr().add(at)) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// One weight row (`w`, `x.len()` blocks) against one activation row.
fn dot(format: NativeFormat, w: &[u8], x: &[Q8Block]) -> f32 {
    match format.isa {
        // SAFETY: a NativeFormat holds only an instruction set the CPU was found to have
        // (`NativeFormat::on`), here AVX2, FMA and F16C. The kernels read `w` and `x`
        // through bounds-checked block slices; their vector loads read exactly the
        // bytes of one such slice.
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx2 => unsafe {
            match format.block {
                BlockFormat::Q4_1 => avx2::dot_q4_1(w, x),
                BlockFormat::Q5_0 => avx2::dot_q5_0(w, x),
                BlockFormat::Q8_0 => avx2::dot_q8_0(w, x),
            }
        },
        // SAFETY: as above, here NEON; the loads read within bounds-checked slices of
        // one block or one activation block.
        #[cfg(target_arch = "aarch64")]
        InstructionSet::Neon => unsafe { neon::dot_plain::<1>(format.block, w, x, x.len())[0] },
        // SAFETY: as above, here NEON and the dot-product extension (`sdot`).
        #[cfg(target_arch = "aarch64")]
        InstructionSet::NeonDotprod => unsafe {
            neon::dot_sdot::<1>(format.block, w, x, x.len())[0]
        },
    }
}

/// One weight row (`w`, `blocks` blocks) against four activation rows (`x`, one after
/// another), bit for bit as [`dot`] gives each.
fn dot4(format: NativeFormat, w: &[u8], x: &[Q8Block], blocks: usize) -> [f32; 4] {
    match format.isa {
        // SAFETY: as in `dot`: the CPU has AVX2, FMA and F16C; `w` and `x` are read
        // through bounds-checked block slices.
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx2 => unsafe { avx2::dot4(format.block, w, x, blocks) },
        // SAFETY: as in `dot`: the CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        InstructionSet::Neon => unsafe { neon::dot_plain::<4>(format.block, w, x, blocks) },
        // SAFETY: as in `dot`: the CPU has NEON and the dot-product extension.
        #[cfg(target_arch = "aarch64")]
        InstructionSet::NeonDotprod => unsafe { neon::dot_sdot::<4>(format.block, w, x, blocks) },
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{BlockFormat, Q8Block};
    use std::arch::x86_64::*;

    /// The f16 at byte `at`, widened with the F16C instruction (inlined: `half`'s
    /// conversion checks CPU features on every call).
    #[inline(always)]
    unsafe fn f16_at(b: &[u8], at: usize) -> f32 {
        let bits = u16::from_le_bytes([b[at], b[at + 1]]);
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
    }

    /// Asks for the weights 1 KiB ahead: decode streams each matrix once, and the
    /// profile showed the Q8_0 output matrix's loop waiting on its loads.
    #[inline(always)]
    unsafe fn prefetch_ahead(b: &[u8]) {
        // A prefetch never faults, even past the end of the mapping.
        _mm_prefetch(b.as_ptr().wrapping_add(1024) as *const i8, _MM_HINT_T0);
    }

    #[inline(always)]
    pub(super) unsafe fn prefetch_line(p: *const u8) {
        _mm_prefetch(p as *const i8, _MM_HINT_T0);
    }

    /// 32 nibbles as bytes: low nibbles are elements 0..16, high nibbles 16..32.
    #[target_feature(enable = "avx2")]
    unsafe fn bytes_from_nibbles_32(p: *const u8) -> __m256i {
        let tmp = _mm_loadu_si128(p as *const __m128i);
        let bytes = _mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp);
        _mm256_and_si256(_mm256_set1_epi8(0xF), bytes)
    }

    /// Byte i is 0xFF where bit i of `x` is set.
    #[target_feature(enable = "avx2")]
    unsafe fn bytes_from_bits_32(x: u32) -> __m256i {
        let shuf = _mm256_set_epi64x(
            0x0303030303030303,
            0x0202020202020202,
            0x0101010101010101,
            0x0000000000000000,
        );
        let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(x as i32), shuf);
        let bit_mask = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
        _mm256_cmpeq_epi8(_mm256_or_si256(bytes, bit_mask), _mm256_set1_epi64x(-1))
    }

    /// Sum of unsigned x times signed y in 8 float lanes.
    #[target_feature(enable = "avx2")]
    unsafe fn mul_sum_us8_pairs(ax: __m256i, sy: __m256i) -> __m256 {
        let dot = _mm256_maddubs_epi16(ax, sy);
        _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_set1_epi16(1), dot))
    }

    #[target_feature(enable = "avx2")]
    unsafe fn hsum(x: __m256) -> f32 {
        let r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
        let r = _mm_add_ps(r, _mm_movehl_ps(r, r));
        let r = _mm_add_ss(r, _mm_movehdup_ps(r));
        _mm_cvtss_f32(r)
    }

    /// Four activation rows against one weight row: each weight block is unpacked
    /// once for all four (prompt evaluation). `x` holds the rows one after another.
    /// Even and odd blocks go to separate accumulators, summed at the end, exactly as in
    /// the one-row kernels: a prompt evaluated in one batch then gives bit-identical
    /// results to the same tokens one at a time (any rounding difference would be
    /// amplified by the next layer's requantization of its input).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot4(
        format: BlockFormat,
        w: &[u8],
        x: &[Q8Block],
        blocks: usize,
    ) -> [f32; 4] {
        let mut acc = [[_mm256_setzero_ps(); 4]; 2];
        let mut offsets = [0f32; 4];
        let bb = format.block_bytes();
        for i in 0..blocks {
            let b = &w[i * bb..i * bb + bb];
            let d = f16_at(b, 0);
            // Signed formats: |x| and x's sign, moved onto y below.
            let (ax, sign, m) = match format {
                BlockFormat::Q5_0 => {
                    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                    let mut qx = bytes_from_nibbles_32(b.as_ptr().add(6));
                    let hi =
                        _mm256_andnot_si256(bytes_from_bits_32(qh), _mm256_set1_epi8(0xF0u8 as i8));
                    qx = _mm256_or_si256(qx, hi);
                    (_mm256_sign_epi8(qx, qx), Some(qx), 0.0)
                }
                BlockFormat::Q8_0 => {
                    let qx = _mm256_loadu_si256(b.as_ptr().add(2) as *const __m256i);
                    (_mm256_sign_epi8(qx, qx), Some(qx), 0.0)
                }
                BlockFormat::Q4_1 => (bytes_from_nibbles_32(b.as_ptr().add(4)), None, f16_at(b, 2)),
            };
            for r in 0..4 {
                let y = &x[r * blocks + i];
                let mut qy = _mm256_loadu_si256(y.qs.as_ptr() as *const __m256i);
                if let Some(qx) = sign {
                    qy = _mm256_sign_epi8(qy, qx);
                } else {
                    offsets[r] += m * y.s;
                }
                let xy = mul_sum_us8_pairs(ax, qy);
                let a = &mut acc[i % 2][r];
                *a = _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), xy, *a);
            }
        }
        let sum = |r: usize| hsum(_mm256_add_ps(acc[0][r], acc[1][r])) + offsets[r];
        [sum(0), sum(1), sum(2), sum(3)]
    }

    /// Q8_0 block: f16 d, 32 signed bytes; value = d * q. Two blocks per step into
    /// two accumulators: one chain of FMAs waited on its own latency (profiled: the
    /// loop was bound by the dependency, not by the loads).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot_q8_0(w: &[u8], x: &[Q8Block]) -> f32 {
        #[inline(always)]
        unsafe fn block(b: &[u8], y: &Q8Block, acc: __m256) -> __m256 {
            let d = f16_at(b, 0);
            let qx = _mm256_loadu_si256(b.as_ptr().add(2) as *const __m256i);
            let qy = _mm256_loadu_si256(y.qs.as_ptr() as *const __m256i);
            let ax = _mm256_sign_epi8(qx, qx);
            let sy = _mm256_sign_epi8(qy, qx);
            let xy = mul_sum_us8_pairs(ax, sy);
            _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), xy, acc)
        }
        let mut acc = [_mm256_setzero_ps(); 2];
        for (b, y) in w.chunks_exact(68).zip(x.chunks_exact(2)) {
            prefetch_ahead(b);
            acc[0] = block(&b[..34], &y[0], acc[0]);
            acc[1] = block(&b[34..], &y[1], acc[1]);
        }
        if x.len() % 2 == 1 {
            let i = x.len() - 1;
            acc[0] = block(&w[i * 34..i * 34 + 34], &x[i], acc[0]);
        }
        hsum(_mm256_add_ps(acc[0], acc[1]))
    }

    /// Q4_1 block: f16 d, f16 m, 16 bytes of nibbles; value = d * q + m. Two blocks
    /// per step into two accumulators, as in `dot_q8_0`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot_q4_1(w: &[u8], x: &[Q8Block]) -> f32 {
        #[inline(always)]
        unsafe fn block(b: &[u8], y: &Q8Block, acc: __m256, offsets: &mut f32) -> __m256 {
            let d = f16_at(b, 0);
            let m = f16_at(b, 2);
            *offsets += m * y.s;
            let qx = bytes_from_nibbles_32(b.as_ptr().add(4));
            let qy = _mm256_loadu_si256(y.qs.as_ptr() as *const __m256i);
            let xy = mul_sum_us8_pairs(qx, qy);
            _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), xy, acc)
        }
        let mut acc = [_mm256_setzero_ps(); 2];
        let mut offsets = 0f32;
        for (b, y) in w.chunks_exact(40).zip(x.chunks_exact(2)) {
            prefetch_ahead(b);
            acc[0] = block(&b[..20], &y[0], acc[0], &mut offsets);
            acc[1] = block(&b[20..], &y[1], acc[1], &mut offsets);
        }
        if x.len() % 2 == 1 {
            let i = x.len() - 1;
            acc[0] = block(&w[i * 20..i * 20 + 20], &x[i], acc[0], &mut offsets);
        }
        hsum(_mm256_add_ps(acc[0], acc[1])) + offsets
    }

    /// Q5_0 block: f16 d, 4 bytes of fifth bits, 16 bytes of nibbles; value = d * (q - 16).
    /// Two blocks per step into two accumulators, as in `dot_q8_0`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot_q5_0(w: &[u8], x: &[Q8Block]) -> f32 {
        #[inline(always)]
        unsafe fn block(b: &[u8], y: &Q8Block, acc: __m256) -> __m256 {
            let d = f16_at(b, 0);
            let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
            let mut qx = bytes_from_nibbles_32(b.as_ptr().add(6));
            let hi = _mm256_andnot_si256(bytes_from_bits_32(qh), _mm256_set1_epi8(0xF0u8 as i8));
            qx = _mm256_or_si256(qx, hi);
            let qy = _mm256_loadu_si256(y.qs.as_ptr() as *const __m256i);
            // Signed by signed: take |x| and move x's sign onto y.
            let ax = _mm256_sign_epi8(qx, qx);
            let sy = _mm256_sign_epi8(qy, qx);
            let xy = mul_sum_us8_pairs(ax, sy);
            _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), xy, acc)
        }
        let mut acc = [_mm256_setzero_ps(); 2];
        for (b, y) in w.chunks_exact(44).zip(x.chunks_exact(2)) {
            prefetch_ahead(b);
            acc[0] = block(&b[..22], &y[0], acc[0]);
            acc[1] = block(&b[22..], &y[1], acc[1]);
        }
        if x.len() % 2 == 1 {
            let i = x.len() - 1;
            acc[0] = block(&w[i * 22..i * 22 + 22], &x[i], acc[0]);
        }
        hsum(_mm256_add_ps(acc[0], acc[1]))
    }
}

/// The f16 with bits `h` as f32 (exact: every f16 is an f32). The NEON kernels widen
/// block scales with it: `half`'s conversion checks CPU features on every call, and
/// Rust's f16 NEON intrinsics are not stable.
#[cfg(any(target_arch = "aarch64", test))]
#[inline(always)]
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    match exp {
        0 => {
            // Zero or subnormal: man * 2^-24, exact in f32.
            let v = man as f32 * (1.0 / 16_777_216.0);
            f32::from_bits(v.to_bits() | sign)
        }
        // Infinity or NaN (the payload kept).
        31 => f32::from_bits(sign | 0x7f80_0000 | (man << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
    }
}

/// NEON kernels for arm64 (ggml's `ggml_vec_dot_q4_1_q8_1`, `_q5_0_q8_0`, `_q5_1_q8_1`
/// and `_q8_0_q8_0` in one shape): each weight block is unpacked once into 32 signed
/// quants, a scale and an offset ([`Block`]), which every format shares from there on,
/// then multiplied with each activation row. The 8-bit products are summed into four
/// 32-bit lanes, lane i holding bytes 4i..4i+4 of each half, by `sdot` where the CPU
/// has the dot-product extension and by widening multiplies and pairwise adds where it
/// has not: the same exact integers either way, so the two paths give bit-identical
/// floats, as do one and four activation rows (the same float operations per row, in
/// the same order).
#[cfg(target_arch = "aarch64")]
mod neon {
    use super::{f16_to_f32, BlockFormat, Q8Block};
    use std::arch::aarch64::*;
    use std::arch::asm;

    /// `R` activation rows against one weight row, with widening multiplies.
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn dot_plain<const R: usize>(
        format: BlockFormat,
        w: &[u8],
        x: &[Q8Block],
        blocks: usize,
    ) -> [f32; R] {
        dot_n::<false, R>(format, w, x, blocks)
    }

    /// `R` activation rows against one weight row, with `sdot`.
    #[target_feature(enable = "neon,dotprod")]
    pub(super) unsafe fn dot_sdot<const R: usize>(
        format: BlockFormat,
        w: &[u8],
        x: &[Q8Block],
        blocks: usize,
    ) -> [f32; R] {
        dot_n::<true, R>(format, w, x, blocks)
    }

    /// One weight block as 32 signed quants (elements 0..16 and 16..32), its scale and
    /// its offset (0 for the formats without one).
    struct Block {
        lo: int8x16_t,
        hi: int8x16_t,
        d: f32,
        m: f32,
    }

    /// The f16 at byte `at` of `b`, as f32.
    #[inline(always)]
    fn f16_at(b: &[u8], at: usize) -> f32 {
        f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
    }

    /// 16 bytes of `b` from `at` (bounds-checked) as a vector.
    #[inline(always)]
    unsafe fn load16(b: &[u8], at: usize) -> uint8x16_t {
        vld1q_u8(b[at..at + 16].as_ptr())
    }

    /// 32 nibbles as quants in 0..16: low nibbles are elements 0..16, high 16..32.
    #[inline(always)]
    unsafe fn nibbles(q: uint8x16_t) -> (uint8x16_t, uint8x16_t) {
        (vandq_u8(q, vdupq_n_u8(0x0F)), vshrq_n_u8::<4>(q))
    }

    /// 0x10 in byte i where bit i of `bits` is set: the fifth bit of 16 Q5 quants.
    #[inline(always)]
    unsafe fn fifth_bits(bits: u16) -> uint8x16_t {
        const BIT: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
        let [b0, b1] = bits.to_le_bytes();
        let v = vcombine_u8(vdup_n_u8(b0), vdup_n_u8(b1));
        vandq_u8(vtstq_u8(v, vld1q_u8(BIT.as_ptr())), vdupq_n_u8(0x10))
    }

    /// The quants of a Q5 block in 0..32: fifth bits in the 4 bytes at `at`, nibbles in
    /// the 16 after them (the layout Q5_0 and Q5_1 share).
    #[inline(always)]
    unsafe fn q5(b: &[u8], at: usize) -> (int8x16_t, int8x16_t) {
        let qh = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let (lo, hi) = nibbles(load16(b, at + 4));
        (
            vreinterpretq_s8_u8(vorrq_u8(lo, fifth_bits(qh as u16))),
            vreinterpretq_s8_u8(vorrq_u8(hi, fifth_bits((qh >> 16) as u16))),
        )
    }

    /// Unpacks one block of `format` (`b` holds exactly its bytes; layouts at
    /// [`BlockFormat`]).
    #[inline(always)]
    unsafe fn unpack(format: BlockFormat, b: &[u8]) -> Block {
        let d = f16_at(b, 0);
        match format {
            BlockFormat::Q4_1 => {
                let (lo, hi) = nibbles(load16(b, 4));
                Block {
                    lo: vreinterpretq_s8_u8(lo),
                    hi: vreinterpretq_s8_u8(hi),
                    d,
                    m: f16_at(b, 2),
                }
            }
            BlockFormat::Q5_0 => {
                let (lo, hi) = q5(b, 2);
                let sixteen = vdupq_n_s8(16);
                Block {
                    lo: vsubq_s8(lo, sixteen),
                    hi: vsubq_s8(hi, sixteen),
                    d,
                    m: 0.0,
                }
            }
            BlockFormat::Q5_1 => {
                let (lo, hi) = q5(b, 4);
                Block {
                    lo,
                    hi,
                    d,
                    m: f16_at(b, 2),
                }
            }
            BlockFormat::Q8_0 => Block {
                lo: vreinterpretq_s8_u8(load16(b, 2)),
                hi: vreinterpretq_s8_u8(load16(b, 18)),
                d,
                m: 0.0,
            },
        }
    }

    /// `acc` plus the products of `a` and `b`, lane i gaining those of bytes 4i..4i+4.
    #[inline(always)]
    unsafe fn dot16<const DOTPROD: bool>(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        if DOTPROD {
            let mut acc = acc;
            // SAFETY: `DOTPROD` is set only in `dot_sdot`, whose callers run it only
            // where the CPU has the dot-product extension (`InstructionSet::NeonDotprod`),
            // and which is compiled with it, so the assembler accepts `sdot` here once
            // inlined. Registers only, no memory. (`vdotq_s32` is not stable yet.)
            asm!(
                "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
                acc = inout(vreg) acc,
                a = in(vreg) a,
                b = in(vreg) b,
                options(pure, nomem, nostack, preserves_flags)
            );
            acc
        } else {
            // Each product of two bytes fits in 16 bits (at most 128 * 128); pairs are
            // summed into 32 bits, then pairs of pairs, which puts bytes 4i..4i+4 in
            // lane i as `sdot` does.
            let p0 = vpaddlq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(b)));
            let p1 = vpaddlq_s16(vmull_high_s8(a, b));
            vaddq_s32(acc, vpaddq_s32(p0, p1))
        }
    }

    /// The dot products of one weight row (`blocks` blocks of `format`) with `R`
    /// activation rows (`x`, `blocks` blocks each, one after another).
    #[inline(always)]
    unsafe fn dot_n<const DOTPROD: bool, const R: usize>(
        format: BlockFormat,
        w: &[u8],
        x: &[Q8Block],
        blocks: usize,
    ) -> [f32; R] {
        let mut acc = [vdupq_n_f32(0.0); R];
        let mut offsets = [0f32; R];
        for (i, b) in w
            .chunks_exact(format.block_bytes())
            .take(blocks)
            .enumerate()
        {
            let block = unpack(format, b);
            for (r, (acc, offset)) in acc.iter_mut().zip(&mut offsets).enumerate() {
                let y = &x[r * blocks + i];
                let qy = (vld1q_s8(y.qs[..16].as_ptr()), vld1q_s8(y.qs[16..].as_ptr()));
                let sum = dot16::<DOTPROD>(vdupq_n_s32(0), block.lo, qy.0);
                let sum = dot16::<DOTPROD>(sum, block.hi, qy.1);
                *acc = vfmaq_n_f32(*acc, vcvtq_f32_s32(sum), block.d * y.d);
                // sum((d q + m) y.d qy) = d y.d sum(q qy) + m y.s.
                *offset += block.m * y.s;
            }
        }
        let mut out = [0f32; R];
        for (o, (a, offset)) in out.iter_mut().zip(acc.iter().zip(offsets)) {
            *o = vaddvq_f32(*a) + offset;
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use candle_core::quantized::ggml_file::qtensor_from_ggml;
    use candle_core::quantized::QTensor;
    use candle_core::{Device, Tensor};

    /// The formats with a kernel on some CPU.
    const FORMATS: [GgmlDType; 4] = [
        GgmlDType::Q4_1,
        GgmlDType::Q5_0,
        GgmlDType::Q5_1,
        GgmlDType::Q8_0,
    ];

    /// `q`'s values in f32, row after row: the reference where candle's own matmul
    /// cannot serve.
    pub(crate) fn dequantized(q: &QTensor) -> Vec<f32> {
        q.dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    }

    /// Every (format, instruction set) pair this CPU runs a kernel for: on arm64 under
    /// qemu both NEON paths, with `sdot` and without.
    fn kernels_here() -> Vec<(GgmlDType, NativeFormat)> {
        let mut out = Vec::new();
        for isa in InstructionSet::available() {
            for dtype in FORMATS {
                if let Some(format) = NativeFormat::on(dtype, isa) {
                    out.push((dtype, format));
                }
            }
        }
        out
    }

    /// The kernels agree with candle's own matmul on the same blocks, for one activation
    /// row and for several (the four-row path plus a remainder).
    #[test]
    fn native_kernels_match_candles_reference_matmul() {
        let (rows, cols, m) = (48, 128, 7);
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 40.0)
            .collect();
        let x: Vec<f32> = (0..m * cols)
            .map(|i| ((i * 13 % 29) as f32 - 14.0) / 9.0)
            .collect();
        let wt = Tensor::from_vec(w, (rows, cols), &Device::Cpu).unwrap();
        let xt = Tensor::from_vec(x.clone(), (m, cols), &Device::Cpu).unwrap();
        for (dtype, format) in kernels_here() {
            let q = QTensor::quantize(&wt, dtype).unwrap();
            let expected = xt
                .apply_op1_no_bwd(&q)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let xq = quantize_rows(&x, cols, m);
            let mut got_t = vec![0f32; rows * m];
            dot_rows(format, &q.data().unwrap(), &xq, cols / QK, m, &mut got_t);
            for (i, row) in got_t.chunks_exact(m).enumerate() {
                for (r, a) in row.iter().enumerate() {
                    let b = expected[r * rows + i];
                    assert!(
                        (a - b).abs() < 0.05 * (1.0 + b.abs()),
                        "{format:?}: {a} vs {b}"
                    );
                }
            }
        }
    }

    /// f16 scales a file may hold beside ordinary ones: zeros, subnormals, the
    /// smallest normal, +-1 and the largest finite values.
    const EDGE_SCALES: [u16; 10] = [
        0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0xbc00, 0x7bff, 0xfbff, 0x1400,
    ];

    /// `blocks` random blocks of `dtype`: random quant bytes (every nibble, fifth bit
    /// and Q8_0 byte, -128 included), with some blocks all 0x00, 0xFF, 0x80 or 0x7F, and
    /// f16 scales and offsets that are often edge values.
    fn random_blocks(dtype: GgmlDType, blocks: usize, rng: &mut fastrand::Rng) -> Vec<u8> {
        let size = dtype.type_size();
        let mut out = Vec::with_capacity(blocks * size);
        for _ in 0..blocks {
            let mut b: Vec<u8> = match rng.usize(0..8) {
                0 => vec![0x00; size],
                1 => vec![0xFF; size],
                2 => vec![0x80; size],
                3 => vec![0x7F; size],
                _ => (0..size).map(|_| rng.u8(..)).collect(),
            };
            // d, and m where the format has one: an edge value or a random finite f16.
            let halves = if matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_1) {
                2
            } else {
                1
            };
            for h in 0..halves {
                let bits = if rng.bool() {
                    EDGE_SCALES[rng.usize(..EDGE_SCALES.len())]
                } else {
                    // Sign, exponent 1..=30 (no infinity or NaN), mantissa.
                    rng.u16(..0x8000) & 0x83ff | (rng.u16(1..31) << 10)
                };
                b[2 * h..2 * h + 2].copy_from_slice(&bits.to_le_bytes());
            }
            out.extend_from_slice(&b);
        }
        out
    }

    /// `m` activation rows of `cols` values: random, with some blocks zero, huge, tiny,
    /// or all at the quantizer's extremes (+-127).
    fn random_activations(cols: usize, m: usize, rng: &mut fastrand::Rng) -> Vec<f32> {
        let mut x = Vec::with_capacity(m * cols);
        for _ in 0..m * cols / QK {
            let kind = rng.usize(0..8);
            for _ in 0..QK {
                x.push(match kind {
                    0 => 0.0,
                    1 => (rng.f32() * 2.0 - 1.0) * 1e4,
                    2 => (rng.f32() * 2.0 - 1.0) * 1e-30,
                    3 => {
                        if rng.bool() {
                            2.5
                        } else {
                            -2.5
                        }
                    }
                    _ => rng.f32() * 6.0 - 3.0,
                });
            }
        }
        x
    }

    /// Every kernel on this CPU (both NEON paths on arm64, AVX2 on x86-64) equals
    /// candle's dequantized weights dotted with the quantized activations, on random
    /// blocks with edge values, for one, four and seven activation rows and odd block
    /// counts; and every instruction set gives the same floats bit for bit.
    #[test]
    fn kernels_equal_candles_dequantize_and_dot_on_random_blocks() {
        let mut rng = fastrand::Rng::with_seed(23);
        let mut checked = 0;
        for dtype in FORMATS {
            for (rows, blocks, m) in [(5, 1, 1), (9, 5, 4), (7, 9, 7), (3, 2, 6)] {
                let cols = blocks * QK;
                let w = random_blocks(dtype, rows * blocks, &mut rng);
                let deq = dequantized(
                    &qtensor_from_ggml(dtype, &w, vec![rows, cols], &Device::Cpu).unwrap(),
                );
                let xq = quantize_rows(&random_activations(cols, m, &mut rng), cols, m);
                // What the kernels multiply: the activations as quantized.
                let xv: Vec<f64> = xq
                    .iter()
                    .flat_map(|y| y.qs.map(|q| y.d as f64 * q as f64))
                    .collect();
                let offset = |block: usize| -> f64 {
                    if matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_1) {
                        let at = block * dtype.type_size() + 2;
                        half::f16::from_bits(u16::from_le_bytes([w[at], w[at + 1]])).to_f64()
                    } else {
                        0.0
                    }
                };
                let mut first: Option<Vec<f32>> = None;
                for isa in InstructionSet::available() {
                    let Some(format) = NativeFormat::on(dtype, isa) else {
                        continue;
                    };
                    let mut got = vec![0f32; rows * m];
                    dot_rows(format, &w, &xq, blocks, m, &mut got);
                    for (i, row) in got.chunks_exact(m).enumerate() {
                        for (r, &a) in row.iter().enumerate() {
                            let (mut want, mut scale) = (0f64, 0f64);
                            for j in 0..cols {
                                let (wv, xv) = (deq[i * cols + j] as f64, xv[r * cols + j]);
                                let mb = offset(i * blocks + j / QK);
                                want += wv * xv;
                                // The kernels sum d*q*x and m*x apart, so their
                                // rounding is relative to both terms, not to their sum.
                                scale += ((wv - mb).abs() + mb.abs()) * xv.abs();
                            }
                            assert!(
                                (a as f64 - want).abs() <= 1e-5 * scale + 1e-30,
                                "{format:?} {rows}x{blocks} blocks, row {i} act {r}: \
                                 {a} vs {want} (scale {scale})"
                            );
                        }
                    }
                    match &first {
                        None => first = Some(got),
                        Some(f) => {
                            let same = f.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits());
                            assert!(
                                same,
                                "{format:?} differs from the first set: {f:?} vs {got:?}"
                            );
                        }
                    }
                    checked += 1;
                }
            }
        }
        assert!(
            checked > 0 || InstructionSet::detected().is_none(),
            "no kernel was checked"
        );
    }

    /// One activation row and four at a time give bit-identical dot products (same
    /// summation order), so batch and one-token evaluation agree exactly.
    #[test]
    fn one_row_and_four_row_kernels_agree_exactly() {
        let (rows, cols, m) = (8, 576, 4);
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 40.0)
            .collect();
        let x: Vec<f32> = (0..m * cols)
            .map(|i| ((i * 13 % 29) as f32 - 14.0) / 9.0)
            .collect();
        let wt = Tensor::from_vec(w, (rows, cols), &Device::Cpu).unwrap();
        for (dtype, format) in kernels_here() {
            let q = QTensor::quantize(&wt, dtype).unwrap();
            let bytes = q.data().unwrap();
            let xq = quantize_rows(&x, cols, m);
            let mut four = vec![0f32; rows * m];
            dot_rows(format, &bytes, &xq, cols / QK, m, &mut four);
            for r in 0..m {
                let mut one = vec![0f32; rows];
                let xr = &xq[r * (cols / QK)..(r + 1) * (cols / QK)];
                dot_rows(format, &bytes, xr, cols / QK, 1, &mut one);
                for i in 0..rows {
                    let (a, b) = (one[i], four[i * m + r]);
                    assert_eq!(a.to_bits(), b.to_bits(), "{format:?} {i},{r}: {a} vs {b}");
                }
            }
        }
    }

    /// Each format has its kernel where one was written for it: on arm64 (every arm64
    /// CPU has NEON) all four, on x86-64 with AVX2 all but Q5_1 (requantized there), so
    /// the comparisons above are not vacuous. `ACCORD_TEST_EXPECT_ISA` (set by
    /// `scripts/test-arm64.sh` for each emulated CPU) names the set that must be chosen.
    #[test]
    fn kernels_exist_where_promised() {
        let isa = InstructionSet::detected();
        let expected: &[GgmlDType] = match isa.map(InstructionSet::name) {
            Some("AVX2") => &[GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q8_0],
            Some(_) => &FORMATS,
            None => &[],
        };
        #[cfg(target_arch = "aarch64")]
        assert!(isa.is_some(), "every arm64 CPU has NEON");
        for dtype in FORMATS.into_iter().chain([GgmlDType::Q4K, GgmlDType::Q4_0]) {
            assert_eq!(
                NativeFormat::for_dtype(dtype).map(NativeFormat::instruction_set),
                isa.filter(|_| expected.contains(&dtype)),
                "{dtype:?}"
            );
        }
        if let Some(want) = std::env::var_os("ACCORD_TEST_EXPECT_ISA") {
            assert_eq!(isa.map(InstructionSet::name), want.to_str());
        }
    }

    /// Every f16 bit pattern widens to the value `half` gives (NaNs to a NaN).
    #[test]
    fn f16_widening_is_exact_for_every_bit_pattern() {
        for bits in 0..=u16::MAX {
            let want = half::f16::from_bits(bits).to_f32();
            let got = f16_to_f32(bits);
            if want.is_nan() {
                assert!(got.is_nan(), "{bits:#06x}: {got}");
            } else {
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{bits:#06x}: {got} vs {want}"
                );
            }
        }
    }
}
