// Window multi-head self-attention with relative position bias (W-MSA / SW-MSA), 2D and 3D,
// following torchvision `ShiftedWindowAttention` and `ShiftedWindowAttention3d`.
//
// Legend: B batch; T, H, W input sizes (T = 1 in 2D); L = T·H·W tokens per sample;
//         N tokens per window; nW windows per sample; G = B·nW windows; A heads;
//         D = C/A head dimension; C channels; R bias-table rows; S scratch slots (workers).
//
// Forward, per window g and head a (q, k, v the head's columns of the window's qkv rows):
//   S = (q·D^−½)·kᵀ + bias[a] (+ mask[g])      [N, N]
//   P = softmax_rows(S)                         [N, N]   (Float32)
//   O[:, a·D..<(a+1)·D] = P·v                   [N, D]   (heads merged in place)
// around it: tokens → pad/roll/partition → qkv Linear → (above) → proj Linear → reverse.
// Backward, per window and head (dO the head's columns of the gradient of O):
//   dv = Pᵀ·dO;  dP = dO·vᵀ;  dS = P ∘ (dP − rowsum(dP ∘ P));
//   dq = D^−½·dS·k;  dk = D^−½·dSᵀ·q;  dbias[a] += Σ_g dS.
// The scale is the GEMM's alpha (D^−½·(q·kᵀ) rather than PyTorch's (q·D^−½)·kᵀ: equal up to
// rounding). Attention dropout is not implemented: every configuration uses 0.
//
// One parallel region does everything per block of windows (gather, qkv GEMM, attention per
// head, proj GEMM, scatter), each worker with single-threaded BLAS: blocks stay in cache and
// BLAS never switches between its own threads and ours. The per-head products are small GEMMs
// read straight from the strided qkv rows (row stride 3C): AVX-512 kernels where the CPU has
// them (`AttentionProducts.swift`), else BLAS. Weight gradients are one large
// GEMM each after the region (K = G·N).

import Compute

/// Sizes of one window-attention call.
public struct WindowAttentionSizes: Sendable, Equatable {
  /// B.
  public var batch: Int
  /// L = T·H·W, tokens per sample of the (unpadded) input.
  public var tokens: Int
  /// nW.
  public var windowsPerSample: Int
  /// N.
  public var windowTokens: Int
  /// A.
  public var heads: Int
  /// C (a multiple of A).
  public var channels: Int

  public init(
    batch: Int, tokens: Int, windowsPerSample: Int, windowTokens: Int, heads: Int, channels: Int
  ) {
    precondition(heads > 0 && channels % heads == 0, "channels \(channels) vs heads \(heads)")
    self.batch = batch
    self.tokens = tokens
    self.windowsPerSample = windowsPerSample
    self.windowTokens = windowTokens
    self.heads = heads
    self.channels = channels
  }

  /// The sizes of `geometry` for a batch of `batch` and `channels`/`heads`.
  public init(geometry g: WindowGeometry, batch: Int, heads: Int, channels: Int) {
    self.init(
      batch: batch, tokens: g.tokensPerSample, windowsPerSample: g.windowsPerSample,
      windowTokens: g.tokensPerWindow, heads: heads, channels: channels)
  }

  /// D = C/A.
  public var headDim: Int { channels / heads }
  /// G = B·nW.
  public var windows: Int { batch * windowsPerSample }
  /// Window positions per sample, nW·N.
  public var positions: Int { windowsPerSample * windowTokens }
  /// Windows per block: enough for a few hundred rows per linear GEMM.
  var blockWindows: Int { Swift.max(1, 256 / windowTokens) }
  /// Blocks of windows.
  var blocks: Int { (windows + blockWindows - 1) / blockWindows }
  /// Scratch slots S, one per worker.
  public var scratchSlots: Int { Swift.max(1, Swift.min(ThreadBudget.threads, blocks)) }
  /// Scratch the backward pass needs: `[S, A + 1, N, N]` (dP and partial bias gradients).
  public var backwardScratchCount: Int { scratchSlots * (heads + 1) * windowTokens * windowTokens }
}

/// The four linear tensors of window attention as raw pointers: their values (the forward and
/// backward read them) or their gradients (the backward adds into them).
public struct WindowAttentionWeights {
  /// `[3C, C]`.
  public var qkvWeight: UnsafeMutablePointer<Float>
  /// `[3C]`.
  public var qkvBias: UnsafeMutablePointer<Float>
  /// `[C, C]`.
  public var projWeight: UnsafeMutablePointer<Float>
  /// `[C]`.
  public var projBias: UnsafeMutablePointer<Float>

  public init(
    qkvWeight: UnsafeMutablePointer<Float>, qkvBias: UnsafeMutablePointer<Float>,
    projWeight: UnsafeMutablePointer<Float>, projBias: UnsafeMutablePointer<Float>
  ) {
    self.qkvWeight = qkvWeight
    self.qkvBias = qkvBias
    self.projWeight = projWeight
    self.projBias = projBias
  }
}

/// Runs `body(slot, blocks)` over `s.scratchSlots` contiguous ranges of the blocks, one per
/// worker, inside one parallel region.
private func forEachSlot(_ s: WindowAttentionSizes, _ body: (Int, Range<Int>) -> Void) {
  let slots = s.scratchSlots
  let count = s.blocks
  parallelFor(slots) { w in body(w, (count * w / slots)..<(count * (w + 1) / slots)) }
}

/// `gatherWindowRows` for the windows `windows` of a call.
@inline(__always)
private func gatherRows(
  rows: UnsafeMutablePointer<Float>, tokens x: UnsafePointer<Float>,
  source: UnsafePointer<Int32>, windows: Range<Int>, _ s: WindowAttentionSizes
) {
  gatherWindowRows(
    rows: rows, tokens: x, source: source,
    rowRange: (windows.lowerBound * s.windowTokens)..<(windows.upperBound * s.windowTokens),
    positions: s.positions, tokens: s.tokens, channels: s.channels)
}

/// `scatterWindowRows` for the windows `windows` of a call (adding into `x` when `accumulate`).
@inline(__always)
private func scatterRows(
  tokens x: UnsafeMutablePointer<Float>, rows: UnsafePointer<Float>,
  source: UnsafePointer<Int32>, windows: Range<Int>, _ s: WindowAttentionSizes,
  accumulate: Bool = false
) {
  scatterWindowRows(
    tokens: x, rows: rows, source: source,
    rowRange: (windows.lowerBound * s.windowTokens)..<(windows.upperBound * s.windowTokens),
    positions: s.positions, tokens: s.tokens, channels: s.channels, accumulate: accumulate)
}

/// One head of one window: `p = softmax((q·D^−½)·kᵀ + bias (+ mask))`, `out = p·v`.
///
/// `out [N, D]` (row stride C), `p [N, N]`, `q [N, D]` with `k = q + C`, `v = q + 2C`
/// (row stride 3C), `bias [N, N]`, `labels [N]` or nil; `nextP [N, N]` (where the next head
/// writes its probabilities, or nil) is prefetched into L2 meanwhile.
@inline(__always)
private func headForward(
  out: UnsafeMutablePointer<Float>, p: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>,
  bias: UnsafePointer<Float>, labels: UnsafePointer<Float>?, nextP: UnsafePointer<Float>?,
  n: Int, d: Int, c: Int, scale: Float, isa: VectorISA
) {
  attentionProductABt(
    m: n, n: n, d: d, alpha: scale, a: q, lda: 3 * c, b: q + c, ldb: 3 * c, c: p, ldc: n,
    isa: isa)
  for i in 0..<n {
    attentionSoftmaxRow(
      p + i * n, bias: bias + i * n, labels: labels, rowLabel: labels?[i] ?? 0,
      prefetching: nextP.map { $0 + i * n }, count: n, isa: isa)
  }
  attentionProductAB(
    m: n, d: d, k: n, alpha: 1, a: p, lda: n, b: q + 2 * c, ldb: 3 * c, c: out, ldc: c,
    isa: isa)
}

/// Backward of `headForward`: `dv = pᵀ·dO`, `dP = dO·vᵀ`, `dS = p ∘ (dP − rowsum(dP ∘ p))`
/// (written over `dP`, and added to `dBias`), `dq = D^−½·dS·k`, `dk = D^−½·dSᵀ·q`.
///
/// `dq [N, D]` with `dk = dq + C`, `dv = dq + 2C` (row stride 3C, overwritten), `p [N, N]`,
/// `ds [N, N]` (overwritten with dS), `dBias [N, N]` (dS added), `dO [N, D]` (row stride C),
/// `q` as in `headForward`; `nextP [N, N]` (the next head's probabilities, or nil) is
/// prefetched into L2 meanwhile: read cold from memory, a head's probabilities made its
/// backward 1.3–1.6× slower than from cache.
@inline(__always)
private func headBackward(
  dq: UnsafeMutablePointer<Float>, p: UnsafePointer<Float>, ds: UnsafeMutablePointer<Float>,
  dBias: UnsafeMutablePointer<Float>, dO: UnsafePointer<Float>, q: UnsafePointer<Float>,
  nextP: UnsafePointer<Float>?, n: Int, d: Int, c: Int, scale: Float, isa: VectorISA
) {
  let (k, v) = (q + c, q + 2 * c)
  attentionProductAtB(
    m: n, d: d, k: n, alpha: 1, a: p, lda: n, b: dO, ldb: c, c: dq + 2 * c, ldc: 3 * c,
    isa: isa)
  attentionProductABt(
    m: n, n: n, d: d, alpha: 1, a: dO, lda: c, b: v, ldb: 3 * c, c: ds, ldc: n, isa: isa)
  for i in 0..<n {
    attentionSoftmaxBackwardRow(
      ds + i * n, p: p + i * n, partial: dBias + i * n, prefetching: nextP.map { $0 + i * n },
      count: n, isa: isa)
  }
  attentionProductAB(
    m: n, d: d, k: n, alpha: scale, a: ds, lda: n, b: k, ldb: 3 * c, c: dq, ldc: 3 * c,
    isa: isa)
  attentionProductAtB(
    m: n, d: d, k: n, alpha: scale, a: ds, lda: n, b: q, ldb: 3 * c, c: dq + c, ldc: 3 * c,
    isa: isa)
}

/// Window attention forward, from tokens to tokens.
///
/// For each block of windows (in parallel): gather the windows' rows of `x` through `source`,
/// `qkv = rows·W_qkvᵀ + b_qkv`, attention per head (`headForward`), `rows' = attn·W_projᵀ +
/// b_proj`, scatter back through `source` (dropping padding).
///
/// - Parameters:
///   - y: output tokens `[B, L, C]` (overwritten, or added to when `accumulate`).
///   - windows: `[G, N, C]` (overwritten): the partitioned input (backward needs it).
///   - qkv: `[G, N, 3C]` (overwritten).
///   - attn: `[G, N, C]` (overwritten): attention output, heads merged (backward needs it).
///   - projected: `[G, N, C]` scratch.
///   - probs: `[G, A, N, N]` when `keepProbs` (backward needs them), else `[S, N, N]` scratch.
///   - x: input tokens `[B, L, C]`.
///   - source: partition map `[nW·N]` (`WindowGeometry.sourceMap()`).
///   - bias: `[A, N, N]` relative position bias (`relativePositionBiasForward`).
///   - labels: shift-mask labels `[nW, N]` and `mixed` `[nW]` (`ShiftMask`), nil if unshifted.
///   - accumulate: `y += Attn(x)` instead of `y = Attn(x)` (the in-place inference's residual
///     sum, without a pass of its own). `y` must not overlap `x` then.
public func windowAttentionForward(
  y: UnsafeMutablePointer<Float>, windows: UnsafeMutablePointer<Float>,
  qkv: UnsafeMutablePointer<Float>, attn: UnsafeMutablePointer<Float>,
  projected: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>, keepProbs: Bool,
  x: UnsafePointer<Float>, weights wt: WindowAttentionWeights, source: UnsafePointer<Int32>,
  bias: UnsafePointer<Float>, labels: UnsafePointer<Float>?, mixed: UnsafePointer<Bool>?,
  sizes s: WindowAttentionSizes, accumulate: Bool = false
) {
  let profiled = Profile.begin(.attentionCore)
  defer { Profile.end(profiled) }
  let (n, a, d, c) = (s.windowTokens, s.heads, s.headDim, s.channels)
  let scale = 1 / Float(d).squareRoot()
  let isa = KernelSet.current.vector  // read once, not per row
  Profile.split { split in
    forEachSlot(s) { slot, blockRange in
      var lap = ProfileLap(split)
      let lastWindow = Swift.min(s.windows, blockRange.upperBound * s.blockWindows)
      for block in blockRange {
        let g0 = block * s.blockWindows
        let g1 = Swift.min(s.windows, g0 + s.blockWindows)
        let (r0, rows) = (g0 * n, (g1 - g0) * n)
        gatherRows(rows: windows, tokens: x, source: source, windows: g0..<g1, s)
        lap.lap(.windowCopies)
        linearForward(
          y: qkv + r0 * 3 * c, x: windows + r0 * c, weight: wt.qkvWeight, bias: wt.qkvBias,
          rows: rows, inFeatures: c, outFeatures: 3 * c)
        lap.lap(.attentionLinears)
        for g in g0..<g1 {
          let w = g % s.windowsPerSample
          let rowLabels = (mixed?[w] ?? false) ? labels.map { $0 + w * n } : nil  // [N] or nil
          for h in 0..<a {
            let p = keepProbs ? probs + (g * a + h) * n * n : probs + slot * n * n  // [N, N]
            // Kept probabilities go to cold memory: the next head's, on this worker.
            let next = g * a + h + 1
            headForward(
              out: attn + g * n * c + h * d, p: p, q: qkv + g * n * 3 * c + h * d,
              bias: bias + h * n * n, labels: rowLabels,
              nextP: keepProbs && next < lastWindow * a ? UnsafePointer(probs + next * n * n) : nil,
              n: n, d: d, c: c, scale: scale, isa: isa)
          }
        }
        lap.lap(.attentionCore)
        linearForward(
          y: projected + r0 * c, x: attn + r0 * c, weight: wt.projWeight, bias: wt.projBias,
          rows: rows, inFeatures: c, outFeatures: c)
        lap.lap(.attentionLinears)
        scatterRows(
          tokens: y, rows: projected, source: source, windows: g0..<g1, s, accumulate: accumulate)
        lap.lap(.windowCopies)
      }
    }
  }
}

/// Window attention backward, from output-token gradients to input-token gradients.
///
/// Per block of windows (in parallel): gather `dy` rows, `dAttn = dRows·W_proj`, attention
/// backward per head (`headBackward`) with `dBias[a] = Σ_g dS[g, a]` summed per worker while
/// dS is in cache, `dWindows = dqkv·W_qkv`, scatter into `dx`. Then, over all rows at once:
/// `dW_proj += dRowsᵀ·attn`, `db_proj += Σ dRows`, `dW_qkv += dqkvᵀ·windows`,
/// `db_qkv += Σ dqkv`.
///
/// - Parameters:
///   - dx: input-token gradient `[B, L, C]` (overwritten).
///   - dBias: `[A, N, N]` (overwritten): gradient of the gathered relative position bias.
///   - grads: parameter gradients (accumulated).
///   - dRows: `[G, N, C]` scratch (the gathered `dy`).
///   - dAttn: `[G, N, C]` scratch.
///   - dqkv: `[G, N, 3C]` scratch.
///   - probs: `[G, A, N, N]` from the forward with `keepProbs`.
///   - scratch: `[S, A + 1, N, N]` (`backwardScratchCount` elements).
///   - dy: output-token gradient `[B, L, C]`.
///   - windows, qkv, attn: the forward's buffers.
public func windowAttentionBackward(
  dx: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
  grads: WindowAttentionWeights, dRows: UnsafeMutablePointer<Float>,
  dAttn: UnsafeMutablePointer<Float>, dqkv: UnsafeMutablePointer<Float>,
  probs: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
  dy: UnsafePointer<Float>, windows: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
  attn: UnsafePointer<Float>, weights wt: WindowAttentionWeights, source: UnsafePointer<Int32>,
  sizes s: WindowAttentionSizes
) {
  let profiled = Profile.begin(.attentionCore)
  defer { Profile.end(profiled) }
  let (n, a, d, c) = (s.windowTokens, s.heads, s.headDim, s.channels)
  let scale = 1 / Float(d).squareRoot()
  let isa = KernelSet.current.vector  // read once, not per row
  Profile.split { split in
    forEachSlot(s) { slot, blockRange in
      var lap = ProfileLap(split)
      let ds = scratch + slot * (a + 1) * n * n  // [N, N] dP, then dS
      let partial = ds + n * n  // [A, N, N] this worker's Σ dS
      partial.update(repeating: 0, count: a * n * n)
      let lastWindow = Swift.min(s.windows, blockRange.upperBound * s.blockWindows)
      for block in blockRange {
        let g0 = block * s.blockWindows
        let g1 = Swift.min(s.windows, g0 + s.blockWindows)
        let (r0, rows) = (g0 * n, (g1 - g0) * n)
        gatherRows(rows: dRows, tokens: dy, source: source, windows: g0..<g1, s)
        lap.lap(.windowCopies)
        gemm(
          .none, .none, m: rows, n: c, k: c, a: dRows + r0 * c, lda: c, b: wt.projWeight,
          ldb: c, c: dAttn + r0 * c, ldc: c)
        lap.lap(.attentionLinears)
        for g in g0..<g1 {
          for h in 0..<a {
            let next = g * a + h + 1  // the next head of this worker's windows
            headBackward(
              dq: dqkv + g * n * 3 * c + h * d, p: probs + (g * a + h) * n * n, ds: ds,
              dBias: partial + h * n * n, dO: dAttn + g * n * c + h * d,
              q: qkv + g * n * 3 * c + h * d,
              nextP: next < lastWindow * a ? UnsafePointer(probs + next * n * n) : nil, n: n,
              d: d, c: c, scale: scale, isa: isa)
          }
        }
        lap.lap(.attentionCore)
        // dWindows (into dAttn's rows of this block, no longer needed) = dqkv·W_qkv.
        gemm(
          .none, .none, m: rows, n: c, k: 3 * c, a: dqkv + r0 * 3 * c, lda: 3 * c,
          b: wt.qkvWeight, ldb: c, c: dAttn + r0 * c, ldc: c)
        lap.lap(.attentionLinears)
        scatterRows(tokens: dx, rows: dAttn, source: source, windows: g0..<g1, s)
        lap.lap(.windowCopies)
      }
    }
  }
  let rows = s.windows * n
  Profile.split { split in
    var lap = ProfileLap(split)
    // dW partials [threads − 1, 3C, C], so that dW splits its rows over the threads.
    let partials = linearWeightGradientScratchCount(inFeatures: c, outFeatures: 3 * c)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(partials, 1))
    defer { scratch.deallocate() }
    linearBackward(
      dx: nil, dWeight: grads.projWeight, dBias: grads.projBias, dy: dRows, x: attn,
      weight: wt.projWeight, rows: rows, inFeatures: c, outFeatures: c, scratch: scratch,
      scratchCount: partials)
    linearBackward(
      dx: nil, dWeight: grads.qkvWeight, dBias: grads.qkvBias, dy: dqkv, x: windows,
      weight: wt.qkvWeight, rows: rows, inFeatures: c, outFeatures: 3 * c, scratch: scratch,
      scratchCount: partials)
    lap.lap(.attentionLinears)
  }
  // dBias = Σ over the slots' partial sums.
  let nn = a * n * n
  let slots = s.scratchSlots
  parallelChunks(nn, grain: 16384) { range in
    for slot in 0..<slots {
      let src = scratch + slot * (a + 1) * n * n + n * n  // [A, N, N]
      for i in range { dBias[i] = slot == 0 ? src[i] : dBias[i] + src[i] }
    }
  }
}
