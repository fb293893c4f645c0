// The parts a model is built from describe themselves truthfully: the token grid and channels
// each embedding and merge reports are those its layers produce; a model built from parts
// passed in is the model its config names; the parameter list read from a shape-only build
// holds no values and is the list a real build registers.

import Compute
import NN
import XCTest

@testable import Models

final class ModelPartsTests: XCTestCase {
  private func configs() throws -> [ModelConfig] {
    [
      try ModelConfig.preset("micro", dims: 2), try ModelConfig.preset("micro", dims: 3),
      try ModelConfig.preset("swin-micro", dims: 2), try ModelConfig.preset("swin-micro", dims: 3),
      try smallCoSwin(dims: 2), try smallCoSwin(dims: 3),
    ]
  }

  /// Each part's layer, run on a channels-last grid, has the grid and channels the part reports.
  func testPartsReportWhatTheirLayersMake() throws {
    for config in try configs() {
      let parts = config.parts
      let grids: [[Int]] =
        config.dims == 2 ? [[33, 47], [16, 16]] : [[5, 33, 47], [8, 16, 16]]
      for grid in grids {
        let store = ParameterStore()
        var rng = SeededRandom(seed: 4)
        let embedded = parts.embedding.makeLayers(
          store: store, names: ("embed.conv", "embed.norm"), rng: &rng)
        // The input layout pads to `inputMultiple` before the embedding.
        let padded = zip(grid, parts.embedding.inputMultiple ?? grid.map { _ in 1 }).map {
          ($0 + $1 - 1) / $1 * $1
        }
        var x = randomTensor([2] + padded + [config.inChannels], seed: 5)
        for (_, layer) in embedded { x = layer.forward(x, training: false) }
        var want = try parts.embedding.tokenGrid(padded)
        XCTAssertEqual(x.shape, [2] + want + [parts.embedding.channels], "\(config.variant)")
        var c = parts.embedding.channels
        let merge = parts.merge.makeLayer(store: store, name: "merge", channels: c, rng: &rng)
        let y = merge.forward(x, training: false)
        want = try parts.merge.tokenGrid(want)
        c = parts.merge.outputChannels(c)
        XCTAssertEqual(y.shape, [2] + want + [c], "\(config.variant) \(config.dims)D merge")
        // The merge's matrix product: its weight's input size.
        let weight = store.parameters.first { $0.name.hasPrefix("merge") && $0.shape.count > 1 }
        XCTAssertEqual(
          weight.map { $0.shape.dropFirst().reduce(1, *) },
          parts.merge.fanIn(channels: parts.embedding.channels))
        XCTAssertEqual(store.parameters[0].shape.dropFirst().reduce(1, *), parts.embedding.fanIn)
      }
    }
  }

  /// Parts passed in explicitly build the model the config names, weight for weight and logit
  /// for logit.
  func testInjectedPartsBuildTheNamedModel() throws {
    for config in [try smallCoSwin(dims: 3), try ModelConfig.preset("swin-micro", dims: 3)] {
      let eps = Float(config.layerNormEps)
      let parts =
        config.variant == .coswin
        ? ModelParts(
          embedding: ConvEmbedding(
            inChannels: 3, channels: config.embedDim, kernel: config.embedKernel,
            stride: config.embedStride, padding: config.embedPadding, eps: eps),
          merge: ConvMerge(
            kernel: config.mergeKernel, stride: config.mergeStride, padding: config.mergePadding,
            eps: eps),
          windows: .exact)
        : ModelParts(
          embedding: PatchEmbedding(
            inChannels: 3, channels: config.embedDim, patch: config.embedKernel,
            stride: config.embedStride, padding: config.embedPadding, padsInput: true, eps: eps),
          merge: LinearMerge(), windows: .torchvision)
      let named = VCoSwinModel(config: config, seed: 6)
      let injected = VCoSwinModel(config: config, parts: parts, seed: 6)
      XCTAssertEqual(named.store.values.array, injected.store.values.array)
      let x = randomTensor([1, 3, 6, 35, 29], seed: 7)
      XCTAssertEqual(
        try named.stageSizes(input: [6, 35, 29]), try injected.stageSizes(input: [6, 35, 29]))
      let a = try named.forward(x, training: false).logits.array
      let b = try injected.forward(x, training: false).logits.array
      XCTAssertEqual(a, b, "\(config.variant)")
    }
  }

  /// A shape-only build registers the names and shapes of a real build, and holds no values.
  func testShapeOnlyBuildListsTheRealParameters() throws {
    for config in try configs() {
      let shapes = ParameterStore(shapesOnly: true)
      var rng = SeededRandom(seed: 0)
      _ = LayerGraph(config: config, parts: config.parts, store: shapes, rng: &rng)
      XCTAssertTrue(shapes.parameters.allSatisfy { $0.value.count == 0 && $0.grad.count == 0 })
      let model = VCoSwinModel(config: config, seed: 1)
      XCTAssertEqual(shapes.parameters.map(\.name), model.store.parameters.map(\.name))
      XCTAssertEqual(shapes.parameters.map(\.shape), model.store.parameters.map(\.shape))
      XCTAssertEqual(shapes.count, model.store.count)
    }
    // The largest preset lists its parameters without allocating them.
    let base = try ModelConfig.preset("swin3d_b")
    XCTAssertGreaterThan(base.parameterCount, 80_000_000)
  }
}
