//! Dot products for the formats candle has no fast code for, and for Q8_0: AVX2 on
//! x86-64, NEON on arm64.
//!
//! candle 0.11 runs Q4_1, Q5_0 and Q5_1 dot products in scalar code (10x slower than
//! llama.cpp). Requantizing them to Q8_0 at load fixes the speed but makes the weights
//! 1.5-1.9x larger, and decoding reads every weight once per token, so it costs speed
//! again on memory bandwidth. On x86-64 with AVX2 (and FMA, F16C) these kernels (ported
//! from ggml's `ggml_vec_dot_q4_1_q8_1`, `ggml_vec_dot_q5_0_q8_0` and
//! `ggml_vec_dot_q8_0_q8_0`) use the file's own blocks directly. Q8_0 has a candle
//! kernel, but it widens each block's f16 scale through `half`'s runtime CPU-feature
//! check, which cost a fifth of Qwen2.5's decode on its 151936 x 896 output matrix.
//! On arm64 (phones) the NEON kernels (`neon` below) cover Q4_1, Q5_0, Q5_1 and Q8_0,
//! with the `sdot` instruction where the CPU has the dot-product extension (chosen at
//! run time); elsewhere the loader uses candle's kernels and requantization.
//!
//! The caller ([`super::weights`]) spreads rows over threads; this file only computes
//! the dot products of a run of weight rows.

use candle_core::quantized::GgmlDType;

/// Weights per quantization block (Q4_1, Q5_0, Q8_0 and the Q8 activations alike).
pub(crate) const QK: usize = 32;

/// A block of activations quantized to 8 bits: scale, scale times the sum of the
/// quants (for formats with an offset, Q4_1), and the quants.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct Q8Block {
    d: f32,
    s: f32,
    qs: [i8; QK],
}

/// Formats these kernels handle (Q5_1 on arm64 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NativeFormat {
    Q4_1,
    Q5_0,
    #[cfg(target_arch = "aarch64")]
    Q5_1,
    Q8_0,
}

impl NativeFormat {
    /// The kernel for `dtype`, when this CPU can run it.
    pub(crate) fn for_dtype(dtype: GgmlDType) -> Option<Self> {
        let format = match dtype {
            GgmlDType::Q4_1 => NativeFormat::Q4_1,
            GgmlDType::Q5_0 => NativeFormat::Q5_0,
            #[cfg(target_arch = "aarch64")]
            GgmlDType::Q5_1 => NativeFormat::Q5_1,
            GgmlDType::Q8_0 => NativeFormat::Q8_0,
            _ => return None,
        };
        instruction_set().is_some().then_some(format)
    }

    /// Bytes of one block of 32 weights.
    pub(crate) fn block_bytes(self) -> usize {
        match self {
            NativeFormat::Q4_1 => 20,
            NativeFormat::Q5_0 => 22,
            #[cfg(target_arch = "aarch64")]
            NativeFormat::Q5_1 => 24,
            NativeFormat::Q8_0 => 34,
        }
    }
}

/// The instruction set these kernels run with on this CPU, or `None` when they cannot
/// run here (the loader then requantizes and uses candle's kernels).
pub(crate) fn instruction_set() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        cpu_has_avx2().then_some("AVX2")
    }
    #[cfg(target_arch = "aarch64")]
    {
        if !std::arch::is_aarch64_feature_detected!("neon") {
            None
        } else if neon::has_dotprod() {
            Some("NEON+dotprod")
        } else {
            Some("NEON")
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        None
    }
}

#[cfg(target_arch = "x86_64")]
fn cpu_has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
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
/// `x` (each `blocks` blocks, from [`quantize_rows`]).
pub(crate) fn dot_rows(
    format: NativeFormat,
    w: &[u8],
    x: &[Q8Block],
    blocks: usize,
    m: usize,
    dst: &mut [f32],
) {
    #[cfg(target_arch = "aarch64")]
    {
        neon::dot_rows(format, w, x, blocks, m, dst, neon::has_dotprod())
    }
    #[cfg(not(target_arch = "aarch64"))]
    dot_rows_x86(format, w, x, blocks, m, dst)
}

#[cfg(not(target_arch = "aarch64"))]
fn dot_rows_x86(
    format: NativeFormat,
    w: &[u8],
    x: &[Q8Block],
    blocks: usize,
    m: usize,
    dst: &mut [f32],
) {
    let row_bytes = blocks * format.block_bytes();
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

#[cfg(not(target_arch = "aarch64"))]
fn dot(format: NativeFormat, w: &[u8], x: &[Q8Block]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: a NativeFormat exists only when AVX2, FMA and F16C were detected
        // (`NativeFormat::for_dtype`), and `w` holds exactly `x.len()` blocks.
        unsafe {
            match format {
                NativeFormat::Q4_1 => avx2::dot_q4_1(w, x),
                NativeFormat::Q5_0 => avx2::dot_q5_0(w, x),
                NativeFormat::Q8_0 => avx2::dot_q8_0(w, x),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (format, w, x);
        0.0
    }
}

#[cfg(not(target_arch = "aarch64"))]
fn dot4(format: NativeFormat, w: &[u8], x: &[Q8Block], blocks: usize) -> [f32; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: as in `dot`; `x` holds four rows of `blocks` blocks.
        unsafe { avx2::dot4(format, w, x, blocks) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (format, w, x, blocks);
        [0.0; 4]
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{NativeFormat, Q8Block};
    use std::arch::x86_64::*;

    /// The f16 at byte `at`, widened with the F16C instruction (inlined: `half`'s
    /// conversion checks CPU features on every call).
    #[inline(always)]
    unsafe fn f16_at(b: &[u8], at: usize) -> f32 {
        let bits = u16::from_le_bytes([b[at], b[at + 1]]);
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
    }

    /// 32 nibbles as bytes: low nibbles are elements 0..16, high nibbles 16..32.
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
        format: NativeFormat,
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
                NativeFormat::Q5_0 => {
                    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                    let mut qx = bytes_from_nibbles_32(b.as_ptr().add(6));
                    let hi =
                        _mm256_andnot_si256(bytes_from_bits_32(qh), _mm256_set1_epi8(0xF0u8 as i8));
                    qx = _mm256_or_si256(qx, hi);
                    (_mm256_sign_epi8(qx, qx), Some(qx), 0.0)
                }
                NativeFormat::Q8_0 => {
                    let qx = _mm256_loadu_si256(b.as_ptr().add(2) as *const __m256i);
                    (_mm256_sign_epi8(qx, qx), Some(qx), 0.0)
                }
                NativeFormat::Q4_1 => {
                    (bytes_from_nibbles_32(b.as_ptr().add(4)), None, f16_at(b, 2))
                }
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

/// The f16 with bits `h` as f32 (exact: every f16 is an f32). The arm64 kernels widen
/// block scales with it; `half` is not a dependency, and its conversion checks CPU
/// features on every call.
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

/// NEON kernels for arm64: one weight block is unpacked into 32 signed bytes once, then
/// multiplied with up to four activation rows (prompt evaluation shares the unpacking).
/// The integer dot product of 16 bytes uses `sdot` where the CPU has the dot-product
/// extension, else widening multiplies and pairwise adds; both give the same exact
/// integer sums, so the two paths agree bit for bit, as do one and four rows (the same
/// float operations in the same order per row).
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon {
    use super::{f16_to_f32, NativeFormat, Q8Block};
    use std::arch::aarch64::*;
    use std::arch::asm;

    /// Whether this CPU has the dot-product extension (`sdot`). std caches the answer.
    pub(crate) fn has_dotprod() -> bool {
        std::arch::is_aarch64_feature_detected!("dotprod")
    }

    /// [`super::dot_rows`] on arm64, with `sdot` when `dotprod` is set. Falls back to the
    /// plain NEON path when `dotprod` is asked for but the CPU lacks it.
    pub(crate) fn dot_rows(
        format: NativeFormat,
        w: &[u8],
        x: &[Q8Block],
        blocks: usize,
        m: usize,
        dst: &mut [f32],
        dotprod: bool,
    ) {
        // SAFETY: a NativeFormat exists only when NEON was detected
        // (`NativeFormat::for_dtype`), and the dot-product path runs only when the CPU
        // has it; the slices are indexed with bounds checks inside.
        unsafe {
            if dotprod && has_dotprod() {
                rows_dotprod(format, w, x, blocks, m, dst)
            } else {
                rows_plain(format, w, x, blocks, m, dst)
            }
        }
    }

    #[target_feature(enable = "neon,dotprod")]
    unsafe fn rows_dotprod(
        format: NativeFormat,
        w: &[u8],
        x: &[Q8Block],
        blocks: usize,
        m: usize,
        dst: &mut [f32],
    ) {
        rows::<true>(format, w, x, blocks, m, dst)
    }

    #[target_feature(enable = "neon")]
    unsafe fn rows_plain(
        format: NativeFormat,
        w: &[u8],
        x: &[Q8Block],
        blocks: usize,
        m: usize,
        dst: &mut [f32],
    ) {
        rows::<false>(format, w, x, blocks, m, dst)
    }

    /// Every weight row of `w` against the `m` activation rows: four at a time, then
    /// one at a time.
    #[inline(always)]
    unsafe fn rows<const DOTPROD: bool>(
        format: NativeFormat,
        w: &[u8],
        x: &[Q8Block],
        blocks: usize,
        m: usize,
        dst: &mut [f32],
    ) {
        let row_bytes = blocks * format.block_bytes();
        for (wr, d) in w.chunks_exact(row_bytes).zip(dst.chunks_exact_mut(m)) {
            let mut r = 0;
            while r + 4 <= m {
                let four =
                    dot_n::<DOTPROD, 4>(format, wr, &x[r * blocks..(r + 4) * blocks], blocks);
                d[r..r + 4].copy_from_slice(&four);
                r += 4;
            }
            for (r, out) in d.iter_mut().enumerate().skip(r) {
                let [one] =
                    dot_n::<DOTPROD, 1>(format, wr, &x[r * blocks..(r + 1) * blocks], blocks);
                *out = one;
            }
        }
    }

    /// One weight block as 32 signed quants (elements 0..16 and 16..32), its scale
    /// and its offset (0 for the formats without one).
    struct Block {
        lo: int8x16_t,
        hi: int8x16_t,
        d: f32,
        m: f32,
    }

    #[inline(always)]
    fn f16_at(b: &[u8], at: usize) -> f32 {
        f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
    }

    /// 0x10 in byte i where bit i of `bits` is set: the fifth bit of 16 Q5 quants.
    #[inline(always)]
    unsafe fn fifth_bits(bits: u16) -> uint8x16_t {
        const BIT: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
        let [b0, b1] = bits.to_le_bytes();
        let v = vcombine_u8(vdup_n_u8(b0), vdup_n_u8(b1));
        vandq_u8(vtstq_u8(v, vld1q_u8(BIT.as_ptr())), vdupq_n_u8(0x10))
    }

    /// The quants of a Q5 block (fifth bits in `qh`, nibbles at `qs`), in 0..32.
    #[inline(always)]
    unsafe fn q5(qh: &[u8], qs: &[u8]) -> (uint8x16_t, uint8x16_t) {
        let qh = u32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]);
        let q = vld1q_u8(qs[..16].as_ptr());
        let lo = vorrq_u8(vandq_u8(q, vdupq_n_u8(0x0F)), fifth_bits(qh as u16));
        let hi = vorrq_u8(vshrq_n_u8::<4>(q), fifth_bits((qh >> 16) as u16));
        (lo, hi)
    }

    /// Unpacks one block of `format` (`b` holds exactly its bytes).
    #[inline(always)]
    unsafe fn unpack(format: NativeFormat, b: &[u8]) -> Block {
        match format {
            NativeFormat::Q4_1 => {
                // f16 d, f16 m, 16 bytes of nibbles; value = d * q + m.
                let q = vld1q_u8(b[4..20].as_ptr());
                Block {
                    lo: vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F))),
                    hi: vreinterpretq_s8_u8(vshrq_n_u8::<4>(q)),
                    d: f16_at(b, 0),
                    m: f16_at(b, 2),
                }
            }
            NativeFormat::Q5_0 => {
                // f16 d, 4 bytes of fifth bits, 16 bytes of nibbles; value = d * (q - 16).
                let (lo, hi) = q5(&b[2..6], &b[6..22]);
                let sixteen = vdupq_n_s8(16);
                Block {
                    lo: vsubq_s8(vreinterpretq_s8_u8(lo), sixteen),
                    hi: vsubq_s8(vreinterpretq_s8_u8(hi), sixteen),
                    d: f16_at(b, 0),
                    m: 0.0,
                }
            }
            NativeFormat::Q5_1 => {
                // f16 d, f16 m, 4 bytes of fifth bits, 16 bytes of nibbles;
                // value = d * q + m.
                let (lo, hi) = q5(&b[4..8], &b[8..24]);
                Block {
                    lo: vreinterpretq_s8_u8(lo),
                    hi: vreinterpretq_s8_u8(hi),
                    d: f16_at(b, 0),
                    m: f16_at(b, 2),
                }
            }
            NativeFormat::Q8_0 => {
                // f16 d, 32 signed bytes; value = d * q.
                Block {
                    lo: vld1q_s8(b[2..18].as_ptr() as *const i8),
                    hi: vld1q_s8(b[18..34].as_ptr() as *const i8),
                    d: f16_at(b, 0),
                    m: 0.0,
                }
            }
        }
    }

    /// `acc` plus the products of `a` and `b` summed in groups of four bytes.
    #[inline(always)]
    unsafe fn dot16<const DOTPROD: bool>(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        if DOTPROD {
            let mut acc = acc;
            // SAFETY: only reached from `rows_dotprod`, compiled with and run only
            // where the CPU has the dot-product extension. (The `vdotq_s32`
            // intrinsic is not stable in Rust yet.)
            asm!(
                "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
                acc = inout(vreg) acc,
                a = in(vreg) a,
                b = in(vreg) b,
                options(pure, nomem, nostack, preserves_flags)
            );
            acc
        } else {
            // The activations are in -127..=127 (`quantize_rows`), so each product of
            // two bytes fits in 16 bits (only -128 * -128 would not); the pairs are
            // summed into 32 bits.
            let p0 = vmull_s8(vget_low_s8(a), vget_low_s8(b));
            let p1 = vmull_high_s8(a, b);
            vpadalq_s16(vpadalq_s16(acc, p0), p1)
        }
    }

    /// The dot products of one weight row (`blocks` blocks of `format`) with `R`
    /// activation rows (`x`, one after another).
    #[inline(always)]
    unsafe fn dot_n<const DOTPROD: bool, const R: usize>(
        format: NativeFormat,
        w: &[u8],
        x: &[Q8Block],
        blocks: usize,
    ) -> [f32; R] {
        let mut acc = [vdupq_n_f32(0.0); R];
        let mut offsets = [0f32; R];
        let bb = format.block_bytes();
        for (i, b) in w.chunks_exact(bb).take(blocks).enumerate() {
            let block = unpack(format, b);
            for r in 0..R {
                let y = &x[r * blocks + i];
                let qy0 = vld1q_s8(y.qs[..16].as_ptr());
                let qy1 = vld1q_s8(y.qs[16..].as_ptr());
                let sum = dot16::<DOTPROD>(vdupq_n_s32(0), block.lo, qy0);
                let sum = dot16::<DOTPROD>(sum, block.hi, qy1);
                acc[r] = vmlaq_n_f32(acc[r], vcvtq_f32_s32(sum), block.d * y.d);
                offsets[r] += block.m * y.s;
            }
        }
        let mut out = [0f32; R];
        for (o, (a, off)) in out.iter_mut().zip(acc.iter().zip(offsets)) {
            *o = vaddvq_f32(*a) + off;
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
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
        for dtype in FORMATS {
            let Some(format) = NativeFormat::for_dtype(dtype) else {
                // No kernel for this format on this CPU (`kernels_exist_where_promised`
                // says which): the loader uses candle's kernels instead.
                continue;
            };
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
                        "{dtype:?}: {a} vs {b}"
                    );
                }
            }
        }
    }

    /// Rows of an odd number of blocks (the two-block loops' remainder) against the
    /// dequantized weights in f32; candle's own scalar Q4_1/Q5_0 code wants an even
    /// count, so it cannot be the reference here.
    #[test]
    fn native_kernels_handle_an_odd_number_of_blocks() {
        let (rows, cols, m) = (9, 160, 5);
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 30.0)
            .collect();
        let x: Vec<f32> = (0..m * cols)
            .map(|i| ((i * 17 % 31) as f32 - 15.0) / 8.0)
            .collect();
        let wt = Tensor::from_vec(w, (rows, cols), &Device::Cpu).unwrap();
        for dtype in FORMATS {
            let Some(format) = NativeFormat::for_dtype(dtype) else {
                continue;
            };
            let q = QTensor::quantize(&wt, dtype).unwrap();
            let deq = dequantized(&q);
            let xq = quantize_rows(&x, cols, m);
            let mut got_t = vec![0f32; rows * m];
            dot_rows(format, &q.data().unwrap(), &xq, cols / QK, m, &mut got_t);
            for (i, row) in got_t.chunks_exact(m).enumerate() {
                for (r, a) in row.iter().enumerate() {
                    let b: f32 = deq[i * cols..(i + 1) * cols]
                        .iter()
                        .zip(&x[r * cols..(r + 1) * cols])
                        .map(|(w, x)| w * x)
                        .sum();
                    assert!(
                        (a - b).abs() < 0.05 * (1.0 + b.abs()),
                        "{dtype:?}: {a} vs {b}"
                    );
                }
            }
        }
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
        for dtype in FORMATS {
            let Some(format) = NativeFormat::for_dtype(dtype) else {
                continue;
            };
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
                    assert_eq!(a.to_bits(), b.to_bits(), "{dtype:?} {i},{r}: {a} vs {b}");
                }
            }
        }
    }

    /// Each format has its kernel where one was written for it: on arm64 with NEON all
    /// four, on x86-64 with AVX2 all but Q5_1 (which is requantized there), so the
    /// comparisons above are not vacuous on either.
    #[test]
    fn kernels_exist_where_promised() {
        let expected: &[GgmlDType] = match instruction_set() {
            Some("AVX2") => &[GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q8_0],
            Some(_) => &FORMATS,
            None => &[],
        };
        #[cfg(target_arch = "aarch64")]
        assert!(
            instruction_set().is_some_and(|isa| isa.starts_with("NEON")),
            "every arm64 CPU has NEON: {:?}",
            instruction_set()
        );
        for dtype in FORMATS.into_iter().chain([GgmlDType::Q4K, GgmlDType::Q4_0]) {
            assert_eq!(
                NativeFormat::for_dtype(dtype).is_some(),
                expected.contains(&dtype),
                "{dtype:?} on {:?}",
                instruction_set()
            );
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
                assert_eq!(got.to_bits(), want.to_bits(), "{bits:#06x}: {got} vs {want}");
            }
        }
    }

    /// On arm64 both NEON paths, with `sdot` and without, equal the dequantized weights'
    /// dot product in f32 on every format, for one and several activation rows and an
    /// odd number of blocks, and agree with each other bit for bit (their integer sums
    /// are exact).
    #[cfg(target_arch = "aarch64")]
    #[test]
    fn both_neon_paths_equal_the_dequantized_reference() {
        let mut rng = fastrand::Rng::with_seed(23);
        for (rows, cols, m) in [(13, 160, 1), (11, 256, 6), (5, 32, 4)] {
            // Weights of mixed magnitude with some extreme blocks, so the scales vary.
            let w: Vec<f32> = (0..rows * cols)
                .map(|i| (rng.f32() * 2.0 - 1.0) * if i % 97 < 32 { 30.0 } else { 1.0 })
                .collect();
            let x: Vec<f32> = (0..m * cols).map(|_| rng.f32() * 6.0 - 3.0).collect();
            let wt = Tensor::from_vec(w, (rows, cols), &Device::Cpu).unwrap();
            let xq = quantize_rows(&x, cols, m);
            for dtype in FORMATS {
                let format = NativeFormat::for_dtype(dtype).unwrap();
                let q = QTensor::quantize(&wt, dtype).unwrap();
                let bytes = q.data().unwrap();
                let deq = dequantized(&q);
                let mut plain = vec![0f32; rows * m];
                neon::dot_rows(format, &bytes, &xq, cols / QK, m, &mut plain, false);
                let mut sdot = vec![0f32; rows * m];
                neon::dot_rows(format, &bytes, &xq, cols / QK, m, &mut sdot, true);
                for (i, row) in plain.chunks_exact(m).enumerate() {
                    for (r, a) in row.iter().enumerate() {
                        let b: f32 = deq[i * cols..(i + 1) * cols]
                            .iter()
                            .zip(&x[r * cols..(r + 1) * cols])
                            .map(|(w, x)| w * x)
                            .sum();
                        // The activations are quantized to 8 bits: within 1% of the
                        // sum of magnitudes.
                        let scale: f32 = deq[i * cols..(i + 1) * cols]
                            .iter()
                            .zip(&x[r * cols..(r + 1) * cols])
                            .map(|(w, x)| (w * x).abs())
                            .sum();
                        assert!(
                            (a - b).abs() <= 0.01 * scale + 1e-4,
                            "{dtype:?} {rows}x{cols} row {i} act {r}: {a} vs {b} (scale {scale})"
                        );
                        let s = sdot[i * m + r];
                        assert_eq!(a.to_bits(), s.to_bits(), "{dtype:?}: plain {a} vs sdot {s}");
                    }
                }
            }
        }
        // `make test-arm64` runs under qemu, whose CPU has the extension: there the
        // `sdot` path must have run, not fallen back to the plain one.
        if std::env::var_os("ACCORD_ARM64_EXPECT_DOTPROD").is_some() {
            assert!(neon::has_dotprod(), "this CPU has no dot-product extension");
        }
    }
}
