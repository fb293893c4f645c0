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
