import Foundation

/// The first of `relative` (a path inside the package, e.g. `Clips/train.txt`) found, or nil.
/// Lets `classify`, `eval`, `import --labels kinetics400` and `demo` find the shipped clips,
/// labels and default model wherever the binary is run from. The folders, in order:
///
/// 1. the current folder;
/// 2. the installed data folder, `<prefix>/share/vcoswin` for a binary in `<prefix>/bin`
///    (`make install`);
/// 3. the folders above the binary, up to five levels (a build, `.build/<configuration>/vcoswin`
///    or `.build/<triple>/<configuration>/vcoswin`, lies three or four levels below the package).
///
/// The binary is the executable file itself (`/proc/self/exe`, symbolic links resolved), not
/// `CommandLine.arguments[0]`, which is only the name typed when the binary is found on `PATH`.
public func shippedFile(_ relative: String) -> URL? {
  shippedFolders(executable: executableURL(), current: FileManager.default.currentDirectoryPath)
    .map { $0.appendingPathComponent(relative) }
    .first { FileManager.default.fileExists(atPath: $0.path) }
}

/// The folders `shippedFile` searches, in order, for the binary at `executable` run from the
/// folder `current`.
public func shippedFolders(executable: URL, current: String) -> [URL] {
  let binFolder = executable.resolvingSymlinksInPath().deletingLastPathComponent()
  var folders = [
    URL(fileURLWithPath: current),
    binFolder.deletingLastPathComponent().appendingPathComponent("share/vcoswin"),
  ]
  var up = binFolder
  for _ in 0..<5 {
    up = up.deletingLastPathComponent()
    folders.append(up)
  }
  return folders
}

/// The running executable's file: `/proc/self/exe` (Linux; the kernel's record, symbolic links
/// resolved), else `arguments[0]` searched on `PATH` as a shell does.
func executableURL() -> URL {
  if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
    return URL(fileURLWithPath: target)
  }
  let name = CommandLine.arguments.first ?? "vcoswin"
  if name.contains("/") { return URL(fileURLWithPath: name) }
  let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
  for folder in path.split(separator: ":") {
    let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
    if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
  }
  return URL(fileURLWithPath: name)
}
