import Compute
import Datasets
import Foundation
import Inference
import VideoIO
@testable import Models
import SafeTensors
import XCTest
import _TestSupport

@testable import VCoSwinCLI

/// `init`, `import` and `features`, run as whole commands.
final class ModelCommandsTests: TemporaryFolderTestCase {
  func run(_ arguments: [String]) throws {
    var command = try VCoSwin.parseAsRoot(arguments)
    try command.run()
  }

  func writeInput(_ shape: [Int], to path: String) throws -> Tensor {
    var rng = SeededRandom(seed: 4)
    let values = (0..<shape.reduce(1, *)).map { _ in rng.normal() }
    var w = SafeTensorsWriter()
    try w.add("input", shape: shape, floats: values)
    try w.write(to: path)
    return Tensor(shape: shape, values: values)
  }

  func testInitThenFeatures() throws {
    let ckpt = path("m.safetensors")
    try "a\nb\nc\n".write(toFile: path("abc.txt"), atomically: true, encoding: .utf8)
    try run([
      "init", "--preset", "micro", "--classes", "3", "--dims", "2", "--out", ckpt, "--seed", "5",
      "--labels", path("abc.txt"),
    ])
    let (model, info) = try VCoSwinModel.load(path: ckpt)
    XCTAssertEqual(info.labels, ["a", "b", "c"])
    XCTAssertEqual(info.kind, "image")
    XCTAssertEqual(info.config, try ModelConfig.preset("micro", dims: 2, classes: 3))
    let x = try writeInput([3, 3, 64, 64], to: path("in.safetensors"))
    try run([
      "features", "--input", path("in.safetensors"), "--checkpoint", ckpt, "--output",
      path("out.safetensors"),
      "--batch", "2", "--threads", "1",
    ])
    let out = try SafeTensorsFile.read(path: path("out.safetensors"))
    let direct = try model.forward(x, training: false)
    XCTAssertEqual(try out.floats("features").shape, [3, 256])
    XCTAssertEqual(try out.floats("logits").shape, [3, 3])
    let logits = try out.floats("logits").values
    for i in 0..<logits.count {
      XCTAssertEqual(logits[i], direct.logits[flat: i], accuracy: 1e-5 * max(1, abs(logits[i])))
    }
    XCTAssertEqual(out.metadata["labels"], "[\"a\",\"b\",\"c\"]")
  }

  /// `init --config` builds the architecture a JSON file describes (the `config` a checkpoint
  /// stores), with the head of `--classes`; a bad file is an error naming it and the field.
  func testInitFromAConfigFile() throws {
    var config = try ModelConfig.preset("nano", dims: 3, classes: 5)
    config.depths = [2, 1, 1]
    config.embedKernel = [3, 7, 7]
    config.embedPadding = [1, 2, 2]
    let json = path("config.json")
    try config.jsonString().write(toFile: json, atomically: true, encoding: .utf8)
    let ckpt = path("c.safetensors")
    try run(["init", "--config", json, "--classes", "8", "--out", ckpt])
    let (_, info) = try VCoSwinModel.load(path: ckpt)
    config.classes = 8
    XCTAssertEqual(info.config, config)
    try #"{"variant": "coswin", "dims": 5}"#.write(toFile: json, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try run(["init", "--config", json, "--classes", "8", "--out", ckpt])) {
      error in
      XCTAssertTrue("\(error)".hasPrefix(json + ": "), "\(error)")
    }
    XCTAssertThrowsError(
      try run(["init", "--config", json, "--preset", "nano", "--classes", "8", "--out", ckpt])
    ) { error in
      XCTAssertTrue("\(error)".contains("one of --preset and --config"), "\(error)")
    }
  }

  /// Videos: one row per file, the mean over its clips × crops of what the model gives on the
  /// views `classify` would cut.
  func testFeaturesOfVideos() throws {
    let clips = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Clips/val")
    let videos = ["0000.mkv", "0001.mkv"].map { clips.appendingPathComponent($0).path }
    let ckpt = path("v.safetensors")
    try run(["init", "--preset", "micro", "--classes", "4", "--dims", "3", "--out", ckpt])
    let out = path("f.safetensors")
    try run(
      ["features"] + videos + [
        "--checkpoint", ckpt, "--clips", "2", "--clip-len", "8", "--interval", "2", "--size", "64",
        "--output", out, "--threads", "1",
      ])
    let file = try SafeTensorsFile.read(path: out)
    XCTAssertEqual(try file.floats("features").shape, [2, 256])
    let logits = try file.floats("logits")
    XCTAssertEqual(logits.shape, [2, 4])
    let (model, _) = try VCoSwinModel.load(path: ckpt)
    var options = DataOptions(kind: .video)
    options.clipLength = 8
    options.frameInterval = 2
    options.size = 64
    for (v, video) in videos.enumerated() {
      let values = try ListDataset.views(
        reader: try VideoReader(path: video), options: options, clips: 2, crops: 1)
      let x = stack([values], shape: options.sampleShape)
      XCTAssertEqual(x.shape, [2, 3, 8, 64, 64])
      let l = try model.forward(x, training: false).logits
      for j in 0..<4 {
        let mean = (l[flat: j] + l[flat: 4 + j]) / 2
        XCTAssertEqual(
          logits.values[v * 4 + j], mean, accuracy: 1e-4 * max(1, abs(mean)), "\(video) class \(j)")
      }
    }
    XCTAssertThrowsError(
      try run([
        "features", path("v.safetensors"), "--checkpoint", ckpt, "--output",
        path("g.safetensors"),
      ])
    ) {
      error in XCTAssertTrue("\(error)".contains("v.safetensors"), "\(error)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("g.safetensors")))
    XCTAssertThrowsError(
      try VCoSwin.parseAsRoot(["features", "--output", out, "--checkpoint", ckpt]))
  }

  func testFeaturesRejectsBadInputs() throws {
    let ckpt = path("v.safetensors")
    try run(["init", "--preset", "micro", "--classes", "2", "--dims", "3", "--out", ckpt])
    _ = try writeInput([1, 3, 64, 64], to: path("img.safetensors"))
    XCTAssertThrowsError(
      try run([
        "features", "--input", path("img.safetensors"), "--checkpoint", ckpt, "--output",
        path("o.safetensors"),
      ])
    ) { error in
      let text = "\(error)"
      XCTAssertTrue(
        text.contains("img.safetensors") && text.contains("[1, 3, 64, 64]")
          && text.contains("video"), text)
    }
    XCTAssertThrowsError(
      try run([
        "features", "--input", path("img.safetensors"), "--checkpoint",
        path("none.safetensors"), "--output", path("o.safetensors"),
      ])
    ) { error in
      XCTAssertTrue("\(error)".contains("none.safetensors"), "\(error)")
    }
    XCTAssertThrowsError(
      try run(["init", "--preset", "gigantic", "--classes", "2", "--out", ckpt])
    ) { error in
      XCTAssertTrue("\(error)".contains("gigantic"), "\(error)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.safetensors")))
  }

  /// A Swin model's parameters are torchvision's state dict; importing reads the config back.
  func testImportReadsTheArchitectureFromShapes() throws {
    let config = try ModelConfig.preset("swin-micro", dims: 3, classes: 6)
    let model = VCoSwinModel(config: config, seed: 3)
    var w = SafeTensorsWriter()
    for p in model.store.parameters { try w.add(p.name, shape: p.shape, floats: p.value.array) }
    let tv = path("tv.safetensors")
    // Without the index buffers torchvision saves, the last stage's window (4,2,2) is ambiguous.
    try w.write(to: tv)
    XCTAssertThrowsError(try run(["import", "--from", tv, "--out", path("c.safetensors")])) {
      error in
      XCTAssertTrue(
        "\(error)".contains("features.6.0.attn.relative_position_bias_table"), "\(error)")
    }
    for i in 0..<config.stages {
      for j in 0..<config.depths[i] {
        let n = config.windows[i].reduce(1, *)
        try w.add(
          config.blockName(stage: i, block: j) + ".attn.relative_position_index", shape: [n, n],
          int64s: Checkpoint.relativePositionIndexValues(window: config.windows[i]))
      }
    }
    try w.write(to: tv)
    let labels = path("labels.txt")
    try "a\nb\nc\nd\ne\nf\n".write(toFile: labels, atomically: true, encoding: .utf8)
    try run(["import", "--from", tv, "--out", path("c.safetensors"), "--labels", labels])
    let (imported, info) = try VCoSwinModel.load(path: path("c.safetensors"))
    XCTAssertEqual(info.config.windows, config.windows)
    XCTAssertEqual(info.config.depths, config.depths)
    XCTAssertEqual(info.config.heads, config.heads)
    XCTAssertEqual(info.labels, ["a", "b", "c", "d", "e", "f"])
    XCTAssertEqual(imported.store.values.array, model.store.values.array)
  }

  /// The shipped Kinetics-400 names, in torchvision's order.
  func testKineticsLabels() throws {
    let names = try readLabels("kinetics400")
    XCTAssertEqual(names.count, 400)
    XCTAssertEqual(names.first, "abseiling")
    XCTAssertEqual(names.last, "zumba")
    XCTAssertEqual(Set(names).count, 400)
  }

  /// From a `.pth` (official Video Swin layout) to labelled predictions: `import --labels`,
  /// then `classify --json`, and `classify` on the `.pth` directly gives the same probabilities.
  func testImportPthThenClassify() throws {
    let pth = packageRoot.appendingPathComponent(
      "Tests/ModelsTests/Fixtures/foreign/videoswin_bf16.pth"
    ).path
    let labels = path("labels.txt")
    try "alpha\nbeta\ngamma\ndelta\nepsilon\n".write(
      toFile: labels, atomically: true, encoding: .utf8)
    let ckpt = path("imported.safetensors")
    try run(["import", "--from", pth, "--out", ckpt, "--labels", labels])
    let file = try SafeTensorsFile.read(path: ckpt)
    XCTAssertNotNil(file.metadata[Checkpoint.recipeKey])
    XCTAssertTrue(file.metadata["provenance"]?.contains("source_sha256") ?? false)
    let clip = clips("val/0003.mkv")
    let small = ["--size", "32", "--clip-len", "8", "--threads", "1"]
    let viaImport = try runVCoSwin(
      ["classify", clip, "--checkpoint", ckpt, "--json"] + small, bundleOf: Self.self)
    XCTAssertEqual(viaImport.status, 0, viaImport.stderr)
    XCTAssertTrue(
      viaImport.stdout.contains("\"label\":\"alpha\"")
        || viaImport.stdout.contains("\"label\":\"beta\""), viaImport.stdout)
    let direct = try runVCoSwin(
      ["classify", clip, "--checkpoint", pth, "--json"] + small, bundleOf: Self.self)
    XCTAssertEqual(direct.status, 0, direct.stderr)
    let probs = { (s: String) in
      s.components(separatedBy: "\"prob\":").dropFirst().map {
        $0.prefix(while: { $0 != "," && $0 != "}" })
      }
    }
    XCTAssertEqual(probs(direct.stdout), probs(viaImport.stdout))
    XCTAssertTrue(direct.stdout.contains("class_"), direct.stdout)
  }

  /// A checkpoint given where a video goes is refused with a pointer to --checkpoint, and the
  /// checkpoint in use is named on stderr.
  func testCheckpointAsVideoAndCheckpointInUse() throws {
    let model = clips("default-model.safetensors")
    let clip = clips("val/0003.mkv")
    let wrong = try runVCoSwin(["classify", model, clip], bundleOf: Self.self)
    XCTAssertEqual(wrong.status, 1)
    XCTAssertTrue(
      wrong.stderr.contains("this is a model checkpoint, not a video; give it with --checkpoint"),
      wrong.stderr)
    let right = try runVCoSwin(
      ["classify", clip, "--checkpoint", model, "--threads", "1"], bundleOf: Self.self)
    XCTAssertEqual(right.status, 0, right.stderr)
    XCTAssertTrue(
      right.stderr.hasPrefix("checkpoint: \(model) (video model, 8 classes; labels "), right.stderr)
  }

  /// `inflate` and `finetune --init` take `.pth` files directly: an official Swin 2D release is
  /// inflated, and an official Video Swin file gets a fresh head for other classes.
  func testInflateAndFinetuneInitTakePth() throws {
    let fixtures = packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/foreign")
    let out = path("inflated.safetensors")
    try run([
      "inflate", "--from", fixtures.appendingPathComponent("swin2d_fp16.pth").path, "--to", out,
      "--classes", "3",
    ])
    let (inflated, info) = try VCoSwinModel.load(path: out)
    XCTAssertEqual(info.config.dims, 3)
    XCTAssertEqual(inflated.config.classes, 3)
    XCTAssertTrue(info.provenance.contains("\"source_kind\":\"swin\""), info.provenance)
    let (model, note) = try loadWithHead(
      path: fixtures.appendingPathComponent("videoswin_bf16.pth").path, classes: 3, seed: 1)
    XCTAssertEqual(model.config.classes, 3)
    XCTAssertTrue(note?.contains("a fresh head with 3 classes") ?? false, note ?? "no note")
    let reference = try VCoSwinModel.load(
      path: fixtures.appendingPathComponent("swin3d_bf16.safetensors").path
    ).model
    let embed = try XCTUnwrap(model.store.parameters.first { $0.name == "patch_embed.proj.weight" })
    let expected = try XCTUnwrap(
      reference.store.parameters.first { $0.name == "patch_embed.proj.weight" })
    XCTAssertEqual(embed.value.array, expected.value.array)
  }

  /// `sample` refuses sizes that cannot fit, before decoding anything.
  func testSampleBounds() throws {
    let clip = clips("val/0003.mkv")
    for (option, value) in [
      ("--size", "1099511627776"), ("--clips", "4611686018427387904"),
      ("--clip-len", "1099511627776"),
    ] {
      let r = try runVCoSwin(
        [
          "sample", clip, "--clip-len", "8", "--interval", "2", option, value, "--output",
          path("x.safetensors"),
        ], bundleOf: Self.self)
      XCTAssertFalse(r.crashed)
      XCTAssertEqual(r.status, 64, r.stderr)
      XCTAssertTrue(r.stderr.contains("\(option) must be at most"), r.stderr)
    }
    let big = try runVCoSwin(
      [
        "sample", clip, "--clip-len", "1024", "--interval", "2", "--size", "4096", "--clips", "256",
        "--output", path("x.safetensors"),
      ], bundleOf: Self.self)
    XCTAssertEqual(big.status, 64, big.stderr)
    XCTAssertTrue(big.stderr.contains("of memory"), big.stderr)
  }

  /// `info --json` describes a checkpoint, and its `config` round-trips into `init --config`.
  func testInfoJSONRoundTripsIntoInit() throws {
    let model = clips("default-model.safetensors")
    let r = try runVCoSwin(["info", model, "--json"], bundleOf: Self.self)
    XCTAssertEqual(r.status, 0, r.stderr)
    let object = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(object["kind"] as? String, "video")
    XCTAssertEqual((object["labels"] as? [String])?.count, 8)
    XCTAssertNotNil(object["training"])
    let configPath = path("arch.json")
    try JSONSerialization.data(withJSONObject: try XCTUnwrap(object["config"])).write(
      to: URL(fileURLWithPath: configPath))
    try run([
      "init", "--config", configPath, "--classes", "8", "--out", path("same.safetensors"),
    ])
    let original = try VCoSwinModel.load(path: model).info.config
    XCTAssertEqual(
      try VCoSwinModel.load(path: path("same.safetensors")).info.config.depths, original.depths)
    XCTAssertEqual(
      try VCoSwinModel.load(path: path("same.safetensors")).info.config.windows,
      original.windows)
    let pth = try runVCoSwin(
      [
        "info",
        packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/foreign/mmaction2.pth").path,
      ], bundleOf: Self.self)
    XCTAssertEqual(pth.status, 0, pth.stderr)
    XCTAssertTrue(pth.stdout.contains("mmaction2 1.x layout"), pth.stdout)
  }

  /// `features --input` takes `sample`'s output, normalised as the model expects.
  func testFeaturesOfASample() throws {
    let model = clips("default-model.safetensors")
    let clip = clips("val/0003.mkv")
    let sampled = path("s.safetensors")
    try run([
      "sample", clip, "--clip-len", "8", "--interval", "2", "--size", "32", "--output", sampled,
    ])
    try run([
      "features", "--input", sampled, "--checkpoint", model, "--output", path("a.safetensors"),
      "--threads", "1",
    ])
    try run([
      "features", clip, "--checkpoint", model, "--output", path("b.safetensors"), "--threads",
      "1",
    ])
    let a = try SafeTensorsFile.read(path: path("a.safetensors")).floats("logits").values
    let b = try SafeTensorsFile.read(path: path("b.safetensors")).floats("logits").values
    XCTAssertEqual(a.count, b.count)
    for i in 0..<a.count { XCTAssertEqual(a[i], b[i], accuracy: 1e-4 * max(1, abs(b[i]))) }
  }

  /// Training options are bounded, and a step that cannot fit is refused before any work.
  func testTrainingOptionBounds() throws {
    let train = clips("train.txt")
    let val = clips("val.txt")
    let model = clips("default-model.safetensors")
    let base = [
      "finetune", "--train", train, "--val", val, "--init", model, "--out", path("run"),
    ]
    for (option, value) in [
      ("--size", "1099511627776"), ("--batch-size", "4611686018427387904"),
      ("--clip-len", "1099511627776"), ("--interval", "100000"),
      ("--epochs", "9223372036854775807"),
    ] {
      let r = try runVCoSwin(base + [option, value], bundleOf: Self.self)
      XCTAssertFalse(r.crashed)
      XCTAssertEqual(r.status, 64, r.stderr)
      XCTAssertTrue(r.stderr.contains(option), r.stderr)
    }
    let big = try runVCoSwin(
      base + ["--size", "4096", "--clip-len", "1024", "--batch-size", "64"], bundleOf: Self.self)
    XCTAssertFalse(big.crashed)
    XCTAssertEqual(big.status, 1, big.stderr)
    XCTAssertTrue(
      big.stderr.contains("a training step of batch 64") && big.stderr.contains("of memory"),
      big.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("run/metrics.jsonl")))
  }
}
