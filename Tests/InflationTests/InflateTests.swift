import Checksum
import Compute
import Foundation
import Models
import SafeTensors
import XCTest
import _TestSupport

@testable import Inflation

/// The inflation rules, end to end through `Inflate.run` (the code behind `vcoswin inflate`).
final class InflateTests: TemporaryFolderTestCase {
  var dir: URL { folder }

  func fixture(_ name: String) throws -> String {
    try TestFixture.path(
      name + ".safetensors", in: .module, writtenBy: "Tools/make_inflation_fixtures.py")
  }

  /// A 2D model with random weights and non-trivial norms, biases and bias tables (so that every
  /// rule matters), saved as a checkpoint.
  func imageCheckpoint(_ config: ModelConfig, seed: UInt64) throws -> String {
    let model = VCoSwinModel(config: config, seed: seed)
    var rng = SeededRandom(seed: seed + 1)
    for p in model.store.parameters
    where p.name.hasSuffix("bias_table") || p.name.hasSuffix(".bias") || p.name.contains("norm") {
      for i in 0..<p.count { p.value.pointer[i] += rng.normal() * 0.3 }
    }
    let path = dir.appendingPathComponent("image-\(seed).safetensors").path
    try model.save(to: path, provenance: "test")
    return path
  }

  /// `clip[b, c, t] = image[b, c]` for every `t`: `[B, 3, T, H, W]` from `[B, 3, H, W]`.
  func staticClip(_ image: Tensor, frames t: Int) -> Tensor {
    let (b, c, h, w) = (image.shape[0], image.shape[1], image.shape[2], image.shape[3])
    let clip = Tensor(zeros: [b, c, t, h, w])
    for bc in 0..<(b * c) {
      for f in 0..<t {
        (clip.pointer + (bc * t + f) * h * w).update(from: image.pointer + bc * h * w, count: h * w)
      }
    }
    return clip
  }

  func assertInvariance(
    _ c2: ModelConfig, options: InflationOptions, frames: Int, size: Int, expectStages: [[Int]],
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let source = try imageCheckpoint(c2, seed: 5)
    let target = dir.appendingPathComponent("video.safetensors").path
    var o = options
    o.keepHead = true
    let result = try Inflate.run(from: source, to: target, options: o)
    XCTAssertTrue(result.steps.contains { $0.action == .inflated }, file: file, line: line)
    let (m2, _) = try VCoSwinModel.load(path: source)
    let (m3, info3) = try VCoSwinModel.load(path: target)
    XCTAssertEqual(info3.kind, "video")
    XCTAssertEqual(
      try m3.stageSizes(input: [frames, size, size]), expectStages, file: file, line: line)
    var rng = SeededRandom(seed: 9)
    let image = Tensor(
      shape: [2, 3, size, size], values: (0..<(2 * 3 * size * size)).map { _ in rng.normal() })
    let o2 = try m2.forward(image, training: false)
    let (f2, l2) = (o2.features.array, o2.logits.array)
    let o3 = try m3.forward(staticClip(image, frames: frames), training: false)
    // Float rounding only: sums over Kt slices and duplicated keys reorder additions.
    for (a, b) in zip(o3.features.array, f2) {
      XCTAssertEqual(a, b, accuracy: 1e-4 * Swift.max(1, abs(b)), file: file, line: line)
    }
    for (a, b) in zip(o3.logits.array, l2) {
      XCTAssertEqual(a, b, accuracy: 1e-4 * Swift.max(1, abs(b)), file: file, line: line)
    }
    // And the invariant is not vacuous: a clip that moves gives other features.
    let moving = staticClip(image, frames: frames)
    for i in 0..<(moving.count / 2) { moving.pointer[i] *= -1 }
    let o4 = try m3.forward(moving, training: false)
    XCTAssertGreaterThan(
      zip(o4.features.array, f2).map { abs($0 - $1) }.max() ?? 0, 1e-3, file: file, line: line)
  }

  /// CoSwin: conv embedding (Kt = 2) and conv merges (kernel 3 in time, replicate padding),
  /// shifted windows in time and space (stage 0), a window equal to the clip (stage 1) and
  /// windows clamped in time and space (stage 2).
  func testStaticClipInvarianceCoSwin() throws {
    let c2 = try ModelConfig(
      variant: .coswin, dims: 2, embedDim: 8, depths: [2, 2, 2], heads: [1, 2, 2],
      windows: [[3, 3], [3, 3], [4, 4]], embedKernel: [7, 7], embedStride: [4, 4],
      embedPadding: [2, 2],
      mergeKernel: [3, 3], mergeStride: [2, 2], mergePadding: [1, 1], dropPath: 0, classes: 4)
    var o = InflationOptions()
    o.windows = [[2, 3, 3], [4, 3, 3], [8, 4, 4]]
    try assertInvariance(
      c2, options: o, frames: 8, size: 48, expectStages: [[4, 12, 12], [4, 6, 6], [4, 3, 3]])
  }

  /// Swin: patch embedding (2,4,4) and linear merges; shifted windows in time and space, then
  /// windows clamped in time.
  func testStaticClipInvarianceSwin() throws {
    let c2 = try ModelConfig(
      variant: .swin, dims: 2, embedDim: 8, depths: [2, 2, 2], heads: [1, 2, 2],
      windows: [[3, 3], [3, 3], [3, 3]], embedKernel: [4, 4], embedStride: [4, 4],
      embedPadding: [0, 0],
      mergeKernel: [2, 2], mergeStride: [2, 2], mergePadding: [0, 0], dropPath: 0, classes: 4)
    var o = InflationOptions()
    o.windows = [[2, 3, 3], [4, 3, 3], [8, 3, 3]]
    try assertInvariance(
      c2, options: o, frames: 8, size: 48, expectStages: [[4, 12, 12], [4, 6, 6], [4, 3, 3]])
  }

  /// Bicubic table resizing equals PyTorch's `interpolate(mode="bicubic", align_corners=False)`
  /// (committed fixture, tolerance 1e-5 absolute).
  func testBicubicMatchesPyTorch() throws {
    let f = try SafeTensorsFile.read(path: try fixture("bicubic"))
    for k in 0..<4 {
      let w = try f.floats("case\(k).windows").values.map { Int($0) }
      let input = try f.floats("case\(k).input")
      let expected = try f.floats("case\(k).output")
      let got = resizeBiasTable2D(
        values: input.values, heads: input.shape[1], from: (w[0], w[1]), to: (w[2], w[3]))
      XCTAssertEqual(got.count, expected.values.count)
      for (a, b) in zip(got, expected.values) { XCTAssertEqual(a, b, accuracy: 1e-5, "case \(k)") }
    }
  }

  /// A torchvision swin_t-architecture state dict inflated here equals an independent
  /// implementation of the rules whose result loads into torchvision's SwinTransformer3d.
  func testTorchvisionSourceMatchesIndependentInflation() throws {
    var o = InflationOptions()
    o.windows = [[2, 4, 4]]
    o.classes = 7
    let target = dir.appendingPathComponent("swin3d.safetensors").path
    let source = try fixture("swin2d_source")
    let result = try Inflate.run(from: source, to: target, options: o)
    let got = try SafeTensorsFile.read(path: target)
    let expected = try SafeTensorsFile.read(path: try fixture("swin3d_expected"))
    let buffers = got.keys.filter { $0.hasSuffix(".attn.relative_position_index") }
    XCTAssertEqual(
      Set(got.keys.filter { !$0.hasPrefix("head.") }).subtracting(buffers), Set(expected.keys))
    // torchvision's index buffers are written for every block, so the file loads with strict=True.
    XCTAssertEqual(
      Set(buffers),
      Set(
        got.keys.filter { $0.hasSuffix(".attn.qkv.weight") }.map {
          $0.replacingOccurrences(of: "qkv.weight", with: "relative_position_index")
        }))
    for key in expected.keys {
      let e = try expected.floats(key)
      let g = try got.floats(key)
      XCTAssertEqual(g.shape, e.shape, key)
      for (a, b) in zip(g.values, e.values) { XCTAssertEqual(a, b, accuracy: 1e-5, key) }
    }
    XCTAssertEqual(try got.floats("head.weight").shape, [7, 16])
    XCTAssertEqual(result.summary.first { $0.0 == .resizedAndRepeated }?.1, 4)
    // Provenance: the source's file name (never its folder), its checksum and the options.
    let provenance = try XCTUnwrap(got.metadata["provenance"])
    let json = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(provenance.utf8)) as? [String: Any])
    XCTAssertEqual(json["inflated_from"] as? String, "swin2d_source.safetensors")
    XCTAssertFalse(provenance.contains("/"), provenance)
    XCTAssertEqual(json["source_kind"] as? String, "torchvision")
    XCTAssertEqual(json["source_sha256"] as? String, try SHA256.hex(contentsOf: source))
    XCTAssertEqual((json["options"] as? [String: Any])?["temporal_kernel"] as? Int, 2)
  }

  /// Bad sources and options: each an error that names the file and what is wrong.
  func testBadSourcesNameTheProblem() throws {
    let out = dir.appendingPathComponent("out.safetensors").path
    func message(_ from: String, _ o: InflationOptions = InflationOptions()) -> String {
      do {
        _ = try Inflate.run(from: from, to: out, options: o)
        return "no error"
      } catch { return String(describing: error) }
    }
    // A video checkpoint as the source.
    let video = dir.appendingPathComponent("video.safetensors").path
    try VCoSwinModel(config: try ModelConfig.preset("micro", dims: 3, classes: 3)).save(
      to: video, provenance: "t")
    XCTAssertTrue(message(video).contains("video checkpoint"), message(video))
    XCTAssertTrue(message(video).contains(video))
    // Windows the source cannot serve.
    let image = dir.appendingPathComponent("image.safetensors").path
    try VCoSwinModel(config: try ModelConfig.preset("micro", dims: 2, classes: 3)).save(
      to: image, provenance: "t")
    var o = InflationOptions()
    o.windows = [[2, 4]]
    XCTAssertTrue(message(image, o).contains("window [2, 4] for stage 0"), message(image, o))
    o.windows = [[2, 4, 4], [2, 4, 4]]
    XCTAssertTrue(message(image, o).contains("2 windows given for 4 stages"), message(image, o))
    o.windows = [[0, 4, 4]]
    XCTAssertTrue(message(image, o).contains("cannot be served"), message(image, o))
    // A Swin source with an overlapping temporal embedding.
    o = InflationOptions()
    o.temporalStride = 1
    XCTAssertTrue(message(try fixture("swin2d_source"), o).contains("temporal stride must equal"))
    // A source without an expected key, and one whose table has the wrong head count.
    let source = try SafeTensorsFile.read(path: try fixture("swin2d_source"))
    func rewrite(_ name: String, drop: String?, reshape: (String, [Int])?) throws -> String {
      var w = SafeTensorsWriter()
      for key in source.keys where key != drop {
        if source.tensors[key]?.dtype == .i64 {
          let t = try source.int64s(key)
          try w.add(key, shape: t.shape, int64s: t.values)
          continue
        }
        var t = try source.floats(key)
        if let (k, s) = reshape, k == key {
          let v = t.values
          t = (s, (0..<s.reduce(1, *)).map { v[$0 % v.count] })
        }
        try w.add(key, shape: t.shape, floats: t.values)
      }
      let path = dir.appendingPathComponent(name).path
      try w.write(to: path)
      return path
    }
    let missing = try rewrite("missing.safetensors", drop: "features.3.1.norm2.bias", reshape: nil)
    XCTAssertTrue(message(missing).contains("features.3.1.norm2.bias"), message(missing))
    let heads = try rewrite(
      "heads.safetensors", drop: nil,
      reshape: ("features.1.0.attn.relative_position_bias_table", [25, 2]))
    XCTAssertTrue(
      message(heads).contains("attn.relative_position_bias_table' has shape"), message(heads))
    XCTAssertTrue(message(heads).contains("[25, 2]"), message(heads))
    // Not a checkpoint at all.
    let text = dir.appendingPathComponent("notes.safetensors")
    try Data("hello".utf8).write(to: text)
    XCTAssertTrue(message(text.path).contains(text.path), message(text.path))
    XCTAssertFalse(
      FileManager.default.fileExists(atPath: out), "no output after a failed inflation")
  }
}
