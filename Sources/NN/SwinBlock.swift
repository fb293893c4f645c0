// One Swin block (pre-norm), in training (forward, backward, optional recompute) and in-place
// inference.
//
// Legend: B batch; T, H, W token grid (no T in 2D); C channels; L = B·(T·)H·W tokens;
//         F MLP hidden features.
//
//   x1 = x + DropPath₁(Attn(LN₁(x)))            x, x1, y  [B, (T,) H, W, C]
//   y  = x1 + DropPath₂(MLP(LN₂(x1)))           MLP = Linear(C→F), GELU, Linear(F→C)
//
// Backward: dx1 = dy + LN₂ᵀ(MLPᵀ(DropPath₂ᵀ(dy))),
//           dx = dx1 + LN₁ᵀ(Attnᵀ(DropPath₁ᵀ(dx1))).
//
// Recompute (activation checkpointing): the training forward keeps only its input and the
// drop-path generators' states; backward restores the states, runs the forward again (the same
// kernels on the same shapes, so the same values and the same draws) up to what its backward
// reads — not fc2's product, the second drop path's output or y — then its backward. With
// that, every block of a model can share one workspace for its intermediates.

import Compute

/// One Swin block: `x1 = x + DropPath(Attn(LN₁(x)))`, `y = x1 + DropPath(MLP(LN₂(x1)))`.
///
/// Parameters under `name`: `norm1`, `attn.{qkv,proj,relative_position_bias_table}`, `norm2`,
/// `mlp.0`, `mlp.3` (torchvision's names). Activations `[B, (T,) H, W, C]`.
public final class SwinBlock: Layer {
  public let norm1: LayerNorm
  public let attn: WindowAttention
  public let drop1: DropPath
  public let norm2: LayerNorm
  public let fc1: Linear
  public let act = GELU()
  public let fc2: Linear
  public let drop2: DropPath
  /// Whether attention sees a 2D input as one frame `[B, 1, H, W, C]` (CoSwin 2D: the 3D
  /// window rule, so that an inflated model matches on static clips at every size).
  public let asFrame: Bool
  /// When true, a training forward keeps only its input (and the drop-path draws' state) and
  /// `backward` runs the forward again first. Set between steps.
  public var recompute = false

  private var x1 = Tensor(zeros: [0])  // [B, (T,) H, W, C] after the attention residual
  private var y = Tensor(zeros: [0])  // [B, (T,) H, W, C] block output (training)
  private var dx1 = Tensor(zeros: [0])  // [B, (T,) H, W, C]
  private var dx = Tensor(zeros: [0])  // [B, (T,) H, W, C]
  private var workspace = BlockWorkspace(Buffers.own())  // inference intermediates
  /// Recompute: the last training input and the generators' states before its draws.
  private var replay: (x: Tensor, drop1: SeededRandom, drop2: SeededRandom)?

  /// Registers the parameters under `name` (see the type's documentation). `window` is
  /// `[Wh, Ww]` or `[Wt, Wh, Ww]`; a shifted block shifts by half the window.
  public init(
    store: ParameterStore, name: String, dim: Int, heads: Int, window: [Int], shifted: Bool,
    hidden: Int, dropPath: Float, eps: Float, asFrame: Bool, exactPositions: Bool,
    rng: inout SeededRandom
  ) {
    self.asFrame = asFrame
    let win = asFrame ? [1] + window : window
    let shift = shifted ? win.map { $0 / 2 } : win.map { _ in 0 }
    norm1 = LayerNorm(store: store, name: name + ".norm1", channels: dim, eps: eps)
    attn = WindowAttention(
      store: store, name: name + ".attn", dim: dim, heads: heads, window: win, shift: shift,
      clampedPositions: asFrame || exactPositions ? .exact : .torchvision, rng: &rng)
    drop1 = DropPath(p: dropPath, rng: &rng)
    norm2 = LayerNorm(store: store, name: name + ".norm2", channels: dim, eps: eps)
    fc1 = Linear(
      store: store, name: name + ".mlp.0", inFeatures: dim, outFeatures: hidden,
      initializer: .truncatedNormal(std: 0.02), rng: &rng)
    fc2 = Linear(
      store: store, name: name + ".mlp.3", inFeatures: hidden, outFeatures: dim,
      initializer: .truncatedNormal(std: 0.02), rng: &rng)
    drop2 = DropPath(p: dropPath, rng: &rng)
  }

  /// The layers in order of their parameters and of the forward pass.
  private var children: [any Layer] { [norm1, attn, drop1, norm2, fc1, act, fc2, drop2] }

  public var parameters: [Parameter] { children.flatMap(\.parameters) }

  /// Every buffer under `buffers`: the block's own (`x1`, `y`, `dx1`, `dx`), its layers' (in
  /// scopes `norm1`, `attn`, `drop1`, `norm2`, `fc1`, `act`, `fc2`, `drop2`) and the inference
  /// workspace (scope `infer`).
  public func bind(_ buffers: Buffers) {
    bind(workspace: buffers, output: buffers["y"], inputGradient: buffers["dx"])
    workspace = BlockWorkspace(buffers.scope("infer"))
  }

  /// Binds every intermediate to `workspace` (which blocks in recompute mode share), the
  /// training output to `output` (kept: the next layer's input) and the input gradient to
  /// `inputGradient` (consecutive blocks alternate between two). The inference workspace is
  /// left as it is.
  ///
  /// What backward does not read — the outputs of `norm1`, `attn`, `drop1`, `fc2`, `drop2`
  /// and every layer's input gradient — alternates between two buffers `t0`, `t1` (up to
  /// `[L, F]`), each layer writing the one its input is not in:
  ///
  ///     forward   norm1 → t0, attn → t1, drop1 → t0, fc2 → t0, drop2 → t1
  ///     backward  drop2 → t0, fc2 → t1, act → t0, fc1 → t1, norm2 → t0 (dx1 = t0 + dy),
  ///               drop1 → t0, attn → t1, norm1 → t0 (dx = t0 + dx1)
  public func bind(workspace buffers: Buffers, output: Tensor, inputGradient: Tensor) {
    x1 = buffers["x1"]
    dx1 = buffers["dx1"]
    y = output
    dx = inputGradient
    let names = ["norm1", "attn", "drop1", "norm2", "fc1", "act", "fc2", "drop2"]
    for (name, child) in zip(names, children) { child.bind(buffers.scope(name)) }
    let (t0, t1) = (buffers["t0"], buffers["t1"])
    norm1.bindTransient(output: t0, inputGradient: t0)
    attn.bindTransient(output: t1, inputGradient: t1)
    drop1.bindTransient(output: t0, inputGradient: t0)
    norm2.bindTransient(output: nil, inputGradient: t0)
    fc1.bindTransient(output: nil, inputGradient: t1)
    act.bindTransient(output: nil, inputGradient: t0)
    fc2.bindTransient(output: t0, inputGradient: t1)
    drop2.bindTransient(output: t1, inputGradient: t0)
  }

  /// Recompute mode: backward uses the intermediates of the last forward as they are, without
  /// running the forward again. Valid only when nothing has written the shared workspace since
  /// (the model calls it for its last block, whose backward comes first).
  public func keepLastForward() { replay = nil }

  /// Binds the inference intermediates (the model shares one set between its blocks).
  public func bindInference(_ buffers: Buffers) { workspace = BlockWorkspace(buffers) }

  public var timingKind: String? { nil }

  /// `t` seen with the shape attention expects (a view; no copy).
  private func attnView(_ t: Tensor) -> Tensor {
    guard asFrame else { return t }
    let s = t.shape
    return Tensor(viewOf: t, offset: 0, shape: [s[0], 1] + s.dropFirst())
  }

  /// `x [B, (T,) H, W, C] → y` (a buffer the block is bound to). `x` is not modified.
  /// In recompute mode a training forward also records what `backward` needs to run it again.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    replay = training && recompute ? (x, drop1.rng, drop2.rng) : nil
    return compute(x, training: training)
  }

  /// The block's forward; for a replay (`forBackward`), only what backward reads: the last
  /// linear's output, the second drop path's output and `y` are not computed (fc2 keeps its
  /// input, drop2 redraws its mask from the restored generator), which saves fc2's GEMM — a
  /// third of the block's linear work — per replayed block.
  private func compute(_ x: Tensor, training: Bool, forBackward: Bool = false) -> Tensor {
    let a = attn.run(attnView(norm1.run(x, training: training)), training: training)
    let d1 = drop1.run(a, training: training)
    x1.reshape(to: x.shape)
    addElementwise(x1.pointer, x.pointer, d1.pointer, count: x.count)
    let h = fc1.run(norm2.run(x1, training: training), training: training)  // [.., F]
    let g = act.run(h, training: training)
    if forBackward {
      fc2.retainForBackward(g)
      drop2.redraw(shape: x.shape, training: training)
      return x1
    }
    let d2 = drop2.run(fc2.run(g, training: training), training: training)
    y.reshape(to: x.shape)
    addElementwise(y.pointer, x1.pointer, d2.pointer, count: x.count)
    return y
  }

  /// `dy → dx` (a buffer the block is bound to); adds into every parameter gradient.
  /// In recompute mode the forward runs again first, with the draws of the first run.
  public func backward(_ dy: Tensor) -> Tensor {
    if let (x, rng1, rng2) = replay {
      drop1.rng = rng1
      drop2.rng = rng2
      _ = compute(x, training: true, forBackward: true)
      replay = nil
    }
    let dh = norm2.runBackward(
      fc1.runBackward(act.runBackward(fc2.runBackward(drop2.runBackward(dy)))))
    dx1.reshape(to: dy.shape)
    addElementwise(dx1.pointer, dh.pointer, dy.pointer, count: dy.count)
    let da = attn.runBackward(attnView(drop1.runBackward(dx1)))
    let dn = norm1.runBackward(Tensor(viewOf: da, offset: 0, shape: dy.shape))
    dx.reshape(to: dy.shape)
    addElementwise(dx.pointer, dn.pointer, dx1.pointer, count: dy.count)
    return dx
  }

  /// Inference in place: `x += Attn(LN₁(x))`, then `x += MLP(LN₂(x))`, with every
  /// intermediate in the bound inference workspace; returns `x`. The arithmetic of
  /// `forward(_:training: false)`, except that each residual sum happens in the pass that
  /// makes its right-hand side: attention scatters its rows adding into `x`, and the MLP's
  /// second GEMM accumulates into `x` (`(x + h·W₂ᵀ) + b₂` where the forward rounds
  /// `x + (h·W₂ᵀ + b₂)`); GELU runs inside the first GEMM (the same values). The MLP runs in
  /// row chunks so that its hidden rows stay small whatever the stage size.
  public func infer(_ x: Tensor) -> Tensor {
    let ws = workspace
    let timer = LayerTimer.active
    let c = norm1.channels
    let rows = x.count / c  // L
    ws.normed.reshape(to: x.shape)
    time(timer, "LayerNorm") {
      layerNormForward(
        y: ws.normed.pointer, mean: nil, rstd: nil, x: x.pointer,
        weight: norm1.weight.value.pointer, bias: norm1.bias.value.pointer, rows: rows,
        channels: c, eps: norm1.eps)
    }
    time(timer, "WindowAttention") {
      attn.infer(attnView(ws.normed), into: attnView(x), workspace: ws.attention, accumulate: true)
    }

    time(timer, "LayerNorm") {
      layerNormForward(
        y: ws.normed.pointer, mean: nil, rstd: nil, x: x.pointer,
        weight: norm2.weight.value.pointer, bias: norm2.bias.value.pointer, rows: rows,
        channels: c, eps: norm2.eps)
    }
    let hidden = fc1.outFeatures
    let chunk = BlockWorkspace.chunkRows
    ws.hidden.reshape(to: [Swift.min(chunk, rows), hidden])  // [R, F]
    time(timer, "MLP") {
      var start = 0
      while start < rows {
        let r = Swift.min(chunk, rows - start)
        // GELU as the GEMM finishes each piece of the hidden rows, where a C kernel runs it.
        let gelu = geluRowFunction
        linearForward(
          y: ws.hidden.pointer, x: ws.normed.pointer + start * c,
          weight: fc1.weight.value.pointer, bias: fc1.bias?.value.pointer, rows: r,
          inFeatures: c, outFeatures: hidden, then: gelu)
        if gelu == nil {
          geluForward(y: ws.hidden.pointer, x: ws.hidden.pointer, count: r * hidden)
        }
        linearForward(
          y: x.pointer + start * c, x: ws.hidden.pointer, weight: fc2.weight.value.pointer,
          bias: fc2.bias?.value.pointer, rows: r, inFeatures: hidden, outFeatures: c,
          accumulate: true)
        start += r
      }
    }
    return x
  }

  @inline(__always)
  private func time(_ timer: LayerTimer?, _ kind: String, _ body: () -> Void) {
    if let timer { timer.measure(kind, .inference, body) } else { body() }
  }
}

/// What a Swin block's in-place inference needs besides its input, shared by every block of a
/// model (sized by the largest stage).
public struct BlockWorkspace {
  /// `[L, C]` LayerNorm output.
  public let normed: Tensor
  /// `[R, F]` MLP hidden rows of one chunk.
  public let hidden: Tensor
  /// The attention's intermediates (scope `attention`).
  public let attention: AttentionWorkspace
  /// Rows per MLP chunk (R).
  public static let chunkRows = 4096

  /// Buffers `normed`, `hidden` and the scope `attention` of `buffers`.
  public init(_ buffers: Buffers) {
    normed = buffers["normed"]
    hidden = buffers["hidden"]
    attention = AttentionWorkspace(buffers.scope("attention"))
  }
}
