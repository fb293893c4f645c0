import Foundation

/// The largest text file a command reads whole (`--config`, `--truth`): far above any real one.
let maxTextFileBytes = 64 << 20

/// The UTF-8 text of a small file given on the command line; `what` names it in errors
/// (`the truth file`). A folder, a FIFO or device (which would block or never end), a file
/// larger than `maxTextFileBytes`, or text that is not UTF-8 is a `CommandFailure` naming the
/// file and the reason.
func readTextFile(_ path: String, what: String) throws -> String {
  var info = stat()
  guard stat(path, &info) == 0 else {
    throw CommandFailure("\(path): cannot read \(what): \(String(cString: strerror(errno)))")
  }
  switch info.st_mode & S_IFMT {
  case S_IFREG: break
  case S_IFDIR: throw CommandFailure("\(path): cannot read \(what): it is a folder")
  case S_IFIFO: throw CommandFailure("\(path): cannot read \(what): a FIFO, not a regular file")
  default: throw CommandFailure("\(path): cannot read \(what): a device, not a regular file")
  }
  guard Int(info.st_size) <= maxTextFileBytes else {
    throw CommandFailure(
      "\(path): cannot read \(what): \(info.st_size) bytes, more than \(maxTextFileBytes >> 20) MiB"
    )
  }
  let data: Data
  do {
    data = try Data(contentsOf: URL(fileURLWithPath: path))
  } catch {
    throw CommandFailure("\(path): cannot read \(what): \(error.localizedDescription)")
  }
  guard let text = String(data: data, encoding: .utf8) else {
    throw CommandFailure("\(path): cannot read \(what): not UTF-8 text")
  }
  return text
}
