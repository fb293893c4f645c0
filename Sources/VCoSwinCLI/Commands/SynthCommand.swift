import ArgumentParser

struct SynthCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "synth", abstract: "(being written)")
  func run() throws { throw CommandFailure("not yet built") }
}
