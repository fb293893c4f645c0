import Foundation
import XCTest
import _TestSupport

/// `classify`, `eval`, `inflate`, `pretrain` and `finetune` run as a user runs them.
final class TrainingCommandsTests: TemporaryFolderTestCase {
  func vcoswin(_ arguments: String...) throws -> CLIRun {
    try runVCoSwin(arguments, bundleOf: Self.self)
  }

  /// The shipped default model classifies a shipped clip; JSON lines are sorted by probability
  /// and sum to at most one; a bad file is an error line (and a JSON line with `error`) and the
  /// others still print.
  func testClassifyWithTheDefaultModel() throws {
    let run = try vcoswin(
      "classify", clips("val/0000.mkv"), clips("val/0001.mkv"), "/no/such/clip.mp4",
      "--json", "--top", "3", "--checkpoint", clips("default-model.safetensors"))
    XCTAssertFalse(run.crashed)
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(
      run.diagnostics.split(separator: "\n").first.map(String.init),
      "error: /no/such/clip.mp4: cannot open: No such file or directory")
    let labels = try String(contentsOfFile: clips("motion_labels.txt"), encoding: .utf8).split(
      separator: "\n"
    ).map(String.init)
    var lines = run.stdout.split(separator: "\n")
    XCTAssertEqual(lines.count, 3)
    XCTAssertEqual(
      lines.last,
      #"{"error":"/no/such/clip.mp4: cannot open: No such file or directory","path":"/no/such/clip.mp4"}"#
    )
    lines.removeLast()
    for line in lines {
      let object = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let top = try XCTUnwrap(object["top"] as? [[String: Any]])
      XCTAssertEqual(top.count, 3)
      let probs = top.compactMap { $0["prob"] as? Double }
      XCTAssertEqual(probs, probs.sorted(by: >))
      XCTAssertLessThanOrEqual(probs.reduce(0, +), 1 + 1e-6)
      for t in top {
        let index = try XCTUnwrap(t["index"] as? Int)
        XCTAssertEqual(t["label"] as? String, labels[index])
      }
    }
  }

  /// `eval --json` counts what it evaluated and what it skipped (a missing clip, a bad line).
  func testEvalJSONCountsSkippedEntries() throws {
    let list = try String(contentsOfFile: clips("val.txt"), encoding: .utf8).split(separator: "\n")
      .prefix(12)
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }.joined(separator: "\n")
    // Line 14 has no label (a label that is not a class is an error, not a skipped line).
    try (list + "\nmissing.mkv 2\nno-label.mkv\n").write(
      toFile: path("val.txt"), atomically: true, encoding: .utf8)
    let run = try vcoswin(
      "eval", "--list", path("val.txt"), "--json", "--checkpoint",
      clips("default-model.safetensors"),
      "--confusion", path("confusion.svg"))
    XCTAssertEqual(run.status, 0, run.stderr)
    let object = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(object["count"] as? Int, 12)
    XCTAssertEqual(object["skipped"] as? Int, 2)
    for key in ["top1", "top5", "mean_class_accuracy"] {
      let v = try XCTUnwrap(object[key] as? Double, key)
      XCTAssertTrue((0...1).contains(v), key)
    }
    XCTAssertTrue(run.stderr.contains("val.txt:13:"), run.stderr)
    XCTAssertTrue(run.stderr.contains("val.txt:14:"), run.stderr)
    XCTAssertTrue(
      try String(contentsOfFile: path("confusion.svg"), encoding: .utf8).hasPrefix("<svg"))
  }

  /// Image pretraining, inflation and fine-tuning from the command line, one short epoch each,
  /// then a resume that has nothing left to do; bad sources and options are one-line errors.
  func testPretrainInflateFinetune() throws {
    let shapes = try String(contentsOfFile: clips("shapes_train.txt"), encoding: .utf8).split(
      separator: "\n"
    ).prefix(16)
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }.joined(separator: "\n")
    try shapes.write(toFile: path("shapes.txt"), atomically: true, encoding: .utf8)
    let motion = try String(contentsOfFile: clips("train.txt"), encoding: .utf8).split(
      separator: "\n"
    ).prefix(16)
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }.joined(separator: "\n")
    try motion.write(toFile: path("motion.txt"), atomically: true, encoding: .utf8)
    var run = try vcoswin(
      "pretrain", "--train", path("shapes.txt"), "--val", path("shapes.txt"), "--labels",
      clips("shape_labels.txt"), "--preset", "nano", "--size", "32", "--epochs", "1",
      "--out", path("image"), "--quiet")
    XCTAssertEqual(run.status, 0, run.stderr)
    for f in ["metrics.jsonl", "curves.svg", "last.safetensors", "best.safetensors"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: path("image/\(f)")), f)
    }
    let metrics = try XCTUnwrap(
      JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: path("image/metrics.jsonl")))) as? [String: Any]
    )
    XCTAssertNotNil(metrics["train_top1"] as? Double)
    XCTAssertNotNil(metrics["clips_per_second"] as? Double)
    let wait = try XCTUnwrap(metrics["data_wait"] as? Double)
    XCTAssertTrue(wait >= 0 && wait <= 1, "data_wait \(wait) is not a fraction")
    // The same --out again, without --resume: refused, naming the folder; nothing is touched.
    let before = try Data(contentsOf: URL(fileURLWithPath: path("image/best.safetensors")))
    run = try vcoswin(
      "pretrain", "--train", path("shapes.txt"), "--val", path("shapes.txt"), "--labels",
      clips("shape_labels.txt"), "--preset", "nano", "--size", "32", "--epochs", "1",
      "--out", path("image"), "--quiet")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(
      run.stderr.hasPrefix(
        "error: --out \(path("image")): holds an earlier run (metrics.jsonl, curves.svg, last.safetensors, best.safetensors); continue it with --resume, replace it with --overwrite"
      ), run.stderr)
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: path("image/best.safetensors"))), before)
    run = try vcoswin(
      "pretrain", "--train", path("shapes.txt"), "--val", path("shapes.txt"), "--labels",
      clips("shape_labels.txt"), "--out", path("image"), "--resume", "--overwrite")
    XCTAssertNotEqual(run.status, 0)
    XCTAssertTrue(run.stderr.contains("give one of --resume"), run.stderr)
    // --overwrite replaces the run; off a terminal, progress lines come at the (short) interval;
    // a labels file with a class the data never uses is a warning naming it.
    try (String(contentsOfFile: clips("shape_labels.txt"), encoding: .utf8) + "\nunused_class\n")
      .write(toFile: path("more_labels.txt"), atomically: true, encoding: .utf8)
    run = try vcoswin(
      "pretrain", "--train", path("shapes.txt"), "--val", path("shapes.txt"), "--labels",
      path("more_labels.txt"), "--preset", "nano", "--size", "32", "--epochs", "1",
      "--batch-size", "4", "--out", path("image"), "--overwrite", "--progress-interval", "0.001")
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(
      run.stderr.contains(
        "--overwrite: removed metrics.jsonl, curves.svg, last.safetensors, best.safetensors from \(path("image"))"
      ), run.stderr)
    let progress = run.stderr.split(separator: "\n").filter { $0.hasPrefix("epoch 1/1: ") }
    XCTAssertGreaterThanOrEqual(progress.count, 2, run.stderr)
    XCTAssertTrue(
      progress.allSatisfy { $0.contains(" clips, ") && $0.contains("loss ") }, run.stderr)
    XCTAssertTrue(progress.contains { $0.hasPrefix("epoch 1/1: 4/16 clips, ") }, run.stderr)
    XCTAssertTrue(run.stderr.contains("validate: "), run.stderr)
    XCTAssertFalse(run.stderr.contains("\r"), run.stderr)
    XCTAssertTrue(
      run.stderr.contains("classes have no entries in \(path("shapes.txt")): ")
        && run.stderr.contains("unused_class"), run.stderr)
    run = try vcoswin(
      "inflate", "--from", path("image/best.safetensors"), "--to", path("video.safetensors"),
      "--classes", "8")
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stdout.contains("inflated"), run.stdout)
    run = try vcoswin(
      "inflate", "--from", path("video.safetensors"), "--to", path("again.safetensors"))
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(
      run.stderr.hasPrefix("error: \(path("video.safetensors")): is a video checkpoint"), run.stderr
    )
    run = try vcoswin(
      "inflate", "--from", path("image/best.safetensors"), "--to", path("x.safetensors"),
      "--window", "2,4")
    XCTAssertNotEqual(run.status, 0)
    XCTAssertTrue(run.stderr.hasPrefix("error: --window takes t,h,w"), run.stderr)
    run = try vcoswin(
      "finetune", "--train", path("motion.txt"), "--val", path("motion.txt"), "--labels",
      clips("motion_labels.txt"), "--init", path("video.safetensors"), "--size", "32", "--epochs",
      "1",
      "--out", path("video"), "--quiet")
    XCTAssertEqual(run.status, 0, run.stderr)
    run = try vcoswin(
      "finetune", "--train", path("motion.txt"), "--val", path("motion.txt"), "--labels",
      clips("motion_labels.txt"), "--init", path("video.safetensors"), "--size", "32", "--epochs",
      "1",
      "--out", path("video"), "--quiet", "--resume")
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stderr.contains("resuming"), run.stderr)
    XCTAssertEqual(
      try String(contentsOfFile: path("video/metrics.jsonl"), encoding: .utf8).split(
        separator: "\n"
      ).count, 1)
    // Another epoch count cannot resume the run (the schedule spans its epochs).
    run = try vcoswin(
      "finetune", "--train", path("motion.txt"), "--val", path("motion.txt"), "--labels",
      clips("motion_labels.txt"), "--init", path("video.safetensors"), "--size", "32", "--epochs",
      "2",
      "--out", path("video"), "--quiet", "--resume")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(
      run.stderr.contains("error: --epochs 2 ≠ 1 recorded in \(path("video/last.safetensors")): "),
      run.stderr)
    // Provenance names files and their checksums, never the folders they were in.
    for file in [
      "image/best.safetensors", "video.safetensors", "video/best.safetensors",
      "video/last.safetensors",
    ] {
      let provenance = try XCTUnwrap(try safetensorsMetadata(path(file))["provenance"], file)
      XCTAssertFalse(provenance.contains(folder.path), "\(file): \(provenance)")
      XCTAssertTrue(provenance.contains("sha256"), "\(file): \(provenance)")
    }
    // A validation list that cannot be read stops the run before any checkpoint.
    try "gone1.mkv 0\ngone2.mkv 1\n".write(
      toFile: path("gone.txt"), atomically: true, encoding: .utf8)
    try motion.split(separator: "\n").prefix(4).joined(separator: "\n").write(
      toFile: path("four.txt"), atomically: true, encoding: .utf8)
    run = try vcoswin(
      "finetune", "--train", path("four.txt"), "--val", path("gone.txt"), "--labels",
      clips("motion_labels.txt"), "--init", path("video.safetensors"), "--size", "32", "--epochs",
      "1",
      "--out", path("noval"), "--quiet")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(
      run.stderr.contains(
        "error: \(path("gone.txt")): 2 of 2 validation entries could not be read"), run.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("noval/best.safetensors")))
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("noval/last.safetensors")))
    run = try vcoswin(
      "finetune", "--train", path("motion.txt"), "--val", path("motion.txt"), "--labels",
      clips("motion_labels.txt"), "--init", path("video.safetensors"), "--flip-map",
      "move_left=sideways",
      "--out", path("flipped"), "--quiet")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(
      run.stderr.hasPrefix("error: --flip-map: 'move_left=sideways': 'sideways' is not a class"),
      run.stderr)
    run = try vcoswin(
      "finetune", "--train", path("motion.txt"), "--val", path("motion.txt"), "--init",
      path("image/best.safetensors"), "--out", path("wrong"), "--quiet")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(run.stderr.contains("is an image checkpoint"), run.stderr)
  }

  /// The first `n` entries of a shipped list, with absolute paths.
  func shippedEntries(_ list: String, _ n: Int) throws -> [String] {
    try String(contentsOfFile: clips(list), encoding: .utf8).split(separator: "\n").prefix(n)
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }
  }

  /// `eval` fails when more than 20 % of the list is skipped, or all of it (never a table of
  /// zeros); labels that are not the checkpoint's classes are one error before any work;
  /// `--confusion` writes PNG or refuses the extension.
  func testEvalLimitsLabelsAndConfusionPicture() throws {
    let model = clips("default-model.safetensors")
    let good = try shippedEntries("val.txt", 4)
    try (good + ["missing1.mkv 2", "missing2.mkv 3"]).joined(separator: "\n").write(
      toFile: path("bad.txt"), atomically: true, encoding: .utf8)
    var run = try vcoswin("eval", "--list", path("bad.txt"), "--checkpoint", model)
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.stdout, "")
    XCTAssertTrue(
      run.diagnostics.contains(
        "error: \(path("bad.txt")): 2 of 6 entries were skipped (2 unreadable; more than 20%); first: \(path("bad.txt")):5:"
      ), run.stderr)

    try "missing1.mkv 2\nmissing2.mkv 3\n".write(
      toFile: path("none.txt"), atomically: true, encoding: .utf8)
    run = try vcoswin("eval", "--list", path("none.txt"), "--checkpoint", model, "--json")
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.stdout, "")
    XCTAssertTrue(
      run.diagnostics.contains(
        "error: \(path("none.txt")): every entry was skipped (2 unreadable); nothing was evaluated"),
      run.stderr)

    let named = good.map { $0.split(separator: " ").dropLast().joined(separator: " ") }
    try [named[0] + " jump", named[1] + " move_left", named[2] + " jump", named[3] + " 99"].joined(
      separator: "\n"
    )
    .write(toFile: path("names.txt"), atomically: true, encoding: .utf8)
    run = try vcoswin("eval", "--list", path("names.txt"), "--checkpoint", model)
    XCTAssertEqual(run.status, 1)
    let lines = run.diagnostics.split(separator: "\n")
    XCTAssertEqual(lines.count, 1, run.stderr)
    XCTAssertTrue(
      run.diagnostics.hasPrefix(
        "error: \(path("names.txt")): 3 entries have labels that are not among the 8 classes of default-model.safetensors"
      ), run.stderr)
    XCTAssertTrue(run.diagnostics.contains("`jump` ×2 (lines 1, 3), `99` ×1 (line 4)"), run.stderr)

    try good.joined(separator: "\n").write(
      toFile: path("good.txt"), atomically: true, encoding: .utf8)
    run = try vcoswin(
      "eval", "--list", path("good.txt"), "--checkpoint", model, "--confusion", path("m.pdf"))
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(
      run.diagnostics.hasPrefix(
        "error: --confusion \(path("m.pdf")): unknown picture extension .pdf; use .svg or .png"),
      run.stderr)
    run = try vcoswin(
      "eval", "--list", path("good.txt"), "--checkpoint", model, "--confusion", path("m.png"),
      "--json")
    XCTAssertEqual(run.status, 0, run.stderr)
    let png = try Data(contentsOf: URL(fileURLWithPath: path("m.png")))
    XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
  }

  /// `--labels` takes a file everywhere: `init` refuses a comma list with a pointer to a file,
  /// `probe --list` reads name labels with it, and a wrong name in a training list is one error.
  func testOneLabelsOption() throws {
    var run = try vcoswin(
      "init", "--preset", "nano", "--classes", "3", "--labels", "a,b,c", "--out",
      path("m.safetensors"))
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(
      run.stderr,
      "error: --labels a,b,c: no such file; --labels takes a labels file (one class name per line), not a comma list: write the names to a file, one per line\n"
    )
    try "a\nb\nc\n".write(toFile: path("abc.txt"), atomically: true, encoding: .utf8)
    run = try vcoswin(
      "init", "--preset", "nano", "--classes", "2", "--labels", path("abc.txt"), "--out",
      path("m.safetensors"))
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(
      run.stderr.hasPrefix("error: --labels \(path("abc.txt")): 3 names for --classes 2"),
      run.stderr)

    let motions = try String(contentsOfFile: clips("motion_labels.txt"), encoding: .utf8).split(
      separator: "\n"
    ).map(String.init)
    let named = try shippedEntries("train.txt", 3).map { line -> String in
      let fields = line.split(separator: " ")
      return fields.dropLast().joined(separator: " ") + " " + motions[Int(fields.last ?? "") ?? 0]
    }
    try named.joined(separator: "\n").write(
      toFile: path("named.txt"), atomically: true, encoding: .utf8)
    run = try vcoswin("probe", "--list", path("named.txt"))
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(
      run.stderr.hasPrefix(
        "error: \(path("named.txt")): 3 entries have labels that are names, and no labels file names the classes: "
      ), run.stderr)
    run = try vcoswin(
      "probe", "--list", path("named.txt"), "--labels", clips("motion_labels.txt"), "--json")
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(run.stdout.split(separator: "\n").count, 3)

    // One wrong name in 3 lines: one error line, no per-line warnings, before any training.
    try (named + [named[0].split(separator: " ").dropLast().joined(separator: " ") + " sideways"])
      .joined(separator: "\n")
      .write(toFile: path("wrong.txt"), atomically: true, encoding: .utf8)
    run = try vcoswin("init", "--preset", "nano", "--classes", "8", "--out", path("v.safetensors"))
    XCTAssertEqual(run.status, 0, run.stderr)
    run = try vcoswin(
      "finetune", "--train", path("wrong.txt"), "--val", path("named.txt"), "--labels",
      clips("motion_labels.txt"),
      "--init", path("v.safetensors"), "--size", "32", "--epochs", "1", "--out", path("run"),
      "--quiet")
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
    XCTAssertTrue(
      run.stderr.hasPrefix(
        "error: \(path("wrong.txt")): 1 entry has a label that is not among the 8 classes of \(clips("motion_labels.txt")): `sideways` ×1 (line 4)"
      ), run.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("run/metrics.jsonl")))
  }
}
