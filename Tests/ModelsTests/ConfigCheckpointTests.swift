import Compute
import Foundation
import SafeTensors
import XCTest
import _TestSupport

@testable import Models

/// Path of the committed fixture `name`.safetensors; throws `MissingFixture` (a failure) when it
/// is absent.
func fixturePath(_ name: String) throws -> String {
  try TestFixture.path(
    name + ".safetensors", in: .module, writtenBy: "Tools/make_model_fixtures.py")
}

final class ConfigTests: XCTestCase {
  func testPresetsAreValidAndTorchvisionSized() throws {
    for name in ModelConfig.presetNames {
      for dims in [2, 3] {
        let c = try ModelConfig.preset(name, dims: dims, classes: 7)
        try c.validate()
        XCTAssertEqual(c.classes, 7)
        let back = try ModelConfig.fromJSON(try c.jsonString())
        XCTAssertEqual(back, c, name)
      }
    }
    // Parameter counts of torchvision's models (sum of numel over parameters).
    XCTAssertEqual(try ModelConfig.preset("swin_t").parameterCount, 28_288_354)
    XCTAssertEqual(try ModelConfig.preset("swin_b").parameterCount, 87_768_224)
    XCTAssertEqual(try ModelConfig.preset("swin3d_t").parameterCount, 28_158_070)
    XCTAssertEqual(try ModelConfig.preset("swin3d_b").parameterCount, 88_048_984)
    XCTAssertEqual(try ModelConfig.preset("swin3d_t").dims, 3)
    XCTAssertEqual(try ModelConfig.preset("coswin-micro", dims: 2).variant, .coswin)
    // nano embeds 32-pixel inputs with stride 2, padding 1; the other CoSwin presets quarter them.
    let nano = VCoSwinModel(config: try ModelConfig.preset("nano", dims: 3, classes: 8), seed: 0)
    XCTAssertEqual(
      try nano.stageSizes(input: [8, 32, 32]), [[4, 14, 14], [4, 7, 7], [4, 4, 4]])
    let micro = VCoSwinModel(config: try ModelConfig.preset("micro", dims: 2, classes: 8), seed: 0)
    XCTAssertEqual(try micro.stageSizes(input: [64, 64]), [[16, 16], [8, 8], [4, 4], [2, 2]])
    XCTAssertThrowsError(try ModelConfig.preset("huge")) { error in
      XCTAssertTrue("\(error)".contains("huge") && "\(error)".contains("micro"))
    }
  }

  func testJSONIsSnakeCaseAndValidatedOnDecode() throws {
    let c = try ModelConfig.preset("micro", dims: 3, classes: 4)
    let json = try c.jsonString()
    for key in [
      "\"embed_dim\"", "\"merge_kernel\"", "\"mlp_ratio\"", "\"drop_path\"", "\"windows\"",
    ] {
      XCTAssertTrue(json.contains(key), key)
    }
    // 32 channels do not split into 3 heads.
    let bad = json.replacingOccurrences(of: "\"heads\":[1,2,4,8]", with: "\"heads\":[3,2,4,8]")
    XCTAssertNotEqual(bad, json)
    XCTAssertThrowsError(try ModelConfig.fromJSON(bad)) { error in
      XCTAssertTrue("\(error)".contains("heads"), "\(error)")
    }
    let wrongWindow = json.replacingOccurrences(of: "[[2,4,4]", with: "[[4,4]")
    XCTAssertThrowsError(try ModelConfig.fromJSON(wrongWindow)) { error in
      XCTAssertTrue("\(error)".contains("windows"), "\(error)")
    }
    XCTAssertThrowsError(try ModelConfig.fromJSON("{\"variant\":\"coswin\"}")) { error in
      XCTAssertTrue("\(error)".contains("dims"), "\(error)")
    }
    XCTAssertThrowsError(
      try ModelConfig.fromJSON(json.replacingOccurrences(of: "\"coswin\"", with: "\"vit\"")))
    // Sizes that would only exhaust memory are rejected before any model is built.
    let huge = json.replacingOccurrences(of: "\"embed_dim\":32", with: "\"embed_dim\":1000000")
    XCTAssertNotEqual(huge, json)
    XCTAssertThrowsError(try ModelConfig.fromJSON(huge)) { error in
      XCTAssertTrue("\(error)".contains("embed_dim"), "\(error)")
    }
  }

  func testNamesFollowTorchvision() throws {
    let c2 = try ModelConfig.preset("swin_t")
    let names2 = c2.parameterSpecs.map(\.name)
    XCTAssertEqual(names2.first, "features.0.0.weight")
    XCTAssertTrue(names2.contains("features.7.1.attn.relative_position_bias_table"))
    XCTAssertTrue(names2.contains("features.6.reduction.weight"))
    let c3 = try ModelConfig.preset("swin3d_t")
    let names3 = c3.parameterSpecs.map(\.name)
    XCTAssertEqual(names3.first, "patch_embed.proj.weight")
    XCTAssertTrue(names3.contains("features.6.1.mlp.3.bias"))
    XCTAssertTrue(names3.contains("features.5.norm.weight"))
    let co = try ModelConfig.preset("tiny", dims: 3)
    XCTAssertTrue(
      co.parameterSpecs.contains(
        ParameterSpec(name: "features.1.conv.weight", shape: [192, 96, 3, 3, 3])))
    XCTAssertTrue(
      co.parameterSpecs.contains(
        ParameterSpec(
          name: "features.0.0.attn.relative_position_bias_table", shape: [3 * 13 * 13, 3])))
  }
}

final class CheckpointTests: TemporaryFolderTestCase {
  func testImportInfersTorchvisionConfigs() throws {
    let f2 = try SafeTensorsFile.read(path: try fixturePath("swin2d_weights"))
    let c2 = try TorchvisionImport.inferConfig(f2)
    XCTAssertEqual(c2.dims, 2)
    XCTAssertEqual(c2.variant, .swin)
    XCTAssertEqual(c2.embedDim, 4)
    XCTAssertEqual(c2.depths, [2, 2, 2, 1])
    XCTAssertEqual(c2.heads, [1, 1, 2, 2])
    XCTAssertEqual(c2.windows, Array(repeating: [3, 3], count: 4))
    XCTAssertEqual(c2.embedKernel, [4, 4])
    XCTAssertEqual(c2.mlpRatio, 2)
    XCTAssertEqual(c2.classes, 5)
    try Checkpoint.verify(f2, config: c2)  // buffers present and verified
    let f3 = try SafeTensorsFile.read(path: try fixturePath("swin3d_weights"))
    let c3 = try TorchvisionImport.inferConfig(f3)
    XCTAssertEqual(c3.dims, 3)
    XCTAssertEqual(c3.windows, Array(repeating: [2, 3, 3], count: 4))
    XCTAssertEqual(c3.embedKernel, [2, 4, 4])
    try Checkpoint.verify(f3, config: c3)
    // Without the index buffers a 3D window is still unique here; with an ambiguous table it is not.
    XCTAssertEqual(
      TorchvisionImport.windowFrom(rows: 15 * 13 * 13, tokens: nil, dims: 3), [8, 7, 7])
    XCTAssertEqual(TorchvisionImport.windowFrom(rows: 3 * 5 * 5, tokens: 18, dims: 3), [2, 3, 3])
    XCTAssertNil(TorchvisionImport.windowFrom(rows: 7, tokens: nil, dims: 2))
  }

  func testImportWritesCheckpointThatReadsBack() throws {
    let opened = try Checkpoint.open(path: try fixturePath("swin3d_weights"))
    let (info, tensors) = (opened.info, try opened.floatTensors())
    XCTAssertEqual(opened.layout, .torchvision)
    let out = path("imported.safetensors")
    try Checkpoint.write(to: out, info: info, tensors: tensors)
    let file = try SafeTensorsFile.read(path: out)
    let back = try Checkpoint.info(of: file)
    XCTAssertEqual(back, info)
    XCTAssertEqual(file.metadata["kind"], "video")
    XCTAssertEqual(file.metadata["format"], Checkpoint.format)
    XCTAssertEqual(back.labels.count, 5)
    try Checkpoint.verify(file, config: back.config)
    let original = try SafeTensorsFile.read(path: try fixturePath("swin3d_weights"))
    for key in [
      "features.2.1.attn.relative_position_bias_table", "head.weight", "patch_embed.proj.weight",
    ] {
      XCTAssertEqual(try file.floats(key).values, try original.floats(key).values, key)
    }
    // torchvision's index buffers are written back (the file loads with strict=True there).
    for key in original.keys where key.hasSuffix("relative_position_index") {
      XCTAssertEqual(try file.int64s(key).values, try original.int64s(key).values, key)
      XCTAssertEqual(try file.int64s(key).shape, try original.int64s(key).shape, key)
    }
    XCTAssertEqual(
      file.keys.filter { $0.hasSuffix("relative_position_index") }.count,
      original.keys.filter { $0.hasSuffix("relative_position_index") }.count)
  }

  /// A copy of the 2D fixture's tensors with `edit` applied, written as a state dict.
  func edited(_ edit: (inout NamedTensors) -> Void) throws -> SafeTensorsFile {
    let src = try SafeTensorsFile.read(path: try fixturePath("swin2d_weights"))
    var tensors: NamedTensors = [:]
    for k in src.keys where !k.hasSuffix("relative_position_index") {
      tensors[k] = try src.floats(k)
    }
    edit(&tensors)
    var w = SafeTensorsWriter()
    for (k, t) in tensors { try w.add(k, shape: t.shape, floats: t.values) }
    let path = self.path("edited-\(UUID().uuidString).safetensors")
    try w.write(to: path)
    return try SafeTensorsFile.read(path: path)
  }

  func testStrictVerification() throws {
    let config = try TorchvisionImport.inferConfig(
      try SafeTensorsFile.read(path: try fixturePath("swin2d_weights")))
    func expectError(_ file: SafeTensorsFile, _ kind: CheckpointError.Kind, line: UInt = #line) {
      XCTAssertThrowsError(try Checkpoint.verify(file, config: config), line: line) { error in
        XCTAssertEqual((error as? CheckpointError)?.kind, kind, "\(error)", line: line)
        XCTAssertTrue("\(error)".hasPrefix(file.path), line: line)
      }
    }
    expectError(
      try edited { $0["features.3.1.norm2.bias"] = nil },
      .missingTensor(key: "features.3.1.norm2.bias", expected: [8]))
    expectError(
      try edited { $0["extra.weight"] = ([2], [1, 2]) },
      .unexpectedTensor(key: "extra.weight", shape: [2]))
    expectError(
      try edited { $0["head.weight"] = ([5, 16], [Float](repeating: 0, count: 80)) },
      .shapeMismatch(key: "head.weight", expected: [5, 32], found: [5, 16]))
    let message = CheckpointError(
      path: "x", .shapeMismatch(key: "head.weight", expected: [5, 32], found: [5, 16])
    ).description
    XCTAssertTrue(
      message.contains("head.weight") && message.contains("[5, 16]") && message.contains("[5, 32]"))

    // A wrong buffer is an error naming it; a well-formed one is verified.
    let src = try SafeTensorsFile.read(path: try fixturePath("swin2d_weights"))
    var w = SafeTensorsWriter()
    for k in src.keys {
      if k.hasSuffix("relative_position_index") {
        var v = try src.int64s(k).values
        if k == "features.1.0.attn.relative_position_index" { v[3] += 1 }
        try w.add(k, shape: try src.entry(k).shape, int64s: v)
      } else {
        try w.add(k, shape: try src.entry(k).shape, floats: try src.floats(k).values)
      }
    }
    let path = self.path("badbuffer.safetensors")
    try w.write(to: path)
    XCTAssertThrowsError(
      try Checkpoint.verify(try SafeTensorsFile.read(path: path), config: config)
    ) { error in
      guard case .badBuffer(let key, _) = (error as? CheckpointError)?.kind else {
        return XCTFail("\(error)")
      }
      XCTAssertEqual(key, "features.1.0.attn.relative_position_index")
    }
  }

  func testNaNWeightsAreRejected() throws {
    let config = try TorchvisionImport.inferConfig(
      try SafeTensorsFile.read(path: try fixturePath("swin2d_weights")))
    let file = try edited { t in
      var v = t["features.5.0.mlp.0.weight"]?.values ?? []
      v[7] = .nan
      t["features.5.0.mlp.0.weight"]?.values = v
    }
    try Checkpoint.verify(file, config: config)  // names and shapes are fine
    let store = ParameterStore()
    for s in config.parameterSpecs { store.register(s.name, Tensor(zeros: s.shape), decay: true) }
    XCTAssertThrowsError(try Checkpoint.copy(file, into: store)) { error in
      XCTAssertEqual(
        (error as? CheckpointError)?.kind, .nonFinite(key: "features.5.0.mlp.0.weight", index: 7))
    }
    XCTAssertThrowsError(
      try Checkpoint.write(
        to: path("nan.safetensors"), info: CheckpointInfo(config: config, provenance: "test"),
        tensors: Dictionary(uniqueKeysWithValues: try file.keys.map { ($0, try file.floats($0)) })))
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("nan.safetensors")))
  }

  /// A store written with extra metadata and tensors (a trainer's run state and optimizer
  /// state): the same parameters and buffers as without, the extras beside them, and the
  /// info's metadata kept over an extra entry of the same name.
  func testStoreWriteWithExtras() throws {
    let config = try ModelConfig.preset("micro", dims: 2, classes: 3)
    let model = VCoSwinModel(config: config, seed: 0)
    let info = CheckpointInfo(config: config, provenance: "test")
    let plain = path("plain.safetensors")
    let extended = path("extended.safetensors")
    try Checkpoint.write(to: plain, info: info, store: model.store)
    try Checkpoint.write(
      to: extended, info: info, store: model.store,
      extraMetadata: ["training": "{\"step\":3}", "kind": "overridden"],
      extraTensors: [Checkpoint.optimizerPrefix + "step": Tensor(shape: [1], values: [3])])
    let a = try SafeTensorsFile.read(path: plain)
    let b = try SafeTensorsFile.read(path: extended)
    XCTAssertEqual(b.keys, (a.keys + [Checkpoint.optimizerPrefix + "step"]).sorted())
    for key in a.keys {
      XCTAssertEqual(a.tensors[key]?.dtype, b.tensors[key]?.dtype, key)
      XCTAssertEqual(a.tensors[key]?.shape, b.tensors[key]?.shape, key)
      XCTAssertEqual(a.tensors[key]?.data, b.tensors[key]?.data, key)
    }
    XCTAssertEqual(b.tensors[Checkpoint.optimizerPrefix + "step"]?.dtype, .f32)
    XCTAssertEqual(try b.floats(Checkpoint.optimizerPrefix + "step").values, [3])
    XCTAssertEqual(b.metadata["training"], "{\"step\":3}")
    XCTAssertEqual(b.metadata.filter { $0.key != "training" }, a.metadata)
    try Checkpoint.verify(b, config: config)
  }

  func testMetadataErrors() throws {
    var w = SafeTensorsWriter(metadata: ["kind": "video"])
    try w.add("x", shape: [1], floats: [0])
    let path = self.path("nometa.safetensors")
    try w.write(to: path)
    XCTAssertThrowsError(try Checkpoint.info(of: try SafeTensorsFile.read(path: path))) { error in
      XCTAssertEqual((error as? CheckpointError)?.kind, .missingMetadata(key: "config"))
    }
    let config = try ModelConfig.preset("micro", dims: 2, classes: 3)
    var info = try CheckpointInfo(config: config, provenance: "t").metadata()
    info["labels"] = "[\"a\",\"b\"]"
    var w2 = SafeTensorsWriter(metadata: info)
    try w2.add("x", shape: [1], floats: [0])
    try w2.write(to: path)
    XCTAssertThrowsError(try Checkpoint.info(of: try SafeTensorsFile.read(path: path))) { error in
      XCTAssertTrue("\(error)".contains("2 labels for 3 classes"), "\(error)")
    }
  }
}
