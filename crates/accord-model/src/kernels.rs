//! AVX2 dot products for the formats candle has no fast code for, and for Q8_0.
//!
//! candle 0.11 runs Q4_1, Q5_0 and Q5_1 dot products in scalar code (10x slower than
//! llama.cpp). Requantizing them to Q8_0 at load fixes the speed but makes the weights
//! 1.5-1.9x larger, and decoding reads every weight once per token, so it costs speed
//! again on memory bandwidth. On x86-64 with AVX2 (and FMA, F16C) these kernels (ported
//! from ggml's `ggml_vec_dot_q4_1_q8_1`, `ggml_vec_dot_q5_0_q8_0` and
//! `ggml_vec_dot_q8_0_q8_0`) use the file's own blocks directly. Q8_0 has a candle
//! kernel, but it widens each block's f16 scale through `half`'s runtime CPU-feature
//! check, which cost a fifth of Qwen2.5's decode on its 151936 x 896 output matrix.
//! Elsewhere (e.g. arm64 phones) the loader uses candle's kernels and requantization.
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

/// Formats these kernels handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NativeFormat {
    Q4_1,
    Q5_0,
    Q8_0,
}

impl NativeFormat {
    /// The kernel for `dtype`, when this CPU can run it.
    pub(crate) fn for_dtype(dtype: GgmlDType) -> Option<Self> {
        let format = match dtype {
            GgmlDType::Q4_1 => NativeFormat::Q4_1,
            GgmlDType::Q5_0 => NativeFormat::Q5_0,
            GgmlDType::Q8_0 => NativeFormat::Q8_0,
            _ => return None,
        };
        cpu_has_avx2().then_some(format)
    }

    /// Bytes of one block of 32 weights.
    pub(crate) fn block_bytes(self) -> usize {
        match self {
            NativeFormat::Q4_1 => 20,
            NativeFormat::Q5_0 => 22,
            NativeFormat::Q8_0 => 34,
        }
    }
}

pub(crate) fn cpu_has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use candle_core::quantized::QTensor;
    use candle_core::{Device, Tensor};

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
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q8_0] {
            let Some(format) = NativeFormat::for_dtype(dtype) else {
                // No AVX2 here: the loader uses candle's kernels instead.
                assert!(!cpu_has_avx2());
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
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q8_0] {
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
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q8_0] {
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
}
