import Foundation
import XCTest

/// The result of running the built `vcoswin` binary.
struct CLIRun {
  var status: Int32
  var stdout: String
  var stderr: String
  var crashed: Bool
}

/// The package root (for the shipped `Clips/`).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent()

/// Runs `vcoswin arguments…` from the build products folder, as a user runs it.
func runVCoSwin(_ arguments: [String], bundleOf anchor: AnyClass) throws -> CLIRun {
  let products = Bundle(for: anchor).bundleURL
  let candidates = [products.deletingLastPathComponent(), products].map { $0.appendingPathComponent("vcoswin") }
  guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
    throw XCTSkip("vcoswin binary not built next to the tests")
  }
  let process = Process()
  process.executableURL = binary
  process.arguments = arguments
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
