import Compute
import Foundation
import NN
import XCTest

@testable import Models

/// A small config of `variant` and rank `dims` with strong drop path (so that some samples'
/// branches are dropped in some blocks).
func dropPathConfig(_ variant: Variant, dims: Int) throws -> ModelConfig {
  var c = try smallCoSwin(dims: dims, classes: 3)
  c.dropPath = 0.5
  if variant == .swin {
    c.variant = .swin
    c.embedKernel = dims == 2 ? [4, 4] : [2, 4, 4]
    c.embedStride = c.embedKernel
    c.embedPadding = dims == 2 ? [0, 0] : [0, 0, 0]
  }
  try c.validate()
  return c
}

/// Activation recompute: the same gradients, the same drop-path draws, less memory.
final class RecomputeTests: XCTestCase {
  struct Step {
    var logits: [Float]
    var grads: [Float]
    var inputGradient: [Float]
    var poolFloats: Int
  }

  /// Two training steps (the second shows that the generators end where they would without
  /// recompute); returns the second's logits and gradients.
  func steps(_ model: VCoSwinModel, _ x: Tensor, _ r: Tensor) throws -> Step {
    var last: Step?
    model.reseedStochasticDepth(100)
    for _ in 0..<2 {
      // Step 1 draws from where step 0 left the generators.
      model.store.zeroGrads()
      let logits = try model.forward(x, training: true).logits.array
      let dx = try XCTUnwrap(model.backward(r, inputGradient: true))
      last = Step(
        logits: logits, grads: model.store.grads.array, inputGradient: dx.array,
        poolFloats: model.buffers.floats)
    }
    return try XCTUnwrap(last)
  }

  func testGradientsAreBitwiseEqualWithRecompute() throws {
    for variant in [Variant.coswin, .swin] {
      for dims in [2, 3] {
        let what = "\(variant) \(dims)D"
        let c = try dropPathConfig(variant, dims: dims)
        let shape = dims == 2 ? [4, 3, 24, 24] : [4, 3, 4, 24, 24]
        let x = randomTensor(shape, seed: 21)
        let r = randomTensor([shape[0], 3], seed: 22)

        let plain = VCoSwinModel(config: c, seed: 5)
        let kept = try steps(plain, x, r)
        let recomputing = VCoSwinModel(config: c, seed: 5)
        recomputing.recomputeActivations = true
        let again = try steps(recomputing, x, r)

        // Drop path really dropped something (the test would be vacuous otherwise).
        let scales = plain.blocks.joined().flatMap { $0.drop1.scale.array + $0.drop2.scale.array }
        XCTAssertTrue(scales.contains(0), "\(what): no branch dropped")
        XCTAssertTrue(kept.grads.contains { $0 != 0 }, what)
        assertBitwiseEqual(kept.logits, again.logits, "\(what): logits")
        assertBitwiseEqual(kept.grads, again.grads, "\(what): parameter gradients")
        assertBitwiseEqual(kept.inputGradient, again.inputGradient, "\(what): input gradient")
        // Every block's intermediates share one workspace: the pool holds less.
        XCTAssertLessThan(again.poolFloats, kept.poolFloats, what)

        // The replay uses the draws of its forward, not the generators' state at backward;
        // and the draws matter (another seed gives other gradients).
        func firstStep(
          _ model: VCoSwinModel, seed: UInt64, reseedBeforeBackward: UInt64?
        ) throws -> [Float] {
          model.reseedStochasticDepth(seed)
          model.store.zeroGrads()
          _ = try model.forward(x, training: true)
          if let s = reseedBeforeBackward { model.reseedStochasticDepth(s) }
          model.backward(r)
          return model.store.grads.array
        }
        let reference = try firstStep(
          VCoSwinModel(config: c, seed: 5), seed: 100, reseedBeforeBackward: nil)
        let replayed = VCoSwinModel(config: c, seed: 5)
        replayed.recomputeActivations = true
        assertBitwiseEqual(
          try firstStep(replayed, seed: 100, reseedBeforeBackward: 7), reference, "\(what): replay")
        XCTAssertNotEqual(
          try firstStep(replayed, seed: 7, reseedBeforeBackward: nil), reference, what)

        // Switching back gives the plain model's buffers and results again.
        recomputing.recomputeActivations = false
        let back = try steps(recomputing, x, r)
        assertBitwiseEqual(kept.grads, back.grads, "\(what): after switching recompute off")
      }
    }
  }

  /// Equal bit for bit; on failure, how many entries differ and by how much at most.
  func assertBitwiseEqual(
    _ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    guard a.count == b.count else {
      return XCTFail("\(what): \(a.count) vs \(b.count) values", file: file, line: line)
    }
    let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }
    guard !differing.isEmpty else { return }
    let worst = differing.map { abs($0 - $1) }.max() ?? 0
    XCTFail(
      "\(what): \(differing.count) of \(a.count) values differ (largest difference \(worst))",
      file: file, line: line)
  }

  func testGradientsFinalHookReportsEveryLayerInOrder() throws {
    let model = VCoSwinModel(config: try dropPathConfig(.coswin, dims: 2), seed: 3)
    model.recomputeActivations = true
    var reports: [Int] = []
    model.onGradientsFinal = { reports.append($0) }
    let x = randomTensor([2, 3, 24, 24], seed: 4)
    _ = try model.forward(x, training: true)
    model.backward(randomTensor([2, 3], seed: 5))
    // Falling offsets from the head's down to the embedding's (0).
    XCTAssertEqual(reports, reports.sorted(by: >))
    XCTAssertEqual(Set(reports).count, reports.count)
    XCTAssertEqual(reports.last, 0)
    XCTAssertEqual(reports.first, model.store["head.weight"]?.offset)
    // One report per layer with parameters: 4 blocks, 1 merge, embedding ×2, norm, head (the
    // pool has none and moves no boundary).
    XCTAssertEqual(reports.count, 9)
  }
}

/// Every layer of the model runs through the `Layer` contract: a timer sees every kind.
final class LayerSequenceTests: XCTestCase {
  func testEveryLayerKindIsTimed() throws {
    let kinds = [
      "InputLayout", "Conv3d", "LayerNorm", "WindowAttention", "Linear", "GELU", "DropPath",
      "MeanPool",
    ]
    for variant in [Variant.coswin, .swin] {
      let model = VCoSwinModel(config: try dropPathConfig(variant, dims: 3), seed: 1)
      let x = randomTensor([2, 3, 4, 24, 24], seed: 2)
      let timer = LayerTimer()
      try LayerTimer.$active.withValue(timer) {
        _ = try model.forward(x, training: true)
        model.backward(randomTensor([2, 3], seed: 3), inputGradient: true)
        _ = try model.forward(x, training: false)
      }
      let seen = Set(timer.seconds.keys)
      for kind in kinds {
        for phase in ["forward", "backward"] {
          XCTAssertTrue(seen.contains(kind + " " + phase), "\(variant) \(kind) \(phase): \(seen)")
        }
      }
      for kind in ["WindowAttention", "MLP", "LayerNorm", "Conv3d", "Linear"] {
        XCTAssertTrue(seen.contains(kind + " inference"), "\(variant) \(kind) inference: \(seen)")
      }
    }
  }
}
