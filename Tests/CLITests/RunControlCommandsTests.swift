import Foundation
import XCTest

/// A training process as the user meets it from outside: the lock of its `--out` folder, SIGINT
/// and SIGTERM, an `--out` it cannot write, and the recipe `finetune` takes from `--init`.
final class RunControlCommandsTests: XCTestCase {
  var folder = URL(fileURLWithPath: NSTemporaryDirectory())

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "vcoswin-runcontrol-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    // 48 shipped clips: a few seconds an epoch, long enough to be caught stepping.
    let entries = try String(contentsOfFile: clips("train.txt"), encoding: .utf8)
      .split(separator: "\n").prefix(48)
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }
    try entries.joined(separator: "\n").write(
      toFile: path("train.txt"), atomically: true, encoding: .utf8)
    try entries.prefix(8).joined(separator: "\n").write(
      toFile: path("val.txt"), atomically: true, encoding: .utf8)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  func vcoswin(_ arguments: [String]) throws -> CLIRun {
    try runVCoSwin(arguments, bundleOf: Self.self, seconds: 600)
  }

  /// `finetune` of the shipped model on the small lists into `out`, 2 epochs, progress lines
  /// every 0.2 s (so a test sees it step).
  func finetune(_ out: String, _ extra: [String] = []) -> [String] {
    [
      "finetune", "--train", path("train.txt"), "--val", path("val.txt"), "--labels",
      clips("motion_labels.txt"), "--init", clips("default-model.safetensors"), "--out", out,
      "--epochs", "2", "--batch-size", "4", "--threads", "1", "--progress-interval", "0.2",
    ] + extra
  }

  /// A `vcoswin` process running in the background, its stderr gathered as it comes.
  final class Background: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var gathered = Data()

    init(_ arguments: [String], anchor: AnyClass) throws {
      process.executableURL = try vcoswinBinary(near: Bundle(for: anchor).bundleURL)
      process.arguments = arguments
      process.standardOutput = FileHandle.nullDevice
      let err = Pipe()
      process.standardError = err
      err.fileHandleForReading.readabilityHandler = { [self] handle in
        let chunk = handle.availableData
        lock.lock()
        gathered.append(chunk)
        lock.unlock()
      }
      try process.run()
    }

    var stderr: String {
      lock.lock()
      defer { lock.unlock() }
      return String(decoding: gathered, as: UTF8.self)
    }

    /// Waits until stderr contains `text` (true) or the process ends or `seconds` pass.
    func wait(for text: String, seconds: Double = 300) -> Bool {
      let deadline = Date().addingTimeInterval(seconds)
      while Date() < deadline {
        if stderr.contains(text) { return true }
        if !process.isRunning { return stderr.contains(text) }
        usleep(20_000)
      }
      return false
    }

    /// Waits for the end (at most `seconds`); the exit status, nil when it had to be killed.
    func finish(seconds: Double = 300) -> Int32? {
      let deadline = Date().addingTimeInterval(seconds)
      while process.isRunning && Date() < deadline { usleep(10_000) }
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return nil
      }
      process.waitUntilExit()
      usleep(100_000)  // the last of stderr
      return process.terminationReason == .exit ? process.terminationStatus : -1
    }
  }

  /// A second run on a folder a run is using is refused, naming the first one's process, as a
  /// new run, with --resume and with --overwrite; the running one is not disturbed, ends
  /// normally and removes its lock file.
  func testASecondRunOnTheFolderIsRefusedWithTheFirstOnesProcess() throws {
    let out = path("run")
    let first = try Background(finetune(out, ["--epochs", "6"]), anchor: Self.self)
    XCTAssertTrue(first.wait(for: "epoch 1/6"), first.stderr)
    let pid = first.process.processIdentifier
    XCTAssertEqual(try String(contentsOfFile: out + "/run.lock", encoding: .utf8), "\(pid)\n")
    for extra in [[], ["--resume"], ["--overwrite"]] {
      let second = try vcoswin(finetune(out, extra + ["--quiet"]))
      XCTAssertEqual(second.status, 1, "\(extra): \(second.stderr)")
      XCTAssertTrue(
        second.stderr.contains(
          "error: --out \(out): another run is using it (process \(pid), \(out)/run.lock)"),
        "\(extra): \(second.stderr)")
    }
    XCTAssertTrue(first.process.isRunning, "the first run was still running: \(first.stderr)")
    XCTAssertEqual(first.finish(), 0, first.stderr)
    XCTAssertEqual(
      try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        .split(separator: "\n").count, 6)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/run.lock"))
  }

  /// SIGINT while a run steps: one line saying where, status 130 at once, the lock file
  /// removed and no temporary left.
  func testSIGINTStopsARunWithALine() throws {
    let out = path("run")
    let first = try Background(finetune(out), anchor: Self.self)
    XCTAssertTrue(first.wait(for: "epoch 1/2:"), first.stderr)
    kill(first.process.processIdentifier, SIGINT)
    let sent = Date()
    XCTAssertEqual(first.finish(), 130, first.stderr)
    XCTAssertLessThan(Date().timeIntervalSince(sent), 5)
    let last = first.stderr.split(separator: "\n").last.map(String.init) ?? ""
    XCTAssertNotNil(
      last.range(
        of: #"^interrupted at epoch [12] step \d+; continue with --resume$"#,
        options: .regularExpression), first.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/run.lock"))
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".") }, [],
      "no temporaries left")
  }

  /// SIGTERM after the first epoch's files: status 143 and the line; `--resume` continues after
  /// that epoch and ends the run.
  func testSIGTERMStopsWith143AndResumeContinues() throws {
    let out = path("run")
    let first = try Background(finetune(out), anchor: Self.self)
    XCTAssertTrue(first.wait(for: "epoch 2/2:"), first.stderr)
    kill(first.process.processIdentifier, SIGTERM)
    XCTAssertEqual(first.finish(), 143, first.stderr)
    XCTAssertTrue(
      first.stderr.contains("interrupted at epoch 2 step "), first.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/last.safetensors"))
    let resumed = try vcoswin(finetune(out, ["--resume", "--quiet"]))
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertTrue(resumed.stderr.contains("resuming \(out)/last.safetensors after epoch 1"))
    XCTAssertEqual(
      try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        .split(separator: "\n").count, 2)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/run.lock"))
  }

  /// A lock file left by a process that has ended is taken over, with a line naming it; it is
  /// not an earlier run (a new run starts), and it is removed at the end.
  func testAStaleLockIsTakenOver() throws {
    let out = path("run")
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let ended = Process()
    ended.executableURL = URL(fileURLWithPath: "/bin/true")
    try ended.run()
    ended.waitUntilExit()
    let dead = ended.processIdentifier
    try "\(dead)\n".write(toFile: out + "/run.lock", atomically: true, encoding: .utf8)
    let run = try vcoswin(finetune(out, ["--epochs", "1", "--quiet"]))
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(
      run.stderr.contains("\(out)/run.lock: taking over the lock of process \(dead)"), run.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/run.lock"))
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/best.safetensors"))
  }

  /// An `--out` folder in which no file can be created is refused before the first step. As
  /// root (where mode 555 does not stop anyone) the folder is made immutable (`chattr +i`);
  /// otherwise it is mode 555. Once with no lock file (creating it fails), once with a lock
  /// file left in it (the lock works, the write probe fails).
  func testAnOutFolderThatCannotBeWrittenIsRefusedBeforeTraining() throws {
    for leftLock in [false, true] {
      let out = path("readonly-\(leftLock)")
      try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
      if leftLock { try "1\n".write(toFile: out + "/run.lock", atomically: true, encoding: .utf8) }
      try protect(out, true)
      defer { try? protect(out, false) }
      let run = try vcoswin(finetune(out, ["--epochs", "1"]))
      XCTAssertEqual(run.status, 1, run.stderr)
      XCTAssertTrue(
        run.stderr.contains("error: --out \(out): cannot write in the folder"), run.stderr)
      XCTAssertFalse(run.stderr.contains("epoch 1/1"), "no step was taken: \(run.stderr)")
    }
  }

  /// Makes `folder` unwritable for this user (root included) or writable again.
  func protect(_ folder: String, _ on: Bool) throws {
    if getuid() == 0 {
      let chattr = Process()
      chattr.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
      chattr.arguments = [on ? "+i" : "-i", folder]
      try chattr.run()
      chattr.waitUntilExit()
      XCTAssertEqual(chattr.terminationStatus, 0, "chattr \(on ? "+i" : "-i") \(folder)")
    } else {
      try FileManager.default.setAttributes(
        [.posixPermissions: on ? 0o555 : 0o755], ofItemAtPath: folder)
    }
  }

  /// `finetune` trains at the recipe `--init` records unless an option overrides it, and its
  /// `recipe:` line says which value came from where.
  func testFinetuneTakesTheRecipeTheCheckpointRecords() throws {
    // A copy of the shipped model recording an import's recipe (16 frames every 4 at 48) in
    // place of its training run's data options.
    let imported = path("imported.safetensors")
    try withMetadata(
      of: clips("default-model.safetensors"), to: imported,
      dropping: "training",
      adding: [
        "data":
          #"{"clip_length":16,"flip":false,"frame_interval":4,"kind":"video","min_area":0.08,"normalize":true,"size":48}"#
      ])
    // One epoch on 4 clips; the `recipe:` line comes once the lists are read, and the run
    // records the data options it trained with.
    try (try String(contentsOfFile: path("val.txt"), encoding: .utf8)).split(separator: "\n")
      .prefix(4).joined(separator: "\n").write(
        toFile: path("four.txt"), atomically: true, encoding: .utf8)
    var runs = 0
    func tune(_ extra: [String]) throws -> (CLIRun, [String: Any]) {
      runs += 1
      let out = path("run\(runs)")
      let run = try vcoswin(
        [
          "finetune", "--train", path("four.txt"), "--val", path("four.txt"), "--labels",
          clips("motion_labels.txt"), "--out", out, "--quiet", "--epochs", "1", "--batch-size",
          "4", "--threads", "1",
        ] + extra)
      XCTAssertEqual(run.status, 0, run.stderr)
      let training = try XCTUnwrap(try metadata(of: out + "/last.safetensors")["training"])
      let state = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(training.utf8)) as? [String: Any])
      return (run, try XCTUnwrap(state["data"] as? [String: Any]))
    }
    func trained(_ data: [String: Any]) -> [Int] {
      ["clip_length", "frame_interval", "size"].map { data[$0] as? Int ?? -1 }
    }
    var (run, data) = try tune(["--init", imported])
    XCTAssertTrue(
      run.stderr.contains(
        "recipe: clip length 16, interval 4 and size 48 recorded in \(imported)\n"), run.stderr)
    XCTAssertEqual(trained(data), [16, 4, 48])
    (run, data) = try tune(["--init", imported, "--size", "40", "--clip-len", "4"])
    XCTAssertTrue(
      run.stderr.contains(
        "recipe: interval 4 recorded in \(imported); clip length 4 (--clip-len); size 40 (--size)\n"
      ), run.stderr)
    XCTAssertEqual(trained(data), [4, 4, 40])
    // The shipped model records its own run's data options (8 frames every 2 at 32).
    (run, data) = try tune(["--init", clips("default-model.safetensors")])
    XCTAssertTrue(
      run.stderr.contains(
        "recipe: clip length 8, interval 2 and size 32 recorded in \(clips("default-model.safetensors"))\n"
      ), run.stderr)
    XCTAssertEqual(trained(data), [8, 2, 32])
    // Nothing recorded: the defaults, and a word that nothing was.
    let bare = path("bare.safetensors")
    try withMetadata(of: imported, to: bare, dropping: "data", adding: [:])
    (run, data) = try tune(["--init", bare, "--interval", "3", "--size", "32"])
    XCTAssertTrue(
      run.stderr.contains(
        "recipe: interval 3 (--interval); size 32 (--size); clip length 8 by default (\(bare) records no recipe)\n"
      ), run.stderr)
    XCTAssertEqual(trained(data), [8, 3, 32])
    // The recipe sets what is trained: the model sees 16 frames at 48 (the memory check names
    // the step's input when it is refused).
    run = try vcoswin(
      [
        "finetune", "--train", path("train.txt"), "--val", path("val.txt"), "--labels",
        clips("motion_labels.txt"), "--out", path("big"), "--quiet", "--init", imported,
        "--batch-size", "4096",
      ])
    XCTAssertEqual(run.status, 1, run.stderr)
    XCTAssertTrue(run.stderr.contains("batch 4096 at 16×48×48"), run.stderr)
  }

  /// The `__metadata__` of the safetensors file at `file`.
  func metadata(of file: String) throws -> [String: String] {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
    let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    let header = try XCTUnwrap(
      JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + length))) as? [String: Any])
    return try XCTUnwrap(header["__metadata__"] as? [String: String])
  }

  /// Copies the safetensors file `source` to `target` with `__metadata__` changed: `dropping`
  /// removed, `adding` set.
  func withMetadata(
    of source: String, to target: String, dropping: String, adding: [String: String]
  ) throws {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
    let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    var header = try XCTUnwrap(
      JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + length))) as? [String: Any])
    var metadata = try XCTUnwrap(header["__metadata__"] as? [String: String])
    metadata[dropping] = nil
    metadata.merge(adding) { $1 }
    header["__metadata__"] = metadata
    var text = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while text.count % 8 != 0 { text.append(UInt8(ascii: " ")) }
    var out = Data((0..<8).map { UInt8(truncatingIfNeeded: text.count >> (8 * $0)) })
    out.append(text)
    out.append(bytes.subdata(in: (8 + length)..<bytes.count))
    try out.write(to: URL(fileURLWithPath: target))
  }
}
