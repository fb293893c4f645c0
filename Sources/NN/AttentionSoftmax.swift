// The fused softmax of window attention: logits + relative position bias (+ shift mask) →
// probabilities, one row at a time, in Float32.
//
// Legend: N keys per row (tokens per window).
// Rows: s [N] logits/probabilities, bias [N], labels [N] (shift-mask region labels of the keys).

import CKernels
import Compute

/// One row: `s[j] ← softmax_j(s[j] + bias[j] + m_j)` with `m_j = −100` when
/// `labels[j] ≠ rowLabel` (only when `labels` is given), else 0. In place.
///
/// The bias and mask are added in the order PyTorch adds them (`(s + bias) + mask`), then the
/// row is normalised with its maximum subtracted. Logits 40 or more below the maximum get
/// probability exactly 0 (PyTorch: at most e^−40 ≈ 4e−18, or a subnormal under the mask),
/// so that no later product meets a subnormal operand (slow on Intel cores). The C kernels
/// `vcoswin_attention_softmax_row_avx512` / `_avx2` do it (`KernelSet.current.vector`; the
/// exponential is most of the attention's non-GEMM time, and Swift code here is compiled for
/// baseline x86-64), and they prefetch `next [N]` (the next head's row, in a training forward)
/// into L2; otherwise `portableAttentionSoftmaxRow`. Callers running many rows read `isa`
/// once and pass it.
@inline(__always)
func attentionSoftmaxRow(
  _ s: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, labels: UnsafePointer<Float>?,
  rowLabel: Float, prefetching next: UnsafePointer<Float>? = nil, count n: Int,
  isa: VectorISA = KernelSet.current.vector
) {
  switch isa {
  case .avx512: vcoswin_attention_softmax_row_avx512(s, bias, labels, rowLabel, next, Int32(n))
  case .avx2: vcoswin_attention_softmax_row_avx2(s, bias, labels, rowLabel, next, Int32(n))
  case .portable:
    portableAttentionSoftmaxRow(s, bias: bias, labels: labels, rowLabel: rowLabel, count: n)
  }
}

/// Backward of one row of `attentionSoftmaxRow` in place, and the row's share of the bias
/// gradient: `ds[j] ← p[j] · (ds[j] − Σ_i ds[i] p[i])` (dP in, dS out), then
/// `partial[j] += ds[j]`. `ds, p, partial [N]`; `ds` must not alias the others. The C kernels
/// also prefetch `next [N]` (the next head's row of probabilities) into L2.
@inline(__always)
func attentionSoftmaxBackwardRow(
  _ ds: UnsafeMutablePointer<Float>, p: UnsafePointer<Float>,
  partial: UnsafeMutablePointer<Float>, prefetching next: UnsafePointer<Float>? = nil,
  count n: Int, isa: VectorISA = KernelSet.current.vector
) {
  switch isa {
  case .avx512: vcoswin_attention_softmax_backward_row_avx512(ds, p, partial, next, Int32(n))
  case .avx2: vcoswin_attention_softmax_backward_row_avx2(ds, p, partial, next, Int32(n))
  case .portable:
    softmaxBackwardRow(ds, ds, p, n)
    Vec8.addInPlace(partial, ds, n)
  }
}

/// `attentionSoftmaxRow` in Swift vector code (any CPU): bias and mask, then `softmaxRow`.
@inline(__always)
func portableAttentionSoftmaxRow(
  _ s: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, labels: UnsafePointer<Float>?,
  rowLabel: Float, count n: Int
) {
  let n8 = n & ~7
  let lb = SIMD8<Float>(repeating: rowLabel)
  var j = 0
  while j < n8 {
    var v = Vec8.load(s + j) + Vec8.load(bias + j)
    if let labels { v.replace(with: v - 100, where: Vec8.load(labels + j) .!= lb) }
    Vec8.store(v, s + j)
    j += 8
  }
  while j < n {
    s[j] += bias[j]
    if let labels, labels[j] != rowLabel { s[j] -= 100 }
    j += 1
  }
  // Logits `VCOSWIN_SOFTMAX_CUT` below the maximum become −∞: probability exactly 0, never
  // subnormal (see CKernels.h).
  let floor = Vec8.max(s, n) + attentionSoftmaxCut
  j = 0
  while j < n8 {
    var v = Vec8.load(s + j)
    v.replace(with: -.infinity, where: v .< floor)
    Vec8.store(v, s + j)
    j += 8
  }
  while j < n {
    if s[j] < floor { s[j] = -.infinity }
    j += 1
  }
  softmaxRow(s, s, n)
}

/// `VCOSWIN_SOFTMAX_CUT`: logits this far below their row's maximum get probability 0.
let attentionSoftmaxCut: Float = -40
