import ArgumentParser
import Compute
import Datasets
import Foundation
import Inference
import Models
import SafeTensors
import XCTest
import _TestSupport

@testable import VCoSwinCLI

/// Hostile checkpoint metadata, tensor headers and option values, run through the library entry
/// points that `classify`, `eval` and `features` use (`InferenceArguments.load`, which runs
/// `LoadedModel.load`). None may trap, hang or allocate without bound: each ends in a typed
/// error or a correct result.
final class HostileInputTests: TemporaryFolderTestCase {
  /// The shipped default model: a trained video checkpoint with `training` metadata.
  var base: String { clips("default-model.safetensors") }

  /// Copies `source` with its JSON header edited (the data section unchanged).
  func rewrite(_ source: String, to path: String, _ edit: (inout [String: Any]) -> Void) throws {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
    let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    var header = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as? [String: Any])
    edit(&header)
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while json.count % 8 != 0 { json.append(0x20) }
    var out = Data()
    for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: json.count >> (8 * i))) }
    out.append(json)
    out.append(bytes.subdata(in: (8 + n)..<bytes.count))
    try out.write(to: URL(fileURLWithPath: path))
  }

  /// The metadata JSON object under `key`, edited.
  func editMetadataJSON(
    _ header: inout [String: Any], _ key: String, _ edit: (inout [String: Any]) -> Void
  ) {
    var meta = header["__metadata__"] as? [String: String] ?? [:]
    var object =
      (try? JSONSerialization.jsonObject(with: Data((meta[key] ?? "{}").utf8))) as? [String: Any]
      ?? [:]
    edit(&object)
    meta[key] = String(
      decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        ?? Data(), as: UTF8.self)
    header["__metadata__"] = meta
  }

  enum Outcome { case typedError(String), accepted(LoadedModel) }

  /// Loads through `InferenceArguments` as `classify` does; untyped errors fail the test.
  func attempt(_ arguments: [String]) -> Outcome {
    let parsed: InferenceArguments
    do {
      parsed = try InferenceArguments.parse(arguments)
    } catch {
      // The option parser's own typed errors.
      return .typedError(InferenceArguments.message(for: error))
    }
    do {
      return .accepted(try parsed.load())
    } catch {
      switch error {
      case is CheckpointError, is DataOptionsError, is SafeTensorsError, is MemoryBudgetError,
        is LayoutError, is InferenceError,
        is CommandFailure:
        return .typedError("\(error)")
      default:
        XCTFail("untyped error for \(arguments): \(error)")
        return .typedError("\(error)")
      }
    }
  }

  struct Tally {
    var cases = 0, errors = 0, accepted = 0
  }

  func testFuzzMetadataTensorsAndOptions() throws {
    var tally = Tally()
    var worstSeconds = 0.0
    func check(_ arguments: [String], expect: (Outcome) -> Bool, _ what: String) {
      tally.cases += 1
      let start = Date()
      let outcome = attempt(arguments)
      worstSeconds = max(worstSeconds, Date().timeIntervalSince(start))
      switch outcome {
      case .typedError: tally.errors += 1
      case .accepted: tally.accepted += 1
      }
      XCTAssertTrue(expect(outcome), "\(what): \(outcome)")
    }
    func isError(_ o: Outcome) -> Bool {
      if case .typedError = o { return true } else { return false }
    }

    let hostileInts: [Any] = [
      0, -1, -4_611_686_018_427_387_904, 100_000, 1 << 40, 1 << 62, Int.max, 1.5, "32", NSNull(),
      1e300, 48,
    ]
    var i = 0
    func path() -> String {
      i += 1
      return self.path("case\(i).safetensors")
    }
    // 1. Training data options: every numeric field, hostile values; damaged keys.
    for field in ["size", "clip_length", "frame_interval", "min_area"] {
      for value in hostileInts {
        let p = path()
        try rewrite(base, to: p) { h in
          self.editMetadataJSON(&h, "training") { t in
            var data = t["data"] as? [String: Any] ?? [:]
            data[field] = value
            t["data"] = data
          }
        }
        check(
          ["--checkpoint", p, "--threads", "1"],
          expect: { o in
            // Only a value in bounds may be accepted, and then it is used.
            if case .accepted(let m) = o {
              let used: Double =
                field == "size"
                ? Double(m.recipe.size)
                : field == "clip_length"
                  ? Double(m.recipe.clipLength)
                  : field == "frame_interval" ? Double(m.recipe.frameInterval) : m.recipe.minArea
              return (value as? NSNumber)?.doubleValue == used
            }
            return true
          }, "training.data.\(field) = \(value)")
      }
    }
    for edit in ["rename size", "drop data", "not JSON", "array"] {
      let p = path()
      try rewrite(base, to: p) { h in
        var meta = h["__metadata__"] as? [String: String] ?? [:]
        switch edit {
        case "rename size":
          meta["training"] = meta["training"]?.replacingOccurrences(
            of: "\"size\"", with: "\"sizf\"")
        case "drop data":
          self.editMetadataJSON(&h, "training") { $0["data"] = nil };
          meta = h["__metadata__"] as? [String: String] ?? [:]
        case "not JSON": meta["training"] = "{\"data\": {"
        default: meta["training"] = "[1, 2]"
        }
        h["__metadata__"] = meta
      }
      check(["--checkpoint", p, "--threads", "1"], expect: isError, "training block: \(edit)")
    }
    // 2. Config fields that do not fit the tensors (checked against the header before any model).
    let configEdits: [(String, Any)] = [
      ("embed_dim", 4096), ("embed_dim", 0), ("embed_dim", 1 << 40), ("depths", [64]),
      ("depths", [64, 64, 64]),
      ("depths", [Int]()), ("heads", [1, 1, 1]),
      ("windows", [[64, 64, 64], [64, 64, 64], [64, 64, 64]]),
      ("classes", 0), ("classes", 1 << 40), ("classes", 1_000_000), ("mlp_ratio", 16), ("dims", 2),
      ("variant", "swin"), ("embed_kernel", [64, 64, 64]), ("in_channels", 64),
      ("layer_norm_eps", -1),
    ]
    for (field, value) in configEdits {
      let p = path()
      try rewrite(base, to: p) { h in self.editMetadataJSON(&h, "config") { $0[field] = value } }
      check(["--checkpoint", p, "--threads", "1"], expect: isError, "config.\(field) = \(value)")
    }
    // 3. Other metadata.
    for (key, value) in [
      ("labels", "[1, 2]"), ("labels", "[\"a\"]"), ("labels", "{"), ("kind", "image"),
      ("config", "{}"), ("test_views", "{\"clips\": 0, \"crops\": 3}"),
    ] {
      let p = path()
      try rewrite(base, to: p) { h in
        var meta = h["__metadata__"] as? [String: String] ?? [:]
        meta[key] = value
        h["__metadata__"] = meta
      }
      let args =
        key == "test_views" ? ["--checkpoint", p, "--full-protocol"] : ["--checkpoint", p]
      check(args, expect: isError, "metadata \(key) = \(value)")
    }
    // 4. Tensor headers: dtype relabels of the same byte size, other sizes, shapes.
    for (dtype, tensor) in [
      ("I32", "head.weight"), ("U32", "norm.weight"), ("I32", "patch_embed.proj.weight"),
      ("F16", "head.bias"), ("F64", "norm.bias"), ("BOOL", "head.bias"),
    ] {
      let p = path()
      try rewrite(base, to: p) { h in
        var entry = h[tensor] as? [String: Any] ?? [:]
        entry["dtype"] = dtype
        h[tensor] = entry
      }
      check(["--checkpoint", p], expect: isError, "\(tensor) relabelled \(dtype)")
    }
    let p = path()
    try rewrite(base, to: p) { h in
      var entry = h["head.weight"] as? [String: Any] ?? [:]
      entry["shape"] = Array(((entry["shape"] as? [Int]) ?? []).reversed())
      h["head.weight"] = entry
    }
    check(["--checkpoint", p], expect: isError, "head.weight transposed")
    // 5. Options.
    let optionValues = [
      "0", "-1", "100000", "1099511627776", "4611686018427387904", "9223372036854775807", "x",
      "4096", "3",
    ]
    for option in [
      "--size", "--clip-len", "--interval", "--clips", "--batch", "--crops", "--threads",
      "--workers",
    ] {
      for value in optionValues {
        check(
          ["--checkpoint", base, option, value],
          expect: { o in
            if case .accepted(let m) = o {  // in bounds and affordable: used as given
              switch option {
              case "--size": return m.recipe.size == Int(value)
              case "--clip-len": return m.recipe.clipLength == Int(value)
              case "--interval": return m.recipe.frameInterval == Int(value)
              case "--clips": return m.views.clips == Int(value)
              default: return Int(value) != nil
              }
            }
            return true
          }, "\(option) \(value)")
      }
    }
    check(
      ["--checkpoint", base, "--size", "4096", "--clip-len", "1024"], expect: isError,
      "the largest input refused up front")

    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print(
      "hostile inputs: \(tally.cases) cases, \(tally.errors) clean errors, \(tally.accepted) correct acceptances, 0 crashes, 0 hangs; slowest \(String(format: "%.2f", worstSeconds)) s; peak RSS \(usage.ru_maxrss / 1024) MB"
    )
    XCTAssertLessThan(worstSeconds, 10, "a case took too long")
    XCTAssertLessThan(usage.ru_maxrss / 1024, 4096, "peak memory of the worst case")
  }

  /// Weights that are finite but overflow the forward pass give an error, never NaN output.
  func testNonFiniteOutputIsAnError() throws {
    let p = path("overflow.safetensors")
    let opened = try Checkpoint.open(path: base)
    let model = try VCoSwinModel.loaded(opened)
    let norm = try XCTUnwrap(model.store.parameters.first { $0.name == "norm.weight" })
    for i in 0..<norm.count { norm.value.pointer[i] = 3e38 }
    try model.save(to: p, provenance: "overflow test")
    let loaded = try VCoSwinModel.load(path: p).model
    let c = loaded.config
    let x = Tensor(
      shape: [1, 3, 8, 32, 32], values: (0..<(3 * 8 * 32 * 32)).map { Float($0 % 7) / 7 })
    XCTAssertThrowsError(try loaded.forward(x, training: false)) { error in
      XCTAssertTrue("\(error)".contains("non-finite"), "\(error)")
    }
    XCTAssertEqual(c.dims, 3)
  }

  /// A checkpoint rewritten in place while it loads ends in an error or a correct load, never a
  /// signal (the reader copies with `pread`; it does not map the file).
  func testCheckpointChangingWhileLoading() throws {
    let p = path("moving.safetensors")
    let original = try Data(contentsOf: URL(fileURLWithPath: base))
    try original.write(to: URL(fileURLWithPath: p))
    let stop = ManagedAtomicFlag()
    let writer = Thread {
      var k = 0
      while !stop.isSet {
        k += 1
        // Truncate, then write back in pieces, as `cp` over the file does.
        if let h = FileHandle(forWritingAtPath: p) {
          try? h.truncate(atOffset: UInt64(k % 3 == 0 ? 0 : original.count / (k % 5 + 2)))
          try? h.seek(toOffset: 0)
          try? h.write(contentsOf: original)
          try? h.close()
        }
        usleep(500)
      }
    }
    writer.start()
    var outcomes = (ok: 0, errors: 0)
    for _ in 0..<60 {
      do {
        _ = try VCoSwinModel.load(path: p)
        outcomes.ok += 1
      } catch {
        outcomes.errors += 1
      }
    }
    stop.set()
    while !writer.isFinished { usleep(1000) }
    print(
      "checkpoint changing while loading: \(outcomes.ok) loads, \(outcomes.errors) clean errors, 0 signals"
    )
    XCTAssertEqual(outcomes.ok + outcomes.errors, 60)
  }
}

/// Hostile files and option values given to the built binary, as a user gives them: each ends
/// in a clear `error:` line naming the file or option and a non-zero exit, within seconds.
final class HostileCommandLineTests: TemporaryFolderTestCase {
  var model: String { clips("default-model.safetensors") }
  /// Fixtures of the video reader's tests (`Tools/make_hostile_video_fixtures.py`).
  func videoFixture(_ name: String) -> String {
    packageRoot.appendingPathComponent("Tests/VideoIOTests/Fixtures/" + name).path
  }

  /// Runs the binary; one that has not ended after `seconds` is stopped and reported as hung.
  func run(_ arguments: [String], seconds: Double = 60) throws -> (CLIRun, hung: Bool) {
    let r = try runVCoSwin(arguments, bundleOf: Self.self, seconds: seconds)
    return (r, r.hung)
  }

  /// `arguments` fail cleanly: no signal, no hang, the expected status, an `error:` line that
  /// contains `needle`.
  func assertFails(
    _ arguments: [String], status: Int32 = 1, _ needle: String, line: UInt = #line
  ) throws {
    let (r, hung) = try run(arguments)
    XCTAssertFalse(hung, "\(arguments) hung", line: line)
    XCTAssertFalse(r.crashed, "\(arguments) crashed: \(r.stderr.prefix(2000))", line: line)
    XCTAssertEqual(r.status, status, "\(arguments): \(r.stderr)", line: line)
    XCTAssertTrue(r.diagnostics.contains("error: "), "\(arguments): \(r.stderr)", line: line)
    XCTAssertTrue(r.stderr.contains(needle), "\(arguments): \(r.stderr)", line: line)
  }

  /// A FIFO given as a video, a checkpoint, a list entry or an image checkpoint is refused at
  /// once (opening one blocks until a writer comes: the commands hung).
  func testFIFOsAreRefusedNotWaitedOn() throws {
    let fifo = path("stream")
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    try "\(fifo) 0\n".write(toFile: path("list.txt"), atomically: true, encoding: .utf8)
    let video = clips("val/0000.mkv")
    try assertFails(
      ["probe", fifo], "stream: cannot open: a FIFO (named pipe), not a regular file")
    try assertFails(["probe", "--list", path("list.txt")], "a FIFO")
    try assertFails(["classify", fifo, "--checkpoint", model], "a FIFO")
    try assertFails(["classify", video, "--checkpoint", fifo], "stream")
    try assertFails(["inflate", "--from", fifo, "--to", path("x.safetensors")], "stream")
  }

  /// An output path that names a FIFO (or a device) is refused and left as it is: the atomic
  /// write's rename replaced it with a regular file (run as root, `--output /dev/null` replaced
  /// the system's /dev/null).
  func testOutputsOverFIFOsAreRefused() throws {
    let video = clips("val/0000.mkv")
    let sample = ["sample", video, "--clip-len", "2", "--interval", "1", "--size", "32"]
    for (name, arguments) in [
      ("out.safetensors", sample + ["--output"]),
      ("sheet.png", sample + ["--output", path("s.safetensors"), "--sheet"]),
      ("t.svg", ["timeline", video, "--checkpoint", model, "--svg"]),
      ("t.png", ["timeline", video, "--checkpoint", model, "--png"]),
      ("m.safetensors", ["init", "--preset", "nano", "--classes", "2", "--out"]),
    ] {
      let fifo = path("") + name
      XCTAssertEqual(mkfifo(fifo, 0o600), 0)
      let (r, hung) = try run(arguments + [fifo])
      XCTAssertFalse(hung || r.crashed, "\(arguments): \(r.stderr)")
      XCTAssertNotEqual(r.status, 0, "\(arguments)")
      XCTAssertTrue(r.diagnostics.contains("error: "), "\(arguments): \(r.stderr)")
      XCTAssertTrue(r.stderr.contains(name), "\(arguments): \(r.stderr)")
      var info = stat()
      XCTAssertEqual(lstat(fifo, &info), 0)
      XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "\(fifo) was replaced")
    }
  }

  /// Video metadata that trapped: timestamps whose span overflows Int64, and an image header
  /// with no usable size (the clip geometry divided by a zero width).
  func testVideoMetadataThatTrapped() throws {
    let (probe, hung) = try run(["probe", videoFixture("timestamps_overflow.mkv"), "--json"])
    XCTAssertFalse(hung || probe.crashed, probe.stderr)
    XCTAssertEqual(probe.status, 0, probe.stderr)
    XCTAssertTrue(probe.stdout.contains("\"frames\":16"), probe.stdout)
    let lie = videoFixture("size_lie.png")
    try assertFails(["classify", lie, "--checkpoint", model], "size_lie.png: no frame size")
    try assertFails(
      ["sample", lie, "--clip-len", "2", "--interval", "1", "--output", path("s.safetensors")],
      "size_lie.png: no frame size")
  }

  /// Training options that are NaN, infinite or huge are refused before any work (a NaN or
  /// huge --warmup-epochs trapped converting warm-up steps to Int; a NaN --min-lr or
  /// --clip-norm failed only after the first epoch, writing the checkpoint).
  func testNonFiniteTrainingOptions() throws {
    let base = [
      "pretrain", "--train", clips("shapes_train.txt"), "--val", clips("shapes_val.txt"),
      "--preset", "nano", "--out", path("run"),
    ]
    for (option, value) in [
      ("--warmup-epochs", "nan"), ("--warmup-epochs", "1e300"), ("--warmup-epochs", "inf"),
      ("--min-lr", "nan"), ("--min-lr", "inf"), ("--weight-decay", "nan"),
      ("--weight-decay", "1e300"), ("--clip-norm", "nan"), ("--clip-norm", "inf"),
      ("--warmup-epochs=-1", ""), ("--min-lr=-1", ""),
    ] {
      try assertFails(base + [option] + (value.isEmpty ? [] : [value]), status: 64, "must be")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("run")))
    try assertFails(
      ["synth", "--out", path("synth"), "--size", "100000"], status: 64, "--size must be")
  }

  /// A giant line is a malformed line that is not echoed back, and a list file larger than
  /// 512 MiB (here a sparse one: no disk, no time) is refused before it is read.
  func testGiantLinesAndListFiles() throws {
    let list = path("giant.txt")
    try (String(repeating: "a", count: 70_000) + " 0\n").write(
      toFile: list, atomically: true, encoding: .utf8)
    try assertFails(["probe", "--list", list], "giant.txt:1: a line of 70002 bytes (at most 65536")
    let (r, _) = try run(["probe", "--list", list])
    XCTAssertLessThan(r.stderr.utf8.count, 1000, "the line is not echoed")
    let sparse = path("sparse.txt")
    XCTAssertTrue(FileManager.default.createFile(atPath: sparse, contents: Data("a 0\n".utf8)))
    let handle = try XCTUnwrap(FileHandle(forWritingAtPath: sparse))
    try handle.truncate(atOffset: 600 << 20)
    try handle.close()
    try assertFails(["probe", "--list", sparse], "larger than 512 MiB")
    try assertFails(
      ["init", "--preset", "nano", "--classes", "2", "--labels", sparse, "--out", list + ".st"],
      "larger than 512 MiB")
  }

  /// `--config` and `--truth` files: a FIFO, a device or a folder is named as such (Foundation
  /// said "You don't have permission"), and a config field out of bounds is reported once.
  func testConfigAndTruthFilesThatAreNotFiles() throws {
    let fifo = path("fifo.json")
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    let video = clips("val/0000.mkv")
    let initBase = ["init", "--classes", "2", "--out", path("m.safetensors"), "--config"]
    try assertFails(initBase + [fifo], "fifo.json: cannot read the config file: a FIFO")
    try assertFails(initBase + ["/dev/zero"], "/dev/zero: cannot read the config file: a device")
    try assertFails(initBase + [folder.path], "cannot read the config file: it is a folder")
    try assertFails(
      ["timeline", video, "--checkpoint", model, "--truth", fifo],
      "fifo.json: cannot read the truth file: a FIFO")
    let deep = path("deep.json")
    let config = try XCTUnwrap(
      try JSONSerialization.jsonObject(
        with: Data(
          try XCTUnwrap(try Checkpoint.open(path: model).file.metadata["config"]).utf8))
        as? [String: Any])
    var edited = config
    edited["depths"] = [100_000, 1, 1]
    try JSONSerialization.data(withJSONObject: edited).write(to: URL(fileURLWithPath: deep))
    let (r, _) = try run(initBase + [deep])
    XCTAssertEqual(
      r.stderr, "error: \(deep): model config: depths: every stage needs 1…64 blocks\n")
  }

  /// `sample --crop none` keeps the whole resized frame: its memory is checked once the
  /// video's aspect ratio is known (`validate` can only count it square). A 2×20000 video at
  /// short side 16, 1024 frames: 31 GB, refused; before, the allocation crashed.
  func testSampleOfAnExtremeAspectRatio() throws {
    let tall = path("tall.y4m")
    var bytes = Data("YUV4MPEG2 W2 H20000 F25:1 Ip A1:1 C420jpeg\nFRAME\n".utf8)
    bytes.append(Data(repeating: 128, count: 2 * 20000 + 2 * 10000))
    try bytes.write(to: URL(fileURLWithPath: tall))
    let base = ["sample", tall, "--interval", "1", "--output", path("s.safetensors")]
    try assertFails(
      base + ["--clip-len", "1024", "--size", "16", "--crop", "none"],
      "tall.y4m: sample of 1×1 views of 1024×160000×16 needs about")
    try assertFails(base + ["--clip-len", "2", "--size", "224"], "224×2240000")
  }

  /// A labels file that names a class twice is an error at the second line: a list's name
  /// would silently mean the later class.
  func testLabelsFileWithARepeatedName() throws {
    let labels = path("labels.txt")
    try "left\nright\n# comment\nleft\n".write(toFile: labels, atomically: true, encoding: .utf8)
    try assertFails(
      ["init", "--preset", "nano", "--classes", "3", "--labels", labels, "--out", labels + ".st"],
      "labels.txt:4: class name `left` again (first on line 1)")
  }

  /// A list with nothing but blank lines and comments is an error saying so.
  func testListsWithoutEntries() throws {
    let list = path("empty.txt")
    try "\n# only a comment\n  \t\n".write(toFile: list, atomically: true, encoding: .utf8)
    try assertFails(["probe", "--list", list], "empty.txt: no entries")
    try assertFails(["eval", "--list", list, "--checkpoint", model], "empty.txt: no entries")
  }

  /// A `last.safetensors` whose recorded position is out of range (edited or damaged) is
  /// refused when resuming: `epochs_done` of ±2^63 and `step` 2^63 − 1 trapped in the epoch
  /// loop and the step counter.
  func testResumeFromAnImpossiblePosition() throws {
    var lines: [String] = []
    for name in ["shapes_train.txt", "shapes_val.txt"] {
      let text = try String(contentsOfFile: clips(name), encoding: .utf8)
      lines.append(
        text.split(separator: "\n").prefix(8).map { clips(String($0)) }.joined(separator: "\n"))
    }
    try lines[0].write(toFile: path("train.txt"), atomically: true, encoding: .utf8)
    try lines[1].write(toFile: path("val.txt"), atomically: true, encoding: .utf8)
    let out = path("run")
    let arguments = [
      "pretrain", "--train", path("train.txt"), "--val", path("val.txt"), "--labels",
      clips("shape_labels.txt"), "--preset", "nano", "--size", "32", "--epochs", "2",
      "--batch-size", "8", "--threads", "1", "--quiet", "--out", out,
    ]
    let (first, _) = try run(arguments)
    XCTAssertEqual(first.status, 0, first.stderr)
    let last = out + "/last.safetensors"
    let original = try Data(contentsOf: URL(fileURLWithPath: last))
    for (key, value) in [
      ("epochs_done", "-9223372036854775808"), ("epochs_done", "9223372036854775807"),
      ("epochs_done", "3"), ("step", "9223372036854775807"), ("step", "-1"),
    ] {
      try original.write(to: URL(fileURLWithPath: last))
      try editTrainingState(last) { $0 = $0.replacingFirstValue(of: key, with: value) }
      try assertFails(arguments + ["--resume"], "no position in a run of 2 epochs")
    }
    // An absurd figure stops the resume as it stops `info`, naming the file, key and field.
    try original.write(to: URL(fileURLWithPath: last))
    try editTrainingState(last) { $0 = $0.replacingFirstValue(of: "best_top1", with: "1e300") }
    try assertFails(
      arguments + ["--resume"], "last.safetensors: __metadata__ 'training': best_top1 1e+300")
    for value in ["99", "-1"] {
      try original.write(to: URL(fileURLWithPath: last))
      try editTrainingState(last) { $0 = $0.replacingFirstValue(of: "best_epoch", with: value) }
      try assertFails(
        arguments + ["--resume"],
        "last.safetensors: __metadata__ 'training': best_epoch \(value) is not one of the 2 epochs")
    }
  }

  /// Figures a run never records (an accuracy outside [0, 1], a loss that is negative or not
  /// finite) in a checkpoint's `training` block are refused when it is read: `info` printed a
  /// 300-digit accuracy. The error names the file, the key and the field.
  func testAbsurdRecordedFiguresAreRefused() throws {
    for (key, value, needle) in [
      ("best_top1", "1e300", "best_top1 1e+300 is no accuracy"),
      ("best_top1", "-0.5", "best_top1 -0.5 is no accuracy"),
      ("val_top1", "1.5", "history[0].val_top1 1.5 is no accuracy (0 to 1)"),
      ("val_top5", "-1", "history[0].val_top5 -1.0 is no accuracy (0 to 1)"),
      ("train_loss", "-3", "history[0].train_loss -3.0 is no loss (finite, ≥ 0)"),
      ("train_loss", "1e400", "'training'"),
    ] {
      let edited = path("\(key)-\(value).safetensors")
      try FileManager.default.copyItem(atPath: model, toPath: edited)
      try editTrainingState(edited) { $0 = $0.replacingFirstValue(of: key, with: value) }
      try assertFails(["info", edited], "\(edited): __metadata__ 'training': ")
      try assertFails(["info", edited], needle)
    }
  }

  /// A checkpoint whose `labels` name a class twice is refused when read (`classify` would
  /// print two classes alike), worded as a labels file with a repeated name is.
  func testRepeatedLabelNamesInACheckpointAreRefused() throws {
    let edited = path("labels.safetensors")
    try FileManager.default.copyItem(atPath: model, toPath: edited)
    try editMetadata(edited, key: "labels") {
      $0 = $0.replacingOccurrences(of: "\"shrink\"", with: "\"move_right\"")
    }
    let needle =
      "\(edited): __metadata__ 'labels': class name `move_right` again (index 7, first at index 1); names must be distinct"
    try assertFails(["info", edited], needle)
    try assertFails(["classify", clips("val/0003.mkv"), "--checkpoint", edited], needle)
  }

  /// Rewrites the `training` metadata of the checkpoint at `path` (the data section unchanged).
  func editTrainingState(_ path: String, _ edit: (inout String) -> Void) throws {
    try editMetadata(path, key: "training", edit)
  }

  /// Rewrites the metadata string under `key` of the checkpoint at `path` (the data section
  /// unchanged).
  func editMetadata(_ path: String, key: String, _ edit: (inout String) -> Void) throws {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    var header = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as? [String: Any])
    var meta = try XCTUnwrap(header["__metadata__"] as? [String: String])
    var value = try XCTUnwrap(meta[key])
    edit(&value)
    meta[key] = value
    header["__metadata__"] = meta
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while json.count % 8 != 0 { json.append(0x20) }
    var out = Data()
    for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: json.count >> (8 * i))) }
    out.append(json)
    out.append(bytes.subdata(in: (8 + n)..<bytes.count))
    try out.write(to: URL(fileURLWithPath: path))
  }
}

/// A flag set once, read from another thread.
final class ManagedAtomicFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
  func set() { lock.lock(); value = true; lock.unlock() }
}

extension String {
  /// The JSON text with the first number after `"key":` replaced by `value`.
  fileprivate func replacingFirstValue(of key: String, with value: String) -> String {
    guard let k = range(of: "\"\(key)\":") else { return self }
    var end = k.upperBound
    while end < endIndex, self[end] == " " { end = index(after: end) }
    var stop = end
    while stop < endIndex, "-0123456789.eE+".contains(self[stop]) { stop = index(after: stop) }
    return String(self[..<k.upperBound]) + value + String(self[stop...])
  }
}
