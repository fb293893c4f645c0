import ArgumentParser

struct ProbeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "probe", abstract: "(being written)")
  func run() throws { throw CommandFailure("not yet built") }
}
