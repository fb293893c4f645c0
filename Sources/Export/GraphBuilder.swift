// An ONNX graph under construction: nodes in topological order (each appended after its
// inputs exist), initializers, and the shape constants the nodes share.
//
// Values are named `scope/op` (with a counter when taken), so a node's output tells which
// layer of the model it belongs to (`features.0.1/attn/Softmax`). Only standard operators of
// the default domain are emitted.

/// Builds the nodes and initializers of one graph; `ONNXExport` wraps it into a model.
final class GraphBuilder {
  /// The operator set the nodes are written for (≥ 17).
  let opset: Int
  private(set) var nodes: [ONNXNode] = []
  private(set) var initializers: [ONNXTensor] = []
  /// The prefix of the names of values made next (the layer being built).
  var scope = ""
  private var taken: Set<String> = []
  private var int64Constants: [[Int64]: String] = [:]
  private var floatScalars: [UInt32: String] = [:]

  init(opset: Int) { self.opset = opset }

  /// A name not used yet: `base`, else `base_2`, `base_3`, …
  private func unique(_ base: String) -> String {
    var name = base
    var n = 2
    while taken.contains(name) {
      name = "\(base)_\(n)"
      n += 1
    }
    taken.insert(name)
    return name
  }

  /// Appends a node `opType(inputs)` with `attributes`; returns the name of its (first)
  /// output. The output is named `scope/label` (`label` defaults to `opType`).
  @discardableResult
  func op(
    _ opType: String, _ inputs: [String], _ attributes: [ONNXAttribute] = [], label: String? = nil
  ) -> String {
    let base = (scope.isEmpty ? "" : scope + "/") + (label ?? opType)
    let output = unique(base)
    nodes.append(
      ONNXNode(
        opType: opType, inputs: inputs, outputs: [output], name: output, attributes: attributes))
    return output
  }

  /// Adds a Float32 initializer `name` of `shape` (row-major `values`); returns its name.
  /// Precondition: `values.count` is the product of `shape`.
  @discardableResult
  func constant(_ name: String, shape: [Int], floats values: [Float]) -> String {
    precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for \(shape)")
    let n = unique(name)
    initializers.append(ONNXTensor(name: n, shape: shape, values: .floats(values)))
    return n
  }

  /// Adds an Int64 initializer `name` of `shape`; returns its name.
  @discardableResult
  func constant(_ name: String, shape: [Int], int64s values: [Int64]) -> String {
    precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for \(shape)")
    let n = unique(name)
    initializers.append(ONNXTensor(name: n, shape: shape, values: .int64s(values)))
    return n
  }

  /// A 1-D Int64 constant (shapes, axes, slice bounds), shared by every node that uses the
  /// same values.
  func ints(_ values: [Int]) -> String {
    let key = values.map(Int64.init)
    if let name = int64Constants[key] { return name }
    let name = constant(
      "const_i64_" + values.map { $0 < 0 ? "m\(-$0)" : "\($0)" }.joined(separator: "_"),
      shape: [values.count], int64s: key)
    int64Constants[key] = name
    return name
  }

  /// A Float32 scalar constant (shape `[]`), shared by every node that uses the same value.
  func scalar(_ value: Float) -> String {
    if let name = floatScalars[value.bitPattern] { return name }
    let name = constant("const_f32_\(floatScalars.count)", shape: [], floats: [value])
    floatScalars[value.bitPattern] = name
    return name
  }

  /// `GraphProto`: node 1, name 2, initializer 5, doc_string 10, input 11, output 12.
  func encoded(
    name: String, docString: String, inputs: [ONNXValueInfo], outputs: [ONNXValueInfo]
  ) -> ProtobufMessage {
    var g = ProtobufMessage()
    for node in nodes { g.message(1, node.encoded) }
    g.string(2, name)
    for t in initializers { g.message(5, t.encoded) }
    g.string(10, docString)
    for i in inputs { g.message(11, i.encoded) }
    for o in outputs { g.message(12, o.encoded) }
    return g
  }
}

// MARK: - Operators used by the model, one helper each

extension GraphBuilder {
  /// `Reshape(x, shape)`; `shape` may hold one −1 (the batch) as ONNX allows.
  func reshape(_ x: String, _ shape: [Int]) -> String { op("Reshape", [x, ints(shape)]) }

  /// `Transpose(x, perm)`: output axis i is input axis `perm[i]`.
  func transpose(_ x: String, _ perm: [Int]) -> String {
    op("Transpose", [x], [ONNXAttribute("perm", .ints(perm))])
  }

  /// `Slice(x)` of `from..<to` along `axis`.
  func slice(_ x: String, axis: Int, from: Int, to: Int) -> String {
    op("Slice", [x, ints([from]), ints([to]), ints([axis])])
  }

  /// `Slice(x)` of `0..<ends[i]` along each of `axes` (a crop at the end).
  func crop(_ x: String, axes: [Int], ends: [Int]) -> String {
    op("Slice", [x, ints(axes.map { _ in 0 }), ints(ends), ints(axes)], label: "Crop")
  }

  /// `Concat(xs)` along `axis`.
  func concat(_ xs: [String], axis: Int) -> String {
    op("Concat", xs, [ONNXAttribute("axis", .int(axis))])
  }

  /// `Pad(x)` with zeros at the end of each axis: `after[i]` elements after axis i (rank of x).
  func padEnd(_ x: String, after: [Int]) -> String {
    op("Pad", [x, ints(after.map { _ in 0 } + after), scalar(0)], [], label: "PadEnd")
  }

  /// `x · Wᵀ + b` over the last axis, for a PyTorch `Linear` weight `W [out, in]`: `MatMul`
  /// with the transposed weight `[in, out]` (an initializer `name.weight_t`), then `Add`.
  func linear(
    _ x: String, name: String, weight: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int
  ) -> String {
    precondition(weight.count == inFeatures * outFeatures, "\(name): weight size")
    var t = [Float](repeating: 0, count: weight.count)  // [in, out]
    for o in 0..<outFeatures {
      for i in 0..<inFeatures { t[i * outFeatures + o] = weight[o * inFeatures + i] }
    }
    let w = constant(name + ".weight_t", shape: [inFeatures, outFeatures], floats: t)
    let y = op("MatMul", [x, w])
    guard let bias else { return y }
    return op("Add", [y, constant(name + ".bias", shape: [outFeatures], floats: bias)])
  }

  /// `LayerNormalization` over the last axis (opset 17) with `weight`, `bias` `[C]`.
  func layerNorm(_ x: String, name: String, weight: [Float], bias: [Float], eps: Float) -> String {
    let c = weight.count
    return op(
      "LayerNormalization",
      [
        x, constant(name + ".weight", shape: [c], floats: weight),
        constant(name + ".bias", shape: [c], floats: bias),
      ],
      [ONNXAttribute("axis", .int(-1)), ONNXAttribute("epsilon", .float(eps))])
  }

  /// Exact GELU, `x · ½ · (1 + erf(x / √2))`: the `Gelu` operator from opset 20, else the
  /// `Erf` form PyTorch's exporter writes (which runtimes fuse back into one GELU).
  func gelu(_ x: String) -> String {
    // `approximate` defaults to "none": the erf form.
    if opset >= 20 { return op("Gelu", [x]) }
    let e = op("Erf", [op("Div", [x, scalar(Float(2).squareRoot())])])
    return op("Mul", [op("Mul", [x, op("Add", [e, scalar(1)])]), scalar(0.5)], label: "Gelu")
  }

  /// `ReduceMean` of `x` over `axes`, dropping them (axes an attribute before opset 18, an
  /// input from 18 on).
  func reduceMean(_ x: String, axes: [Int]) -> String {
    if opset >= 18 {
      return op("ReduceMean", [x, ints(axes)], [ONNXAttribute("keepdims", .int(0))])
    }
    return op(
      "ReduceMean", [x], [ONNXAttribute("axes", .ints(axes)), ONNXAttribute("keepdims", .int(0))])
  }
}
