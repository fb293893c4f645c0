import ArgumentParser
import Foundation

/// `--overwrite` of the commands that write files: an output that exists is refused before any
/// work starts unless it is given. Training (`pretrain`, `finetune`) has its own rule for run
/// folders (`RunFolder`).
struct OverwriteOption: ParsableArguments {
  @Flag(
    help:
      "Replace output files that exist. Without it, an existing output is refused before any work starts."
  )
  var overwrite = false

  /// Checks every output file before any work: `refuseExisting` for each `(option, path)`
  /// whose path is given.
  func check(_ outputs: [(option: String, path: String?)]) throws {
    for (option, path) in outputs {
      if let path { try refuseExisting(path, option: option, overwrite: overwrite) }
    }
  }

  /// Checks an output folder before any work: `refuseExistingFolder`.
  func checkFolder(_ path: String, option: String, holding names: [String]? = nil) throws {
    try refuseExistingFolder(path, option: option, holding: names, overwrite: overwrite)
  }
}

/// The rule for an output file at `path` (given with `option`, e.g. `--out`), checked before any
/// work starts: it must not exist unless `overwrite` (and never be a folder), and its folder
/// must exist and be writable, so that a run never ends with its result unwritten.
/// - Throws: `CommandFailure` naming the file: `--out a.safetensors exists; give --overwrite to
///   replace it`, or `PATH: cannot write WHAT: reason` (WHAT `image` for `.png`/`.jpg`, else
///   `file`, as the writers say it).
func refuseExisting(_ path: String, option: String, overwrite: Bool) throws {
  let manager = FileManager.default
  let lower = path.lowercased()
  let what = [".png", ".jpg", ".jpeg"].contains(where: lower.hasSuffix) ? "image" : "file"
  func failure(_ reason: String) -> CommandFailure {
    CommandFailure("\(path): cannot write \(what): \(reason)")
  }
  var isFolder: ObjCBool = false
  if manager.fileExists(atPath: path, isDirectory: &isFolder) {
    if isFolder.boolValue { throw failure("is a folder (\(option) takes a file name)") }
    if !overwrite {
      throw CommandFailure("\(option) \(path) exists; give --overwrite to replace it")
    }
  }
  let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
  guard manager.fileExists(atPath: folder, isDirectory: &isFolder) else {
    throw failure("no folder \(folder) to write it in")
  }
  guard isFolder.boolValue else { throw failure("\(folder) is not a folder") }
  guard manager.isWritableFile(atPath: folder) else {
    throw failure("the folder \(folder) is not writable")
  }
}

/// The rule for an output folder at `path`: a folder that holds any of `names` (nil: anything at
/// all) is refused unless `overwrite`; a file there is refused always.
/// - Throws: `CommandFailure` naming the option, the folder and what it holds.
func refuseExistingFolder(_ path: String, option: String, holding names: [String]?, overwrite: Bool)
  throws
{
  let manager = FileManager.default
  var isFolder: ObjCBool = false
  guard manager.fileExists(atPath: path, isDirectory: &isFolder) else { return }
  guard isFolder.boolValue else {
    throw CommandFailure("\(option) \(path): is a file, not a folder")
  }
  guard !overwrite else { return }
  let present = ((try? manager.contentsOfDirectory(atPath: path)) ?? []).sorted()
  let found = names.map { wanted in present.filter(wanted.contains) } ?? present
  if !found.isEmpty {
    let listed = found.prefix(3).joined(separator: ", ") + (found.count > 3 ? ", …" : "")
    throw CommandFailure(
      "\(option) \(path): holds \(listed); give --overwrite to replace it, or another \(option)")
  }
}
