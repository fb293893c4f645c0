import Compute
import Foundation
import SafeTensors
import XCTest
import _TestSupport

@testable import Models

/// A small CoSwin config (conv embedding and merging) of either rank.
func smallCoSwin(dims: Int, classes: Int = 3) throws -> ModelConfig {
  try ModelConfig(
    variant: .coswin, dims: dims, embedDim: 8, depths: [2, 2], heads: [1, 2],
    windows: dims == 2 ? [[3, 3], [3, 3]] : [[2, 3, 3], [2, 3, 3]],
    embedKernel: dims == 2 ? [7, 7] : [3, 7, 7], embedStride: dims == 2 ? [4, 4] : [2, 4, 4],
    embedPadding: dims == 2 ? [2, 2] : [1, 2, 2], mergeKernel: dims == 2 ? [3, 3] : [3, 3, 3],
    mergeStride: dims == 2 ? [2, 2] : [1, 2, 2], mergePadding: dims == 2 ? [1, 1] : [1, 1, 1],
    mlpRatio: 2, dropPath: 0, classes: classes)
}

func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
  var rng = SeededRandom(seed: seed)
  let t = Tensor(zeros: shape)
  for i in 0..<t.count { t.pointer[i] = rng.normal() * scale }
  return t
}

final class ModelTests: XCTestCase {
  func testParametersAreTheSpecs() throws {
    for config in [
      try ModelConfig.preset("micro", dims: 2), try ModelConfig.preset("micro", dims: 3),
      try ModelConfig.preset("swin-micro", dims: 2), try ModelConfig.preset("swin-micro", dims: 3),
    ] {
      let model = VCoSwinModel(config: config, seed: 1)
      var have: [String: [Int]] = [:]
      for p in model.store.parameters { have[p.name] = p.shape }
      var want: [String: [Int]] = [:]
      for s in config.parameterSpecs { want[s.name] = s.shape }
      XCTAssertEqual(have, want, "\(config.variant) \(config.dims)D")
      XCTAssertEqual(model.store.count, config.parameterCount)
    }
  }

  func testMicroPresetsRunOnDemoSizes() throws {
    for dims in [2, 3] {
      let model = VCoSwinModel(
        config: try ModelConfig.preset("micro", dims: dims, classes: 5), seed: 2)
      let shape = dims == 2 ? [2, 3, 64, 64] : [2, 3, 8, 64, 64]
      XCTAssertEqual(
        try model.stageSizes(input: Array(shape[2...])).last, dims == 2 ? [2, 2] : [4, 2, 2])
      let out = try model.forward(randomTensor(shape, seed: 3), training: false)
      XCTAssertEqual(out.logits.shape, [2, 5])
      XCTAssertEqual(out.features.shape, [2, 256])
      XCTAssertTrue(out.logits.array.allSatisfy(\.isFinite))
      XCTAssertNotEqual(out.logits[flat: 0], out.logits[flat: 5])  // two inputs, two answers
    }
  }

  func testBadInputsAreErrors() throws {
    let model = VCoSwinModel(config: try smallCoSwin(dims: 3), seed: 1)
    for shape in [[1, 3, 24, 24], [1, 4, 4, 24, 24], [1, 3, 4, 2, 2]] {
      XCTAssertThrowsError(try model.forward(Tensor(zeros: shape), training: false)) { error in
        XCTAssertTrue(error is ModelInputError, "\(error)")
        XCTAssertTrue("\(error)".contains("\(shape)"), "\(error)")
      }
    }
  }

  func testSaveLoadRoundTripGivesSameLogits() throws {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    let config = try smallCoSwin(dims: 3)
    let a = VCoSwinModel(config: config, seed: 5)
    let path = folder.path("m.safetensors")
    try a.save(to: path, labels: ["x", "y", "z"], provenance: "test")
    let (b, info) = try VCoSwinModel.load(path: path)
    XCTAssertEqual(info.labels, ["x", "y", "z"])
    XCTAssertEqual(info.config, config)
    XCTAssertEqual(info.kind, "video")
    let x = randomTensor([2, 3, 8, 24, 24], seed: 6)
    XCTAssertEqual(
      try a.forward(x, training: false).logits.array, try b.forward(x, training: false).logits.array
    )
    // A different model's weights are different numbers, so the comparison above can fail.
    let c = VCoSwinModel(config: config, seed: 7)
    XCTAssertNotEqual(
      try a.forward(x, training: false).logits.array, try c.forward(x, training: false).logits.array
    )
    // Loading a checkpoint of another architecture names a key and both shapes.
    let other = VCoSwinModel(config: try smallCoSwin(dims: 3, classes: 4))
    XCTAssertThrowsError(try other.load(try SafeTensorsFile.read(path: path))) { error in
      XCTAssertEqual(
        (error as? CheckpointError)?.kind,
        .shapeMismatch(key: "head.weight", expected: [4, 16], found: [3, 16]))
    }
  }

  func testAveragedProbabilitiesOverViews() throws {
    let model = VCoSwinModel(config: try smallCoSwin(dims: 2), seed: 8)
    let x = randomTensor([4, 3, 24, 24], seed: 9)
    let avg = try model.averagedProbabilities(x, views: 2, batch: 3)
    XCTAssertEqual(avg.shape, [2, 3])
    let logits = try model.forward(x, training: false).logits.array
    for s in 0..<2 {
      var expected = [Double](repeating: 0, count: 3)
      for v in 0..<2 {
        let row = (0..<3).map { Double(logits[(2 * s + v) * 3 + $0]) }
        let m = row.max() ?? 0
        let e = row.map { Foundation.exp($0 - m) }
        let z = e.reduce(0, +)
        for k in 0..<3 { expected[k] += e[k] / z / 2 }
      }
      for k in 0..<3 { XCTAssertEqual(Double(avg[flat: s * 3 + k]), expected[k], accuracy: 1e-6) }
    }
    XCTAssertThrowsError(try model.averagedProbabilities(x, views: 3))
  }

  /// Finite differences of `L = Σ logits · R` through the whole CoSwin model (conv embedding,
  /// conv merging with temporal replicate padding, shifted 3D windows), for sampled entries of
  /// every kind of parameter and of the input.
  func testCoSwinGradientsMatchFiniteDifferences() throws {
    for dims in [2, 3] {
      let config = try smallCoSwin(dims: dims)
      let model = VCoSwinModel(config: config, seed: 11)
      // Larger-than-init weights so that every path carries signal.
      var rng = SeededRandom(seed: 12)
      for p in model.store.parameters where p.name.hasSuffix("bias_table") {
        for i in 0..<p.count { p.value.pointer[i] = rng.normal() * 0.5 }
      }
      let shape = dims == 2 ? [2, 3, 24, 24] : [1, 3, 8, 24, 24]
      let x = randomTensor(shape, seed: 13)
      let r = randomTensor([shape[0], 3], seed: 14)
      func loss() throws -> Double {
        let l = try model.forward(x, training: false).logits
        return (0..<l.count).reduce(0.0) { $0 + Double(l[flat: $1]) * Double(r[flat: $1]) }
      }
      model.store.zeroGrads()
      _ = try model.forward(x, training: true)
      guard let dx = model.backward(r, inputGradient: true) else {
        return XCTFail("no input gradient")
      }
      let dxCopy = dx.clone()
      var checked = 0
      let eps: Float = 1e-2
      func probe(_ value: UnsafeMutablePointer<Float>, _ analytic: Float, _ what: String) throws {
        let saved = value.pointee
        value.pointee = saved + eps
        let up = try loss()
        value.pointee = saved - eps
        let down = try loss()
        value.pointee = saved
        let numeric = (up - down) / Double(2 * eps)
        XCTAssertEqual(
          Double(analytic), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "\(dims)D \(what)")
        checked += 1
      }
      let names = [
        config.embedConvName + ".weight", config.embedConvName + ".bias",
        config.embedNormName + ".weight",
        config.blockName(stage: 0, block: 1) + ".attn.relative_position_bias_table",
        config.blockName(stage: 0, block: 1) + ".attn.qkv.weight",
        config.blockName(stage: 1, block: 0) + ".mlp.0.weight",
        config.mergeName(after: 0) + ".conv.weight", config.mergeName(after: 0) + ".norm.bias",
        "norm.weight", "head.bias",
      ]
      for name in names {
        guard let p = model.store[name] else { return XCTFail("no \(name)") }
        for k in 0..<3 {
          let i = (k * 7919 + 13) % p.count
          try probe(p.value.pointer + i, p.grad[flat: i], "\(name)[\(i)]")
        }
      }
      for k in 0..<4 {
        let i = (k * 104_729 + 5) % x.count
        try probe(x.pointer + i, dxCopy[flat: i], "input[\(i)]")
      }
      XCTAssertEqual(checked, names.count * 3 + 4)
    }
  }

  /// Florence's inflation invariant, on the model: a 3D CoSwin whose convolutions are the 2D
  /// ones divided by Kt along time and whose bias tables are the 2D tables repeated 2Wt − 1
  /// times gives, on a static clip, the 2D model's features and logits on that image.
  func testInflatedModelMatchesImageModelOnStaticClip() throws {
    let c2 = try smallCoSwin(dims: 2)
    let c3 = try smallCoSwin(dims: 3)
    let m2 = VCoSwinModel(config: c2, seed: 21)
    var rng = SeededRandom(seed: 22)
    for p in m2.store.parameters {
      // Non-trivial norms, biases and tables so that each must be inflated right.
      if p.name.hasSuffix("bias_table") || p.name.hasSuffix(".bias") || p.name.contains("norm") {
        for i in 0..<p.count { p.value.pointer[i] += rng.normal() * 0.3 }
      }
    }
    let m3 = VCoSwinModel(config: c3, seed: 23)
    let specs2 = c2.parameterSpecs
    let specs3 = c3.parameterSpecs
    XCTAssertEqual(specs2.count, specs3.count)
    for (s2, s3) in zip(specs2, specs3) {
      guard let p2 = m2.store[s2.name], let p3 = m3.store[s3.name] else { return XCTFail(s2.name) }
      if s2.shape.count == 4 {  // conv [O, I, kh, kw] → [O, I, Kt, kh, kw], each slice / Kt
        let kt = s3.shape[2]
        let plane = s2.shape[2] * s2.shape[3]
        for oi in 0..<(s2.shape[0] * s2.shape[1]) {
          for t in 0..<kt {
            for q in 0..<plane {
              p3.value.pointer[(oi * kt + t) * plane + q] =
                p2.value.pointer[oi * plane + q] / Float(kt)
            }
          }
        }
      } else if s2.name.hasSuffix("bias_table") {  // [R, A] → [(2Wt − 1)·R, A]
        let reps = s3.shape[0] / s2.shape[0]
        for r in 0..<reps {
          (p3.value.pointer + r * p2.count).update(from: p2.value.pointer, count: p2.count)
        }
      } else {
        XCTAssertEqual(s2.shape, s3.shape, s2.name)
        p3.value.copy(from: p2.value)
      }
    }
    let image = randomTensor([1, 3, 24, 24], seed: 24)
    let clip = Tensor(zeros: [1, 3, 8, 24, 24])
    for c in 0..<3 {
      for t in 0..<8 {
        (clip.pointer + (c * 8 + t) * 576).update(from: image.pointer + c * 576, count: 576)
      }
    }
    // Stage sizes: 2D 6×6 → 3×3; 3D 4×6×6 → 4×3×3 (time shifted by 1 in the odd blocks).
    XCTAssertEqual(try m3.stageSizes(input: [8, 24, 24]), [[4, 6, 6], [4, 3, 3]])
    let o2 = try m2.forward(image, training: false)
    let f2 = o2.features.array
    let l2 = o2.logits.array
    let o3 = try m3.forward(clip, training: false)
    XCTAssertLessThan(relativeError(o3.features.pointer, f2), 1e-5)
    XCTAssertLessThan(relativeError(o3.logits.pointer, l2), 1e-5)
  }
}
