// Layers against PyTorch: fixtures written by Tools/make_layer_fixtures.py (seeded torch,
// Float32; activations stored channels-last). Tolerances: forward 1e-5 abs + 1e-4 rel,
// gradients 1e-4 abs + 1e-4 rel (sums over up to a few hundred products in Float32).

import Compute
import Foundation
import NN
import SafeTensors
import XCTest

private func layerFixture(_ name: String) throws -> SafeTensorsFile {
  guard let url = Bundle.module.url(forResource: "Fixtures/" + name, withExtension: "safetensors")
  else { throw XCTSkip("fixture \(name) missing from the test bundle") }
  return try SafeTensorsFile.read(path: url.path)
}

private func tensor(_ f: SafeTensorsFile, _ key: String) throws -> Tensor {
  let (shape, values) = try f.floats(key)
  return Tensor(shape: shape, values: values)
}

/// Copies fixture tensor `key` into parameter `p`, checking the shape.
private func load(_ f: SafeTensorsFile, _ key: String, into p: Parameter?) throws {
  let t = try tensor(f, key)
  guard let p else { throw XCTSkip("no parameter for \(key)") }
  XCTAssertEqual(t.shape, p.shape, key)
  p.value.copy(from: t)
}

private let forwardTol: (atol: Float, rtol: Float) = (1e-5, 1e-4)
private let gradTol: (atol: Float, rtol: Float) = (1e-4, 1e-4)

final class TorchParityTests: XCTestCase {
  func testLinear() throws {
    let f = try layerFixture("linear")
    var rng = SeededRandom(seed: 0)
    let store = ParameterStore()
    let layer = Linear(store: store, name: "fc", inFeatures: 7, outFeatures: 4, rng: &rng)
    try load(f, "weight", into: layer.weight)
    try load(f, "bias", into: layer.bias)
    let y = layer.forward(try tensor(f, "x"), training: true)
    assertClose(y, try tensor(f, "y"), atol: forwardTol.atol, rtol: forwardTol.rtol, "linear y")
    let dx = layer.backward(try tensor(f, "dy"))
    assertClose(dx, try tensor(f, "dx"), atol: gradTol.atol, rtol: gradTol.rtol, "linear dx")
    assertClose(layer.weight.grad, try tensor(f, "dweight"), atol: gradTol.atol, rtol: gradTol.rtol, "linear dW")
    assertClose(store["fc.bias"]!.grad, try tensor(f, "dbias"), atol: gradTol.atol, rtol: gradTol.rtol, "linear db")
  }

  func testLayerNorm() throws {
    let f = try layerFixture("layernorm")
    let store = ParameterStore()
    let ln = LayerNorm(store: store, name: "norm", channels: 24)
    try load(f, "weight", into: ln.weight)
    try load(f, "bias", into: ln.bias)
    let y = ln.forward(try tensor(f, "x"), training: true)
    assertClose(y, try tensor(f, "y"), atol: forwardTol.atol, rtol: forwardTol.rtol, "layernorm y")
    let dx = ln.backward(try tensor(f, "dy"))
    assertClose(dx, try tensor(f, "dx"), atol: gradTol.atol, rtol: gradTol.rtol, "layernorm dx")
    assertClose(ln.weight.grad, try tensor(f, "dweight"), atol: gradTol.atol, rtol: gradTol.rtol, "layernorm dW")
    assertClose(ln.bias.grad, try tensor(f, "dbias"), atol: gradTol.atol, rtol: gradTol.rtol, "layernorm db")
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
    let conv = Conv2d(store: store, name: "conv", inChannels: 3, outChannels: 4, kernel: (3, 3), stride: (2, 2), padding: (1, 1), rng: &rng)
    try checkConv(f, store: store, forward: { conv.forward($0, training: true) }, backward: conv.backward, label: "conv2d")
  }

  func testConv3dMerge() throws {
    try conv3d("conv3d_merge", kernel: (3, 3, 3), stride: (1, 2, 2), padding: (1, 1, 1), mode: .zeros, o: 4)
  }

  /// Temporal replicate padding = `F.pad(mode="replicate")` along time, then a convolution.
  func testConv3dReplicateTemporalPadding() throws {
    try conv3d("conv3d_merge_replicate", kernel: (3, 3, 3), stride: (1, 2, 2), padding: (1, 1, 1), mode: .replicate, o: 4)
  }

  func testConv3dPatchEmbedding() throws {
    try conv3d("conv3d_patch", kernel: (2, 4, 4), stride: (2, 4, 4), padding: (0, 0, 0), mode: .zeros, o: 5)
  }

  func testPatchMerging2D() throws { try patchMerging("patch_merging_2d", channels: 4) }

  func testPatchMerging3D() throws { try patchMerging("patch_merging_3d", channels: 4) }

  private func conv3d(
    _ name: String, kernel: (Int, Int, Int), stride: (Int, Int, Int), padding: (Int, Int, Int),
    mode: TemporalPadding, o: Int
  ) throws {
    let f = try layerFixture(name)
    var rng = SeededRandom(seed: 0)
    let store = ParameterStore()
    let conv = Conv3d(store: store, name: "conv", inChannels: 3, outChannels: o, kernel: kernel, stride: stride, padding: padding, temporalPadding: mode, rng: &rng)
    try checkConv(f, store: store, forward: { conv.forward($0, training: true) }, backward: conv.backward, label: name)
  }

  private func checkConv(
    _ f: SafeTensorsFile, store: ParameterStore, forward: (Tensor) -> Tensor,
    backward: (Tensor) -> Tensor, label: String
  ) throws {
    try load(f, "weight", into: store["conv.weight"])
    try load(f, "bias", into: store["conv.bias"])
    let y = forward(try tensor(f, "x"))
    let yRef = try tensor(f, "y")
    XCTAssertEqual(y.shape, yRef.shape, label)
    assertClose(y, yRef, atol: forwardTol.atol, rtol: forwardTol.rtol, "\(label) y")
    let dx = backward(try tensor(f, "dy"))
    assertClose(dx, try tensor(f, "dx"), atol: gradTol.atol, rtol: gradTol.rtol, "\(label) dx")
    assertClose(store["conv.weight"]!.grad, try tensor(f, "dweight"), atol: gradTol.atol, rtol: gradTol.rtol, "\(label) dW")
    assertClose(store["conv.bias"]!.grad, try tensor(f, "dbias"), atol: gradTol.atol, rtol: gradTol.rtol, "\(label) db")
  }

  private func patchMerging(_ name: String, channels: Int) throws {
    let f = try layerFixture(name)
    var rng = SeededRandom(seed: 0)
    let store = ParameterStore()
    let merge = PatchMerging(store: store, name: "m", channels: channels, rng: &rng)
    for key in ["reduction.weight", "norm.weight", "norm.bias"] {
      try load(f, key, into: store["m." + key])
    }
    let y = merge.forward(try tensor(f, "x"), training: true)
    let yRef = try tensor(f, "y")
    XCTAssertEqual(y.shape, yRef.shape, name)
    assertClose(y, yRef, atol: forwardTol.atol, rtol: forwardTol.rtol, "\(name) y")
    let dx = merge.backward(try tensor(f, "dy"))
    assertClose(dx, try tensor(f, "dx"), atol: gradTol.atol, rtol: gradTol.rtol, "\(name) dx")
    for key in ["reduction.weight", "norm.weight", "norm.bias"] {
      assertClose(store["m." + key]!.grad, try tensor(f, "d" + key), atol: gradTol.atol, rtol: gradTol.rtol, "\(name) d\(key)")
    }
  }
}
