import Foundation
import XCTest
import _TestSupport

/// `pretrain` under `mpirun`, as a user runs it: 2 processes × batch 4 reach the weights of
/// 1 process × batch 8 (drop path on, a bad entry in the list, a last global batch that one
/// rank has no part of); a run resumes with another number of processes; a rank killed or
/// stalled ends the job with an error in bounded time, leaving `last.safetensors` intact.
///
/// The tests launch the built `vcoswin` with `mpirun --allow-run-as-root --oversubscribe`
/// (`make test` installs Open MPI); they skip, saying so, only when `mpirun` is absent. The
/// processes talk through shared memory without cross-process copies (which containers that
/// forbid `ptrace` refuse).
final class DistributedTrainingTests: TemporaryFolderTestCase {
  /// The 2D nano architecture with drop path on (its draws must follow the global batch).
  static let config = """
    {"variant": "coswin", "dims": 2, "in_channels": 3, "embed_dim": 16, "depths": [1, 1, 1],
     "heads": [1, 2, 4], "windows": [[4, 4], [4, 4], [4, 4]], "embed_kernel": [7, 7],
     "embed_stride": [2, 2], "embed_padding": [1, 1], "merge_kernel": [3, 3],
     "merge_stride": [2, 2], "merge_padding": [1, 1], "mlp_ratio": 2, "drop_path": 0.3,
     "classes": 4, "layer_norm_eps": 1e-5}
    """

  /// 12 training lines (11 images and a missing file) and 4 validation images; the config.
  func writeData() throws {
    func lines(_ list: String, _ n: Int) throws -> [String] {
      try String(contentsOfFile: clips(list), encoding: .utf8).split(separator: "\n").prefix(n)
        .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }
    }
    var train = try lines("shapes_train.txt", 11)
    train.insert(path("missing.png") + " 1", at: 5)
    try train.joined(separator: "\n").write(
      toFile: path("train.txt"), atomically: true, encoding: .utf8)
    try lines("shapes_val.txt", 4).joined(separator: "\n")
      .write(toFile: path("val.txt"), atomically: true, encoding: .utf8)
    try Self.config.write(toFile: path("arch.json"), atomically: true, encoding: .utf8)
  }

  /// `pretrain` arguments for `epochs` epochs of batch `batch` into `out`. An epoch takes tens
  /// of milliseconds: the runs that are interrupted have enough epochs to be caught running.
  func pretrain(batch: Int, out: String, epochs: Int = 3, resume: Bool = false) -> [String] {
    [
      "pretrain", "--train", path("train.txt"), "--val", path("val.txt"), "--labels",
      clips("shape_labels.txt"), "--config", path("arch.json"), "--size", "32", "--epochs",
      String(epochs),
      "--batch-size", String(batch), "--lr", "0.003", "--seed", "5", "--threads", "1", "--quiet",
      "--allreduce-bucket-mb", "0.02", "--out", path(out),
    ] + (resume ? ["--resume"] : [])
  }

  // MARK: Tests

  func testTwoProcessesTrainAsOneWithTwiceTheBatch() throws {
    let mpirun = try mpirunPath()
    try writeData()
    let one = try launch(nil, pretrain(batch: 8, out: "one")).finish(within: 120)
    XCTAssertEqual(one.status, 0, one.stderr)
    let two = try launch(mpirun, pretrain(batch: 4, out: "two")).finish(within: 120)
    XCTAssertEqual(two.status, 0, two.stderr)
    XCTAssertEqual(
      two.stderr.components(separatedBy: "2 processes × batch 4 × accumulate 1 = effective batch 8")
        .count,
      2, two.stderr)
    // The bad entry: reported once, by rank 0, over 3 epochs; the summary printed once.
    XCTAssertEqual(two.stderr.components(separatedBy: "missing.png").count, 2, two.stderr)
    XCTAssertEqual(two.stdout.split(separator: "\n").count, 1, two.stdout)
    try assertSameRun(path("one"), path("two"), epochs: 3)
  }

  /// 2 processes killed (one rank, kill -9) after epoch 1, resumed by 1 process; and 1
  /// process killed, resumed by 2: both end where an uninterrupted run ends.
  func testResumeWithAnotherNumberOfProcessesAfterAKill() throws {
    let mpirun = try mpirunPath()
    try writeData()
    let epochs = 12
    let reference = try launch(nil, pretrain(batch: 8, out: "reference", epochs: epochs)).finish(
      within: 120)
    XCTAssertEqual(reference.status, 0, reference.stderr)

    // 2 → 1.
    var job = try launch(mpirun, pretrain(batch: 4, out: "a", epochs: epochs))
    try job.waitForFile(path("a/last.safetensors"), within: 120)
    let rank1 = try XCTUnwrap(job.rankPID(1), "no process of rank 1 under mpirun")
    let killed = Date()
    kill(rank1, SIGKILL)
    var run = try job.finish(within: 60)
    XCTAssertNotEqual(run.status, 0, run.stderr)
    XCTAssertLessThan(Date().timeIntervalSince(killed), 30, "the job outlived its killed rank")
    XCTAssertTrue((1..<epochs).contains(try epochsDone(path("a"))))
    run = try launch(nil, pretrain(batch: 8, out: "a", epochs: epochs, resume: true)).finish(
      within: 120)
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stderr.contains("resuming"), run.stderr)
    try assertSameRun(path("reference"), path("a"), epochs: epochs)

    // 1 → 2.
    job = try launch(nil, pretrain(batch: 8, out: "b", epochs: epochs))
    try job.waitForFile(path("b/last.safetensors"), within: 120)
    kill(job.process.processIdentifier, SIGKILL)
    run = try job.finish(within: 60)
    XCTAssertTrue(run.crashed)
    XCTAssertTrue((1..<epochs).contains(try epochsDone(path("b"))))
    run = try launch(mpirun, pretrain(batch: 4, out: "b", epochs: epochs, resume: true)).finish(
      within: 120)
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stderr.contains("resuming"), run.stderr)
    try assertSameRun(path("reference"), path("b"), epochs: epochs)
  }

  /// A rank that stops answering (SIGSTOP) makes the other one give up after
  /// VCOSWIN_MPI_TIMEOUT seconds with an error naming the collective, and the job ends.
  func testStalledRankEndsTheJobAfterTheTimeout() throws {
    let mpirun = try mpirunPath()
    try writeData()
    let job = try launch(
      mpirun, pretrain(batch: 4, out: "stall", epochs: 12),
      environment: ["VCOSWIN_MPI_TIMEOUT": "2"])
    try job.waitForFile(path("stall/last.safetensors"), within: 120)
    let rank1 = try XCTUnwrap(job.rankPID(1), "no process of rank 1 under mpirun")
    let stopped = Date()
    kill(rank1, SIGSTOP)
    defer { kill(rank1, SIGKILL) }
    let run = try job.finish(within: 60)
    XCTAssertNotEqual(run.status, 0, run.stderr)
    XCTAssertLessThan(Date().timeIntervalSince(stopped), 30, "the job outlived its timeout")
    XCTAssertTrue(run.stderr.contains("error: rank 0 of 2: "), run.stderr)
    XCTAssertTrue(
      run.stderr.contains("did not finish within 2 s (VCOSWIN_MPI_TIMEOUT)"), run.stderr)
    XCTAssertTrue((1..<12).contains(try epochsDone(path("stall"))))
  }

  /// The collectives between 3 processes (not a power of two): `vcoswin-bench allreduce` sums a
  /// buffer in one call and in 7 buckets, checks every sum on every rank (an error otherwise),
  /// and reduces the timings with a maximum.
  func testCollectivesBetweenThreeProcesses() throws {
    let mpirun = try mpirunPath()
    let bench = try vcoswinBinary(near: Bundle(for: Self.self).bundleURL)
      .deletingLastPathComponent()
      .appendingPathComponent("vcoswin-bench")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: mpirun)
    process.arguments = [
      "--allow-run-as-root", "--oversubscribe", "-np", "3", "--mca", "btl", "self,vader",
      "--mca", "btl_vader_single_copy_mechanism", "none",
      bench.path,
      "allreduce", "--floats", "100000", "--bucket-mb", "0.06", "--iterations", "2",
    ]
    let out = folder.appendingPathComponent("bench.out")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: out)
    try process.run()
    let run = try BackgroundRun(process: process, stdout: out, stderr: out).finish(within: 60)
    XCTAssertEqual(run.status, 0, run.stdout)
    XCTAssertTrue(
      run.stdout.contains("all-reduce of 100000 floats (0.4 MB) between 3 processes"), run.stdout)
    XCTAssertTrue(run.stdout.contains("  buckets  fastest"), run.stdout)
  }

  // MARK: Comparing runs

  /// Every tensor of the two runs' `last.safetensors` (weights and AdamW moments) within
  /// ‖a − b‖ ≤ 1e-5 ‖a‖, and the same `metrics.jsonl` but for the timings.
  func assertSameRun(
    _ a: String, _ b: String, epochs: Int, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let x = try safetensorsFloats(a + "/last.safetensors")
    let y = try safetensorsFloats(b + "/last.safetensors")
    XCTAssertEqual(Set(x.keys), Set(y.keys), file: file, line: line)
    XCTAssertGreaterThan(x.count, 10, file: file, line: line)
    for (name, whole) in x {
      guard let other = y[name], other.count == whole.count else {
        XCTFail("\(name): missing or another size", file: file, line: line)
        continue
      }
      var (u, v) = (whole, other)
      if name.hasSuffix(".qkv.bias") {
        // The key bias has a zero gradient (it adds q·b to every logit of a softmax row), so it
        // holds float rounding only, which differs: it must stay negligible, and the query and
        // value biases are compared.
        let n = u.count / 3
        let keys = u[n..<(2 * n)] + v[n..<(2 * n)]
        u.removeSubrange(n..<(2 * n))
        v.removeSubrange(n..<(2 * n))
        let largest = u.map { abs($0) }.max() ?? 0
        XCTAssertLessThanOrEqual(
          keys.map { abs($0) }.max() ?? 0, 1e-3 * largest, name, file: file, line: line)
      }
      var diff = 0.0
      var norm = 0.0
      for i in u.indices {
        diff += Double(u[i] - v[i]) * Double(u[i] - v[i])
        norm += Double(u[i]) * Double(u[i])
      }
      XCTAssertLessThanOrEqual(
        diff.squareRoot(), 1e-5 * norm.squareRoot() + 1e-12, name, file: file, line: line)
    }
    let m = try metricsLines(a + "/metrics.jsonl")
    let n = try metricsLines(b + "/metrics.jsonl")
    XCTAssertEqual(m.count, epochs, file: file, line: line)
    XCTAssertEqual(m.count, n.count, file: file, line: line)
    for (p, q) in zip(m, n) {
      for key in ["epoch", "train_loss", "train_top1", "val_top1", "val_top5", "lr", "skipped"] {
        let (u, v) = (try XCTUnwrap(p[key] as? Double, key), try XCTUnwrap(q[key] as? Double, key))
        XCTAssertEqual(
          u, v, accuracy: 1e-5 * Swift.max(1, abs(u)), "\(key): \(p) vs \(q)", file: file,
          line: line)
      }
    }
  }

  /// `epochs_done` of the run's `last.safetensors` (which must read as a whole file).
  func epochsDone(_ run: String) throws -> Int {
    _ = try safetensorsFloats(run + "/last.safetensors")
    return try XCTUnwrap(
      try safetensorsTrainingState(run + "/last.safetensors")["epochs_done"] as? Int)
  }

  func metricsLines(_ path: String) throws -> [[String: Any]] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
      try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
  }
}

// MARK: Launching

/// `mpirun` on the PATH, or an error (a failure, not a skip: `make test` installs Open MPI).
func mpirunPath() throws -> String {
  let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
  for folder in folders + ["/usr/bin"] {
    let candidate = "\(folder)/mpirun"
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
  }
  throw RunFailure(
    description:
      "mpirun not found on the PATH: install Open MPI (`make deps` does) to run the distributed tests"
  )
}

/// A `vcoswin` run in the background (under `mpirun -np 2` when given its path), its output
/// going to files so that a hung run can still be stopped and read.
struct BackgroundRun {
  let process: Process
  let stdout: URL
  let stderr: URL

  /// Waits until `path` exists; fails when the run ends first or the time passes.
  func waitForFile(_ path: String, within seconds: Double) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !FileManager.default.fileExists(atPath: path) {
      guard process.isRunning else {
        throw RunFailure(description: "the run ended before \(path) appeared: \(try read(stderr))")
      }
      guard Date() < deadline else {
        process.terminate()
        throw RunFailure(description: "\(path) did not appear within \(seconds) s")
      }
      usleep(5_000)
    }
  }

  /// The process id of rank `rank` among mpirun's children (from `OMPI_COMM_WORLD_RANK`).
  func rankPID(_ rank: Int) -> pid_t? {
    let parent = process.processIdentifier
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else {
      return nil
    }
    for entry in entries {
      guard let pid = Int32(entry),
        let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { continue }
      // Fields after the command name: state, ppid, …
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      guard fields.count > 1, Int32(fields[1]) == parent,
        let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ")
      else { continue }
      let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
      if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
    }
    return nil
  }

  /// Waits for the end (terminating the run after `seconds`, a failure) and returns its output.
  func finish(within seconds: Double) throws -> CLIRun {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning {
      if Date() > deadline {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw RunFailure(
          description: "the run did not end within \(seconds) s: \(try read(stderr))")
      }
      usleep(10_000)
    }
    return CLIRun(
      status: process.terminationStatus, stdout: try read(stdout), stderr: try read(stderr),
      crashed: process.terminationReason != .exit)
  }

  private func read(_ url: URL) throws -> String {
    String(decoding: try Data(contentsOf: url), as: UTF8.self)
  }
}

struct RunFailure: Error, CustomStringConvertible {
  var description: String
}

extension DistributedTrainingTests {
  /// Starts `vcoswin arguments…`, alone or under `mpirun -np 2` (`mpirun` its path).
  func launch(_ mpirun: String?, _ arguments: [String], environment: [String: String] = [:]) throws
    -> BackgroundRun
  {
    let binary = try vcoswinBinary(near: Bundle(for: Self.self).bundleURL)
    let process = Process()
    if let mpirun {
      process.executableURL = URL(fileURLWithPath: mpirun)
      process.arguments =
        [
          "--allow-run-as-root", "--oversubscribe", "-np", "2", "--mca", "btl", "self,vader",
          "--mca", "btl_vader_single_copy_mechanism", "none",
          binary.path,
        ]
        + arguments
    } else {
      process.executableURL = binary
      process.arguments = arguments
    }
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let id = UUID().uuidString
    let out = folder.appendingPathComponent("stdout-\(id)")
    let err = folder.appendingPathComponent("stderr-\(id)")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    return BackgroundRun(process: process, stdout: out, stderr: err)
  }
}

// MARK: Reading checkpoints (without the package's reader)

/// Every F32 tensor of a safetensors file, by name.
func safetensorsFloats(_ path: String) throws -> [String: [Float]] {
  let data = try Data(contentsOf: URL(fileURLWithPath: path))
  let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
  let header = try XCTUnwrap(
    JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
  var out: [String: [Float]] = [:]
  for (name, value) in header where name != "__metadata__" {
    let entry = try XCTUnwrap(value as? [String: Any])
    guard entry["dtype"] as? String == "F32" else { continue }
    let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
    let bytes = data.subdata(in: (8 + length + offsets[0])..<(8 + length + offsets[1]))
    out[name] = bytes.withUnsafeBytes { raw in
      (0..<(bytes.count / 4)).map {
        Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))
      }
    }
  }
  return out
}

/// The `training` metadata object of a `last.safetensors`.
func safetensorsTrainingState(_ path: String) throws -> [String: Any] {
  let text = try XCTUnwrap(try safetensorsMetadata(path)["training"])
  return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}
