import Foundation
import Synth
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `vcoswin timeline` on live sources: a pipe fed in real time, a TCP stream on the loopback
/// address, `--realtime` with a slow model, a stalled source, SIGINT.
final class LiveTimelineTests: XCTestCase {
  var folder = URL(fileURLWithPath: NSTemporaryDirectory())

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "vcoswin-live-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
  var model: String { clips("default-model.safetensors") }

  /// A 128-frame (5.12 s at 25 fps) synthetic video: 8 clips of 4 motions.
  func longVideo() throws -> Data {
    var video = SynthLongVideo(
      motions: [.moveRight, .grow, .moveLeft, .shrink], clipsPerSegment: [2, 2, 2, 2])
    video.seed = 11
    try video.render(to: path("long.mkv"))
    return try Data(contentsOf: URL(fileURLWithPath: path("long.mkv")))
  }

  /// Top label of every window line, by window number.
  func topLabels(_ lines: [[String: Any]]) -> [Int: String] {
    var labels: [Int: String] = [:]
    for line in lines where line["type"] as? String == "window" {
      if let w = line["window"] as? Int, let top = line["top"] as? [[String: Any]] {
        labels[w] = top.first?["label"] as? String
      }
    }
    return labels
  }

  func testPipeInRealTimeStreamsWindowsWithTheFileLabels() throws {
    let data = try longVideo()
    let file = try runVCoSwin(
      ["timeline", path("long.mkv"), "--checkpoint", model, "--json"], bundleOf: Self.self)
    XCTAssertEqual(file.status, 0, file.stderr)
    let live = try LiveRun(["timeline", "-", "--checkpoint", model, "--json"], anchor: Self.self)
    // The writer paces the bytes over 4 s (the video lasts 5.12 s).
    let writerEnd = live.write(data, chunks: 20, every: 0.2)
    live.closeInput()
    let status = live.wait(seconds: 30)
    XCTAssertEqual(status, 0, live.stderr)
    let first = try XCTUnwrap(live.arrivals.first { $0.line["type"] as? String == "window" })
    XCTAssertLessThan(first.time, writerEnd, "the first window came after the writer ended")
    let fileLines = file.stdout.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
    XCTAssertEqual(topLabels(live.lines), topLabels(fileLines))
    XCTAssertEqual(topLabels(live.lines).count, 15)  // (128 − 16) / 8 + 1
    let summary = try XCTUnwrap(live.lines.last)
    XCTAssertEqual(summary["type"] as? String, "summary")
    XCTAssertEqual(summary["dropped"] as? Int, 0)
    XCTAssertEqual(summary["decoded_frames"] as? Int, 128)
    XCTAssertEqual(
      (summary["segments"] as? [[String: Any]])?.map { $0["label"] as? String },
      (fileLines.last?["segments"] as? [[String: Any]])?.map { $0["label"] as? String })
    for line in live.lines where line["type"] as? String == "window" {
      XCTAssertNotNil(line["latency"] as? Double)
    }
  }

  func testTCPStreamOnLoopback() throws {
    let data = try longVideo()
    let port = try freePort()
    let live = try LiveRun(
      ["timeline", "tcp://127.0.0.1:\(port)?listen", "--checkpoint", model, "--json"],
      anchor: Self.self)
    let socket = try connect(port: port, within: 10)
    defer { close(socket) }
    var sent = 0
    for chunk in stride(from: 0, to: data.count, by: 4096) {
      let part = data[chunk..<min(data.count, chunk + 4096)]
      sent += part.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
      Thread.sleep(forTimeInterval: 0.01)
    }
    XCTAssertEqual(sent, data.count)
    shutdown(socket, Int32(SHUT_WR))
    XCTAssertEqual(live.wait(seconds: 30), 0, live.stderr)
    XCTAssertEqual(topLabels(live.lines).count, 15)
    XCTAssertEqual(live.lines.last?["decoded_frames"] as? Int, 128)
    XCTAssertEqual(live.lines.last?["ended"] as? String, "end of stream")
  }

  func testRealtimeDropsWindowsWhenTheModelIsSlow() throws {
    let data = try longVideo()
    // 15 windows arrive in about 4 s; the model takes 0.5 s a window (2 a second).
    let live = try LiveRun(
      [
        "timeline", "-", "--checkpoint", model, "--json", "--realtime", "--batch", "1",
        "--debug-delay", "0.5",
      ], anchor: Self.self)
    let writerEnd = live.write(data, chunks: 20, every: 0.2)
    live.closeInput()
    XCTAssertEqual(live.wait(seconds: 30), 0, live.stderr)
    let windows = live.lines.filter { $0["type"] as? String == "window" }
    // The output keeps up: the last window's line comes soon after the stream ends.
    let last = live.arrivals.last { $0.line["type"] as? String == "window" }
    XCTAssertLessThan((last?.time ?? .distantFuture).timeIntervalSince(writerEnd), 2.0)
    let summary = try XCTUnwrap(live.lines.last)
    let dropped = try XCTUnwrap(summary["dropped"] as? Int)
    XCTAssertGreaterThan(dropped, 0)
    XCTAssertEqual(windows.count + dropped, 15)
    XCTAssertEqual(summary["windows"] as? Int, windows.count)
    // At most the window being classified and this one's own pass: about 1 s.
    let latencies = windows.compactMap { $0["latency"] as? Double }
    XCTAssertEqual(latencies.count, windows.count)
    XCTAssertLessThan(latencies.max() ?? 99, 2.0, "\(latencies)")
  }

  /// The same slow model without `--realtime`: every window is classified, and the output
  /// falls behind the stream (15 windows of 0.5 s each take 7.5 s for a stream fed in 4): the
  /// last line comes seconds after the writer ended.
  func testWithoutRealtimeEveryWindowIsClassifiedAndTheOutputFallsBehind() throws {
    let data = try longVideo()
    let live = try LiveRun(
      [
        "timeline", "-", "--checkpoint", model, "--json", "--batch", "1", "--debug-delay", "0.5",
      ], anchor: Self.self)
    let writerEnd = live.write(data, chunks: 20, every: 0.2)
    live.closeInput()
    XCTAssertEqual(live.wait(seconds: 30), 0, live.stderr)
    let windows = live.arrivals.filter { $0.line["type"] as? String == "window" }
    XCTAssertEqual(windows.count, 15)
    XCTAssertEqual(live.lines.last?["dropped"] as? Int, 0)
    let behind = (windows.last?.time ?? writerEnd).timeIntervalSince(writerEnd)
    XCTAssertGreaterThan(behind, 2.5)
  }

  func testStalledSourceFailsAndSIGINTEndsCleanly() throws {
    let stalled = try LiveRun(
      ["timeline", "-", "--checkpoint", model, "--json", "--stall-timeout", "1"],
      anchor: Self.self)
    let started = Date()
    XCTAssertNotEqual(stalled.wait(seconds: 15), 0)
    XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    XCTAssertTrue(
      stalled.stderr.contains("error: - (standard input): stalled: no data for 1.0 s"),
      stalled.stderr)

    let data = try longVideo()
    let live = try LiveRun(["timeline", "-", "--checkpoint", model, "--json"], anchor: Self.self)
    _ = live.write(data.prefix(data.count / 2), chunks: 1, every: 0)
    let deadline = Date().addingTimeInterval(15)
    while Date() < deadline && !live.arrivals.contains(where: { $0.line["type"] != nil }) {
      Thread.sleep(forTimeInterval: 0.05)
    }
    live.process.interrupt()  // SIGINT, the input still open
    XCTAssertEqual(live.wait(seconds: 15), 0, live.stderr)
    let summary = try XCTUnwrap(live.lines.last)
    XCTAssertEqual(summary["type"] as? String, "summary")
    XCTAssertEqual(summary["ended"] as? String, "stopped")
    XCTAssertGreaterThan(summary["windows"] as? Int ?? 0, 0)
    XCTAssertFalse((summary["segments"] as? [Any])?.isEmpty ?? true)
  }
}

/// A running `vcoswin` fed through a pipe, its JSON lines collected with their arrival times.
final class LiveRun: @unchecked Sendable {
  let process = Process()
  private let input = Pipe()
  private let output = Pipe()
  private let errors = Pipe()
  private let lock = NSLock()
  private var pendingText = Data()
  private var collected: [(time: Date, line: [String: Any])] = []
  private var errorText = Data()

  init(_ arguments: [String], anchor: AnyClass) throws {
    process.executableURL = try vcoswinBinary(near: Bundle(for: anchor).bundleURL)
    process.arguments = arguments
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    output.fileHandleForReading.readabilityHandler = { [self] handle in
      let chunk = handle.availableData
      lock.lock()
      defer { lock.unlock() }
      pendingText.append(chunk)
      while let newline = pendingText.firstIndex(of: 10) {
        let line = pendingText[pendingText.startIndex..<newline]
        pendingText.removeSubrange(pendingText.startIndex...newline)
        if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] {
          collected.append((Date(), object))
        }
      }
    }
    errors.fileHandleForReading.readabilityHandler = { [self] handle in
      let chunk = handle.availableData
      lock.lock()
      errorText.append(chunk)
      lock.unlock()
    }
    try process.run()
  }

  var arrivals: [(time: Date, line: [String: Any])] {
    lock.lock()
    defer { lock.unlock() }
    return collected
  }
  var lines: [[String: Any]] { arrivals.map(\.line) }
  var stderr: String {
    lock.lock()
    defer { lock.unlock() }
    return String(decoding: errorText, as: UTF8.self)
  }

  /// Writes `data` in `chunks` parts, `every` seconds apart; returns when the last was written.
  func write(_ data: Data, chunks: Int, every seconds: Double) -> Date {
    let size = (data.count + chunks - 1) / chunks
    var offset = data.startIndex
    while offset < data.endIndex {
      let end = min(data.endIndex, offset + size)
      try? input.fileHandleForWriting.write(contentsOf: data[offset..<end])
      offset = end
      if offset < data.endIndex { Thread.sleep(forTimeInterval: seconds) }
    }
    return Date()
  }

  func closeInput() { try? input.fileHandleForWriting.close() }

  /// The exit status; a process still running after `seconds` is killed (status −1).
  func wait(seconds: Double) -> Int32 {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
      return -1
    }
    process.waitUntilExit()
    Thread.sleep(forTimeInterval: 0.2)  // the last output chunks
    output.fileHandleForReading.readabilityHandler = nil
    errors.fileHandleForReading.readabilityHandler = nil
    lock.lock()
    if let rest = try? output.fileHandleForReading.readToEnd() { pendingText.append(rest) }
    for line in pendingText.split(separator: 10) {
      if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] {
        collected.append((Date(), object))
      }
    }
    pendingText.removeAll()
    lock.unlock()
    return process.terminationStatus
  }
}

/// A TCP port free on 127.0.0.1 just now (bound to port 0, then released).
func freePort() throws -> Int {
  let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(s) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = 0
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  let bound = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      bind(s, $0, length) == 0 && getsockname(s, $0, &length) == 0
    }
  }
  guard bound else { throw CLIError("cannot bind a loopback port") }
  return Int(UInt16(bigEndian: address.sin_port))
}

/// A TCP connection to 127.0.0.1:`port`, retried until it is accepted or `seconds` pass.
func connect(port: Int, within seconds: Double) throws -> Int32 {
  let deadline = Date().addingTimeInterval(seconds)
  while Date() < deadline {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let ok = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
    if ok { return s }
    close(s)
    Thread.sleep(forTimeInterval: 0.1)
  }
  throw CLIError("nothing listens on 127.0.0.1:\(port)")
}

struct CLIError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
