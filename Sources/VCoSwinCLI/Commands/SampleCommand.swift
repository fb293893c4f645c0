import ArgumentParser

struct SampleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "sample", abstract: "(being written)")
  func run() throws { throw CommandFailure("not yet built") }
}
