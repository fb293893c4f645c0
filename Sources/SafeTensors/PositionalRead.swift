// Reading an exact byte range of an open file with pread(2): the one loop the package's file
// readers (safetensors here, PyTorch checkpoints in TorchCheckpoint) share.
//
// pread, not a memory map: a mapped file that another process truncates or rewrites while it is
// read raises SIGBUS, which kills the process; pread returns a short count instead, which the
// caller turns into an error naming its file.
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why `readFully(descriptor:offset:count:into:)` stopped before `count` bytes.
///
/// Carries no path: each caller wraps it in its own error type, which names the file.
package enum PositionalReadFailure: Error, Equatable, Sendable {
  /// `pread` failed with `errno` (anything but `EINTR`, which is retried).
  case system(errno: Int32)
  /// The file ended after `got` of the bytes asked for (it is shorter than the range, for
  /// instance because it shrank since its size was taken).
  case endOfFile(got: Int)

  /// The failure in words: `strerror` for a system error, the byte counts for an early end.
  package var reason: String {
    switch self {
    case .system(let code): return String(cString: strerror(code))
    case .endOfFile(let got): return "the file ended after \(got) bytes of the range"
    }
  }
}

/// Reads exactly `count` bytes of the open file `descriptor`, starting at byte `offset`, into
/// `destination[0..<count]`.
///
/// Loops over `pread`, at most 1 GiB a call (Linux transfers at most 0x7ffff000 bytes per call),
/// resuming after a short read and retrying `EINTR`. The file position is not used or moved.
///
/// - Precondition: `offset ≥ 0`, `count ≥ 0`, and `destination` holds `count` writable bytes.
/// - Throws: `.system(errno:)` when `pread` fails, `.endOfFile(got:)` when the file ends first
///   (`destination[0..<got]` then holds the bytes read).
package func readFully(
  descriptor: Int32, offset: Int, count: Int, into destination: UnsafeMutableRawPointer
) throws(PositionalReadFailure) {
  precondition(offset >= 0 && count >= 0, "readFully: negative offset or count")
  var done = 0
  while done < count {
    let chunk = min(count - done, 1 << 30)
    let n = pread(descriptor, destination + done, chunk, off_t(offset + done))
    if n < 0 {
      let code = errno
      if code == EINTR { continue }
      throw .system(errno: code)
    }
    if n == 0 { throw .endOfFile(got: done) }
    done += n
  }
}
