// Conv2d and Conv3d, channels-last, as vol2col + GEMM.
//
// Legend: B batch; T, H, W input frames, height, width; T', H', W' output sizes;
//         I input channels, O output channels; kt, kh, kw kernel; st, sh, sw stride;
//         pt, ph, pw padding (both sides); P = B·T'·H'·W' output positions;
//         K = kt·kh·kw·I values per patch (column order (a, p, q, i): tap-major, channel-minor).
// Buffers: x [B, T, H, W, I]; y [B, T', H', W', O]; weight [O, I, kt, kh, kw] (PyTorch);
//          packed weight [O, K] (column order as the patches); bias [O];
//          col [rows, K] (a tile of the patch matrix); dx like x, dy like y.
// A 2D convolution is the 3D one with T = kt = st = 1 and pt = 0.
//
//   T' = (T + 2pt − kt)/st + 1 (likewise H', W')
//   y[b,t',h',w',o] = bias[o] + Σ_{a,p,q,i} W[o,i,a,p,q] · x[b, t'st−pt+a, h'sh−ph+p, w'sw−pw+q, i]
// Spatial padding is zero. Temporal padding is zero or, with `.replicate`, the edge frame
// (the frame index is clamped to 0…T−1), as `F.pad(mode="replicate")` along time followed by a
// convolution without temporal padding.
//
// Forward: tiles of output positions are spread over the threads; each gathers its patches
// (im2col: runs of kw·I contiguous floats, zero or clamped at the borders) into its own
// cache-sized scratch and runs one single-threaded GEMM `y_tile[rows, O] = col[rows, K] · Wpᵀ`. A non-overlapping patch convolution
// (kernel = stride, no padding) is exactly a gather of whole runs with no border work; a 1×1×1
// convolution uses x itself as the patch matrix.
// Backward: dWp += dy_tileᵀ · col; dcol = dy_tile · Wp; dx += col2im(dcol) (scatter-add);
// db += Σ dy. Samples are spread over the threads (their inputs never overlap), each with its
// own dWp partial; a single sample runs its tiles in order with multi-threaded GEMMs and splits
// the scatter between threads by channel range, so no two threads write the same element.

import Compute

/// How a 3D convolution pads along time.
public enum TemporalPadding: String, Sendable, Hashable, Codable {
  /// Zeros beyond the first and last frame.
  case zeros
  /// Repeats the first and last frame (so a static clip stays static).
  case replicate
}

/// The sizes of one convolution call. 2D convolutions use `t = 1`, `kt = st = 1`, `pt = 0`.
public struct ConvGeometry: Sendable, Hashable {
  public let batch: Int
  public let inChannels: Int
  public let outChannels: Int
  /// Input frames, height, width.
  public let t: Int, h: Int, w: Int
  /// Kernel extent.
  public let kt: Int, kh: Int, kw: Int
  /// Stride.
  public let st: Int, sh: Int, sw: Int
  /// Padding on both sides.
  public let pt: Int, ph: Int, pw: Int
  public let temporalPadding: TemporalPadding
  /// Output frames, height, width.
  public let outT: Int, outH: Int, outW: Int

  /// Preconditions: positive sizes, kernels and strides; non-negative padding; at least one
  /// output position along every dimension.
  public init(
    batch: Int, inChannels: Int, outChannels: Int, input: (t: Int, h: Int, w: Int),
    kernel: (t: Int, h: Int, w: Int), stride: (t: Int, h: Int, w: Int),
    padding: (t: Int, h: Int, w: Int), temporalPadding: TemporalPadding = .zeros
  ) {
    precondition(batch >= 0 && inChannels > 0 && outChannels > 0, "bad conv channels")
    precondition(kernel.t > 0 && kernel.h > 0 && kernel.w > 0, "bad conv kernel \(kernel)")
    precondition(stride.t > 0 && stride.h > 0 && stride.w > 0, "bad conv stride \(stride)")
    precondition(padding.t >= 0 && padding.h >= 0 && padding.w >= 0, "bad conv padding")
    self.batch = batch
    self.inChannels = inChannels
    self.outChannels = outChannels
    (t, h, w) = input
    (kt, kh, kw) = kernel
    (st, sh, sw) = stride
    (pt, ph, pw) = padding
    self.temporalPadding = temporalPadding
    outT = (input.t + 2 * padding.t - kernel.t) / stride.t + 1
    outH = (input.h + 2 * padding.h - kernel.h) / stride.h + 1
    outW = (input.w + 2 * padding.w - kernel.w) / stride.w + 1
    precondition(
      input.t + 2 * padding.t >= kernel.t && input.h + 2 * padding.h >= kernel.h
        && input.w + 2 * padding.w >= kernel.w,
      "conv input \(input) smaller than kernel \(kernel) with padding \(padding)")
  }

  /// K: values per patch.
  public var patch: Int { kt * kh * kw * inChannels }
  /// P: output positions.
  public var positions: Int { batch * outT * outH * outW }
  /// Elements of x.
  public var inputCount: Int { batch * t * h * w * inChannels }
  /// Elements of y.
  public var outputCount: Int { positions * outChannels }
  /// Kernel = stride and no padding: patches tile the input.
  public var isPatchify: Bool {
    kt == st && kh == sh && kw == sw && pt == 0 && ph == 0 && pw == 0
  }
  /// 1×1×1 kernel, unit stride, no padding: x is the patch matrix.
  public var isPointwise: Bool {
    kt == 1 && kh == 1 && kw == 1 && st == 1 && sh == 1 && sw == 1 && pt == 0 && ph == 0 && pw == 0
  }
  /// Rows of the patch matrix per forward tile: about 2 MB of patches (one core's L2), at
  /// least 64 rows.
  public var tileRows: Int { Swift.max(1, Swift.min(positions, Swift.max(64, (1 << 19) / patch))) }
  /// Floats of `col` scratch for `workers` concurrent tiles (default: the thread budget).
  public func columnScratchCount(workers: Int = ThreadBudget.threads) -> Int {
    tileRows * patch * Swift.max(1, workers)
  }
  /// Floats of a packed weight `[O, K]`.
  public var packedWeightCount: Int { outChannels * patch }
  /// Floats of packed-gradient scratch for backward: one `[O, K]` partial per worker (no more
  /// workers than samples).
  public func packedGradScratchCount(workers: Int = ThreadBudget.threads) -> Int {
    packedWeightCount * Swift.max(1, Swift.min(workers, batch))
  }
}

// MARK: - Weight layout

/// Calls `body(packedIndex, weightIndex)` for every weight element: `packed[o, (a,p,q,i)]`
/// pairs with `weight[o, i, a, p, q]`.
@inline(__always)
private func forEachWeightPair(_ g: ConvGeometry, _ body: (Int, Int) -> Void) {
  let taps = g.kt * g.kh * g.kw
  let ci = g.inChannels
  for o in 0..<g.outChannels {
    let base = o * ci * taps
    for i in 0..<ci {
      for tap in 0..<taps { body(base + tap * ci + i, base + i * taps + tap) }
    }
  }
}

/// `packed[o, (a,p,q,i)] = weight[o, i, a, p, q]`.
public func convPackWeight(
  packed: UnsafeMutablePointer<Float>, weight: UnsafePointer<Float>, _ g: ConvGeometry
) {
  forEachWeightPair(g) { p, w in packed[p] = weight[w] }
}

/// `weight[o, i, a, p, q] += packed[o, (a,p,q,i)]` (gradient back to PyTorch layout).
public func convUnpackAddWeight(
  weight: UnsafeMutablePointer<Float>, packed: UnsafePointer<Float>, _ g: ConvGeometry
) {
  forEachWeightPair(g) { p, w in weight[w] += packed[p] }
}

// MARK: - vol2col / col2vol

/// The input frame read by output frame `to` at temporal tap `a`, or nil for a zero frame.
@inline(__always)
private func sourceFrame(_ to: Int, _ a: Int, _ g: ConvGeometry) -> Int? {
  let ti = to * g.st - g.pt + a
  if ti >= 0 && ti < g.t { return ti }
  return g.temporalPadding == .replicate ? Swift.min(Swift.max(ti, 0), g.t - 1) : nil
}

/// Walks the `kt·kh` tap rows of the patch of output position `pos`: `body(tapRow, source,
/// qlo, qhi)` with `tapRow = a·kh + p` (its run is `col[tapRow·kw·I ..< (tapRow+1)·kw·I]`),
/// `source` the offset in x of the run's first column `(b, ti, hi, w'·sw − pw)` or nil for a
/// padding row, and `qlo..<qhi` the kernel columns that fall inside the input.
@inline(__always)
private func forEachTapRow(_ g: ConvGeometry, _ pos: Int, _ body: (Int, Int?, Int, Int) -> Void) {
  let plane = g.outH * g.outW
  let perSample = g.outT * plane
  let b = pos / perSample
  let rem = pos - b * perSample
  let to = rem / plane
  let ho = (rem - to * plane) / g.outW
  let wo = rem - to * plane - ho * g.outW
  let wi0 = wo * g.sw - g.pw
  let qlo = Swift.max(0, -wi0)
  let qhi = Swift.max(qlo, Swift.min(g.kw, g.w - wi0))
  for a in 0..<g.kt {
    let ti = sourceFrame(to, a, g)
    for p in 0..<g.kh {
      let hi = ho * g.sh - g.ph + p
      let inside = ti != nil && hi >= 0 && hi < g.h
      let source = inside ? (((b * g.t + (ti ?? 0)) * g.h + hi) * g.w + wi0) * g.inChannels : nil
      body(a * g.kh + p, source, qlo, qhi)
    }
  }
}

/// Gathers the patches of output positions `positions` into `col[0..<count, K]`
/// (row `r` holds position `positions.lowerBound + r`), in parallel over rows.
public func vol2col(
  col: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, _ g: ConvGeometry,
  positions: Range<Int>
) {
  let ci = g.inChannels
  let k = g.patch
  let run = g.kw * ci  // one (a, p) tap row of a patch
  parallelChunks(positions.count, grain: Swift.max(1, 16384 / Swift.max(k, 1))) { range in
    for r in range {
      forEachTapRow(g, positions.lowerBound + r) { tapRow, source, qlo, qhi in
        let dst = col + r * k + tapRow * run
        guard let source else {
          dst.initialize(repeating: 0, count: run)
          return
        }
        if qlo > 0 { dst.initialize(repeating: 0, count: qlo * ci) }
        (dst + qlo * ci).update(from: x + source + qlo * ci, count: (qhi - qlo) * ci)
        if qhi < g.kw { (dst + qhi * ci).initialize(repeating: 0, count: (g.kw - qhi) * ci) }
      }
    }
  }
}

/// Scatter-adds `col[0..<count, K]` (patch gradients of output positions `positions`) into
/// `dx`: the transpose of `vol2col`. Threads split the channels, so writes never collide.
public func col2volAdd(
  dx: UnsafeMutablePointer<Float>, col: UnsafePointer<Float>, _ g: ConvGeometry,
  positions: Range<Int>
) {
  let ci = g.inChannels
  let k = g.patch
  let run = g.kw * ci
  let groups = (ci + 7) / 8
  let work = positions.count * k
  parallelChunks(groups, grain: work >= 65536 ? 1 : groups) { groupRange in
    let c0 = groupRange.lowerBound * 8
    let c1 = Swift.min(ci, groupRange.upperBound * 8)
    for r in 0..<positions.count {
      forEachTapRow(g, positions.lowerBound + r) { tapRow, source, qlo, qhi in
        guard let source else { return }
        let src = col + r * k + tapRow * run
        for q in qlo..<qhi {
          Vec8.addInPlace(dx + source + q * ci + c0, src + q * ci + c0, c1 - c0)
        }
      }
    }
  }
}

// MARK: - Kernels

/// Convolution forward: `y [B, T', H', W', O]` from `x [B, T, H, W, I]`,
/// `weight [O, I, kt, kh, kw]`, optional `bias [O]`.
///
/// Tiles of `g.tileRows` positions are spread over the threads, each gathered into its own
/// slice of `col` (cache-resident) and multiplied by a single-threaded GEMM.
///
/// - Parameters:
///   - packedWeight: scratch `[O, K]` (`g.packedWeightCount`), written.
///   - col: scratch of `colCapacity` floats, at least `[tileRows, K]`
///     (`g.columnScratchCount()` lets every thread work on its own tile).
public func convForward(
  y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
  bias: UnsafePointer<Float>?, _ g: ConvGeometry, packedWeight: UnsafeMutablePointer<Float>,
  col: UnsafeMutablePointer<Float>, colCapacity: Int
) {
  let profiled = Profile.begin(.convolution)
  defer { Profile.end(profiled) }
  let o = g.outChannels
  let k = g.patch
  let total = g.positions
  if total == 0 { return }
  convPackWeight(packed: packedWeight, weight: weight, g)
  if g.isPointwise {
    gemm(
      .none, .transposed, m: total, n: o, k: k, a: x, lda: k, b: packedWeight, ldb: k,
      bias: bias, c: y, ldc: o)
    return
  }
  let tile = g.tileRows
  precondition(colCapacity >= tile * k, "conv col scratch too small: \(colCapacity) < \(tile * k)")
  let tiles = (total + tile - 1) / tile
  let workers = Swift.max(1, Swift.min(ThreadBudget.threads, tiles, colCapacity / (tile * k)))
  let packed = UnsafePointer(packedWeight)
  parallelFor(workers) { w in
    let myCol = col + w * tile * k
    var t = w
    while t < tiles {
      let start = t * tile
      let rows = Swift.min(tile, total - start)
      vol2col(col: myCol, x: x, g, positions: start..<(start + rows))
      gemm(
        .none, .transposed, m: rows, n: o, k: k, a: myCol, lda: k, b: packed, ldb: k,
        bias: bias, c: y + start * o, ldc: o)
      t += workers
    }
  }
}

/// Convolution backward.
///
/// With two or more samples and scratch for several workers, samples are spread over the
/// threads (inputs of different samples never overlap, so each worker scatters into dx alone),
/// each worker accumulating dW into its own packed partial; partials are summed in worker order
/// (deterministic for a given thread count). Otherwise tiles run one after another with
/// multi-threaded GEMMs and a channel-split scatter.
///
/// - Parameters:
///   - dx: `[B, T, H, W, I]`, overwritten; nil to skip the input gradient.
///   - dWeight: `[O, I, kt, kh, kw]`, added into. dBias: `[O]`, added into (nil: no bias).
///   - dy: `[B, T', H', W', O]`; x, weight as in the forward pass.
///   - packedWeight: scratch `[O, K]`.
///   - packedGrad: scratch of `packedGradCapacity` floats, at least `[O, K]`
///     (`g.packedGradScratchCount()` gives one partial per worker).
///   - col: scratch of `colCapacity` floats, at least `[tileRows, K]`.
public func convBackward(
  dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
  dBias: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
  weight: UnsafePointer<Float>, _ g: ConvGeometry, packedWeight: UnsafeMutablePointer<Float>,
  packedGrad: UnsafeMutablePointer<Float>, packedGradCapacity: Int,
  col: UnsafeMutablePointer<Float>, colCapacity: Int
) {
  let profiled = Profile.begin(.convolution)
  defer { Profile.end(profiled) }
  let o = g.outChannels
  let k = g.patch
  let total = g.positions
  let ok = g.packedWeightCount
  precondition(packedGradCapacity >= ok, "conv packed-gradient scratch too small")
  dx?.initialize(repeating: 0, count: g.inputCount)
  if total == 0 { return }
  convPackWeight(packed: packedWeight, weight: weight, g)
  packedGrad.initialize(repeating: 0, count: ok)
  if let dBias { columnSumAccumulate(dBias, dy, rows: total, cols: o) }
  if g.isPointwise {
    gemm(
      .transposed, .none, m: o, n: k, k: total, a: dy, lda: o, b: x, ldb: k, beta: 1,
      c: packedGrad, ldc: k)
    if let dx {
      gemm(
        .none, .none, m: total, n: k, k: o, a: dy, lda: o, b: packedWeight, ldb: k,
        c: dx, ldc: k)
    }
    convUnpackAddWeight(weight: dWeight, packed: packedGrad, g)
    return
  }
  precondition(colCapacity >= g.tileRows * k, "conv col scratch too small")
  let workers = Swift.min(
    ThreadBudget.threads, g.batch, packedGradCapacity / ok, colCapacity / (g.tileRows * k))
  if workers <= 1 {
    convBackwardTiles(
      dx: dx, packedGrad: packedGrad, dy: dy, x: x, packedWeight: packedWeight, g,
      positions: 0..<total, col: col, tile: Swift.min(total, colCapacity / k))
  } else {
    let perSample = total / g.batch
    let tile = colCapacity / workers / k
    (packedGrad + ok).initialize(repeating: 0, count: (workers - 1) * ok)
    parallelFor(workers) { w in
      var b = w
      while b < g.batch {
        convBackwardTiles(
          dx: dx, packedGrad: packedGrad + w * ok, dy: dy, x: x, packedWeight: packedWeight, g,
          positions: (b * perSample)..<((b + 1) * perSample), col: col + w * tile * k, tile: tile)
        b += workers
      }
    }
    for w in 1..<workers { Vec8.addInPlace(packedGrad, packedGrad + w * ok, ok) }
  }
  convUnpackAddWeight(weight: dWeight, packed: packedGrad, g)
}

/// The backward work of output positions `positions`, in tiles of `tile` rows run in order:
/// `dWp += dy_tileᵀ·col`, then (with dx) `dcol = dy_tile·Wp` into the same scratch and its
/// scatter-add into dx.
private func convBackwardTiles(
  dx: UnsafeMutablePointer<Float>?, packedGrad: UnsafeMutablePointer<Float>,
  dy: UnsafePointer<Float>, x: UnsafePointer<Float>, packedWeight: UnsafeMutablePointer<Float>,
  _ g: ConvGeometry, positions: Range<Int>, col: UnsafeMutablePointer<Float>, tile: Int
) {
  let o = g.outChannels
  let k = g.patch
  var start = positions.lowerBound
  while start < positions.upperBound {
    let rows = Swift.min(tile, positions.upperBound - start)
    let range = start..<(start + rows)
    let dyTile = dy + start * o
    vol2col(col: col, x: x, g, positions: range)
    gemm(
      .transposed, .none, m: o, n: k, k: rows, a: dyTile, lda: o, b: col, ldb: k, beta: 1,
      c: packedGrad, ldc: k)
    if let dx {
      gemm(
        .none, .none, m: rows, n: k, k: o, a: dyTile, lda: o, b: packedWeight, ldb: k,
        c: col, ldc: k)
      col2volAdd(dx: dx, col: col, g, positions: range)
    }
    start += rows
  }
}
