// The fused softmax of window attention: logits + relative position bias (+ shift mask) →
// probabilities, one row at a time, in Float32.
//
// Legend: N keys per row (tokens per window).
// Rows: s [N] logits/probabilities, bias [N], labels [N] (shift-mask region labels of the keys).

import Compute

/// One row: `s[j] ← softmax_j(s[j] + bias[j] + m_j)` with `m_j = −100` when
/// `labels[j] ≠ rowLabel` (only when `labels` is given), else 0. In place.
///
/// The bias and mask are added in the order PyTorch adds them (`(s + bias) + mask`), then
/// `softmaxRow` (max-subtracted, vector `exp`) normalises the row.
@inline(__always)
func attentionSoftmaxRow(
  _ s: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, labels: UnsafePointer<Float>?,
  rowLabel: Float, count n: Int
) {
  let n8 = n & ~7
  var j = 0
  if let labels {
    let lb = SIMD8<Float>(repeating: rowLabel)
    while j < n8 {
      var v = Vec8.load(s + j) + Vec8.load(bias + j)
      v.replace(with: v - 100, where: Vec8.load(labels + j) .!= lb)
      Vec8.store(v, s + j)
      j += 8
    }
    while j < n {
      s[j] += bias[j]
      if labels[j] != rowLabel { s[j] -= 100 }
      j += 1
    }
  } else {
    while j < n8 {
      Vec8.store(Vec8.load(s + j) + Vec8.load(bias + j), s + j)
      j += 8
    }
    while j < n {
      s[j] += bias[j]
      j += 1
    }
  }
  softmaxRow(s, s, n)
}

/// `dst[i] += src[i]` for `i < count`.
@inline(__always)
func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
  let n8 = count & ~7
  var i = 0
  while i < n8 {
    Vec8.store(Vec8.load(dst + i) + Vec8.load(src + i), dst + i)
    i += 8
  }
  while i < count {
    dst[i] += src[i]
    i += 1
  }
}
