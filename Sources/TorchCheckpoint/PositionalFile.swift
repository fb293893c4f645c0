// A read-only file read with pread(2) at explicit offsets (SafeTensors' `readFully`, the loop the
// package's readers share; why pread and not a memory map is written there).
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Foundation
import SafeTensors

/// A file opened read-only, its size taken once at open, read with `pread` at explicit offsets.
final class PositionalFile {
  let path: String
  let size: Int
  private let descriptor: Int32

  /// Opens `path`; a missing file, a folder or an unreadable file is a `TorchCheckpointError`.
  init(path: String) throws {
    self.path = path
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)  // a FIFO must not block
    if fd < 0 {
      let code = errno
      if code == ENOENT { throw TorchCheckpointError(path: path, .missingFile) }
      throw TorchCheckpointError(path: path, .unreadable(reason: String(cString: strerror(code))))
    }
    var info = stat()
    if fstat(fd, &info) != 0 {
      let code = errno
      close(fd)
      throw TorchCheckpointError(path: path, .unreadable(reason: String(cString: strerror(code))))
    }
    if (info.st_mode & S_IFMT) == S_IFDIR {
      close(fd)
      throw TorchCheckpointError(path: path, .unreadable(reason: "it is a folder"))
    }
    descriptor = fd
    size = Int(info.st_size)
  }

  deinit { close(descriptor) }

  /// Reads exactly `count` bytes at `offset` into `destination`. A short read (end of file
  /// before `count` bytes) is `changedWhileReading`.
  func read(offset: Int, count: Int, into destination: UnsafeMutableRawPointer) throws {
    do throws(PositionalReadFailure) {
      try readFully(descriptor: descriptor, offset: offset, count: count, into: destination)
    } catch .endOfFile(let got) {
      throw TorchCheckpointError(
        path: path, .changedWhileReading(offset: offset, expected: count, got: got))
    } catch {
      throw TorchCheckpointError(path: path, .unreadable(reason: error.reason))
    }
  }

  /// Reads exactly `count` bytes at `offset`, which the caller has checked lie inside the file.
  /// The bytes are one heap allocation owned by the returned `Data` (slices share it).
  func read(offset: Int, count: Int) throws -> Data {
    precondition(offset >= 0 && count >= 0, "PositionalFile.read: negative offset or count")
    if count == 0 { return Data() }
    guard let buffer = PositionalFile.allocate(count) else {
      throw TorchCheckpointError(path: path, .unreadable(reason: "cannot allocate \(count) bytes"))
    }
    do {
      try read(offset: offset, count: count, into: buffer)
    } catch {
      free(buffer)
      throw error
    }
    return Data(bytesNoCopy: buffer, count: count, deallocator: .free)
  }

  /// A buffer of `count` bytes to be released with `free`. From 2 MiB on it is aligned to 2 MiB
  /// and advised for transparent huge pages: filling it then takes one page fault per 2 MiB
  /// instead of one per 4 KiB (a measurable part of reading a checkpoint from the page cache).
  static func allocate(_ count: Int) -> UnsafeMutableRawPointer? {
    let huge = 2 << 20
    if count < huge { return malloc(count) }
    var pointer: UnsafeMutableRawPointer?
    guard posix_memalign(&pointer, huge, count) == 0, let p = pointer else { return nil }
    #if os(Linux)
      _ = madvise(p, count - count % huge, MADV_HUGEPAGE)
    #endif
    return p
  }

  /// Reads `count` bytes at `offset` into an array.
  func readBytes(offset: Int, count: Int) throws -> [UInt8] {
    precondition(offset >= 0 && count >= 0, "PositionalFile.readBytes: negative offset or count")
    var out = [UInt8](repeating: 0, count: count)
    if count == 0 { return out }
    try out.withUnsafeMutableBytes { raw in
      guard let base = raw.baseAddress else { return }
      try read(offset: offset, count: count, into: base)
    }
    return out
  }
}
