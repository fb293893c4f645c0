// The whole model as an ONNX graph, from a config and its checkpoint tensors (PyTorch layouts,
// this package's names; Docs/FORMATS.md), the way VCoSwinModel computes it (Docs/EXPORT.md):
//
//   video [B, 3, (T,) H, W]
//     → (swin 3D: zeros at the end to a multiple of the patch)
//     → (CoSwin 3D: edge frames repeated in time) → Conv (spatial zero padding)
//     → channels last [B, T', H', W', C] (T' = 1 for images) → LayerNorm
//     → stage blocks → merge → … → last stage blocks             [B, T', H', W', F]
//     → LayerNorm → mean over T', H', W' [B, F] → Gemm head → logits [B, K]
//
// Legend: B batch (the graph's one symbolic dimension); T, H, W input sizes; T', H', W' token
//         grid; C stage channels; F final channels; K classes.

import Models

/// Checkpoint tensors by name, each checked against the shape the config gives it.
struct ExportWeights {
  let tensors: NamedTensors

  /// The values of `name`, which must have `shape`; throws `ONNXExportError` naming the key.
  func values(_ name: String, _ shape: [Int]) throws -> [Float] {
    guard let t = tensors[name] else {
      throw ONNXExportError("missing tensor '\(name)' (expected shape \(shape))")
    }
    guard t.shape == shape, t.values.count == shape.reduce(1, *) else {
      throw ONNXExportError("tensor '\(name)' has shape \(t.shape) but the model expects \(shape)")
    }
    if let bad = t.values.firstIndex(where: { !$0.isFinite }) {
      throw ONNXExportError("tensor '\(name)' holds a NaN or infinite value at element \(bad)")
    }
    return t.values
  }
}

/// Builds the graph of one model for one input size.
struct ModelGraph {
  let plan: ExportPlan
  let weights: ExportWeights
  let g: GraphBuilder
  var config: ModelConfig { plan.config }
  var eps: Float { Float(config.layerNormEps) }

  /// The name of the graph's input and output.
  static let inputName = "video"
  static let outputName = "logits"

  /// Appends every node from `video` to `logits`; returns the name of the logits value.
  func build() throws -> String {
    g.scope = "embed"
    var x = try embedding(Self.inputName)  // [B, T', H', W', C]
    for i in 0..<config.stages {
      let stage = plan.stages[i]
      let constants = stageConstants(stage, stage: i)
      for j in 0..<config.depths[i] {
        x = try block(
          x, stage: stage, constants: constants, name: config.blockName(stage: i, block: j),
          shifted: j % 2 == 1)
      }
      if i < config.stages - 1 {
        g.scope = config.mergeName(after: i)
        x = try merge(x, after: i, grid: stage.grid)
      }
    }
    g.scope = "head"
    let f = config.featureDim
    x = g.layerNorm(
      x, name: "norm", weight: try weights.values("norm.weight", [f]),
      bias: try weights.values("norm.bias", [f]), eps: eps)
    let pooled = g.reduceMean(x, axes: [1, 2, 3])  // [B, F]
    let k = config.classes
    let w = g.constant(
      "head.weight", shape: [k, f], floats: try weights.values("head.weight", [k, f]))
    let b = g.constant("head.bias", shape: [k], floats: try weights.values("head.bias", [k]))
    // Gemm: pooled · head.weightᵀ + head.bias, the graph's output.
    g.scope = ""
    return g.op("Gemm", [pooled, w, b], [ONNXAttribute("transB", .int(1))], label: Self.outputName)
  }

  /// A LayerNorm of the checkpoint module `name` over the last axis of `x`, `channels` wide.
  func layerNorm(_ x: String, _ name: String, channels c: Int) throws -> String {
    g.layerNorm(
      x, name: name, weight: try weights.values(name + ".weight", [c]),
      bias: try weights.values(name + ".bias", [c]), eps: eps)
  }

  /// A PyTorch `Linear` of the checkpoint module `name` on the last axis of `x`.
  func linear(_ x: String, _ name: String, in i: Int, out o: Int, bias: Bool = true) throws
    -> String
  {
    g.linear(
      x, name: name, weight: try weights.values(name + ".weight", [o, i]),
      bias: bias ? try weights.values(name + ".bias", [o]) : nil, inFeatures: i, outFeatures: o)
  }

  /// Token embedding: input `[B, 3, (T,) H, W]` → tokens `[B, T', H', W', C₀]` after its norm.
  func embedding(_ video: String) throws -> String {
    var x = video
    if plan.paddedInput != plan.input {
      // swin 3D (torchvision's PatchEmbed3d): zeros at the end of T, H, W up to the patch.
      x = g.padEnd(x, after: [0, 0] + zip(plan.paddedInput, plan.input).map { $0 - $1 })
    }
    let c = config.embedDim
    let y = try convolution(
      x, name: config.embedConvName, inChannels: config.inChannels, outChannels: c,
      kernel: config.embedKernel, stride: config.embedStride, padding: config.embedPadding,
      sizes: plan.paddedInput)  // [B, C, (T',) H', W']
    let grid = plan.grids[0]
    let tokens: String
    if config.dims == 3 {
      tokens = g.transpose(y, [0, 2, 3, 4, 1])
    } else {
      tokens = g.reshape(g.transpose(y, [0, 2, 3, 1]), [-1, 1, grid[0], grid[1], c])
    }
    return try layerNorm(tokens, config.embedNormName, channels: c)
  }

  /// A convolution of the checkpoint module `name` on channels-first `x [B, I, (T,) H, W]`
  /// (`sizes` its spatial sizes): 3D ones first repeat the edge frames `padding[0]` times in
  /// time (the model's replicate padding, so a static clip stays static: Slice + Concat),
  /// then `Conv` with zero padding in space. Returns `[B, O, (T',) H', W']`.
  func convolution(
    _ x: String, name: String, inChannels: Int, outChannels: Int, kernel: [Int], stride: [Int],
    padding: [Int], sizes: [Int]
  ) throws -> String {
    var input = x
    var zeroPads = padding
    if kernel.count == 3 && padding[0] > 0 {
      let first = g.slice(x, axis: 2, from: 0, to: 1)  // [B, I, 1, H, W]
      let last = g.slice(x, axis: 2, from: sizes[0] - 1, to: sizes[0])
      let p = padding[0]
      input = g.concat(
        Array(repeating: first, count: p) + [x] + Array(repeating: last, count: p), axis: 2)
      zeroPads[0] = 0
    }
    let shape = [outChannels, inChannels] + kernel
    let w = g.constant(
      name + ".weight", shape: shape, floats: try weights.values(name + ".weight", shape))
    let b = g.constant(
      name + ".bias", shape: [outChannels],
      floats: try weights.values(name + ".bias", [outChannels]))
    return g.op(
      "Conv", [input, w, b],
      [
        ONNXAttribute("kernel_shape", .ints(kernel)), ONNXAttribute("strides", .ints(stride)),
        ONNXAttribute("pads", .ints(zeroPads + zeroPads)),
        ONNXAttribute("dilations", .ints(kernel.map { _ in 1 })),
        ONNXAttribute("group", .int(1)),
      ])
  }

  /// The merge after stage `i`, on tokens `x [B, T', H', W', C]` of grid `grid` (`[T', H', W']`):
  /// Swin's 2×2 neighbours → LayerNorm(4C) → Linear(4C → 2C, no bias), or CoSwin's
  /// convolution (C → 2C) → LayerNorm(2C). Returns `[B, T'', H'', W'', 2C]`.
  func merge(_ x: String, after i: Int, grid: [Int]) throws -> String {
    let c = config.channels(stage: i)
    let name = config.mergeName(after: i)
    let (t, h, w) = (grid[0], grid[1], grid[2])
    switch config.variant {
    case .swin:
      // Per frame, H and W padded with zeros to even sizes, then
      // merged[…, i, j, s·C + c] = x[…, 2i + dh, 2j + dw, c] with slot s = 2·dw + dh
      // (torchvision's x0, x1, x2, x3 = (0,0), (1,0), (0,1), (1,1)).
      let (h2, w2) = ((h + 1) / 2, (w + 1) / 2)
      var y = x
      if h % 2 != 0 || w % 2 != 0 { y = g.padEnd(y, after: [0, 0, h % 2, w % 2, 0]) }
      y = g.reshape(y, [-1, t, h2, 2, w2, 2, c])  // [B, T', H2, dh, W2, dw, C]
      y = g.transpose(y, [0, 1, 2, 4, 5, 3, 6])  // [B, T', H2, W2, dw, dh, C]
      y = g.reshape(y, [-1, t, h2, w2, 4 * c])
      y = try layerNorm(y, name + ".norm", channels: 4 * c)
      return try linear(y, name + ".reduction", in: 4 * c, out: 2 * c, bias: false)
    case .coswin:
      let out = plan.grids[i + 1]
      let y: String
      if config.dims == 3 {
        let first = g.transpose(x, [0, 4, 1, 2, 3])  // [B, C, T', H', W']
        let conv = try convolution(
          first, name: name + ".conv", inChannels: c, outChannels: 2 * c,
          kernel: config.mergeKernel, stride: config.mergeStride, padding: config.mergePadding,
          sizes: grid)
        y = g.transpose(conv, [0, 2, 3, 4, 1])
      } else {
        let first = g.transpose(g.reshape(x, [-1, h, w, c]), [0, 3, 1, 2])  // [B, C, H', W']
        let conv = try convolution(
          first, name: name + ".conv", inChannels: c, outChannels: 2 * c,
          kernel: config.mergeKernel, stride: config.mergeStride, padding: config.mergePadding,
          sizes: [h, w])
        y = g.reshape(g.transpose(conv, [0, 2, 3, 1]), [-1, 1, out[0], out[1], 2 * c])
      }
      return try layerNorm(y, name + ".norm", channels: 2 * c)
    }
  }
}
