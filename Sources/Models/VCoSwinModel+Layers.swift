// The pieces VCoSwinModel assembles: input layout, convolutions of either rank, Swin blocks
// and the two kinds of merge. Internal; the public type is `VCoSwinModel`.
//
// Legend: B batch; I input channels (3); T, H, W input frames, height, width (no T in 2D);
//         Tp, Hp, Wp sizes padded to the patch (swin 3D only); C channels of a stage.

import Compute
import NN

/// The model's input in PyTorch layout, channels first, turned channels last:
/// `x [B, I, (T,) H, W] → [B, (Tp,) Hp, Wp, I]`, zero-padded at the end of each spatial
/// dimension to `padded` (torchvision's `PatchEmbed3d` pads to a multiple of the patch).
final class InputLayout {
  /// Channels-last input `[B, (Tp,) Hp, Wp, I]`.
  let y = Tensor(zeros: [0])
  /// Input gradient, channels first `[B, I, (T,) H, W]`.
  let dx = Tensor(zeros: [0])
  private var inputShape: [Int] = []
  private var paddedSizes: [Int] = []

  /// `x [B, I, (T,) H, W] → y [B, (Tp,) Hp, Wp, I]`, with `padded` = `[(Tp,) Hp, Wp]` ≥ the
  /// input's sizes (the padding is zero).
  func forward(_ x: Tensor, padded: [Int]) -> Tensor {
    inputShape = x.shape
    paddedSizes = padded
    y.reshape(to: [x.shape[0]] + padded + [x.shape[1]])
    if padded != Array(x.shape[2...]) { y.zero() }
    transfer(channelsFirst: x.pointer, channelsLast: y.pointer, toLast: true)
    return y
  }

  /// `dy [B, (Tp,) Hp, Wp, I] → dx [B, I, (T,) H, W]` (padding dropped).
  func backward(_ dy: Tensor) -> Tensor {
    dx.reshape(to: inputShape)
    transfer(channelsFirst: dx.pointer, channelsLast: dy.pointer, toLast: false)
    return dx
  }

  /// Copies between the channels-first input layout and the padded channels-last one, in the
  /// direction `toLast`. One task per (b, t, h) row: C strided planes ↔ one contiguous row.
  private func transfer(
    channelsFirst: UnsafeMutablePointer<Float>, channelsLast: UnsafeMutablePointer<Float>, toLast: Bool
  ) {
    let (b, channels) = (inputShape[0], inputShape[1])
    let sizes = Array(inputShape[2...])
    let (t, h, w) = sizes.count == 3 ? (sizes[0], sizes[1], sizes[2]) : (1, sizes[0], sizes[1])
    let (hp, wp) = (paddedSizes[paddedSizes.count - 2], paddedSizes[paddedSizes.count - 1])
    let tp = paddedSizes.count == 3 ? paddedSizes[0] : 1
    parallelFor(b * t * h) { r in
      let (row, frame, batch) = (r % h, (r / h) % t, r / (h * t))
      let last = channelsLast + ((batch * tp + frame) * hp + row) * wp * channels
      for c in 0..<channels {
        let plane = channelsFirst + (((batch * channels + c) * t + frame) * h + row) * w
        if toLast {
          for col in 0..<w { last[col * channels + c] = plane[col] }
        } else {
          for col in 0..<w { plane[col] = last[col * channels + c] }
        }
      }
    }
  }
}

/// A convolution of rank 2 or 3 (`Conv2d` or `Conv3d`), channels last.
enum AnyConv {
  case two(Conv2d)
  case three(Conv3d)

  /// Registers `name.weight` `[O, I, (kt,) kh, kw]` and `name.bias` `[O]`. 3D convolutions pad
  /// time by replicating the edge frames (so a static clip stays static).
  init(
    store: ParameterStore, name: String, inChannels: Int, outChannels: Int, kernel: [Int],
    stride: [Int], padding: [Int], rng: inout SeededRandom
  ) {
    if kernel.count == 2 {
      self = .two(
        Conv2d(
          store: store, name: name, inChannels: inChannels, outChannels: outChannels,
          kernel: (kernel[0], kernel[1]), stride: (stride[0], stride[1]),
          padding: (padding[0], padding[1]), rng: &rng))
    } else {
      self = .three(
        Conv3d(
          store: store, name: name, inChannels: inChannels, outChannels: outChannels,
          kernel: (kernel[0], kernel[1], kernel[2]), stride: (stride[0], stride[1], stride[2]),
          padding: (padding[0], padding[1], padding[2]), temporalPadding: .replicate, rng: &rng))
    }
  }

  func forward(_ x: Tensor, training: Bool) -> Tensor {
    switch self {
    case .two(let c): return c.forward(x, training: training)
    case .three(let c): return c.forward(x, training: training)
    }
  }

  func backward(_ dy: Tensor) -> Tensor {
    switch self {
    case .two(let c): return c.backward(dy)
    case .three(let c): return c.backward(dy)
    }
  }

  var needsInputGradient: Bool {
    get {
      switch self {
      case .two(let c): return c.needsInputGradient
      case .three(let c): return c.needsInputGradient
      }
    }
    nonmutating set {
      switch self {
      case .two(let c): c.needsInputGradient = newValue
      case .three(let c): c.needsInputGradient = newValue
      }
    }
  }
}

/// Buffers shared by every block in inference (sized by the largest stage), so that memory does
/// not grow with depth: the residual stream is updated in place and the MLP runs in row chunks.
final class InferenceWorkspace {
  /// `[L, C]` LayerNorm output.
  let normed = Tensor(zeros: [0])
  /// `[L, C]` attention output tokens.
  let out = Tensor(zeros: [0])
  /// `[G·N, C]` partitioned rows.
  let windows = Tensor(zeros: [0])
  /// `[G·N, C]` projected rows.
  let projected = Tensor(zeros: [0])
  /// `[G·N, 3C]`.
  let qkv = Tensor(zeros: [0])
  /// `[G·N, C]` attention output (heads merged), then MLP outputs.
  let attn = Tensor(zeros: [0])
  /// `[S, N, N]` softmax scratch, one slot per worker.
  let probs = Tensor(zeros: [0])
  /// `[A, N, N]` gathered relative position bias.
  let bias = Tensor(zeros: [0])
  /// `[R, hidden]` MLP hidden rows of one chunk.
  let hidden = Tensor(zeros: [0])
  /// Rows per MLP chunk.
  let chunkRows = 4096
}

/// One Swin block, pre-norm:
/// `x1 = x + DropPath(Attn(LN₁(x)))`, `y = x1 + DropPath(MLP(LN₂(x1)))`, `MLP = Linear, GELU, Linear`.
///
/// Parameters under `name`: `norm1`, `attn.{qkv,proj,relative_position_bias_table}`, `norm2`,
/// `mlp.0`, `mlp.3` (torchvision's names). Activations `[B, (T,) H, W, C]`.
final class SwinBlock {
  let norm1: LayerNorm
  let attn: WindowAttention
  let drop1: DropPath
  let norm2: LayerNorm
  let fc1: Linear
  let act = GELU()
  let fc2: Linear
  let drop2: DropPath
  /// Whether attention sees a 2D input as one frame `[B, 1, H, W, C]` (CoSwin 2D: the 3D
  /// window rule, so that an inflated model matches on static clips at every size).
  let asFrame: Bool

  // Inference geometry cache (the same rules as the attention layer's).
  private var geometry: WindowGeometry?
  private var source: [Int32] = []  // [nW·N] partition map
  private var mask: ShiftMask?  // nil when unshifted
  private var index: [Int32] = []  // [N, N]

  private let x1 = Tensor(zeros: [0])  // [B, (T,) H, W, C] after the attention residual
  private let y = Tensor(zeros: [0])  // [B, (T,) H, W, C] block output (training)
  private let dx1 = Tensor(zeros: [0])  // [B, (T,) H, W, C]
  private let dx = Tensor(zeros: [0])  // [B, (T,) H, W, C]

  init(
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

  /// `t` seen with the shape attention expects (a view; no copy).
  private func attnView(_ t: Tensor) -> Tensor {
    guard asFrame else { return t }
    let s = t.shape
    return Tensor(viewOf: t, offset: 0, shape: [s[0], 1] + s.dropFirst())
  }

  /// `x [B, (T,) H, W, C] → y` (a buffer the block owns). Inference keeps one output buffer
  /// per block (the second residual is added in place) and runs GELU in place.
  func forward(_ x: Tensor, training: Bool) -> Tensor {
    let a = attn.forward(attnView(norm1.forward(x, training: training)), training: training)
    let d1 = drop1.forward(a, training: training)
    x1.reshape(to: x.shape)
    addElementwise(x1.pointer, x.pointer, d1.pointer, count: x.count)
    let h = fc1.forward(norm2.forward(x1, training: training), training: training)  // [.., hidden]
    let g: Tensor
    if training {
      g = act.forward(h, training: true)
    } else {
      geluForward(y: h.pointer, x: h.pointer, count: h.count)
      g = h
    }
    let d2 = drop2.forward(fc2.forward(g, training: training), training: training)
    let out = training ? y : x1
    out.reshape(to: x.shape)
    addElementwise(out.pointer, x1.pointer, d2.pointer, count: x.count)
    return out
  }

  /// Inference in place: `x += Attn(LN₁(x))`, then `x += MLP(LN₂(x))`, with every
  /// intermediate in the shared workspace `ws`. Same arithmetic as `forward(_:training: false)`.
  func infer(_ x: Tensor, _ ws: InferenceWorkspace) {
    let c = norm1.channels
    let rows = x.count / c
    let g = attn.geometry(for: asFrame ? [x.shape[0], 1] + x.shape.dropFirst() : x.shape)
    if geometry != g {
      source = g.sourceMap()
      mask = g.isShifted ? ShiftMask(geometry: g) : nil
      index = relativePositionIndex(configured: g.configuredWindow, used: g.window, positions: attn.clampedPositions)
      geometry = g
    }
    let sizes = WindowAttentionSizes(geometry: g, batch: x.shape[0], heads: attn.heads, channels: c)
    let (n, gw, a) = (sizes.windowTokens, sizes.windows, sizes.heads)
    ws.normed.reshape(to: [rows, c])
    ws.out.reshape(to: [rows, c])
    ws.windows.reshape(to: [gw * n, c])
    ws.qkv.reshape(to: [gw * n, 3 * c])
    ws.attn.reshape(to: [gw * n, c])
    ws.projected.reshape(to: [gw * n, c])
    ws.probs.reshape(to: [sizes.scratchSlots, n, n])
    ws.bias.reshape(to: [a, n, n])
    layerNormForward(
      y: ws.normed.pointer, mean: nil, rstd: nil, x: x.pointer, weight: norm1.weight.value.pointer,
      bias: norm1.bias.value.pointer, rows: rows, channels: c, eps: norm1.eps)
    index.withUnsafeBufferPointer { idx in
      guard let ip = idx.baseAddress else { return }
      relativePositionBiasForward(
        bias: ws.bias.pointer, table: attn.relativePositionBiasTable.value.pointer, index: ip,
        tokens: n, heads: a)
    }
    guard let qkvBias = attn.qkv.bias, let projBias = attn.proj.bias else {
      preconditionFailure("window attention linears have biases")
    }
    let weights = WindowAttentionWeights(
      qkvWeight: attn.qkv.weight.value.pointer, qkvBias: qkvBias.value.pointer,
      projWeight: attn.proj.weight.value.pointer, projBias: projBias.value.pointer)
    let labels = mask?.labels ?? []
    let mixed = mask?.mixed ?? []
    source.withUnsafeBufferPointer { src in
      labels.withUnsafeBufferPointer { lab in
        mixed.withUnsafeBufferPointer { mix in
          guard let sp = src.baseAddress else { return }
          windowAttentionForward(
            y: ws.out.pointer, windows: ws.windows.pointer, qkv: ws.qkv.pointer,
            attn: ws.attn.pointer, projected: ws.projected.pointer, probs: ws.probs.pointer,
            keepProbs: false, x: ws.normed.pointer, weights: weights, source: sp,
            bias: ws.bias.pointer, labels: mask == nil ? nil : lab.baseAddress,
            mixed: mask == nil ? nil : mix.baseAddress, sizes: sizes)
        }
      }
    }
    addElementwise(x.pointer, x.pointer, ws.out.pointer, count: x.count)

    // MLP over row chunks: hidden [R, hidden] stays small whatever the stage size.
    layerNormForward(
      y: ws.normed.pointer, mean: nil, rstd: nil, x: x.pointer, weight: norm2.weight.value.pointer,
      bias: norm2.bias.value.pointer, rows: rows, channels: c, eps: norm2.eps)
    let hidden = fc1.outFeatures
    ws.hidden.reshape(to: [Swift.min(ws.chunkRows, rows), hidden])
    var start = 0
    while start < rows {
      let r = Swift.min(ws.chunkRows, rows - start)
      linearForward(
        y: ws.hidden.pointer, x: ws.normed.pointer + start * c, weight: fc1.weight.value.pointer,
        bias: fc1.bias?.value.pointer, rows: r, inFeatures: c, outFeatures: hidden)
      geluForward(y: ws.hidden.pointer, x: ws.hidden.pointer, count: r * hidden)
      linearForward(
        y: ws.attn.pointer + start * c, x: ws.hidden.pointer, weight: fc2.weight.value.pointer,
        bias: fc2.bias?.value.pointer, rows: r, inFeatures: hidden, outFeatures: c)
      start += r
    }
    addElementwise(x.pointer, x.pointer, ws.attn.pointer, count: x.count)
  }

  /// `dy → dx` (a buffer the block owns); adds into every parameter gradient.
  func backward(_ dy: Tensor) -> Tensor {
    let dh = norm2.backward(fc1.backward(act.backward(fc2.backward(drop2.backward(dy)))))
    dx1.reshape(to: dy.shape)
    addElementwise(dx1.pointer, dh.pointer, dy.pointer, count: dy.count)
    let da = attn.backward(attnView(drop1.backward(dx1)))
    let dn = norm1.backward(Tensor(viewOf: da, offset: 0, shape: dy.shape))
    dx.reshape(to: dy.shape)
    addElementwise(dx.pointer, dn.pointer, dx1.pointer, count: dy.count)
    return dx
  }
}

/// The merge between stages: Swin's 2×2 concat + LayerNorm(4C) + Linear(4C→2C), or CoSwin's
/// convolution (C→2C, overlapping, 3D also in time) + LayerNorm(2C).
enum StageMerge {
  case swin(PatchMerging)
  case coswin(AnyConv, LayerNorm)

  func forward(_ x: Tensor, training: Bool) -> Tensor {
    switch self {
    case .swin(let m): return m.forward(x, training: training)
    case .coswin(let conv, let norm): return norm.forward(conv.forward(x, training: training), training: training)
    }
  }

  func backward(_ dy: Tensor) -> Tensor {
    switch self {
    case .swin(let m): return m.backward(dy)
    case .coswin(let conv, let norm): return conv.backward(norm.backward(dy))
    }
  }
}
