import Checksum
import Foundation

/// How a checkpoint's provenance names a file it came from: its name and SHA-256, never the
/// folder (`video-init.safetensors (sha256 3f2a…)`), so a shipped checkpoint does not carry the
/// paths of the machine that made it. Errors name the file.
func fileProvenance(_ path: String) throws -> String {
  let name = URL(fileURLWithPath: path).lastPathComponent
  do {
    return "\(name) (sha256 \(try SHA256.hex(contentsOf: path)))"
  } catch {
    throw CommandFailure(error.description)
  }
}

/// `preset NAME`, or the config file as `fileProvenance` names it.
func configProvenance(preset: String?, file: String?) throws -> String {
  if let file { return "config " + (try fileProvenance(file)) }
  return "preset \(preset ?? "")"
}
