import Compute
import Datasets
import Foundation
import Models
import SafeTensors
import Synth
import XCTest
import _TestSupport

@testable import Training

/// The training loop on a tiny rendered dataset: outputs, exact resume, bad entries.
final class TrainerTests: TemporaryFolderTestCase {
  nonisolated(unsafe) static var data: URL!  // set once in class setUp, before any test

  override class func setUp() {
    super.setUp()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "trainer-\(UUID().uuidString)")
    var synth = SynthDataset()
    synth.trainCount = 12
    synth.valCount = 6
    synth.frames = 4
    synth.size = 32
    synth.seed = 3
    do { try synth.render(to: dir) } catch { XCTFail("synth: \(error)") }
    data = dir
  }

  override class func tearDown() {
    if let data { try? FileManager.default.removeItem(at: data) }
    super.tearDown()
  }

  var work: URL { folder }

  /// A small image model on 32×32 inputs: stages of 8×8 and 4×4 tokens.
  func tinyConfig() throws -> ModelConfig {
    try ModelConfig(
      variant: .coswin, dims: 2, embedDim: 8, depths: [1, 2], heads: [1, 2],
      windows: [[4, 4], [2, 2]],
      embedKernel: [7, 7], embedStride: [4, 4], embedPadding: [2, 2], mergeKernel: [3, 3],
      mergeStride: [2, 2],
      mergePadding: [1, 1], dropPath: 0.2, classes: 6)
  }

  func datasets(trainList: String = "images_train.txt") throws -> (
    ListDataset, ListDataset, [String]
  ) {
    let labels = try String(
      contentsOf: Self.data.appendingPathComponent("shape_labels.txt"), encoding: .utf8
    )
    .split(separator: "\n").map(String.init)
    let options = DataOptions(kind: .image, size: 32)
    let train = try ListDataset(
      listPath: Self.data.appendingPathComponent(trainList).path, labels: labels, options: options)
    let val = try ListDataset(
      listPath: Self.data.appendingPathComponent("images_val.txt").path, labels: labels,
      options: options)
    return (train, val, labels)
  }

  func trainer(epochs: Int, out: URL, trainList: String = "images_train.txt", maxBad: Double = 0.2)
    throws -> Trainer
  {
    let (train, val, labels) = try datasets(trainList: trainList)
    var o = TrainOptions()
    o.epochs = epochs
    o.batchSize = 4
    o.accumulate = 2
    o.seed = 5
    o.workers = 2
    o.maxBadFraction = maxBad
    let model = VCoSwinModel(config: try tinyConfig(), seed: 1)
    let t = try Trainer(
      model: model, labels: labels, provenance: "test", train: train, val: val, options: o,
      out: out, title: "test")
    t.showProgress = false
    t.log = { _ in }
    return t
  }

  /// A run killed after epoch 1 (its files written) and resumed reaches the same weights as an
  /// uninterrupted run.
  func testResumeIsExact() throws {
    let full = work.appendingPathComponent("full")
    let history = try trainer(epochs: 3, out: full).run(resume: false)
    XCTAssertEqual(history.map(\.epoch), [1, 2, 3])
    XCTAssertTrue(history.allSatisfy { $0.trainLoss.isFinite && (0...1).contains($0.valTop1) })

    let part = work.appendingPathComponent("part")
    let killed = try trainer(epochs: 3, out: part)
    killed.afterEpoch = { if $0 == 1 { throw Killed() } }
    XCTAssertThrowsError(try killed.run(resume: false))
    let resumed = try trainer(epochs: 3, out: part).run(resume: true)
    XCTAssertEqual(resumed.map(\.epoch), [1, 2, 3])
    XCTAssertEqual(resumed.map(\.trainLoss), history.map(\.trainLoss))

    let a = try SafeTensorsFile.read(path: full.appendingPathComponent("last.safetensors").path)
    let b = try SafeTensorsFile.read(path: part.appendingPathComponent("last.safetensors").path)
    XCTAssertEqual(a.keys, b.keys)
    for key in a.keys { XCTAssertEqual(try a.floats(key).values, try b.floats(key).values, key) }
    XCTAssertTrue(a.keys.contains("optimizer.m"))

    // Outputs: metrics.jsonl with one line per epoch, curves, and checkpoints that load strictly.
    let lines = try MetricsLog.read(full.appendingPathComponent("metrics.jsonl"))
    XCTAssertEqual(lines, history)
    let svg = try String(contentsOf: full.appendingPathComponent("curves.svg"), encoding: .utf8)
    // Loss; val top-1, val top-5 and train top-1.
    XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 4)
    let (best, info) = try VCoSwinModel.load(
      path: full.appendingPathComponent("best.safetensors").path)
    XCTAssertEqual(best.config, try tinyConfig())
    XCTAssertEqual(info.labels.count, 6)
    XCTAssertNotNil(
      try DataOptions.recorded(
        in: try SafeTensorsFile.read(path: full.appendingPathComponent("best.safetensors").path)))
  }

  /// Unreadable entries and malformed lines are skipped and reported; too many stop the run.
  func testBadEntriesAreSkippedThenFatal() throws {
    let list = try String(
      contentsOf: Self.data.appendingPathComponent("images_train.txt"), encoding: .utf8)
    try Data("corrupt".utf8).write(to: Self.data.appendingPathComponent("broken.png"))
    // Line 15 has no label (a label that is not a class is an error, not a skipped line).
    let bad = list + "missing.png 1\nbroken.png 2\nno-label.png\n"
    try Data(bad.utf8).write(to: Self.data.appendingPathComponent("bad.txt"))
    var messages: [String] = []
    let t = try trainer(
      epochs: 1, out: work.appendingPathComponent("bad"), trainList: "bad.txt", maxBad: 0.3)
    t.log = { messages.append($0) }
    let history = try t.run(resume: false)
    XCTAssertEqual(history.count, 1)
    let warnings = messages.filter { $0.hasPrefix("warning:") }
    XCTAssertEqual(warnings.count, 3, "\(messages)")
    XCTAssertTrue(
      warnings.contains { $0.contains("bad.txt:13:") && $0.contains("missing.png") }, "\(warnings)")
    XCTAssertTrue(
      warnings.contains { $0.contains("bad.txt:14:") && $0.contains("broken.png") }, "\(warnings)")
    XCTAssertTrue(warnings.contains { $0.contains("bad.txt:15:") }, "\(warnings)")

    let strict = try trainer(
      epochs: 1, out: work.appendingPathComponent("strict"), trainList: "bad.txt", maxBad: 0.1)
    XCTAssertThrowsError(try strict.run(resume: false)) { error in
      XCTAssertTrue(String(describing: error).contains("could not be read"), "\(error)")
    }
  }
}
