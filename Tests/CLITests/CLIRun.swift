import Foundation
import XCTest

/// The result of running the built `vcoswin` binary.
struct CLIRun {
  var status: Int32
  var stdout: String
  var stderr: String
  var crashed: Bool
  /// Still running at the time limit (then stopped).
  var hung = false

  /// stderr without the line naming the checkpoint in use (`checkpoint: …`), which inference
  /// commands print before any work.
  var diagnostics: String {
    stderr.split(separator: "\n", omittingEmptySubsequences: false).filter {
      !$0.hasPrefix("checkpoint: ")
    }
    .joined(separator: "\n")
  }
}

/// The package root (for the shipped `Clips/`).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent()

/// The path of `name` in the shipped `Clips/` folder.
func clips(_ name: String) -> String { packageRoot.appendingPathComponent("Clips/\(name)").path }

/// The built `vcoswin` is missing: the CLI tests fail (they are never skipped).
struct MissingBinary: Error, CustomStringConvertible {
  var description: String
}

/// The Python of `.build/pyenv` (or `$VCOSWIN_PYTHON`), which holds `packages`: `make test`
/// creates it first (`make pyenv`). Missing, the calling test fails: it is never skipped.
func pyenvPython(with packages: String) throws -> String {
  if let env = ProcessInfo.processInfo.environment["VCOSWIN_PYTHON"], !env.isEmpty { return env }
  let path = packageRoot.appendingPathComponent(".build/pyenv/bin/python").path
  guard FileManager.default.isExecutableFile(atPath: path) else {
    throw MissingBinary(description: "\(path) is missing: run `make pyenv` (\(packages) from PyPI)")
  }
  return path
}

/// The `vcoswin` binary beside the test bundle `products` (or in it). `make test` builds it
/// (`swift build --build-tests` builds every product); a missing binary is an error.
func vcoswinBinary(near products: URL) throws -> URL {
  let candidates = [products.deletingLastPathComponent(), products].map {
    $0.appendingPathComponent("vcoswin")
  }
  guard
    let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) })
  else {
    throw MissingBinary(
      description:
        "vcoswin binary not built next to the tests (looked for \(candidates.map(\.path))): run `make build-tests`"
    )
  }
  return binary
}

/// Runs `vcoswin arguments…` from the build products folder, as a user runs it, with
/// `environment` added to (or replacing values of) the test's own. With `seconds`, a process
/// still running after that long is stopped and the run marked `hung`. Both outputs are read
/// while it runs, so a chatty process never blocks on a full pipe.
func runVCoSwin(
  _ arguments: [String], bundleOf anchor: AnyClass, environment: [String: String] = [:],
  seconds: Double? = nil
) throws -> CLIRun {
  let binary = try vcoswinBinary(near: Bundle(for: anchor).bundleURL)
  let process = Process()
  process.executableURL = binary
  process.arguments = arguments
  if !environment.isEmpty {
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  }
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  nonisolated(unsafe) var (o, e) = (Data(), Data())
  let readers = DispatchGroup()
  DispatchQueue.global().async(group: readers) {
    o = out.fileHandleForReading.readDataToEndOfFile()
  }
  DispatchQueue.global().async(group: readers) {
    e = err.fileHandleForReading.readDataToEndOfFile()
  }
  var hung = false
  if let seconds {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    hung = process.isRunning
    if hung { process.terminate() }
  }
  process.waitUntilExit()
  readers.wait()
  return CLIRun(
    status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
    stderr: String(decoding: e, as: UTF8.self), crashed: process.terminationReason != .exit,
    hung: hung)
}
