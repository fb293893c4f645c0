// The structure of exported graphs, read back without any ONNX library: the file's header,
// input and output names and shapes, metadata keys, standard operators in topological order,
// initializers of the right sizes, and the sizes the exporter refuses. (The numbers the graphs
// compute are checked in ONNX Runtime: Tests/CLITests/ExportCommandTests.swift.)

import Compute
import Models
import NN
import XCTest

@testable import Export

final class ONNXStructureTests: XCTestCase {
  /// The tensors of a freshly initialised model of `config`, by name.
  private func tensors(_ config: ModelConfig) -> NamedTensors {
    let model = VCoSwinModel(config: config, seed: 3)
    var out: NamedTensors = [:]
    for p in model.store.parameters { out[p.name] = (p.shape, p.value.array) }
    return out
  }

  /// Operators of the default domain the exporter may write (ONNX's standard set).
  private let standard: Set<String> = [
    "Add", "Concat", "Conv", "Div", "Equal", "Erf", "Gather", "Gelu", "Gemm",
    "LayerNormalization", "MatMul", "Mul", "Pad", "ReduceMean", "Reshape", "Slice", "Softmax",
    "Transpose", "Where",
  ]

  /// Checks what every export must satisfy and returns the model read back.
  private func checkGraph(
    _ model: ONNXModel, input: [String], classes: Int, opset: Int = 17,
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> ReadModel {
    let bytes = model.serialized()
    XCTAssertEqual(bytes.count, model.byteCount, file: file, line: line)
    let read = try ReadModel(bytes)
    XCTAssertEqual(read.irVersion, opset <= 18 ? 8 : opset <= 20 ? 9 : 10, file: file, line: line)
    XCTAssertEqual(read.opsets.count, 1, file: file, line: line)
    XCTAssertEqual(read.opsets.first?.domain, "", file: file, line: line)
    XCTAssertEqual(read.opsets.first?.version, opset, file: file, line: line)
    XCTAssertEqual(read.inputs.map(\.name), ["video"], file: file, line: line)
    XCTAssertEqual(read.inputs.first?.dims, input, file: file, line: line)
    XCTAssertEqual(read.inputs.first?.elementType, 1, file: file, line: line)  // FLOAT
    XCTAssertEqual(read.outputs.map(\.name), ["logits"], file: file, line: line)
    XCTAssertEqual(read.outputs.first?.dims, ["batch", String(classes)], file: file, line: line)
    for key in ["config", "kind", "input", "output"] {
      XCTAssertNotNil(read.metadata[key], "metadata \(key)", file: file, line: line)
    }
    // Standard operators only, each input defined before use, every value named once.
    var defined = Set(read.initializers.map(\.name)).union(read.inputs.map(\.name))
    XCTAssertEqual(
      defined.count, read.initializers.count + 1, "distinct names", file: file, line: line)
    for node in read.nodes {
      XCTAssertEqual(node.domain, "", file: file, line: line)
      XCTAssertTrue(standard.contains(node.op), "operator \(node.op)", file: file, line: line)
      for i in node.inputs {
        XCTAssertTrue(
          defined.contains(i), "\(node.op) reads \(i) before it exists", file: file, line: line)
      }
      for o in node.outputs {
        XCTAssertFalse(defined.contains(o), "\(o) defined twice", file: file, line: line)
        defined.insert(o)
      }
    }
    XCTAssertTrue(defined.contains("logits"), file: file, line: line)
    XCTAssertEqual(read.nodes.count, model.nodeCount, file: file, line: line)
    for t in read.initializers {
      let size = t.dataType == 1 ? 4 : t.dataType == 7 ? 8 : -1
      XCTAssertEqual(t.rawBytes, t.dims.reduce(1, *) * size, t.name, file: file, line: line)
    }
    return read
  }

  func testCoSwinVideoGraph() throws {
    let config = try ModelConfig.preset("nano", dims: 3, classes: 5)
    let model = try ONNXExport.model(
      config: config, tensors: tensors(config), input: [8, 32, 32],
      metadata: ["labels": "[\"a\"]", "config": "overridden?"])
    let read = try checkGraph(model, input: ["batch", "3", "8", "32", "32"], classes: 5)
    XCTAssertEqual(read.metadata["labels"], "[\"a\"]")
    XCTAssertEqual(read.metadata["kind"], "video")
    XCTAssertEqual(try ModelConfig.fromJSON(read.metadata["config"] ?? ""), config)
    // The weights go in once each: every checkpoint tensor's values are in some initializer.
    let names = Set(read.initializers.map(\.name))
    XCTAssertTrue(names.contains("patch_embed.proj.weight"))
    XCTAssertTrue(names.contains("features.0.0.attn.relative_position_bias_table"))
    XCTAssertTrue(names.contains("features.1.conv.weight"))
    // CoSwin repeats the edge frames in time before its 3D convolutions: Concat, then a Conv
    // without temporal zero padding.
    let ops = read.nodes.map(\.op)
    XCTAssertTrue(ops.contains("Erf"))
    XCTAssertFalse(ops.contains("Gelu"))
    XCTAssertEqual(ops.filter { $0 == "Conv" }.count, 1 + config.stages - 1)
    XCTAssertEqual(read.nodes.first { $0.op == "ReduceMean" }?.inputs.count, 1)
  }

  func testSwinImageGraphAtOpset20() throws {
    let config = try ModelConfig.preset("swin-nano", dims: 2, classes: 7)
    let model = try ONNXExport.model(
      config: config, tensors: tensors(config), input: [30, 30], opset: 20)
    let read = try checkGraph(model, input: ["batch", "3", "30", "30"], classes: 7, opset: 20)
    let ops = read.nodes.map(\.op)
    XCTAssertTrue(ops.contains("Gelu"))
    XCTAssertFalse(ops.contains("Erf"))
    // From opset 18 ReduceMean takes its axes as an input.
    XCTAssertEqual(read.nodes.first { $0.op == "ReduceMean" }?.inputs.count, 2)
    XCTAssertEqual(read.metadata["kind"], "image")
    XCTAssertTrue(Set(read.initializers.map(\.name)).contains("features.2.reduction.weight_t"))
  }

  func testSwinVideoGraphWithShiftedMaskedWindows() throws {
    // micro's third stage has a shifted block; at 9×72×72 its grid (5×5×5) exceeds the window
    // (4×4×4) in every dimension.
    let config = try ModelConfig.preset("swin-micro", dims: 3, classes: 3)
    let model = try ONNXExport.model(
      config: config, tensors: tensors(config), input: [9, 72, 72], opset: 21)
    let read = try checkGraph(model, input: ["batch", "3", "9", "72", "72"], classes: 3, opset: 21)
    let ops = read.nodes.map(\.op)
    // Shifted windows: a roll is Slice + Concat, the mask Where(Equal(…)).
    for op in ["Where", "Equal", "Concat"] {
      XCTAssertTrue(ops.contains(op), "\(op) in \(Set(ops))")
    }
    XCTAssertEqual(ops.filter { $0 == "Where" }.count, 1, "one mask, for the one shifted stage")
    // 9 frames are padded to the patch (2) by a Pad before the embedding.
    XCTAssertEqual(read.nodes.first?.op, "Pad")
  }

  /// The grids of the plan are the model's own (`VCoSwinModel.stageSizes`), for every variant
  /// and sizes that are and are not multiples of the patches and windows.
  func testPlanGridsMatchTheModel() throws {
    let cases: [(String, Int, [Int])] = [
      ("nano", 3, [8, 32, 32]), ("nano", 3, [5, 27, 31]), ("nano", 2, [33, 29]),
      ("swin-nano", 3, [7, 30, 26]), ("swin-nano", 2, [30, 34]), ("micro", 3, [3, 64, 40]),
    ]
    for (name, dims, sizes) in cases {
      let config = try ModelConfig.preset(name, dims: dims, classes: 4)
      let model = VCoSwinModel(config: config)
      let plan = try ExportPlan(config: config, input: sizes)
      XCTAssertEqual(plan.grids, try model.stageSizes(input: sizes), "\(name) \(dims)D \(sizes)")
    }
  }

  func testRefusals() throws {
    let config = try ModelConfig.preset("nano", dims: 3, classes: 5)
    let weights = tensors(config)
    XCTAssertThrowsError(try ONNXExport.model(config: config, tensors: weights, input: [8, 4, 4])) {
      XCTAssertTrue("\($0)".contains("too small for this model's token embedding"), "\($0)")
    }
    XCTAssertThrowsError(try ONNXExport.model(config: config, tensors: weights, input: [32, 32])) {
      XCTAssertTrue("\($0)".contains("T×H×W"), "\($0)")
    }
    XCTAssertThrowsError(
      try ONNXExport.model(config: config, tensors: weights, input: [8, 32, 32], opset: 16)
    ) { XCTAssertTrue("\($0)".contains("operator set 16"), "\($0)") }
    var bad = weights
    bad["features.2.0.mlp.0.weight"] = ([3, 3], [Float](repeating: 0, count: 9))
    XCTAssertThrowsError(try ONNXExport.model(config: config, tensors: bad, input: [8, 32, 32])) {
      XCTAssertTrue("\($0)".contains("'features.2.0.mlp.0.weight' has shape [3, 3]"), "\($0)")
    }
    bad = weights
    bad["features.1.0.mlp.0.weight"] = ([3, 3], [Float](repeating: 0, count: 9))
    XCTAssertThrowsError(try ONNXExport.model(config: config, tensors: bad, input: [8, 32, 32])) {
      XCTAssertTrue("\($0)".contains("unexpected tensor 'features.1.0.mlp.0.weight'"), "\($0)")
    }
    bad = weights
    bad["head.bias"] = nil
    XCTAssertThrowsError(try ONNXExport.model(config: config, tensors: bad, input: [8, 32, 32])) {
      XCTAssertTrue("\($0)".contains("missing tensor 'head.bias'"), "\($0)")
    }
  }

  /// The wire format of the writer against hand-encoded bytes (protobuf.dev examples).
  func testWireFormat() throws {
    var m = ProtobufMessage()
    m.int(1, 150)  // 08 96 01
    m.string(2, "testing")  // 12 07 74 65 73 74 69 6e 67
    m.int(3, -1)  // 18 ff ff ff ff ff ff ff ff ff 01
    m.float(4, 1)  // 25 00 00 80 3f
    XCTAssertEqual(
      m.bytes,
      [0x08, 0x96, 0x01, 0x12, 0x07] + Array("testing".utf8) + [0x18]
        + Array(repeating: 0xff, count: 9) + [0x01, 0x25, 0x00, 0x00, 0x80, 0x3f])
    let read = try WireMessage(m.bytes[...])
    XCTAssertEqual(read.ints(1), [150])
    XCTAssertEqual(read.string(2), "testing")
    XCTAssertEqual(read.ints(3), [-1])
  }
}
