import Foundation
import XCTest
import _TestSupport

@testable import VCoSwinCLI

/// `classify -`'s copy of standard input: bounded, and freed on every exit path.
final class StandardInputSpoolTests: TemporaryFolderTestCase {
  func leftovers() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder.path)
  }

  /// min(64 GiB, 90 % of the free space); 64 GiB when the free space is unknown.
  func testLimitIsTheSmallerOf64GiBAndMostOfTheFreeSpace() {
    XCTAssertEqual(StandardInputSpool.limit(freeBytes: nil), 64 << 30)
    XCTAssertEqual(StandardInputSpool.limit(freeBytes: 1 << 50), 64 << 30)
    XCTAssertEqual(StandardInputSpool.limit(freeBytes: 10_000), 9_000)
    XCTAssertEqual(StandardInputSpool.limit(freeBytes: 0), 0)
    XCTAssertEqual(StandardInputSpool.limit(freeBytes: -5), 0)
    let free = StandardInputSpool.freeBytes(of: folder)
    XCTAssertGreaterThan(free ?? 0, 0)
  }

  /// An endless stream (`/dev/zero`) stops at the limit with an error naming standard input
  /// and the bound, and leaves no file.
  func testEndlessStreamStopsAtTheLimitAndLeavesNoFile() throws {
    let zero = try XCTUnwrap(FileHandle(forReadingAtPath: "/dev/zero"))
    defer { try? zero.close() }
    XCTAssertThrowsError(
      try StandardInputSpool(from: zero, directory: folder, limit: 3 << 20)
    ) { error in
      XCTAssertTrue(
        "\(error)".hasPrefix("- (standard input): longer than 3145728 bytes, the most copied"),
        "\(error)")
    }
    XCTAssertEqual(try leftovers(), [])
  }

  /// A stream within the limit reads back whole through `path`; the file is gone from the
  /// directory (on Linux from the start, the handle keeping it) and after `close()`.
  func testStreamWithinTheLimitReadsBackAndIsFreed() throws {
    let source = folder.appendingPathComponent("source.bin")
    let bytes = Data((0..<(2_500_000)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
    try bytes.write(to: source)
    let input = try FileHandle(forReadingFrom: source)
    defer { try? input.close() }
    let spool = try StandardInputSpool(from: input, directory: folder, limit: 3 << 20)
    XCTAssertEqual(spool.bytes, Int64(bytes.count))
    XCTAssertEqual(FileManager.default.contents(atPath: spool.path), bytes)
    #if os(Linux)
      XCTAssertEqual(try leftovers(), ["source.bin"])
    #endif
    spool.close()
    XCTAssertEqual(try leftovers(), ["source.bin"])
    // Exactly the limit is accepted; empty is an error that leaves nothing.
    let exact = try FileHandle(forReadingFrom: source)
    defer { try? exact.close() }
    XCTAssertNoThrow(
      try StandardInputSpool(from: exact, directory: folder, limit: Int64(bytes.count)).close())
    let empty = try XCTUnwrap(FileHandle(forReadingAtPath: "/dev/null"))
    defer { try? empty.close() }
    XCTAssertThrowsError(try StandardInputSpool(from: empty, directory: folder)) {
      XCTAssertEqual("\($0)", "- (standard input): empty, no video")
    }
    XCTAssertEqual(try leftovers(), ["source.bin"])
  }
}
