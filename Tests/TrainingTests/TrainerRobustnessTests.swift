import Compute
import Foundation
import Inference
import Models
import SafeTensors
import XCTest
import _TestSupport

@testable import Datasets
@testable import Training

/// Accumulation, non-finite gradients, resume checks, the best/last pair, temporaries and
/// write errors; on the tiny rendered dataset of `TrainerTests`.
extension TrainerTests {
  struct Killed: Error {}

  /// A list file in the data folder (entries relative to it).
  func writeList(_ name: String, _ lines: [String]) throws {
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(
      to: Self.data.appendingPathComponent(name))
  }

  func trainLines() throws -> [String] {
    try String(contentsOf: Self.data.appendingPathComponent("images_train.txt"), encoding: .utf8)
      .split(separator: "\n").map(String.init)
  }

  /// The gradients each optimizer step sees, with a learning rate of 0 (weights never move,
  /// so every batch's gradient is the same in both runs).
  func stepGradients(trainList: String, accumulate: Int, maxBad: Double = 0.2) throws -> [[Float]] {
    let t = try trainer(
      epochs: 1, out: work.appendingPathComponent("acc\(accumulate)-\(trainList)"),
      trainList: trainList, maxBad: maxBad)
    var o = t.options
    o.lr = 0
    o.minLR = 0
    o.clipNorm = 0
    o.accumulate = accumulate
    let u = try Trainer(
      model: t.model, labels: t.labels, provenance: "test", train: t.train, val: t.val, options: o,
      out: t.out, title: "test")
    u.showProgress = false
    u.log = { _ in }
    var grads: [[Float]] = []
    u.beforeStep = { grads.append($0.grads.array) }
    try u.run(resume: false)
    return grads
  }

  /// A shorter last group is the mean of its own batches; a group whose last batch is
  /// entirely unreadable still steps, on the batches it has.
  func testAccumulationGroupsAreMeansOfTheirBatches() throws {
    // 12 entries, batches of 4: groups of 2 batches are [1, 2] and [3].
    let single = try stepGradients(trainList: "images_train.txt", accumulate: 1)
    let pairs = try stepGradients(trainList: "images_train.txt", accumulate: 2)
    XCTAssertEqual(single.count, 3)
    XCTAssertEqual(pairs.count, 2)
    assertClose(
      pairs[0], zip(single[0], single[1]).map { ($0 + $1) / 2 }, atol: 0, rtol: 1e-4, floor: 1e-3,
      "group 1")
    assertClose(
      pairs[1], single[2], atol: 0, rtol: 1e-4, floor: 1e-3, "the last, shorter group")

    // 16 entries whose last batch of epoch 1 is unreadable: group 2 is batch 3 alone.
    let order = seededPermutation(16, seed: 5 &+ 1 &* 7919)
    let lines = try trainLines()
    let list = (0..<16).map { i in
      (order.firstIndex(of: i) ?? 0) >= 12 ? "missing\(i).png 0" : lines[i % lines.count]
    }
    try writeList("last-batch-missing.txt", list)
    let single16 = try stepGradients(
      trainList: "last-batch-missing.txt", accumulate: 1, maxBad: 0.3)
    let pairs16 = try stepGradients(trainList: "last-batch-missing.txt", accumulate: 2, maxBad: 0.3)
    XCTAssertEqual(single16.count, 3)
    XCTAssertEqual(pairs16.count, 2, "the group whose last batch is empty must step")
    if pairs16.count == 2 {
      assertClose(
        pairs16[1], single16[2], atol: 0, rtol: 1e-4, floor: 1e-3,
        "group of batch 3 and the empty batch 4")
    }
  }

  /// A NaN gradient skips its step with a warning; weights stay finite; when every step of
  /// an epoch is skipped the run stops.
  func testNonFiniteGradientNormSkipsTheStep() throws {
    let t = try trainer(epochs: 1, out: work.appendingPathComponent("nan"))
    var messages: [String] = []
    t.log = { messages.append($0) }
    var calls = 0
    t.beforeStep = { store in
      calls += 1
      if calls == 1 { store.grads[flat: 0] = .nan }
    }
    let history = try t.run(resume: false)
    XCTAssertEqual(t.skippedSteps, 1)
    XCTAssertTrue(
      messages.contains { $0.hasPrefix("warning:") && $0.contains("step is skipped") },
      "\(messages)")
    XCTAssertTrue(history[0].trainLoss.isFinite)
    XCTAssertTrue(t.model.store.values.array.allSatisfy(\.isFinite))

    let all = try trainer(epochs: 1, out: work.appendingPathComponent("all-nan"))
    let before = all.model.store.values.array
    all.beforeStep = { $0.grads[flat: 3] = .infinity }
    XCTAssertThrowsError(try all.run(resume: false)) { error in
      XCTAssertTrue("\(error)".contains("NaN or infinite gradient"), "\(error)")
    }
    XCTAssertEqual(all.model.store.values.array, before)
  }

  /// `--resume` with another epoch count is refused, naming both counts and the file.
  func testResumeWithOtherEpochsIsRefused() throws {
    let out = work.appendingPathComponent("epochs")
    try trainer(epochs: 1, out: out).run(resume: false)
    XCTAssertThrowsError(try trainer(epochs: 3, out: out).run(resume: true)) { error in
      XCTAssertEqual(
        "\(error)".components(separatedBy: ":").first,
        "--epochs 3 ≠ 1 recorded in \(out.appendingPathComponent("last.safetensors").path)")
    }
  }

  /// `--resume` with another seed, batch size or data option is refused, naming each field
  /// and both values (this run's first).
  func testResumeMismatchNamesFieldsAndValues() throws {
    let out = work.appendingPathComponent("mismatch")
    try trainer(epochs: 1, out: out).run(resume: true)
    let t = try trainer(epochs: 1, out: out)
    var o = t.options
    o.seed = 6
    o.batchSize = 3
    var data = t.train.options
    data.size = 16
    let train = try ListDataset(listPath: t.train.list.path, labels: t.labels, options: data)
    let u = try Trainer(
      model: t.model, labels: t.labels, provenance: "test", train: train, val: t.val, options: o,
      out: out, title: "test")
    u.showProgress = false
    u.log = { _ in }
    XCTAssertThrowsError(try u.run(resume: true)) { error in
      XCTAssertEqual(
        "\(error)",
        "\(out.appendingPathComponent("last.safetensors").path): this run's options differ from the recorded ones (this run ≠ recorded): seed 6 ≠ 5, batch size 3 ≠ 4, size 16 ≠ 32; resume with the recorded ones, or start a new --out"
      )
    }
    // The model config: the field and both values.
    var config = try tinyConfig()
    config.mlpRatio = 2
    let v = try Trainer(
      model: VCoSwinModel(config: config, seed: 1), labels: t.labels, provenance: "test",
      train: t.train, val: t.val,
      options: t.options, out: out, title: "test")
    v.showProgress = false
    v.log = { _ in }
    XCTAssertThrowsError(try v.run(resume: true)) { error in
      XCTAssertTrue(
        "\(error)".contains(
          "this run's model config differs from the recorded one (this run ≠ recorded): mlp ratio 2 ≠ 4;"
        ), "\(error)")
    }
  }

  /// The metrics of an epoch hold the training top-1 and clips per second.
  func testMetricsHoldTrainingAccuracyAndSpeed() throws {
    let out = work.appendingPathComponent("metrics")
    let history = try trainer(epochs: 1, out: out).run(resume: false)
    let m = try XCTUnwrap(history.first)
    XCTAssertTrue((0...1).contains(try XCTUnwrap(m.trainTop1)))
    XCTAssertGreaterThan(try XCTUnwrap(m.clipsPerSecond), 0)
    let line = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    XCTAssertTrue(line.contains("\"train_top1\":") && line.contains("\"clips_per_second\":"), line)
    // Files of earlier versions, without them, still read.
    let old = try JSONDecoder().decode(
      EpochMetrics.self,
      from: Data(
        #"{"epoch":1,"lr":0.001,"seconds":2,"skipped":0,"train_loss":1.5,"val_top1":0.5,"val_top5":1}"#
          .utf8))
    XCTAssertNil(old.trainTop1)
  }

  /// `epochs_done` and `best_epoch` of a run's checkpoint.
  func trainingState(_ url: URL) throws -> RunState {
    try XCTUnwrap(try RunState.recorded(in: try SafeTensorsFile.read(path: url.path)))
  }

  /// A run state that does not decode is an error naming the file, the metadata key and the
  /// field (resuming from it stops); a file without one has none; `epochsDone(of:)`, a probe of
  /// `best.safetensors`, reads either as nil.
  func testCorruptRunStateNamesFileAndKey() throws {
    let path = work.appendingPathComponent("corrupt-last.safetensors").path
    func file(_ training: String?) -> SafeTensorsFile {
      SafeTensorsFile(path: path, metadata: training.map { ["training": $0] } ?? [:], tensors: [:])
    }
    XCTAssertNil(try RunState.recorded(in: file(nil)))
    for (text, reason) in [
      (#"{"step": 3}"#, "no 'history'"), ("{not json", "not valid JSON"),
      (#"{"step": "three"}"#, "'step' has the wrong type"),
    ] {
      XCTAssertThrowsError(try RunState.recorded(in: file(text)), text) {
        XCTAssertEqual("\($0)", "\(path): __metadata__ 'training': unreadable: \(reason)")
      }
    }
    var writer = SafeTensorsWriter(metadata: ["training": #"{"step": 3}"#])
    try writer.add("w", shape: [1], floats: [0])
    try writer.write(to: path)
    XCTAssertNil(RunFolder.epochsDone(of: path))
  }

  /// `best` holds the epoch `last` records as best, and scores the best recorded top-1.
  func assertBestMatchesLast(_ out: URL, file: StaticString = #filePath, line: UInt = #line) throws
  {
    let last = try trainingState(out.appendingPathComponent("last.safetensors"))
    let best = try trainingState(out.appendingPathComponent("best.safetensors"))
    XCTAssertEqual(best.epochsDone, last.bestEpoch, file: file, line: line)
    XCTAssertEqual(last.bestTop1, last.history.map(\.valTop1).max(), file: file, line: line)
    let (model, _) = try VCoSwinModel.load(
      path: out.appendingPathComponent("best.safetensors").path)
    let (_, val, _) = try datasets()
    let r = try evaluate(model: model, dataset: val, batchSize: 4)
    XCTAssertEqual(r.top1, last.bestTop1, file: file, line: line)
    let names = try FileManager.default.contentsOfDirectory(atPath: out.path)
    XCTAssertEqual(names.filter { $0.hasPrefix(".") }, [], file: file, line: line)
  }

  /// A kill between the `best` and `last` writes of an epoch (simulated by putting back the
  /// previous `last`), or a lost `best`, is repaired by `--resume`.
  func testBestAndLastStayConsistentAcrossKills() throws {
    let out = work.appendingPathComponent("pair")
    let killAfter = { (n: Int) in
      { (epoch: Int) throws -> Void in if epoch == n { throw Killed() } }
    }
    let first = try trainer(epochs: 2, out: out)
    first.afterEpoch = killAfter(1)
    XCTAssertThrowsError(try first.run(resume: false))
    XCTAssertEqual(try trainingState(out.appendingPathComponent("last.safetensors")).bestEpoch, 1)
    let lastAfter1 = try Data(contentsOf: out.appendingPathComponent("last.safetensors"))

    // best.safetensors lost after epoch 1: rewritten from last on resume.
    try FileManager.default.removeItem(at: out.appendingPathComponent("best.safetensors"))
    let second = try trainer(epochs: 2, out: out)
    var messages: [String] = []
    second.log = { messages.append($0) }
    second.afterEpoch = killAfter(2)
    XCTAssertThrowsError(try second.run(resume: true))
    XCTAssertTrue(
      messages.contains { $0.contains("best.safetensors is missing") && $0.contains("rewritten") },
      "\(messages)")
    try assertBestMatchesLast(out)

    // Killed after writing epoch 2's best but before its last: last is back at epoch 1.
    try lastAfter1.write(to: out.appendingPathComponent("last.safetensors"))
    try trainer(epochs: 2, out: out).run(resume: true)
    try assertBestMatchesLast(out)
  }

  /// Temporaries of killed writes (ours and Foundation's) are removed when a run starts;
  /// other files, and temporaries of a live process, stay.
  func testStaleTemporariesAreRemoved() throws {
    let out = work.appendingPathComponent("temps")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let stale = [
      ".last.safetensors.tmp-2147483600-12345", ".metrics.jsonl.tmp-2147483601-7",
      ".dat.nosync7FFFFFF0.a1B2c3",
    ]
    let kept = [
      ".last.safetensors.tmp-\(getpid())-99", "notes.tmp-1-2", ".hidden", "x.safetensors",
    ]
    for name in stale + kept { try Data("x".utf8).write(to: out.appendingPathComponent(name)) }
    try trainer(epochs: 1, out: out).run(resume: false)
    let names = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
    for name in stale { XCTAssertFalse(names.contains(name), name) }
    for name in kept { XCTAssertTrue(names.contains(name), name) }
    XCTAssertEqual(
      names.filter { AtomicFile.temporaryOwner($0).isTemporary },
      [".last.safetensors.tmp-\(getpid())-99"])
  }

  /// A metrics file that cannot be written is one line naming it.
  func testMetricsWriteErrorIsOneLine() throws {
    let out = work.appendingPathComponent("unwritable")
    try FileManager.default.createDirectory(
      at: out.appendingPathComponent("metrics.jsonl"), withIntermediateDirectories: true)
    XCTAssertThrowsError(try trainer(epochs: 1, out: out).run(resume: false)) { error in
      let text = "\(error)"
      XCTAssertTrue(text.hasPrefix(out.appendingPathComponent("metrics.jsonl").path + ": "), text)
      XCTAssertFalse(text.contains("\n"), text)
      XCTAssertLessThan(text.count, 300, text)
    }
  }

  /// A validation list that cannot be read is an error naming it, before any checkpoint.
  func testUnreadableValidationStopsTheRun() throws {
    try writeList("val-missing.txt", ["gone0.png 0", "gone1.png 1", "gone2.png 2"])
    let (train, _, labels) = try datasets()
    let val = try ListDataset(
      listPath: Self.data.appendingPathComponent("val-missing.txt").path, labels: labels,
      options: train.options)
    let t = try trainer(epochs: 1, out: work.appendingPathComponent("noval"))
    let u = try Trainer(
      model: t.model, labels: labels, provenance: "test", train: train, val: val,
      options: t.options, out: t.out, title: "test")
    u.showProgress = false
    u.log = { _ in }
    XCTAssertThrowsError(try u.run(resume: false)) { error in
      XCTAssertTrue(
        "\(error)".hasPrefix(val.list.path + ": 3 of 3 validation entries could not be read"),
        "\(error)")
    }
    for name in ["last.safetensors", "best.safetensors", "metrics.jsonl"] {
      XCTAssertFalse(
        FileManager.default.fileExists(atPath: t.out.appendingPathComponent(name).path), name)
    }
  }

  /// A failing epoch stops its loader's threads.
  func testFailedEpochEndsItsLoaderThreads() throws {
    let list = try String(
      contentsOf: Self.data.appendingPathComponent("images_train.txt"), encoding: .utf8)
    try Data((list + "missing-a.png 1\nmissing-b.png 2\n").utf8).write(
      to: Self.data.appendingPathComponent("two-bad.txt"))
    let t = try trainer(
      epochs: 1, out: work.appendingPathComponent("fail"), trainList: "two-bad.txt", maxBad: 0.01)
    XCTAssertThrowsError(try t.run(resume: false))
    XCTAssertEqual(liveLoaderWorkers.value, 0)
  }
}
