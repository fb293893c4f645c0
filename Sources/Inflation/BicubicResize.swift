// Bicubic resizing of relative-position-bias tables, with PyTorch's
// `interpolate(mode="bicubic", align_corners=False)` semantics.
//
// Legend: G heads (the table's channels), Hi×Wi input grid, Ho×Wo output grid.

/// Keys cubic convolution coefficient for `|x| ≤ 1` with `A = −0.75`:
/// `((A + 2)·x − (A + 3))·x² + 1`.
@inline(__always)
private func cubic1(_ x: Double, _ a: Double) -> Double { ((a + 2) * x - (a + 3)) * x * x + 1 }

/// Keys cubic convolution coefficient for `1 < |x| < 2`: `((A·x − 5A)·x + 8A)·x − 4A`.
@inline(__always)
private func cubic2(_ x: Double, _ a: Double) -> Double {
  ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
}

/// The four taps and weights along one axis for output index `o`.
///
/// With `align_corners=False` and no explicit scale factor:
/// `scale = in / out`, `src = (o + 0.5)·scale − 0.5` (not clamped, as for cubic),
/// `i = ⌊src⌋`, `t = src − i`; taps `i−1 … i+2` clamped to `[0, in−1]`, weights
/// `cubic2(t+1), cubic1(t), cubic1(1−t), cubic2(2−t)`.
func bicubicTaps(output o: Int, inSize: Int, outSize: Int) -> (index: [Int], weight: [Double]) {
  let a = -0.75
  let scale = Double(inSize) / Double(outSize)
  let src = (Double(o) + 0.5) * scale - 0.5
  let i = Int(src.rounded(.down))
  let t = src - Double(i)
  let w = [cubic2(t + 1, a), cubic1(t, a), cubic1(1 - t, a), cubic2(2 - t, a)]
  let idx = (0..<4).map { Swift.min(Swift.max(i - 1 + $0, 0), inSize - 1) }
  return (idx, w)
}

/// Resizes `G` planes of `Hi×Wi` values to `Ho×Wo` with bicubic interpolation
/// (PyTorch `interpolate(mode="bicubic", align_corners=False)`).
///
/// - Parameters:
///   - input: planar values, shape `[G, Hi, Wi]`, row-major.
/// - Returns: planar values, shape `[G, Ho, Wo]`.
/// - Precondition: every size is positive and `input.count == G·Hi·Wi`.
public func bicubicResize(
  _ input: [Float], planes g: Int, height hi: Int, width wi: Int, toHeight ho: Int, toWidth wo: Int
) -> [Float] {
  precondition(g > 0 && hi > 0 && wi > 0 && ho > 0 && wo > 0, "bicubicResize: empty size")
  precondition(
    input.count == g * hi * wi, "bicubicResize: \(input.count) values for \(g)×\(hi)×\(wi)")
  if hi == ho && wi == wo { return input }
  let rows = (0..<ho).map { bicubicTaps(output: $0, inSize: hi, outSize: ho) }
  let cols = (0..<wo).map { bicubicTaps(output: $0, inSize: wi, outSize: wo) }
  var out = [Float](repeating: 0, count: g * ho * wo)  // [G, Ho, Wo]
  for p in 0..<g {
    let base = p * hi * wi
    for y in 0..<ho {
      let r = rows[y]
      for x in 0..<wo {
        let c = cols[x]
        var acc = 0.0
        for m in 0..<4 {
          var line = 0.0
          for n in 0..<4 {
            line += Double(input[base + r.index[m] * wi + c.index[n]]) * c.weight[n]
          }
          acc += line * r.weight[m]
        }
        out[(p * ho + y) * wo + x] = Float(acc)
      }
    }
  }
  return out
}
