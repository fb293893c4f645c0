import ArgumentParser
import Foundation
import Inference
import XCTest
import _TestSupport

@testable import VCoSwinCLI

/// What commands print for people: names with control characters stay on their line (escaped),
/// class names are never cut and their columns line up past rank 99, and `--help` examples
/// stay whole at any width.
final class HumanOutputTests: TemporaryFolderTestCase {
  /// Names holding a carriage return, a vertical tab, NEL, a line separator and a line feed.
  let hostileNames = [
    "cr\rname.mkv", "vt\u{0B}name.mkv", "nel\u{85}name.mkv", "ls\u{2028}name.mkv",
    "lf\nname.mkv",
  ]
  /// The same names as printed.
  let shownNames = [
    "cr\\rname.mkv", "vt\\u{0B}name.mkv", "nel\\u{85}name.mkv", "ls\\u{2028}name.mkv",
    "lf\\nname.mkv",
  ]

  /// Copies of a shipped clip under `hostileNames`; their paths.
  func hostileCopies() throws -> [String] {
    try hostileNames.map { name in
      let copy = path(name)
      try FileManager.default.copyItem(atPath: clips("val/0000.mkv"), toPath: copy)
      return copy
    }
  }

  /// Lines as a terminal (or `split(whereSeparator: \.isNewline)`) sees them.
  func lines(_ text: String) -> [Substring] {
    text.split(whereSeparator: \.isNewline)
  }

  func testProbeTableShowsEscapedNamesOneLineEach() throws {
    let files = try hostileCopies()
    let run = try runVCoSwin(["probe"] + files, bundleOf: Self.self, seconds: 60)
    XCTAssertEqual(run.status, 0, run.stderr)
    let table = lines(run.stdout)
    XCTAssertEqual(table.count, 1 + files.count, run.stdout)
    for (row, shown) in zip(table.dropFirst(), shownNames) {
      XCTAssertTrue(row.hasPrefix(path(shown)), "\(row) does not start with \(path(shown))")
      XCTAssertTrue(row.hasSuffix("s"), String(row))  // the duration column
    }
    // The columns line up: every row as wide as the header line's widest.
    XCTAssertEqual(Set(table.dropFirst().map(\.count)).count, 1, run.stdout)
    // --json keeps the exact names.
    let json = try runVCoSwin(["probe", "--json"] + files, bundleOf: Self.self, seconds: 60)
    let paths = try json.stdout.split(separator: "\n").map {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }.map { $0?["path"] as? String }
    XCTAssertEqual(paths, files)
  }

  func testClassifyShowsEscapedNamesAndOneErrorLine() throws {
    let files = try hostileCopies()
    let run = try runVCoSwin(
      ["classify"] + files + ["--top", "2", "--threads", "1"], bundleOf: Self.self, seconds: 120)
    XCTAssertEqual(run.status, 0, run.diagnostics)
    let out = lines(run.stdout)
    XCTAssertEqual(out.count, files.count * 3, run.stdout)
    XCTAssertEqual(
      stride(from: 0, to: out.count, by: 3).map { String(out[$0]) }, shownNames.map(path))
    // An unreadable file with a line break and an escape sequence in its name: one error line.
    let bad = path("bad\r\n\u{1B}[2Jname.mkv")
    XCTAssertTrue(FileManager.default.createFile(atPath: bad, contents: Data("not a video".utf8)))
    for command in [["probe"], ["classify", "--threads", "1"]] {
      let failed = try runVCoSwin(command + [bad], bundleOf: Self.self, seconds: 60)
      XCTAssertEqual(failed.status, 1, failed.stderr)
      let errors = lines(failed.diagnostics)
      XCTAssertEqual(errors.count, 1, failed.stderr)
      XCTAssertTrue(
        errors.first?.hasPrefix("error: \(path("bad\\r\\n\\u{1B}[2Jname.mkv")): ") ?? false,
        failed.stderr)
      XCTAssertFalse(failed.stderr.contains("\u{1B}"), failed.stderr)
    }
    // An error line from the command itself (runMain): a checkpoint that is not there.
    let missing = try runVCoSwin(
      ["info", path("no\nsuch\u{85}model.safetensors")], bundleOf: Self.self, seconds: 60)
    XCTAssertEqual(missing.status, 1)
    XCTAssertEqual(lines(missing.stderr).count, 1, missing.stderr)
    XCTAssertTrue(
      missing.stderr.contains(path("no\\nsuch\\u{85}model.safetensors")), missing.stderr)
  }

  /// 120 classes, two of them long names sharing a 30-character prefix: `classify --top 120`
  /// prints both whole, and ranks 1 to 120, the names and the percentages each line up.
  func testClassifyKeepsLongNamesWholeAndAlignsRanksPast99() throws {
    let inGame = "passing American football (in game)"
    let notInGame = "passing American football (not in game)"
    let names = [inGame, notInGame] + (2..<120).map { "class \($0)" }
    try (names.joined(separator: "\n") + "\n").write(
      toFile: path("labels.txt"), atomically: true, encoding: .utf8)
    let model = path("many.safetensors")
    let made = try runVCoSwin(
      [
        "init", "--preset", "nano", "--classes", "120", "--labels", path("labels.txt"), "--out",
        model,
      ], bundleOf: Self.self, seconds: 60)
    XCTAssertEqual(made.status, 0, made.stderr)
    let run = try runVCoSwin(
      ["classify", clips("val/0000.mkv"), "--checkpoint", model, "--top", "120", "--threads", "1"],
      bundleOf: Self.self, seconds: 120)
    XCTAssertEqual(run.status, 0, run.diagnostics)
    let rows = Array(lines(run.stdout).dropFirst())
    XCTAssertEqual(rows.count, 120, run.stdout)
    XCTAssertEqual(rows.filter { $0.contains(inGame + " ") }.count, 1, run.stdout)
    XCTAssertEqual(rows.filter { $0.contains(notInGame + " ") }.count, 1, run.stdout)
    // Ranks right-aligned to "120.", names from one column, percentages ending at one column.
    for (i, row) in rows.enumerated() {
      let rank = "\(i + 1)."
      XCTAssertEqual(
        String(row.prefix(7)), "  " + String(repeating: " ", count: 4 - rank.count) + rank + " ",
        String(row))
      XCTAssertNotEqual(row.dropFirst(7).first, " ", String(row))
      XCTAssertTrue(row.hasSuffix("%"), String(row))
    }
    XCTAssertEqual(Set(rows.map(\.count)).count, 1, run.stdout)
  }

  /// `timeline`'s segment table: long names whole, the label column as wide as the widest.
  func testSegmentTableKeepsNamesWhole() {
    let long = "passing American football (not in game)"
    let segments = [
      TimelineSegment(label: 0, name: "yoga", start: 0, end: 1.5, prob: 0.9, windows: 0..<2),
      TimelineSegment(label: 1, name: long, start: 1.5, end: 12.25, prob: 0.75, windows: 2..<9),
    ]
    let table = SegmentTable(labels: segments.map(\.name))
    let rows = [table.header] + segments.map(table.row)
    XCTAssertEqual(
      rows[0], "     start       end  label" + String(repeating: " ", count: 37) + "prob")
    XCTAssertEqual(
      rows[1], "      0.00      1.50  yoga" + String(repeating: " ", count: 37) + "0.900")
    XCTAssertEqual(rows[2], "      1.50     12.25  \(long)  0.750")
  }

  /// Every command's `--help`, at 80 and 40 columns and in a pipe without `COLUMNS`: each
  /// example is one whole line, and every line that starts like a command is one of them.
  func testHelpExamplesStayWholeAtAnyWidth() throws {
    let commands: [(name: [String], type: ParsableCommand.Type)] =
      [([], VCoSwin.self)]
      + VCoSwin.commands.map { ([$0.configuration.commandName ?? ""], $0) }
    for (name, type) in commands {
      let examples = HelpExamples.examples(in: type.configuration.discussion)
      XCTAssertFalse(examples.isEmpty, "vcoswin \(name.joined()) --help has no examples")
      for columns in ["80", "40", nil] {
        let run = try runHelp(name, columns: columns)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertFalse(run.stdout.contains("\u{A0}"), "no-break spaces left in \(name) help")
        let shown = run.stdout.split(separator: "\n").map {
          $0.trimmingCharacters(in: .whitespaces)
        }
        for example in examples {
          XCTAssertTrue(
            shown.contains(example),
            "vcoswin \(name.joined()) --help at \(columns ?? "a pipe"): no line \(example)")
        }
        for line in shown where line.hasPrefix("vcoswin ") {
          XCTAssertTrue(
            examples.contains(line),
            "vcoswin \(name.joined()) --help at \(columns ?? "a pipe"): broken example \(line)")
        }
      }
    }
  }

  /// `vcoswin NAME --help` with `COLUMNS` set to `columns`, or unset (nil); output to a pipe.
  func runHelp(_ name: [String], columns: String?) throws -> CLIRun {
    let process = Process()
    process.executableURL = try vcoswinBinary(near: Bundle(for: Self.self).bundleURL)
    process.arguments = name + ["--help"]
    var environment = ProcessInfo.processInfo.environment
    environment["COLUMNS"] = columns
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CLIRun(
      status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
      stderr: String(decoding: e, as: UTF8.self), crashed: process.terminationReason != .exit)
  }
}
