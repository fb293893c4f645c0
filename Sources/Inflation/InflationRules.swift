// The tensor-level rules that turn 2D weights into 3D weights (Florence §2.6).
//
// Legend: O output channels, I input channels, Kt temporal kernel, kh×kw spatial kernel,
// G attention heads, Wt×Wh×Ww window (time, height, width), S = 2W − 1 offsets per axis.

/// Inflates a 2D convolution weight `[O, I, kh, kw]` to `[O, I, Kt, kh, kw]`:
/// `W3D[:, :, t, :, :] = W2D / Kt` for every `t`.
///
/// On a clip that is constant along time, the 3D convolution then sums `Kt` equal slices of
/// `W2D / Kt` and reproduces the 2D convolution exactly (up to float rounding).
/// - Precondition: `shape.count == 4`, `values.count` matches, `kt ≥ 1`.
public func inflateConvWeight(shape: [Int], values: [Float], temporalKernel kt: Int)
  -> (shape: [Int], values: [Float])
{
  precondition(shape.count == 4 && kt >= 1, "inflateConvWeight: shape \(shape), Kt \(kt)")
  let (o, i, kh, kw) = (shape[0], shape[1], shape[2], shape[3])
  precondition(values.count == o * i * kh * kw, "inflateConvWeight: count")
  let plane = kh * kw
  let scale = 1 / Float(kt)
  var out = [Float](repeating: 0, count: o * i * kt * plane)  // [O, I, Kt, kh, kw]
  for oi in 0..<(o * i) {
    for t in 0..<kt {
      for p in 0..<plane { out[(oi * kt + t) * plane + p] = values[oi * plane + p] * scale }
    }
  }
  return ([o, i, kt, kh, kw], out)
}

/// Inflates a relative-position-bias table from a 2D window `(Wh, Ww)` to a 3D window
/// `(Wt, Wh', Ww')`.
///
/// 1. If `(Wh', Ww') ≠ (Wh, Ww)`, the table `[(2Wh−1)(2Ww−1), G]` is resized as `G` images of
///    `(2Wh−1)×(2Ww−1)` to `(2Wh'−1)×(2Ww'−1)` with `bicubicResize`.
/// 2. The result is repeated `2Wt − 1` times along a new outermost (time-offset) axis:
///    `[(2Wt−1)(2Wh'−1)(2Ww'−1), G]`.
///
/// Because the 3D index puts time outermost,
/// `idx = (dt+Wt−1)(2Wh−1)(2Ww−1) + (dh+Wh−1)(2Ww−1) + (dw+Ww−1)`,
/// every temporal offset `dt` then reads the 2D bias of `(dh, dw)`.
/// - Precondition: `values.count == (2Wh−1)(2Ww−1)·G`.
public func inflateBiasTable(
  values: [Float], heads g: Int, window2D: (h: Int, w: Int), window3D: (t: Int, h: Int, w: Int)
) -> (shape: [Int], values: [Float]) {
  let (sh, sw) = (2 * window2D.h - 1, 2 * window2D.w - 1)
  precondition(
    values.count == sh * sw * g, "inflateBiasTable: \(values.count) values for [\(sh * sw), \(g)]")
  let (th, tw) = (2 * window3D.h - 1, 2 * window3D.w - 1)
  let st = 2 * window3D.t - 1
  // [S, G] → planar [G, Sh, Sw], resize, → [S', G]
  var planar = [Float](repeating: 0, count: g * sh * sw)  // [G, Sh, Sw]
  for s in 0..<(sh * sw) { for h in 0..<g { planar[h * sh * sw + s] = values[s * g + h] } }
  let resized = bicubicResize(planar, planes: g, height: sh, width: sw, toHeight: th, toWidth: tw)
  var table = [Float](repeating: 0, count: st * th * tw * g)  // [St·Sh'·Sw', G]
  let spatial = th * tw
  for t in 0..<st {
    for s in 0..<spatial {
      for h in 0..<g { table[(t * spatial + s) * g + h] = resized[h * spatial + s] }
    }
  }
  return ([st * spatial, g], table)
}

/// Resizes a 2D table `[(2Wh−1)(2Ww−1), G]` to another 2D window without inflating time.
public func resizeBiasTable2D(
  values: [Float], heads g: Int, from: (h: Int, w: Int), to: (h: Int, w: Int)
) -> [Float] {
  inflateBiasTable(values: values, heads: g, window2D: from, window3D: (1, to.h, to.w)).values
}

/// Inflates a 2D convolution weight with a temporal slope `ε`:
/// `W3D[:, :, t] = W2D / Kt · (1 + ε · sₜ)`, `sₜ = (2t − (Kt − 1)) / (Kt − 1)` (so `sₜ` runs
/// from −1 to 1 and `Σₜ sₜ = 0`; Kt = 1: `s₀ = 0`).
///
/// The slices still sum to `W2D`, so a static clip gives the 2D output exactly, as with
/// `inflateConvWeight` (ε = 0). On a moving clip each output adds `ε`× a temporal difference of
/// the same spatial filter (Kt = 2: `W2D ∗ (x₀ + x₁)/2 + ε · W2D ∗ (x₁ − x₀)/2`), whose sign
/// follows the direction of motion: equal slices are symmetric under time reversal, and a
/// model made of them answers the same for a clip and for it played backwards (`TimeSymmetry`).
/// Kt = 2, ε = 1 gives `[0, W2D]`, the centre-frame rule.
/// - Precondition: `shape.count == 4`, `values.count` matches, `kt ≥ 1`.
public func inflateConvWeight(
  shape: [Int], values: [Float], temporalKernel kt: Int, slope eps: Float
) -> (shape: [Int], values: [Float]) {
  var r = inflateConvWeight(shape: shape, values: values, temporalKernel: kt)
  guard kt > 1, eps != 0 else { return r }
  let shape3 = r.shape
  r.values.withUnsafeMutableBufferPointer {
    TimeSymmetry.slope(shape: shape3, values: $0, by: eps)
  }
  return r
}

/// Centre-frame initialisation of a 2D convolution weight `[O, I, kh, kw]` as
/// `[O, I, Kt, kh, kw]` (ViViT's "central frame"): `W3D[:, :, ⌊Kt/2⌋] = W2D`, every other
/// temporal slice 0.
///
/// On a clip constant along time the 3D convolution again sums to `W2D ∗ x₀ + b` (one slice
/// holds all of it); on a moving clip each output sees only the frame at the kernel's centre.
/// - Precondition: `shape.count == 4`, `values.count` matches, `kt ≥ 1`.
public func centreConvWeight(shape: [Int], values: [Float], temporalKernel kt: Int)
  -> (shape: [Int], values: [Float])
{
  precondition(shape.count == 4 && kt >= 1, "centreConvWeight: shape \(shape), Kt \(kt)")
  let (o, i, kh, kw) = (shape[0], shape[1], shape[2], shape[3])
  precondition(values.count == o * i * kh * kw, "centreConvWeight: count")
  let plane = kh * kw
  let centre = kt / 2
  var out = [Float](repeating: 0, count: o * i * kt * plane)  // [O, I, Kt, kh, kw]
  for oi in 0..<(o * i) {
    for p in 0..<plane { out[(oi * kt + centre) * plane + p] = values[oi * plane + p] }
  }
  return ([o, i, kt, kh, kw], out)
}

/// Sets to 0 every row of a 3D bias table `[St·Sh·Sw, G]` whose temporal offset `dt` is not 0
/// (rows `(dt + Wt − 1)·Sh·Sw …` with `dt ≠ 0`), keeping the `dt = 0` block: the 2D bias acts
/// between tokens of the same frame, no bias between frames (Video Swin's "centre"
/// initialisation of the table, Table 9).
/// - Precondition: `table.count == (2Wt−1)·spatialRows·G`.
public func zeroTimeOffsets(
  _ table: inout [Float], heads g: Int, windowT wt: Int, spatialRows: Int
) {
  let st = 2 * wt - 1
  precondition(table.count == st * spatialRows * g, "zeroTimeOffsets: count")
  for t in 0..<st where t != wt - 1 {
    for i in (t * spatialRows * g)..<((t + 1) * spatialRows * g) { table[i] = 0 }
  }
}
