// The fused softmax of window attention: logits + relative position bias (+ shift mask) →
// probabilities, one row at a time, in Float32, and its backward pass.
//
// Legend: N keys per row (tokens per window).
// Rows: s [N] logits/probabilities, bias [N], labels [N] (shift-mask region labels of the keys).

/// `e^x` for 8 lanes with `x ≤ 0` (softmax inputs after the row maximum is subtracted):
/// Cephes `expf` (range reduction by ln 2 split in two parts, degree-5 polynomial; relative
/// error about 2 ulp). Inputs below −87.3 are clamped there (giving about 1e−38 instead of a
/// smaller or zero value: no difference to a softmax whose row sum is at least 1).
@inline(__always)
func attentionExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
  let low = SIMD8<Float>(repeating: -87.336_54)
  let v0 = x.replacing(with: low, where: x .< low)
  // 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
  let magic = SIMD8<Float>(repeating: 12_582_912)
  let t = v0 * 1.442_695_04 + magic
  let n = t - magic
  var v = v0 - n * 0.693_359_375
  v = v + n * 2.121_944_40e-4
  let z = v * v
  var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
  p = p * v + 1.398_199_950_7e-3
  p = p * v + 8.333_451_907_3e-3
  p = p * v + 4.166_579_589_4e-2
  p = p * v + 1.666_666_545_9e-1
  p = p * v + 5.000_000_120_1e-1
  p = p * z + v + 1
  let k = unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
  return p * unsafeBitCast((k &+ 127) &<< 23, to: SIMD8<Float>.self)
}

/// Scalar `e^x` with the same polynomial (row tails).
@inline(__always)
func attentionExp(_ x: Float) -> Float { attentionExp(SIMD8(repeating: x))[0] }

@inline(__always)
private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// One row: `s[j] ← softmax_j(s[j] + bias[j] + m_j)` with `m_j = −100` when
/// `labels[j] ≠ rowLabel` (only when `labels` is given), else 0. In place.
///
/// Three passes: add bias (and mask) while tracking the maximum; exponentiate and sum;
/// normalise.
@inline(__always)
func attentionSoftmaxRow(
  _ s: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, labels: UnsafePointer<Float>?,
  rowLabel: Float, count n: Int
) {
  let n8 = n & ~7
  var mv = SIMD8<Float>(repeating: -.infinity)
  var m = -Float.infinity
  var j = 0
  if let labels {
    let lb = SIMD8<Float>(repeating: rowLabel)
    while j < n8 {
      var v = load8(s + j) + load8(bias + j)
      v = v.replacing(with: v - 100, where: load8(labels + j) .!= lb)
      store8(v, s + j)
      mv = mv.replacing(with: v, where: v .> mv)
      j += 8
    }
    while j < n {
      var v = s[j] + bias[j]
      if labels[j] != rowLabel { v -= 100 }
      s[j] = v
      m = Swift.max(m, v)
      j += 1
    }
  } else {
    while j < n8 {
      let v = load8(s + j) + load8(bias + j)
      store8(v, s + j)
      mv = mv.replacing(with: v, where: v .> mv)
      j += 8
    }
    while j < n {
      s[j] += bias[j]
      m = Swift.max(m, s[j])
      j += 1
    }
  }
  m = Swift.max(m, mv.max())
  let mb = SIMD8<Float>(repeating: m)
  var sv = SIMD8<Float>(repeating: 0)
  j = 0
  while j < n8 {
    let e = attentionExp(load8(s + j) - mb)
    store8(e, s + j)
    sv += e
    j += 8
  }
  var sum = sv.sum()
  while j < n {
    let e = attentionExp(s[j] - m)
    s[j] = e
    sum += e
    j += 1
  }
  let inv = 1 / sum
  let ib = SIMD8<Float>(repeating: inv)
  j = 0
  while j < n8 {
    store8(load8(s + j) * ib, s + j)
    j += 8
  }
  while j < n {
    s[j] *= inv
    j += 1
  }
}

/// Backward of one softmax row, in place over the probabilities:
/// `p[j] ← p[j] · (dp[j] − Σ_k dp[k]·p[k])` (the gradient of the logits; the bias and the
/// mask pass it through unchanged).
@inline(__always)
func attentionSoftmaxBackwardRow(
  _ p: UnsafeMutablePointer<Float>, dp: UnsafePointer<Float>, count n: Int
) {
  let n8 = n & ~7
  var acc = SIMD8<Float>(repeating: 0)
  var j = 0
  while j < n8 {
    acc += load8(p + j) * load8(dp + j)
    j += 8
  }
  var dot = acc.sum()
  while j < n {
    dot += p[j] * dp[j]
    j += 1
  }
  let db = SIMD8<Float>(repeating: dot)
  j = 0
  while j < n8 {
    store8(load8(p + j) * (load8(dp + j) - db), p + j)
    j += 8
  }
  while j < n {
    p[j] = p[j] * (dp[j] - dot)
    j += 1
  }
}

/// `dst[i] += src[i]` for `i < count`.
@inline(__always)
func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
  let n8 = count & ~7
  var i = 0
  while i < n8 {
    store8(load8(dst + i) + load8(src + i), dst + i)
    i += 8
  }
  while i < count {
    dst[i] += src[i]
    i += 1
  }
}
