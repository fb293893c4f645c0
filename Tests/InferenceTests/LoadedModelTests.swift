import Compute
import Datasets
import Distributed
import Foundation
import Models
import XCTest

@testable import Inference

/// The loading rules, the views and chunks of a forward, the stride in frames, the `top` list
/// and the sharded evaluation of one process.
final class LoadedModelTests: XCTestCase {
  static let defaultModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Clips/default-model.safetensors").path

  /// round(seconds · fps) clamped to 1…maxFrames, as a Double first; no frame rate: nil.
  func testStrideFramesRoundsClampsAndRefusesUnknownRates() {
    XCTAssertEqual(InferenceLimits.strideFrames(seconds: 1, fps: 25), 25)
    XCTAssertEqual(InferenceLimits.strideFrames(seconds: 0.5, fps: 29.97), 15)
    XCTAssertEqual(InferenceLimits.strideFrames(seconds: 0.001, fps: 25), 1)
    XCTAssertEqual(
      InferenceLimits.strideFrames(seconds: InferenceLimits.maxSeconds, fps: 1e300),
      InferenceLimits.maxFrames)
    XCTAssertEqual(
      InferenceLimits.strideFrames(seconds: 1, fps: .infinity), InferenceLimits.maxFrames)
    XCTAssertNil(InferenceLimits.strideFrames(seconds: 1, fps: 0))
    XCTAssertNil(InferenceLimits.strideFrames(seconds: 1, fps: -25))
    XCTAssertNil(InferenceLimits.strideFrames(seconds: 1, fps: .nan))
  }

  /// Most probable first, the lower index first among equals, labels by index.
  func testTopListOrdersByProbabilityThenIndex() throws {
    let list = topList([0.1, 0.4, 0.1, 0.4], 3, labels: ["a", "b", "c", "d"])
    XCTAssertEqual(list.map { $0["label"] as? String }, ["b", "d", "a"])
    XCTAssertEqual(list.map { $0["index"] as? Int }, [1, 3, 0])
    XCTAssertEqual(try XCTUnwrap(list[0]["prob"] as? Double), Double(Float(0.4)))
    XCTAssertEqual(topList([0.5, 0.5], 5, labels: ["x", "y"]).count, 2)
  }

  /// The explicit path wins, then `$VCOSWIN_MODEL` (when not empty), then the shipped model.
  func testCheckpointPathOrder() throws {
    XCTAssertEqual(try LoadedModel.checkpointPath("a", environment: ["VCOSWIN_MODEL": "b"]), "a")
    XCTAssertEqual(try LoadedModel.checkpointPath(nil, environment: ["VCOSWIN_MODEL": "b"]), "b")
    let shipped = try LoadedModel.checkpointPath(nil, environment: ["VCOSWIN_MODEL": ""])
    XCTAssertTrue(shipped.hasSuffix("Clips/default-model.safetensors"), shipped)
  }

  /// The recipe is what the checkpoint records, with each value the request gives overriding
  /// it; the views are the request's; a full protocol the file does not record is an error.
  func testRecipeFromTheCheckpointWithOverrides() throws {
    let recorded = try LoadedModel.load(ModelRequest(checkpoint: Self.defaultModel))
    XCTAssertEqual(recorded.recipe.kind, .video)
    XCTAssertEqual(
      [recorded.recipe.clipLength, recorded.recipe.frameInterval, recorded.recipe.size],
      [8, 2, 32])
    XCTAssertEqual(recorded.views, Views(clips: 1, crops: 1))
    XCTAssertEqual(recorded.precision, .fp32)
    XCTAssertTrue(recorded.summary.hasPrefix(Self.defaultModel + " (video model, "))
    let loaded = try LoadedModel.load(
      ModelRequest(
        checkpoint: Self.defaultModel, frameInterval: 3, size: 40,
        views: Views(clips: 2, crops: 3), batch: 4))
    XCTAssertEqual(
      [loaded.recipe.clipLength, loaded.recipe.frameInterval, loaded.recipe.size], [8, 3, 40])
    XCTAssertEqual(loaded.views.count, 6)
    XCTAssertEqual(loaded.batch, 4)
    XCTAssertThrowsError(
      try LoadedModel.load(ModelRequest(checkpoint: Self.defaultModel, fullProtocol: true))
    ) { error in
      XCTAssertTrue("\(error)".contains("records no full test protocol"), "\(error)")
      XCTAssertTrue("\(error)".contains(Self.defaultModel), "\(error)")
    }
  }

  /// `viewMeans` in chunks that cut across samples equals per-entry forwards averaged by hand:
  /// features and logits (`averagedFeaturesAndLogits`) and softmax (`averagedProbabilities`).
  func testViewMeansEqualPerEntryForwards() throws {
    let config = try ModelConfig.preset("nano", dims: 3, classes: 5)
    let model = VCoSwinModel(config: config)
    let (samples, views) = (2, 3)
    // x [S·V, 3, T, H, W]
    let shape = [samples * views, 3, 4, 16, 16]
    var rng = SeededRandom(seed: 7)
    let x = Tensor(
      shape: shape, values: (0..<shape.reduce(1, *)).map { _ in rng.uniform() - 0.5 })
    let (f, k) = (config.featureDim, config.classes)
    // Expected rows [S, F + K] and [S, K] from one forward per entry.
    var rows = [Float](repeating: 0, count: samples * (f + k))
    var probs = [Float](repeating: 0, count: samples * k)
    let per = x.count / x.shape[0]
    for e in 0..<x.shape[0] {
      let one = Tensor(viewOf: x, offset: e * per, shape: [1] + shape.dropFirst())
      let out = try model.forward(one, training: false)
      let s = e / views
      for i in 0..<f { rows[s * (f + k) + i] += out.features.pointer[i] / Float(views) }
      let logits = (0..<k).map { out.logits.pointer[$0] }
      for i in 0..<k { rows[s * (f + k) + f + i] += logits[i] / Float(views) }
      let m = logits.max() ?? 0
      let exps = logits.map { Foundation.exp($0 - m) }
      let sum = exps.reduce(0, +)
      for i in 0..<k { probs[s * k + i] += exps[i] / sum / Float(views) }
    }
    let both = try model.averagedFeaturesAndLogits(x, views: views, batch: 4)
    XCTAssertEqual(both.shape, [samples, f + k])
    for (a, b) in zip(both.array, rows) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    let p = try model.averagedProbabilities(x, views: views, batch: 4)
    XCTAssertEqual(p.shape, [samples, k])
    for (a, b) in zip(p.array, probs) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    XCTAssertThrowsError(try model.averagedProbabilities(x, views: 4, batch: 4))
  }

  /// On one process the sharded evaluation is `evaluate`, bit for bit.
  func testShardedEvaluationOfOneProcessIsEvaluate() throws {
    let loaded = try LoadedModel.load(ModelRequest(checkpoint: Self.defaultModel, batch: 8))
    // The first 24 entries of the shipped validation list, with absolute paths.
    let clips = URL(fileURLWithPath: Self.defaultModel).deletingLastPathComponent()
    let lines = try String(contentsOf: clips.appendingPathComponent("val.txt"), encoding: .utf8)
      .split(separator: "\n").prefix(24).map { clips.path + "/" + $0 }
    let list = NSTemporaryDirectory() + "sharded-\(UUID().uuidString).txt"
    try lines.joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: list) }
    let dataset = try ListDataset(
      listPath: list, labels: loaded.info.labels, options: loaded.recipe)
    let sharded = try XCTUnwrap(
      try ShardedEvaluation(model: loaded.model, dataset: dataset, batchSize: 8).run(
        on: Communicator(single: 5)))
    let direct = try evaluate(model: loaded.model, dataset: dataset, batchSize: 8)
    XCTAssertEqual(sharded.count, dataset.count)
    XCTAssertEqual(sharded.top1, direct.top1)
    XCTAssertEqual(sharded.top5, direct.top5)
    XCTAssertEqual(sharded.probabilities, direct.probabilities)
    XCTAssertEqual(sharded.count, 24)
    XCTAssertGreaterThan(sharded.top1, 0.5)
  }
}
