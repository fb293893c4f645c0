import ArgumentParser
import Foundation
import TerminalText

/// The `vcoswin` command: Florence's Video CoSwin adapter on a CPU.
///
/// Each subcommand lives in its own file, `Commands/<Name>Command.swift`. Add new ones to
/// `subcommands` below.
public struct VCoSwin: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "vcoswin",
    abstract: "Video CoSwin on a CPU: decode clips, train, inflate, fine-tune and classify.",
    discussion: HelpExamples.protected(
      """
      Examples:
        vcoswin demo                                  # the whole pipeline on Clips/
        vcoswin classify Clips/val/0003.mkv           # the shipped default model
        vcoswin probe Clips/val/0000.mkv --json
        vcoswin inflate --from image.safetensors --to video.safetensors --classes 8
        vcoswin finetune --train Clips/train.txt --val Clips/val.txt --init video.safetensors --out runs/video
      """),
    version: "0.1.0",
    subcommands: VCoSwin.commands
  )

  /// Every subcommand, in the order `--help` lists them.
  static var commands: [ParsableCommand.Type] {
    var list: [ParsableCommand.Type] = []
    list += [ProbeCommand.self, SampleCommand.self, SynthCommand.self]
    list += [InitCommand.self, ImportCommand.self, InfoCommand.self, FeaturesCommand.self]
    list += [InflateCommand.self, PretrainCommand.self, FinetuneCommand.self]
    list += [ClassifyCommand.self, EvalCommand.self, TimelineCommand.self, DemoCommand.self]
    list += [ExportCommand.self]
    return list
  }

  public init() {}

  /// Parses `arguments` (the process arguments by default) and runs the command.
  ///
  /// Errors from bad input print one line `error: …` on stderr and exit with status 1;
  /// argument errors print the usage too and exit with status 64. Nothing is a crash.
  public static func runMain(_ arguments: [String]? = nil) -> Never {
    do {
      var command = try parseAsRoot(arguments)
      try command.run()
      Foundation.exit(0)
    } catch let error as CommandFailure {
      if error.plain {
        if !error.message.isEmpty {
          FileHandle.standardError.write(Data("\(oneLine(error.message))\n".utf8))
        }
      } else {
        FileHandle.standardError.write(Data("error: \(oneLine(error.message))\n".utf8))
      }
      Foundation.exit(error.status)
    } catch {
      let code = exitCode(for: error)
      if code == .success {
        print(HelpExamples.restoringSpaces(fullMessage(for: error)))
        Foundation.exit(0)
      }
      var message = fullMessage(for: error)
      // Usage text (status 64) keeps its lines after the error's own line; an error from bad
      // input is one short line. Either way the error's text (which may quote an argument) has
      // its control characters escaped.
      let short = Self.message(for: error)
      if code.rawValue == 64, !short.isEmpty, message.hasPrefix("Error: " + short) {
        message = "Error: " + oneLine(short) + message.dropFirst(("Error: " + short).count)
      } else if code.rawValue != 64 {
        message = oneLine(message)
      }
      if message.hasPrefix("Error: ") {
        message = "error: " + message.dropFirst("Error: ".count)
      } else if !message.hasPrefix("error:") {
        message = "error: " + message
      }
      message = HelpExamples.restoringSpaces(message)  // usage text may hold the root's help
      FileHandle.standardError.write(Data((message + "\n").utf8))
      Foundation.exit(code.rawValue == 0 ? 1 : code.rawValue)
    }
  }
}

/// A failure a command reports to the person running it: one line, and an exit status.
///
/// Library errors (decoding, checkpoints, lists) carry their own context (file, line, tensor
/// key) in their `description`; any error that is not a `CommandFailure` is printed through
/// `String(describing:)` by `runMain` with status 1.
public struct CommandFailure: Error, CustomStringConvertible {
  public var message: String
  public var status: Int32
  /// Printed as it is, without `error:` (empty: nothing printed): the summary of failures
  /// that were each reported on an `error:` line of their own.
  public var plain: Bool
  public init(_ message: String, status: Int32 = 1, plain: Bool = false) {
    self.message = message
    self.status = status
    self.plain = plain
  }
  public var description: String { message }

  /// The end of a command over several inputs, `failures` of `count` of which failed and were
  /// each reported on their own `error:` line: exit status 1, with a plain summary line when
  /// there was more than one input and nothing more for a single one (its line says it all).
  public static func failed(_ failures: Int, of count: Int, _ what: String) -> CommandFailure {
    CommandFailure(
      count == 1 ? "" : "\(failures) of \(count) files \(what)", plain: true)
  }
}

/// An error message as one line of at most `limit` characters: its control characters (line
/// breaks among them, from a file name or a list line it quotes) shown as escapes
/// (`escapedForTerminal`: `\n`, `\r`, `\u{85}`, …), and a longer message (a shape or value
/// list from a hostile file) cut, saying so.
func oneLine(_ message: String, limit: Int = 2000) -> String {
  let flat = message.escapedForTerminal
  if flat.count <= limit { return flat }
  return String(flat.prefix(limit)) + "… (\(flat.count) characters)"
}
