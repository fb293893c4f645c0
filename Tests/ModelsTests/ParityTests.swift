import Compute
import Foundation
import SafeTensors
import XCTest

@testable import Models

/// The largest |a − b| over the largest |b|: a relative error on the tensor's own scale.
func relativeError(_ a: UnsafePointer<Float>, _ b: [Float]) -> Float {
  var diff: Float = 0
  var scale: Float = 0
  for i in 0..<b.count {
    diff = max(diff, abs(a[i] - b[i]))
    scale = max(scale, abs(b[i]))
  }
  return scale > 0 ? diff / scale : diff
}

/// Forward and backward of torchvision-architecture models against PyTorch (float64 reference),
/// on the committed fixtures of `Tools/make_model_fixtures.py`.
final class ParityTests: XCTestCase {
  /// logits: max |diff| / max |logit|; gradients: per tensor, max |diff| / max |reference|.
  let logitTolerance: Float = 2e-5
  let gradientTolerance: Float = 2e-4

  func check(_ name: String) throws {
    let weights = try SafeTensorsFile.read(path: try fixturePath(name + "_weights"))
    let io = try SafeTensorsFile.read(path: try fixturePath(name + "_io"))
    let config = try TorchvisionImport.inferConfig(weights)
    let model = VCoSwinModel(config: config, seed: 9)
    try model.load(weights)
    let input = try io.floats("input")
    let x = Tensor(shape: input.shape, values: input.values)
    let expected = try io.floats("logits")

    // Inference and training forwards agree with PyTorch.
    let inference = try model.forward(x, training: false).logits
    XCTAssertEqual(inference.shape, expected.shape)
    let eInf = relativeError(inference.pointer, expected.values)
    XCTAssertLessThan(eInf, logitTolerance, "\(name) inference logits")
    let out = try model.forward(x, training: true)
    let eTrain = relativeError(out.logits.pointer, expected.values)
    XCTAssertLessThan(eTrain, logitTolerance, "\(name) training logits")
    XCTAssertEqual(out.features.shape, [x.shape[0], config.featureDim])

    // Backward from the fixture's upstream gradient.
    model.store.zeroGrads()
    let d = try io.floats("dlogits")
    guard let dx = model.backward(Tensor(shape: d.shape, values: d.values), inputGradient: true)
    else {
      return XCTFail("no input gradient")
    }
    let gin = try io.floats("grad.input")
    XCTAssertEqual(dx.shape, gin.shape)
    var worst: (String, Float) = ("grad.input", relativeError(dx.pointer, gin.values))
    for p in model.store.parameters {
      let ref = try io.floats("grad." + p.name)
      XCTAssertEqual(ref.shape, p.shape, p.name)
      let e = relativeError(p.grad.pointer, ref.values)
      XCTAssertLessThan(e, gradientTolerance, "\(name) grad of \(p.name)")
      if e > worst.1 { worst = (p.name, e) }
    }
    XCTAssertLessThan(
      relativeError(dx.pointer, gin.values), gradientTolerance, "\(name) input gradient")
    print(
      "\(name): logits rel err \(eInf) (inference) \(eTrain) (training); worst gradient \(worst.0) \(worst.1)"
    )
  }

  func testSwin2DMatchesTorchvision() throws { try check("swin2d") }
  func testSwin3DMatchesTorchvision() throws { try check("swin3d") }
}
