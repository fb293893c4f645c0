// The window-attention layer (W-MSA / SW-MSA, 2D and 3D) around the functional kernel of
// WindowAttention.swift (`windowAttentionForward`, `windowAttentionBackward`): it owns the
// parameters, caches the geometry, shift mask and bias index per input size, and takes its
// buffers from a pool. Follows torchvision `ShiftedWindowAttention` / `ShiftedWindowAttention3d`.
//
// Legend: B batch; T, H, W input sizes (T = 1 in 2D); N tokens per window; G windows;
//         A heads; C channels; R bias-table rows; S scratch slots (workers).

import Compute

/// Window multi-head self-attention with relative position bias on channels-last tokens, 2D
/// (`[B, H, W, C]`, window `[Wh, Ww]`) or 3D (`[B, T, H, W, C]`, window `[Wt, Wh, Ww]`).
///
/// Parameters (torchvision names, under `name`, e.g. `features.1.0.attn`):
/// `qkv.weight [3C, C]`, `qkv.bias [3C]`, `proj.weight [C, C]`, `proj.bias [C]`,
/// `relative_position_bias_table [R, A]` with `R = (2Wt−1)(2Wh−1)(2Ww−1)` (`Wt = 1` in 2D).
/// Linears and the table are initialised as Swin does: truncated normal, std 0.02, biases 0.
/// The `qkv` and `proj` `Linear`s own their parameters; this layer runs their kernels per
/// block of windows inside its own parallel region.
///
/// Small inputs follow torchvision per variant (see `WindowSemantics`): 3D clamps the window
/// to the input and drops the shift there; 2D pads up to the window and drops the shift.
/// The geometry, shift mask and index are computed once per input size and cached.
/// Attention dropout is not implemented (0 in every configuration).
public final class WindowAttention: Layer {
  /// C.
  public let dim: Int
  /// A.
  public let heads: Int
  /// The window the layer was built with, `[Wh, Ww]` or `[Wt, Wh, Ww]`.
  public let window: [Int]
  /// The shift (0 for W-MSA blocks, window/2 for SW-MSA blocks), same rank as `window`.
  public let shift: [Int]
  /// Owns `qkv.weight [3C, C]` and `qkv.bias [3C]`.
  public let qkv: Linear
  /// Owns `proj.weight [C, C]` and `proj.bias [C]`.
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
  private var windowsBuffer = Tensor(zeros: [0])  // [G, N, C] partitioned input
  private var qkvBuffer = Tensor(zeros: [0])  // [G, N, 3C]
  private var attnBuffer = Tensor(zeros: [0])  // [G, N, C] attention output, heads merged
  private var rowsBuffer = Tensor(zeros: [0])  // [G, N, C] projected rows, then gathered dy
  private var probs = Tensor(zeros: [0])  // [G, A, N, N] (training) or [S, N, N] scratch
  private var bias = Tensor(zeros: [0])  // [A, N, N] gathered bias, then its gradient
  private var y = Tensor(zeros: [0])  // [B, (T,) H, W, C] output
  private var dAttn = Tensor(zeros: [0])  // [G, N, C]
  private var dqkv = Tensor(zeros: [0])  // [G, N, 3C]
  private var scratch = Tensor(zeros: [0])  // [S, A + 1, N, N] backward scratch
  private var dx = Tensor(zeros: [0])  // [B, (T,) H, W, C]
  private var saved: (shape: [Int], sizes: WindowAttentionSizes)?  // last training forward

  /// Registers `name.relative_position_bias_table`, `name.qkv.*` and `name.proj.*`.
  ///
  /// Preconditions: `dim` divisible by `heads`; `window` and `shift` both of rank 2 or 3;
  /// `0 ≤ shift < window` per dimension. `clampedPositions` matters for 3D windows clamped in
  /// height or width only (see `ClampedPositions`).
  public init(
    store: ParameterStore, name: String, dim: Int, heads: Int, window: [Int], shift: [Int],
    clampedPositions: ClampedPositions = .torchvision, rng: inout SeededRandom
  ) {
    precondition(heads > 0 && dim % heads == 0, "dim \(dim) not divisible by heads \(heads)")
    precondition(
      window.count == shift.count && (window.count == 2 || window.count == 3),
      "window and shift are [h, w] or [t, h, w]")
    precondition(
      zip(window, shift).allSatisfy { $0 > 0 && $1 >= 0 && $1 < $0 },
      "need 0 ≤ shift < window, got \(shift), \(window)")
    self.dim = dim
    self.heads = heads
    self.window = window
    self.shift = shift
    self.semantics = window.count == 2 ? .image2D : .video3D
    self.clampedPositions = clampedPositions
    let rows = relativePositionTableRows(window: window)
    relativePositionBiasTable = store.register(
      name + ".relative_position_bias_table", shape: [rows, heads], decay: false)  // [R, A]
    if store.holdsValues {
      // trunc_normal_(std=0.02), as torchvision initialises the table.
      WeightInit.truncatedNormal(std: 0.02).fill(
        weight: relativePositionBiasTable.value, bias: nil, fanIn: 1, rng: &rng)
    }
    qkv = Linear(
      store: store, name: name + ".qkv", inFeatures: dim, outFeatures: 3 * dim,
      initializer: .truncatedNormal(std: 0.02), rng: &rng)
    proj = Linear(
      store: store, name: name + ".proj", inFeatures: dim, outFeatures: dim,
      initializer: .truncatedNormal(std: 0.02), rng: &rng)
  }

  /// The geometry of an input of shape `[B, (T,) H, W, C]` (without caching).
  public func geometry(for shape: [Int]) -> WindowGeometry {
    precondition(
      shape.count == window.count + 2 && shape.last == dim,
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
      index = relativePositionIndex(
        configured: g.configuredWindow, used: g.window, positions: clampedPositions)
    }
    geometry = g
  }

  /// The linears' values (`gradients: false`) or gradients (`true`).
  private func linears(gradients: Bool) -> WindowAttentionWeights {
    guard let qb = qkv.bias, let pb = proj.bias else {
      preconditionFailure("WindowAttention's linears have biases")
    }
    func pick(_ p: Parameter) -> UnsafeMutablePointer<Float> {
      gradients ? p.grad.pointer : p.value.pointer
    }
    return WindowAttentionWeights(
      qkvWeight: pick(qkv.weight), qkvBias: pick(qb), projWeight: pick(proj.weight),
      projBias: pick(pb))
  }

  /// `x [B, (T,) H, W, C] → y` of the same shape (a buffer the layer owns, valid until the next
  /// `forward`). `x` is not modified.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    let s = attend(
      x, into: y, windows: windowsBuffer, qkvRows: qkvBuffer, heads: attnBuffer,
      projected: rowsBuffer, probs: probs, bias: bias, keepProbs: training)
    saved = training ? (x.shape, s) : nil
    return y
  }

  /// `out = Attn(x)` (or `out += Attn(x)` when `accumulate`) with every intermediate in the
  /// given buffers, reshaped here: the one body of `forward` and of inference into a shared
  /// workspace. `windows [G, N, C]`, `qkvRows [G, N, 3C]`, `heads [G, N, C]` (heads merged),
  /// `projected [G, N, C]`, `bias [A, N, N]`; `probs [G, A, N, N]` when `keepProbs`
  /// (training), else `[S, N, N]` scratch. Updates the geometry cache; returns the sizes of
  /// this input.
  private func attend(
    _ x: Tensor, into out: Tensor, windows: Tensor, qkvRows: Tensor, heads merged: Tensor,
    projected: Tensor, probs: Tensor, bias: Tensor, keepProbs: Bool, accumulate: Bool = false
  ) -> WindowAttentionSizes {
    let g = geometry(for: x.shape)
    prepare(g)
    let s = WindowAttentionSizes(geometry: g, batch: x.shape[0], heads: heads, channels: dim)
    let (n, gw, c, a) = (s.windowTokens, s.windows, dim, heads)
    if accumulate {
      precondition(out.shape == x.shape, "WindowAttention: adding into \(out.shape), x \(x.shape)")
    } else {
      out.reshape(to: x.shape)
    }
    windows.reshape(to: [gw, n, c])
    qkvRows.reshape(to: [gw, n, 3 * c])
    merged.reshape(to: [gw, n, c])
    projected.reshape(to: [gw, n, c])
    probs.reshape(to: keepProbs ? [gw, a, n, n] : [s.scratchSlots, n, n])
    bias.reshape(to: [a, n, n])
    index.withUnsafeBufferPointer { idx in
      guard let ip = idx.baseAddress else { return }
      relativePositionBiasForward(
        bias: bias.pointer, table: relativePositionBiasTable.value.pointer, index: ip,
        tokens: n, heads: a)
    }
    let labels = mask?.labels ?? []  // [nW, N]
    let mixed = mask?.mixed ?? []  // [nW]
    source.withUnsafeBufferPointer { src in
      labels.withUnsafeBufferPointer { lab in
        mixed.withUnsafeBufferPointer { mix in
          guard let sp = src.baseAddress else { return }
          windowAttentionForward(
            y: out.pointer, windows: windows.pointer, qkv: qkvRows.pointer,
            attn: merged.pointer, projected: projected.pointer, probs: probs.pointer,
            keepProbs: keepProbs, x: x.pointer, weights: linears(gradients: false), source: sp,
            bias: bias.pointer, labels: mask == nil ? nil : lab.baseAddress,
            mixed: mask == nil ? nil : mix.baseAddress, sizes: s, accumulate: accumulate)
        }
      }
    }
    return s
  }

  /// `dy [B, (T,) H, W, C] → dx` (a buffer the layer owns); adds into the gradients of
  /// `qkv`, `proj` and the bias table.
  ///
  /// Precondition: the last `forward` ran with `training: true` (once per such forward).
  public func backward(_ dy: Tensor) -> Tensor {
    guard let (shape, s) = saved else {
      preconditionFailure("WindowAttention.backward without a training forward")
    }
    precondition(dy.shape == shape, "WindowAttention.backward: dy \(dy.shape) vs x \(shape)")
    saved = nil
    let (n, gw, c, a) = (s.windowTokens, s.windows, dim, heads)
    dAttn.reshape(to: [gw, n, c])
    dqkv.reshape(to: [gw, n, 3 * c])
    scratch.reshape(to: [s.scratchSlots, a + 1, n, n])
    dx.reshape(to: shape)
    source.withUnsafeBufferPointer { src in
      guard let sp = src.baseAddress else { return }
      windowAttentionBackward(
        dx: dx.pointer, dBias: bias.pointer, grads: linears(gradients: true),
        dRows: rowsBuffer.pointer,
        dAttn: dAttn.pointer, dqkv: dqkv.pointer, probs: probs.pointer,
        scratch: scratch.pointer, dy: dy.pointer, windows: windowsBuffer.pointer,
        qkv: qkvBuffer.pointer, attn: attnBuffer.pointer, weights: linears(gradients: false),
        source: sp,
        sizes: s)
    }
    index.withUnsafeBufferPointer { idx in
      guard let ip = idx.baseAddress else { return }
      relativePositionBiasBackward(
        dTable: relativePositionBiasTable.grad.pointer, dBias: bias.pointer, index: ip,
        tokens: n, heads: a)
    }
    return dx
  }
}

extension WindowAttention {
  /// Registration order: the bias table, `qkv`, `proj`.
  public var parameters: [Parameter] {
    [relativePositionBiasTable] + qkv.parameters + proj.parameters
  }

  /// Buffers `windows`, `qkv`, `attn`, `rows`, `probs`, `bias`, `y`, `dAttn`, `dqkv`,
  /// `scratch`, `dx` (the `qkv` and `proj` linears' own buffers are never used: this layer
  /// runs their kernels itself).
  public func bind(_ buffers: Buffers) {
    windowsBuffer = buffers["windows"]
    qkvBuffer = buffers["qkv"]
    attnBuffer = buffers["attn"]
    rowsBuffer = buffers["rows"]
    probs = buffers["probs"]
    bias = buffers["bias"]
    y = buffers["y"]
    dAttn = buffers["dAttn"]
    dqkv = buffers["dqkv"]
    scratch = buffers["scratch"]
    dx = buffers["dx"]
  }

  /// Rebinds the output (when given) and the input gradient to caller-owned buffers (see
  /// `SwinBlock.bind(workspace:output:inputGradient:)`).
  public func bindTransient(output: Tensor?, inputGradient: Tensor) {
    if let output { y = output }
    dx = inputGradient
  }

  public var timingKind: String? { "WindowAttention" }

  /// Inference into caller-owned buffers: `out [B, (T,) H, W, C] = Attn(x)`, or
  /// `out += Attn(x)` when `accumulate` (then `out` has `x`'s shape and does not overlap it),
  /// with `x` of the shape `forward` takes and every intermediate in `ws` (shared by the blocks
  /// of a model, so that inference memory does not grow with depth). Same arithmetic as
  /// `forward(x, training: false)`; uses (and updates) this layer's geometry cache.
  public func infer(
    _ x: Tensor, into out: Tensor, workspace ws: AttentionWorkspace, accumulate: Bool = false
  ) {
    _ = attend(
      x, into: out, windows: ws.windows, qkvRows: ws.qkv, heads: ws.attn,
      projected: ws.projected, probs: ws.probs, bias: ws.bias, keepProbs: false,
      accumulate: accumulate)
  }
}

/// Window-attention intermediates for inference, shared by every block of a model (sized by
/// the largest stage). G windows, N tokens per window, C channels, A heads, S scratch slots.
public struct AttentionWorkspace {
  /// `[G, N, C]` partitioned rows.
  public let windows: Tensor
  /// `[G, N, 3C]`.
  public let qkv: Tensor
  /// `[G, N, C]` attention output (heads merged).
  public let attn: Tensor
  /// `[G, N, C]` projected rows.
  public let projected: Tensor
  /// `[S, N, N]` softmax scratch, one slot per worker.
  public let probs: Tensor
  /// `[A, N, N]` gathered relative position bias.
  public let bias: Tensor

  /// Buffers `windows`, `qkv`, `attn`, `projected`, `probs`, `bias` of `buffers`.
  public init(_ buffers: Buffers) {
    windows = buffers["windows"]
    qkv = buffers["qkv"]
    attn = buffers["attn"]
    projected = buffers["projected"]
    probs = buffers["probs"]
    bias = buffers["bias"]
  }
}
