import Foundation
import SafeTensors
import XCTest
import _TestSupport

@testable import TorchCheckpoint

/// The path of a fixture in the test bundle (fails the test when it is missing).
func fixture(_ name: String) throws -> String {
  try TestFixture.path(name, in: .module, writtenBy: "Tools/make_pth_fixtures.py")
}

/// The entries of a fixture archive, in order (names and bytes).
func archiveEntries(_ path: String) throws -> [(name: String, data: [UInt8])] {
  let archive = try ZipArchive(path: path)
  return try archive.entries.map { ($0.name, try archive.readBytes($0)) }
}

/// A scratch file path unique to this process and `name`.
func scratchPath(_ name: String) -> String {
  let dir = FileManager.default.temporaryDirectory.path
  return "\(dir)/vcoswin-torchcheckpoint-\(getpid())-\(name)"
}

/// Writes `bytes` to `path` (replacing it).
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
  try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Unpickles `bytes` with the default limits.
func unpickle(_ bytes: [UInt8]) throws -> PickleGraph {
  try Unpickler(path: "test.pkl").unpickle(bytes)
}

/// `X` + length + UTF-8 bytes: a BINUNICODE opcode.
func binunicode(_ s: String) -> [UInt8] {
  let b = Array(s.utf8)
  return [0x58] + StoredZipWriter.le(UInt64(b.count), 4) + b
}

/// The error kind `body` throws, or nil (and a failure) when it throws something else or nothing.
func torchError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line)
  -> TorchCheckpointError?
{
  do {
    _ = try body()
    XCTFail("expected a TorchCheckpointError", file: file, line: line)
  } catch let e as TorchCheckpointError {
    return e
  } catch {
    XCTFail("expected a TorchCheckpointError, got \(error)", file: file, line: line)
  }
  return nil
}

/// A deterministic generator (SplitMix64), so fuzz cases are the same on every run.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
