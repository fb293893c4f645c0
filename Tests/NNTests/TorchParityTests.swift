// Layers against PyTorch: fixtures written by Tools/make_layer_fixtures.py (seeded torch,
// Float32; activations stored channels-last). Tolerances: forward 1e-5 abs + 1e-4 rel,
// gradients 1e-4 abs + 1e-4 rel (sums over up to a few hundred products in Float32).

import Compute
import Foundation
import NN
import SafeTensors
import XCTest
import _TestSupport

private func layerFixture(_ name: String) throws -> SafeTensorsFile {
  try SafeTensorsFile.read(
    path: try TestFixture.path(
      name + ".safetensors", in: .module, writtenBy: "Tools/make_layer_fixtures.py"))
}

private func tensor(_ f: SafeTensorsFile, _ key: String) throws -> Tensor {
  let (shape, values) = try f.floats(key)
  return Tensor(shape: shape, values: values)
}

/// Copies fixture tensor `key` into parameter `p`, checking the shape.
private func load(_ f: SafeTensorsFile, _ key: String, into p: Parameter?) throws {
  let t = try tensor(f, key)
  guard let p else { throw MissingFixture(description: "no parameter for fixture tensor \(key)") }
  XCTAssertEqual(t.shape, p.shape, key)
  p.value.copy(from: t)
}

private let forwardTol: (atol: Float, rtol: Float) = (1e-5, 1e-4)
private let gradTol: (atol: Float, rtol: Float) = (1e-4, 1e-4)

/// Loads `params` (fixture key → parameter) from `f`, runs forward on `x` and backward on `dy`,
/// and compares `y`, `dx` and every `d<key>` with PyTorch's.
private func checkParity(
  _ f: SafeTensorsFile, _ label: String, params: [(String, Parameter?)],
  forward: (Tensor) -> Tensor, backward: (Tensor) -> Tensor,
  file: StaticString = #filePath, line: UInt = #line
) throws {
  for (key, p) in params { try load(f, key, into: p) }
  let y = forward(try tensor(f, "x"))
  let yRef = try tensor(f, "y")
  XCTAssertEqual(y.shape, yRef.shape, label, file: file, line: line)
  assertClose(
    y, yRef, atol: forwardTol.atol, rtol: forwardTol.rtol, "\(label) y", file: file, line: line)
  let dx = backward(try tensor(f, "dy"))
  assertClose(
    dx, try tensor(f, "dx"), atol: gradTol.atol, rtol: gradTol.rtol, "\(label) dx", file: file,
    line: line)
  for (key, p) in params {
    guard let p else { continue }
    assertClose(
      p.grad, try tensor(f, "d" + key), atol: gradTol.atol, rtol: gradTol.rtol, "\(label) d\(key)",
      file: file, line: line)
  }
}

final class TorchParityTests: XCTestCase {
  /// A missing fixture or parameter fails the test that needs it; it is never a skip.
  func testMissingFixtureIsAFailureNotASkip() {
    XCTAssertThrowsError(try layerFixture("no_such_fixture")) {
      XCTAssertFalse($0 is XCTSkip, "\($0)")
    }
    let f = try? layerFixture("linear")
    XCTAssertNotNil(f)
    if let f {
      XCTAssertThrowsError(try load(f, f.keys.first ?? "", into: nil)) {
        XCTAssertFalse($0 is XCTSkip, "\($0)")
      }
    }
  }

  func testLinear() throws {
    let f = try layerFixture("linear")
    var rng = SeededRandom(seed: 0)
    let store = ParameterStore()
    let layer = Linear(store: store, name: "fc", inFeatures: 7, outFeatures: 4, rng: &rng)
    try checkParity(
      f, "linear", params: [("weight", layer.weight), ("bias", layer.bias)],
      forward: { layer.forward($0, training: true) }, backward: layer.backward)
  }

  func testLayerNorm() throws {
    let f = try layerFixture("layernorm")
    let store = ParameterStore()
    let ln = LayerNorm(store: store, name: "norm", channels: 24)
    try checkParity(
      f, "layernorm", params: [("weight", ln.weight), ("bias", ln.bias)],
      forward: { ln.forward($0, training: true) }, backward: ln.backward)
  }

  /// GELU to 1e-6: the exact erf form, not the tanh approximation (which differs by ~1e-3).
  func testGELU() throws {
    let f = try layerFixture("gelu")
    let gelu = GELU()
    let y = gelu.forward(try tensor(f, "x"), training: true)
    assertClose(y, try tensor(f, "y"), atol: 1e-6, rtol: 1e-6, "gelu y")
    let dx = gelu.backward(try tensor(f, "dy"))
    assertClose(dx, try tensor(f, "dx"), atol: 1e-6, rtol: 1e-5, "gelu dx")
  }

  func testConv2d() throws {
    let f = try layerFixture("conv2d")
    var rng = SeededRandom(seed: 0)
    let store = ParameterStore()
    let conv = Conv2d(
      store: store, name: "conv", inChannels: 3, outChannels: 4, kernel: (3, 3), stride: (2, 2),
      padding: (1, 1), rng: &rng)
    try checkParity(
      f, "conv2d", params: [("weight", conv.weight), ("bias", conv.bias)],
      forward: { conv.forward($0, training: true) }, backward: conv.backward)
  }

  func testConv3dMerge() throws {
    try conv3d(
      "conv3d_merge", kernel: (3, 3, 3), stride: (1, 2, 2), padding: (1, 1, 1), mode: .zeros, o: 4)
  }

  /// Temporal replicate padding = `F.pad(mode="replicate")` along time, then a convolution.
  func testConv3dReplicateTemporalPadding() throws {
    try conv3d(
      "conv3d_merge_replicate", kernel: (3, 3, 3), stride: (1, 2, 2), padding: (1, 1, 1),
      mode: .replicate, o: 4)
  }

  func testConv3dPatchEmbedding() throws {
    try conv3d(
      "conv3d_patch", kernel: (2, 4, 4), stride: (2, 4, 4), padding: (0, 0, 0), mode: .zeros, o: 5)
  }

  /// Three AdamW steps (lr 0.01, λ 0.05 on the weight, none on the bias) against
  /// `torch.optim.AdamW` with the same two parameter groups; 1e-6 absolute.
  func testAdamW() throws {
    let f = try layerFixture("adamw")
    let store = ParameterStore()
    store.register("w", try tensor(f, "w0"), decay: true)
    store.register("b", try tensor(f, "b0"), decay: false)
    store.finalize()
    let opt = AdamW(store: store, weightDecay: 0.05)
    for i in 0..<3 {
      store["w"]?.grad.copy(from: try tensor(f, "gw\(i)"))
      store["b"]?.grad.copy(from: try tensor(f, "gb\(i)"))
      opt.update(lr: 0.01)
    }
    assertClose(store["w"]!.value, try tensor(f, "w3"), atol: 1e-6, rtol: 0, "adamw weight")
    assertClose(store["b"]!.value, try tensor(f, "b3"), atol: 1e-6, rtol: 0, "adamw bias")
  }

  func testPatchMerging2D() throws { try patchMerging("patch_merging_2d") }

  func testPatchMerging3D() throws { try patchMerging("patch_merging_3d") }

  private func conv3d(
    _ name: String, kernel: (Int, Int, Int), stride: (Int, Int, Int), padding: (Int, Int, Int),
    mode: TemporalPadding, o: Int
  ) throws {
    let f = try layerFixture(name)
    var rng = SeededRandom(seed: 0)
    let store = ParameterStore()
    let conv = Conv3d(
      store: store, name: "conv", inChannels: 3, outChannels: o, kernel: kernel, stride: stride,
      padding: padding, temporalPadding: mode, rng: &rng)
    try checkParity(
      f, name, params: [("weight", conv.weight), ("bias", conv.bias)],
      forward: { conv.forward($0, training: true) }, backward: conv.backward)
  }

  private func patchMerging(_ name: String) throws {
    let f = try layerFixture(name)
    var rng = SeededRandom(seed: 0)
    let store = ParameterStore()
    let merge = PatchMerging(store: store, name: "m", channels: 4, rng: &rng)
    try checkParity(
      f, name,
      params: ["reduction.weight", "norm.weight", "norm.bias"].map { ($0, store["m." + $0]) },
      forward: { merge.forward($0, training: true) }, backward: merge.backward)
  }
}
