import Foundation
import XCTest

/// Commands over several inputs report each failing input on its own `error:` line; the end
/// is a plain summary when there were several inputs, and nothing more for a single one.
final class FailureSummaryTests: XCTestCase {
  func errorLines(_ run: CLIRun) -> [Substring] {
    run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
  }

  func testOneFailingFileIsOneErrorLine() throws {
    for command in [["probe"], ["classify"]] {
      let run = try runVCoSwin(command + ["/dev/zero"], bundleOf: Self.self, seconds: 60)
      XCTAssertEqual(run.status, 1, run.diagnostics)
      XCTAssertEqual(errorLines(run).count, 1, run.diagnostics)
      XCTAssertTrue(errorLines(run).first?.contains("/dev/zero") ?? false, run.diagnostics)
      XCTAssertFalse(run.stderr.contains("files could not be"), run.diagnostics)
    }
  }

  func testSeveralFilesEndWithAPlainSummary() throws {
    let good = clips("val/0000.mkv")
    let probe = try runVCoSwin(["probe", good, "/dev/zero"], bundleOf: Self.self, seconds: 60)
    XCTAssertEqual(probe.status, 1, probe.diagnostics)
    XCTAssertEqual(errorLines(probe).count, 1, probe.diagnostics)
    XCTAssertTrue(
      probe.stderr.split(separator: "\n").contains("1 of 2 files could not be read"),
      probe.diagnostics)
    let classify = try runVCoSwin(
      ["classify", good, "/dev/zero"], bundleOf: Self.self, seconds: 60)
    XCTAssertEqual(classify.status, 1, classify.diagnostics)
    XCTAssertEqual(errorLines(classify).count, 1, classify.diagnostics)
    XCTAssertTrue(
      classify.stderr.split(separator: "\n").contains("1 of 2 files could not be classified"),
      classify.diagnostics)
  }
}

/// `classify -` reads standard input, as `timeline -` does.
final class ClassifyStandardInputTests: XCTestCase {
  func testClassifyReadsStandardInputLikeAFile() throws {
    let clip = clips("val/0003.mkv")
    let file = try runVCoSwin(["classify", clip, "--json"], bundleOf: Self.self, seconds: 60)
    XCTAssertEqual(file.status, 0, file.diagnostics)
    let binary = try vcoswinBinary(near: Bundle(for: Self.self).bundleURL)
    let process = Process()
    process.executableURL = binary
    process.arguments = ["classify", "-", "--json"]
    process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: clip))
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)
    let piped = String(decoding: data, as: UTF8.self)
    // The same top list; only the path differs.
    XCTAssertEqual(
      piped.replacingOccurrences(of: "\"path\":\"-\"", with: "\"path\":\"\(clip)\""),
      file.stdout.replacingOccurrences(of: "\\/", with: "/"))
  }

  func testStandardInputTwiceIsRefused() throws {
    let run = try runVCoSwin(["classify", "-", "-"], bundleOf: Self.self, seconds: 60)
    XCTAssertEqual(run.status, 64, run.diagnostics)
    XCTAssertTrue(run.stderr.contains("can be given once"), run.diagnostics)
  }
}
