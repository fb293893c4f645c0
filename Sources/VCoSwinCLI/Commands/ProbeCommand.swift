import ArgumentParser
import Datasets
import Foundation
import TerminalText
import VideoIO

/// `vcoswin probe`: stream facts of video and image files.
struct ProbeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "probe",
    abstract: "Show container, codec, size, frame rate, frame count and duration of videos.",
    discussion: HelpExamples.protected(
      """
      Frame counts and durations come from a scan of every packet, not from the header. \
      With --json, prints one JSON object per file per line, with keys path, container, \
      codec, width, height (as displayed), fps, frames, duration, rotation. A file that \
      cannot be read prints `error: <path>: …` on stderr; the others are still shown, and the \
      exit status is 1. Names in the table and in errors show control characters as escapes \
      (`\\n`, `\\r`, `\\u{1B}`); --json gives them exactly.

      Examples:
        vcoswin probe Clips/val/0000.mkv
        vcoswin probe Clips/train/*.mkv --json
        vcoswin probe --list Clips/val.txt
        vcoswin probe --list my/train.txt --labels my/labels.txt
      """))

  @Argument(help: "Video or image files.")
  var videos: [String] = []

  @Option(help: "A clip list (`path label` lines); probes every file it names.")
  var list: String?

  @Option(
    help: "Labels file of --list's name labels: one class name per line (integer labels need none)."
  )
  var labels: String?

  @Flag(help: "One JSON object per file per line.")
  var json = false

  func validate() throws {
    if videos.isEmpty && list == nil {
      throw ValidationError("Give at least one video file, or --list LIST.")
    }
    if labels != nil && list == nil { throw ValidationError("--labels goes with --list.") }
  }

  func run() throws {
    var paths = videos
    if let list {
      let names = try labels.map(readLabelsFile) ?? []
      let parsed: ClipList
      do {
        parsed = try ClipList(contentsOf: list, labelNames: names, skipBadLines: true)
      } catch let error as ListError {
        throw CommandFailure(error.description)
      }
      // Labels that are not classes: one error listing them; another malformed line: its error.
      if let message = ListDataset.unknownLabels(in: parsed, classes: names.count, source: labels) {
        throw CommandFailure(message)
      }
      if let bad = parsed.badLines.first { throw CommandFailure(bad.description) }
      if parsed.entries.isEmpty {
        throw CommandFailure("\(list): no entries (the list holds only blank lines and comments)")
      }
      paths += parsed.entries.map(\.path)
    }
    var failures = 0
    var table = [["path", "container", "codec", "size", "fps", "frames", "duration"]]
    for path in paths {
      do {
        let info = try VideoReader(path: path).info
        if json { print(ProbeCommand.json(info)) } else { table.append(ProbeCommand.cells(info)) }
      } catch {
        failures += 1
        printHumanError("error: \(error)")
      }
    }
    if !json && table.count > 1 { print(ProbeCommand.layout(table)) }
    if failures > 0 {
      throw CommandFailure.failed(failures, of: paths.count, "could not be read")
    }
  }

  /// One line of JSON with the keys in the documented order.
  static func json(_ info: StreamInfo) -> String {
    func quote(_ s: String) -> String {
      let encoder = JSONEncoder()
      encoder.outputFormatting = .withoutEscapingSlashes
      let data = (try? encoder.encode(s)) ?? Data("\"\"".utf8)
      return String(decoding: data, as: UTF8.self)
    }
    return "{\"path\":\(quote(info.path)),\"container\":\(quote(info.container)),"
      + "\"codec\":\(quote(info.codec)),\"width\":\(info.width),\"height\":\(info.height),"
      + "\"fps\":\(number(info.fps)),\"frames\":\(info.frames),"
      + "\"duration\":\(number(info.duration)),\"rotation\":\(info.rotation)}"
  }

  /// A JSON number: integers without a fraction, others with up to 6 decimals.
  static func number(_ x: Double) -> String {
    guard x.isFinite else { return "0" }
    if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
    var s = String(format: "%.6f", x)
    while s.hasSuffix("0") { s.removeLast() }
    return s
  }

  static func cells(_ info: StreamInfo) -> [String] {
    [
      info.path, info.container, info.codec, "\(info.width)x\(info.height)",
      String(format: "%.3f", info.fps), "\(info.frames)", String(format: "%.3fs", info.duration),
    ]
  }

  /// Rows of cells as aligned columns (`TextTable`): path, container and codec to the left,
  /// the numbers to the right; names whole, their control characters escaped.
  static func layout(_ rows: [[String]]) -> String {
    var table = TextTable([.left, .left, .left, .right, .right, .right, .right])
    for row in rows { table.append(row) }
    return table.lines().joined(separator: "\n")
  }
}
