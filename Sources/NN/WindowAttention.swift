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
// Attention dropout is not implemented: every configuration uses 0.
//
// The per-window products are small GEMMs read straight from the strided qkv rows
// (row stride 3C), run in parallel over (window, head) pairs with single-threaded BLAS.

import Compute

/// Scratch slots `S` the attention kernels need when probabilities are not kept: one `[N, N]`
/// matrix per worker.
public func windowAttentionScratchSlots(windows: Int, heads: Int) -> Int {
  Swift.max(1, Swift.min(ThreadBudget.threads, windows * heads))
}

/// Runs `body(slot, items)` over `slots` contiguous ranges of `0..<count`, one per worker.
private func forEachSlot(_ count: Int, slots: Int, _ body: (Int, Range<Int>) -> Void) {
  parallelFor(slots) { w in body(w, (count * w / slots)..<(count * (w + 1) / slots)) }
}

/// The attention core forward: scaled scores, bias, mask, softmax, and `P·v`, heads merged.
///
/// - Parameters:
///   - out: `[G, N, C]` (overwritten), head a in columns `a·D..<(a+1)·D`.
///   - probs: `[G, A, N, N]` when `keepProbs` (the probabilities backward needs), otherwise
///     scratch `[S, N, N]` with `S = windowAttentionScratchSlots(windows:heads:)`.
///   - qkv: `[G, N, 3C]`, q in columns `0..<C`, k in `C..<2C`, v in `2C..<3C`.
///   - bias: `[A, N, N]` relative position bias.
///   - labels: shift-mask region labels `[nW, N]` with `mixed` `[nW]`, or nil when unshifted.
///   Window g uses mask row `g mod nW`.
public func windowAttentionForward(
  out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>, keepProbs: Bool,
  qkv: UnsafePointer<Float>, bias: UnsafePointer<Float>, labels: UnsafePointer<UInt8>?,
  mixed: UnsafePointer<Bool>?, windows: Int, windowsPerSample: Int, tokens: Int, heads: Int,
  headDim: Int
) {
  let (n, a, d) = (tokens, heads, headDim)
  let c = a * d
  let scale = 1 / Float(d).squareRoot()
  let items = windows * a
  let slots = windowAttentionScratchSlots(windows: windows, heads: heads)
  forEachSlot(items, slots: slots) { slot, range in
    for item in range {
      let g = item / a
      let h = item - g * a
      let p = keepProbs ? probs + item * n * n : probs + slot * n * n  // [N, N]
      let q = qkv + g * n * 3 * c + h * d  // [N, D], row stride 3C
      let k = q + c
      let v = q + 2 * c
      gemm(.none, .transposed, m: n, n: n, k: d, alpha: scale, a: q, lda: 3 * c, b: k,
           ldb: 3 * c, c: p, ldc: n)
      let w = g % windowsPerSample
      let rowLabels: UnsafePointer<UInt8>? =
        (labels != nil && (mixed?[w] ?? false)) ? labels.map { $0 + w * n } : nil
      let hb = bias + h * n * n
      for i in 0..<n {
        attentionSoftmaxRow(
          p + i * n, bias: hb + i * n, labels: rowLabels, rowLabel: rowLabels?[i] ?? 0, count: n)
      }
      gemm(.none, .none, m: n, n: d, k: n, a: p, lda: n, b: v, ldb: 3 * c,
           c: out + g * n * c + h * d, ldc: c)
    }
  }
}

/// The attention core backward.
///
/// - Parameters:
///   - dqkv: `[G, N, 3C]` (overwritten): gradients of q, k, v.
///   - dBias: `[A, N, N]` (overwritten): `Σ_g dS[g, a]`, the gradient of the gathered bias.
///   - probs: `[G, A, N, N]` from the forward with `keepProbs`; consumed (overwritten by dS).
///   - scratch: `[S, N, N]`, `S = windowAttentionScratchSlots(windows:heads:)`.
///   - dOut: `[G, N, C]`, gradient of the forward's `out`.
///   - qkv: `[G, N, 3C]`, the forward's input.
public func windowAttentionBackward(
  dqkv: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
  probs: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
  dOut: UnsafePointer<Float>, qkv: UnsafePointer<Float>, windows: Int, tokens: Int, heads: Int,
  headDim: Int
) {
  let (n, a, d) = (tokens, heads, headDim)
  let c = a * d
  let scale = 1 / Float(d).squareRoot()
  let items = windows * a
  let slots = windowAttentionScratchSlots(windows: windows, heads: heads)
  forEachSlot(items, slots: slots) { slot, range in
    let dp = scratch + slot * n * n  // [N, N]
    for item in range {
      let g = item / a
      let h = item - g * a
      let p = probs + item * n * n  // [N, N]: P, then dS
      let q = qkv + g * n * 3 * c + h * d  // [N, D], row stride 3C
      let k = q + c
      let v = q + 2 * c
      let dq = dqkv + g * n * 3 * c + h * d  // [N, D], row stride 3C
      let dk = dq + c
      let dv = dq + 2 * c
      let dO = dOut + g * n * c + h * d  // [N, D], row stride C
      gemm(.transposed, .none, m: n, n: d, k: n, a: p, lda: n, b: dO, ldb: c, c: dv, ldc: 3 * c)
      gemm(.none, .transposed, m: n, n: n, k: d, a: dO, lda: c, b: v, ldb: 3 * c, c: dp, ldc: n)
      for i in 0..<n { attentionSoftmaxBackwardRow(p + i * n, dp: dp + i * n, count: n) }
      gemm(.none, .none, m: n, n: d, k: n, alpha: scale, a: p, lda: n, b: k, ldb: 3 * c,
           c: dq, ldc: 3 * c)
      gemm(.transposed, .none, m: n, n: d, k: n, alpha: scale, a: p, lda: n, b: q, ldb: 3 * c,
           c: dk, ldc: 3 * c)
    }
  }
  // dBias[a, i, :] = Σ_g dS[g, a, i, :], parallel over the A·N rows.
  let rows = a * n
  let stride = a * n * n
  parallelChunks(rows, grain: Swift.max(1, 4096 / Swift.max(n * windows, 1))) { range in
    for r in range {
      let dst = dBias + r * n
      dst.update(from: probs + r * n, count: n)
      for g in 1..<Swift.max(windows, 1) {
        let src = probs + g * stride + r * n
        for j in 0..<n { dst[j] += src[j] }
      }
    }
  }
}

// MARK: - Layer

/// Window multi-head self-attention with relative position bias on channels-last tokens, 2D
/// (`[B, H, W, C]`, window `[Wh, Ww]`) or 3D (`[B, T, H, W, C]`, window `[Wt, Wh, Ww]`).
///
/// Parameters (torchvision names, under `name`, e.g. `features.1.0.attn`):
/// `qkv.weight [3C, C]`, `qkv.bias [3C]`, `proj.weight [C, C]`, `proj.bias [C]`,
/// `relative_position_bias_table [R, A]` with `R = (2Wt−1)(2Wh−1)(2Ww−1)` (`Wt = 1` in 2D).
/// Linears and the table are initialised as Swin does: truncated normal, std 0.02, biases 0.
///
/// Small inputs follow torchvision per variant (see `WindowSemantics`): 3D clamps the window
/// to the input and drops the shift there; 2D pads up to the window and drops the shift.
/// The geometry, shift mask and index are computed once per input size and cached.
/// Attention dropout is not implemented (0 in every configuration).
public final class WindowAttention {
  /// C.
  public let dim: Int
  /// A.
  public let heads: Int
  /// The window the layer was built with, `[Wh, Ww]` or `[Wt, Wh, Ww]`.
  public let window: [Int]
  /// The shift (0 for W-MSA blocks, window/2 for SW-MSA blocks), same rank as `window`.
  public let shift: [Int]
  public let qkv: Linear
  public let proj: Linear
  /// `[R, A]`.
  public let relativePositionBiasTable: Parameter

  private let semantics: WindowSemantics
  /// How a clamped window indexes the bias table (torchvision's rule, or exact positions).
  public let clampedPositions: ClampedPositions

  // Cached per geometry.
  /// The geometry of the last input.
  public private(set) var geometry: WindowGeometry?
  private var source: [Int32] = []  // [nW·N] partition map
  private var mask: ShiftMask?  // labels [nW, N], mixed [nW]; nil when unshifted
  private var index: [Int32] = []  // [N, N]

  // Buffers, reused between calls.
  private let windowsBuffer = Tensor(zeros: [0])  // [G, N, C] partitioned input
  private let attnOut = Tensor(zeros: [0])  // [G, N, C] attention output, heads merged
  private let probs = Tensor(zeros: [0])  // [G, A, N, N] (training) or [S, N, N] scratch
  private let bias = Tensor(zeros: [0])  // [A, N, N] gathered bias, then its gradient
  private let y = Tensor(zeros: [0])  // [B, (T,) H, W, C] output
  private let dyWindows = Tensor(zeros: [0])  // [G, N, C] partitioned output gradient
  private let dqkv = Tensor(zeros: [0])  // [G, N, 3C]
  private let scratch = Tensor(zeros: [0])  // [S, N, N]
  private let dx = Tensor(zeros: [0])  // [B, (T,) H, W, C]
  private var savedShape: [Int]?  // input shape of the last training forward
  private var savedBatch = 0  // B of the last training forward
  private var savedQKV: Tensor?  // [G, N, 3C] the qkv Linear's output of the last training forward

  /// Registers `name.qkv.*`, `name.proj.*` and `name.relative_position_bias_table`.
  ///
  /// Preconditions: `dim` divisible by `heads`; `window` and `shift` both of rank 2 or 3;
  /// `0 ≤ shift < window` per dimension. `clampedPositions` matters for 3D windows clamped in
  /// height or width only (see `ClampedPositions`).
  public init(
    store: ParameterStore, name: String, dim: Int, heads: Int, window: [Int], shift: [Int],
    clampedPositions: ClampedPositions = .torchvision, rng: inout SeededRandom
  ) {
    precondition(heads > 0 && dim % heads == 0, "dim \(dim) not divisible by heads \(heads)")
    precondition(window.count == shift.count && (window.count == 2 || window.count == 3),
                 "window and shift are [h, w] or [t, h, w]")
    precondition(zip(window, shift).allSatisfy { $0 > 0 && $1 >= 0 && $1 < $0 },
                 "need 0 ≤ shift < window, got \(shift), \(window)")
    self.dim = dim
    self.heads = heads
    self.window = window
    self.shift = shift
    self.semantics = window.count == 2 ? .image2D : .video3D
    self.clampedPositions = clampedPositions
    let rows = relativePositionTableRows(window: window)
    let table = Tensor(zeros: [rows, heads])
    for i in 0..<table.count { table.pointer[i] = rng.truncatedNormal(std: 0.02) }
    relativePositionBiasTable = store.register(
      name + ".relative_position_bias_table", table, decay: false)
    qkv = Linear(
      store: store, name: name + ".qkv", inFeatures: dim, outFeatures: 3 * dim,
      initializer: .truncatedNormal(std: 0.02), rng: &rng)
    proj = Linear(
      store: store, name: name + ".proj", inFeatures: dim, outFeatures: dim,
      initializer: .truncatedNormal(std: 0.02), rng: &rng)
  }

  /// The geometry of an input of shape `[B, (T,) H, W, C]` (without caching).
  public func geometry(for shape: [Int]) -> WindowGeometry {
    precondition(shape.count == window.count + 2 && shape.last == dim,
                 "WindowAttention expects [B, \(window.count == 3 ? "T, " : "")H, W, \(dim)], got \(shape)")
    if semantics == .image2D {
      return .image(height: shape[1], width: shape[2], window: window, shift: shift)
    }
    return .video(time: shape[1], height: shape[2], width: shape[3], window: window, shift: shift)
  }

  private func prepare(_ g: WindowGeometry) {
    if geometry == g { return }
    source = g.sourceMap()
    mask = g.isShifted ? ShiftMask(geometry: g) : nil
    if geometry?.window != g.window || geometry?.configuredWindow != g.configuredWindow {
      index = relativePositionIndex(configured: g.configuredWindow, used: g.window, positions: clampedPositions)
    }
    geometry = g
  }

  /// `x [B, (T,) H, W, C] → y` of the same shape (a buffer the layer owns, valid until the next
  /// `forward`). `x` is not modified.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    let g = geometry(for: x.shape)
    prepare(g)
    let b = x.shape[0]
    let (n, nW, c, a) = (g.tokensPerWindow, g.windowsPerSample, dim, heads)
    let windows = b * nW
    windowsBuffer.reshape(to: [windows, n, c])
    source.withUnsafeBufferPointer { src in
      guard let s = src.baseAddress else { return }
      windowPartition(
        windows: windowsBuffer.pointer, x: x.pointer, source: s, positions: nW * n,
        tokens: g.tokensPerSample, batch: b, channels: c)
    }
    let qkvOut = qkv.forward(windowsBuffer, training: training)  // [G, N, 3C]
    bias.reshape(to: [a, n, n])
    index.withUnsafeBufferPointer { idx in
      guard let ip = idx.baseAddress else { return }
      relativePositionBiasForward(
        bias: bias.pointer, table: relativePositionBiasTable.value.pointer, index: ip, tokens: n,
        heads: a)
    }
    attnOut.reshape(to: [windows, n, c])
    if training {
      probs.reshape(to: [windows, a, n, n])
    } else {
      probs.reshape(to: [windowAttentionScratchSlots(windows: windows, heads: a), n, n])
    }
    let labels = mask?.labels ?? []
    let mixed = mask?.mixed ?? []
    labels.withUnsafeBufferPointer { lab in
      mixed.withUnsafeBufferPointer { mix in
        windowAttentionForward(
          out: attnOut.pointer, probs: probs.pointer, keepProbs: training,
          qkv: qkvOut.pointer, bias: bias.pointer, labels: mask == nil ? nil : lab.baseAddress,
          mixed: mask == nil ? nil : mix.baseAddress, windows: windows, windowsPerSample: nW,
          tokens: n, heads: a, headDim: c / a)
      }
    }
    let yw = proj.forward(attnOut, training: training)  // [G, N, C]
    y.reshape(to: x.shape)
    source.withUnsafeBufferPointer { src in
      guard let s = src.baseAddress else { return }
      windowReverse(
        y: y.pointer, windows: yw.pointer, source: s, positions: nW * n,
        tokens: g.tokensPerSample, batch: b, channels: c)
    }
    savedShape = training ? x.shape : nil
    savedQKV = training ? qkvOut : nil
    savedBatch = b
    return y
  }

  /// `dy [B, (T,) H, W, C] → dx` (a buffer the layer owns); adds into the gradients of
  /// `qkv`, `proj` and the bias table.
  ///
  /// Preconditions: the last `forward` ran with `training: true`, and `backward` runs once per
  /// such forward (it consumes the saved probabilities).
  public func backward(_ dy: Tensor) -> Tensor {
    guard let shape = savedShape, let qkvOut = savedQKV, let g = geometry else {
      preconditionFailure("WindowAttention.backward without a training forward")
    }
    precondition(dy.shape == shape, "WindowAttention.backward: dy \(dy.shape) vs x \(shape)")
    savedShape = nil
    savedQKV = nil
    let b = savedBatch
    let (n, nW, c, a) = (g.tokensPerWindow, g.windowsPerSample, dim, heads)
    let windows = b * nW
    dyWindows.reshape(to: [windows, n, c])
    source.withUnsafeBufferPointer { src in
      guard let s = src.baseAddress else { return }
      windowPartition(
        windows: dyWindows.pointer, x: dy.pointer, source: s, positions: nW * n,
        tokens: g.tokensPerSample, batch: b, channels: c)
    }
    let dAttn = proj.backward(dyWindows)  // [G, N, C]
    dqkv.reshape(to: [windows, n, 3 * c])
    bias.reshape(to: [a, n, n])
    scratch.reshape(to: [windowAttentionScratchSlots(windows: windows, heads: a), n, n])
    windowAttentionBackward(
      dqkv: dqkv.pointer, dBias: bias.pointer, probs: probs.pointer, scratch: scratch.pointer,
      dOut: dAttn.pointer, qkv: qkvOut.pointer, windows: windows, tokens: n, heads: a,
      headDim: c / a)
    index.withUnsafeBufferPointer { idx in
      guard let ip = idx.baseAddress else { return }
      relativePositionBiasBackward(
        dTable: relativePositionBiasTable.grad.pointer, dBias: bias.pointer, index: ip, tokens: n,
        heads: a)
    }
    let dWindows = qkv.backward(dqkv)  // [G, N, C]
    dx.reshape(to: shape)
    source.withUnsafeBufferPointer { src in
      guard let s = src.baseAddress else { return }
      windowReverse(
        y: dx.pointer, windows: dWindows.pointer, source: s, positions: nW * n,
        tokens: g.tokensPerSample, batch: b, channels: c)
    }
    return dx
  }
}
