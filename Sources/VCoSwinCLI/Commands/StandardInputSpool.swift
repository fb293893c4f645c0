// Standard input copied to a temporary file, bounded, for a reader that needs a file.

import Foundation

/// A stream copied to a temporary file, 1 MB at a time (memory stays flat), for the video
/// reader, which indexes a file's packets before decoding and so cannot read a pipe.
///
/// Bound: at most `limit(freeBytes:)` bytes, `min(64 GiB, 0.9 · free space of the temporary
/// directory)`; 64 GiB holds hours of high-bitrate video (about 9 h at 16 Mbit/s), and the 10 %
/// left free keeps a long stream from filling the disk other programs share. A longer stream is
/// an error, not a truncated video.
///
/// Removal: on Linux the file is unlinked as soon as it is created and read back through
/// `/proc/self/fd/N`, so the kernel frees it when the handle closes or the process ends, by
/// whatever path (error, signal, kill); elsewhere `close()` (called by the owner's `defer`) and
/// every error path remove it.
struct StandardInputSpool {
  /// The most any stream is copied: 64 GiB.
  static let maxBytes: Int64 = 64 << 30
  /// The fraction of the temporary directory's free space a stream may take.
  static let freeSpaceFraction = 0.9

  /// `min(maxBytes, freeSpaceFraction · freeBytes)`; `maxBytes` when the free space is unknown.
  static func limit(freeBytes: Int64?) -> Int64 {
    guard let freeBytes else { return maxBytes }
    return Swift.min(maxBytes, Int64(Double(Swift.max(0, freeBytes)) * freeSpaceFraction))
  }

  /// The free bytes of the file system holding `directory`; nil when it cannot be asked.
  static func freeBytes(of directory: URL) -> Int64? {
    let attributes = try? FileManager.default.attributesOfFileSystem(forPath: directory.path)
    return (attributes?[.systemFreeSize] as? NSNumber)?.int64Value
  }

  /// The path the reader opens (on Linux `/proc/self/fd/N`, the file itself being unlinked).
  let path: String
  /// The bytes copied.
  let bytes: Int64
  private let handle: FileHandle
  /// The file to remove in `close()` (platforms without `/proc/self/fd`).
  private let linked: String?

  /// Copies `input` to a new file in `directory` until end of stream.
  /// - Parameter limit: the most bytes copied; nil: `limit(freeBytes:)` of `directory`.
  /// - Throws: `CommandFailure` naming `- (standard input)` when the file cannot be created or
  ///   written, the stream is empty, or it exceeds the limit; the file is removed first.
  init(from input: FileHandle, directory: URL, limit: Int64? = nil) throws {
    let bound = limit ?? Self.limit(freeBytes: Self.freeBytes(of: directory))
    let file = directory.appendingPathComponent("vcoswin-stdin-\(UUID().uuidString)").path
    guard FileManager.default.createFile(atPath: file, contents: nil),
      let handle = FileHandle(forUpdatingAtPath: file)
    else {
      throw CommandFailure(
        "- (standard input): cannot create a temporary file for it at \(file)")
    }
    #if os(Linux)
      unlink(file)
      let linked: String? = nil
      let path = "/proc/self/fd/\(handle.fileDescriptor)"
    #else
      let linked: String? = file
      let path = file
    #endif
    func fail(_ message: String) -> CommandFailure {
      Self.release(handle, linked)
      return CommandFailure("- (standard input): \(message)")
    }
    var total: Int64 = 0
    while true {
      let chunk = input.readData(ofLength: 1 << 20)
      if chunk.isEmpty { break }
      total += Int64(chunk.count)
      guard total <= bound else {
        throw fail(
          "longer than \(bound) bytes, the most copied to a temporary file (min(64 GiB, 90% of the free space of \(directory.path))); save the video to a file and pass its path"
        )
      }
      do {
        try handle.write(contentsOf: chunk)
      } catch {
        throw fail("cannot copy it to a temporary file in \(directory.path) (\(error))")
      }
    }
    guard total > 0 else { throw fail("empty, no video") }
    (self.path, self.bytes, self.handle, self.linked) = (path, total, handle, linked)
  }

  /// The text of `error`, raised on the copy, as it concerns standard input: the copy's path
  /// becomes `-`, under the prefix `- (standard input): `.
  func describe(_ error: any Error) -> String {
    "- (standard input): "
      + String(describing: error).replacingOccurrences(of: path + ": ", with: "")
      .replacingOccurrences(of: path, with: "-")
  }

  /// Closes the file, which frees it (removes it where it is still linked).
  func close() { Self.release(handle, linked) }

  /// Closes `handle` and removes `linked`, if any: the one way a copy is freed.
  private static func release(_ handle: FileHandle, _ linked: String?) {
    try? handle.close()
    if let linked { try? FileManager.default.removeItem(atPath: linked) }
  }
}
