import Foundation

/// The first of `relative` (a path inside the package, e.g. `Clips/train.txt`) found in the
/// current folder or in a folder above the binary (`.build/<triple>/<configuration>/vcoswin`
/// lies three or four levels below the package), or nil. Lets `classify`, `eval` and `demo`
/// find the shipped clips and default model from wherever the binary is run.
public func shippedFile(_ relative: String) -> URL? {
  var folders = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
  var up = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    .deletingLastPathComponent()
  for _ in 0..<5 {
    up = up.deletingLastPathComponent()
    folders.append(up)
  }
  return folders.map { $0.appendingPathComponent(relative) }
    .first { FileManager.default.fileExists(atPath: $0.path) }
}
