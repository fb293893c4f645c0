import Datasets
import Foundation
import VideoIO
import XCTest

@testable import Training

/// The pieces the training loop calls: the bad-entry rule at its boundary, the run folder's
/// refusal and `--overwrite`, the skipped-entry message between processes, and a single
/// process's group.
final class RunPiecesTests: XCTestCase {
  func list(entries: Int, malformed: Int) throws -> ClipList {
    let lines =
      (0..<entries).map { "clip\($0).mkv 0" } + (0..<malformed).map { "broken\($0).mkv" }
    return try ClipList(
      text: lines.joined(separator: "\n") + "\n", path: "/data/list.txt", skipBadLines: true)
  }

  /// More than f of a list stops the work (2 of 10 pass at f = 0.2, 3 do not); an empty list
  /// or one with no usable line stops it whatever f is; messages name the list and the first.
  func testBadEntryPolicyBoundary() throws {
    let policy = BadEntryPolicy.standard
    XCTAssertFalse(policy.isTooMany(2, of: 10))
    XCTAssertTrue(policy.isTooMany(3, of: 10))
    XCTAssertEqual(policy.limitText, "more than 20%")
    XCTAssertNoThrow(try policy.checkLines(of: list(entries: 8, malformed: 2)))
    let bad = try list(entries: 7, malformed: 3)
    XCTAssertThrowsError(try policy.checkLines(of: bad)) {
      XCTAssertEqual(
        "\($0)",
        "/data/list.txt: 3 of 10 lines are malformed (more than 20%); first: \(bad.badLines[0])")
    }
    let lenient = BadEntryPolicy(maxFraction: 1)
    XCTAssertThrowsError(try lenient.checkLines(of: list(entries: 0, malformed: 2))) {
      XCTAssertTrue("\($0)".contains("2 of 2 lines are malformed (none is usable)"), "\($0)")
    }
    XCTAssertThrowsError(try lenient.checkLines(of: list(entries: 0, malformed: 0))) {
      XCTAssertEqual(
        "\($0)", "/data/list.txt: no entries (the list holds only blank lines and comments)")
    }
    XCTAssertNoThrow(try policy.checkUnreadable(2, of: 10, list: "l.txt", first: "x"))
    XCTAssertThrowsError(
      try policy.checkUnreadable(
        3, of: 10, list: "l.txt", entries: "validation entries", first: "l.txt:4: x")
    ) {
      XCTAssertEqual(
        "\($0)",
        "l.txt: 3 of 10 validation entries could not be read (more than 20%); first: l.txt:4: x")
    }
    XCTAssertThrowsError(try lenient.checkUnreadable(1, of: 1, list: "l.txt", used: 0, first: nil))
    {
      XCTAssertEqual(
        "\($0)", "l.txt: 1 of 1 entries could not be read (none was used); first: none")
    }
  }

  /// A folder holding any run file refuses a new run, naming the folder as given and the files;
  /// resume and overwrite accept it; `--overwrite` removes exactly the run files; a process that
  /// does not own the folder sees nothing and removes nothing.
  func testRunFolderRefusesAndOverwritesAnEarlierRun() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "runfolder-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let folder = RunFolder(path: dir.path)
    XCTAssertEqual(try folder.earlierRun(startingAs: .new), [])
    for name in ["last.safetensors", "metrics.jsonl", "notes.txt"] {
      try Data("x".utf8).write(to: dir.appendingPathComponent(name))
    }
    XCTAssertThrowsError(try folder.earlierRun(startingAs: .new)) {
      XCTAssertEqual(
        "\($0)",
        "--out \(dir.path): holds an earlier run (metrics.jsonl, last.safetensors); continue it with --resume, replace it with --overwrite, or give another --out"
      )
    }
    XCTAssertEqual(
      try folder.earlierRun(startingAs: .resume), ["metrics.jsonl", "last.safetensors"])
    let other = RunFolder(path: dir.path, owner: false)
    XCTAssertEqual(try other.earlierRun(startingAs: .new), [])
    XCTAssertNil(try other.removeEarlierRun(["metrics.jsonl"]))
    let earlier = try folder.earlierRun(startingAs: .overwrite)
    XCTAssertEqual(
      try folder.removeEarlierRun(earlier),
      "--overwrite: removed metrics.jsonl, last.safetensors from \(dir.path)")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["notes.txt"])
    XCTAssertNil(try folder.removeEarlierRun([]))
  }

  /// Skipped entries travel as `ShardWriter` bytes and come back equal; a truncated message is
  /// an error, never a crash.
  func testSkippedEntriesRoundTrip() throws {
    let entries = [
      SkippedEntry(index: 3, message: "list.txt:4: a.mkv: no such file"),
      SkippedEntry(index: 70, message: "list.txt:71: é.mkv: truncated"),
    ]
    var w = ShardWriter()
    w.skippedEntries(entries)
    var r = ShardReader(w.bytes)
    let back = try r.skippedEntries()
    XCTAssertTrue(r.isAtEnd)
    XCTAssertEqual(back.map(\.index), [3, 70])
    XCTAssertEqual(back.map(\.message), entries.map(\.message))
    var cut = ShardReader(Array(w.bytes.dropLast(3)))
    XCTAssertThrowsError(try cut.skippedEntries())
  }

  /// One process: its share is the whole order, the exchange passes the batch through, the
  /// validation block is the whole list, and sums and gathers are the identity.
  func testSingleProcessIsTheIdentity() throws {
    let group = SingleProcess()
    XCTAssertEqual(group.size, 1)
    XCTAssertTrue(group.isOwner)
    XCTAssertEqual(group.share(of: [4, 1, 3], batchSize: 2), [4, 1, 3])
    let skipped = [SkippedEntry(index: 2, message: "m")]
    let share = group.exchange(loaded: 5, skipped: skipped)
    XCTAssertEqual(
      [share.total, share.offset, share.skippedCount, share.skipped.count], [5, 0, 1, 1])
    XCTAssertEqual(group.validationEntries(count: 7, granule: 4), 0..<7)
    var values = [1.5, 2]
    group.sum(&values)
    group.maximum(&values)
    XCTAssertEqual(values, [1.5, 2])
    XCTAssertEqual(
      try group.gather(
        { 7 },
        encode: { _ in
          XCTFail("no bytes for one process"); return []
        }, decode: { _ in 0 }),
      [7])
  }
}
