// SHA-256 (FIPS 180-4) through FFmpeg's libavutil (`av_sha`), which the package links already
// for decoding: a file is hashed in fixed-size chunks, never read whole.

import CFFmpeg
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file could not be hashed: `path` and the system's reason (`strerror`).
public struct ChecksumError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
  public let path: String
  public let reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  /// `<path>: cannot read: <reason>`.
  public var description: String { "\(path): cannot read: \(reason)" }
  /// The reason alone (callers that name the file themselves).
  public var errorDescription: String? { reason }
}

/// SHA-256 of bytes or of a file, as 64 lowercase hex digits: the checksum a checkpoint records
/// for the files it came from.
public enum SHA256 {
  /// Bytes read from a file per `av_sha_update` call (1 MiB).
  public static let chunkSize = 1 << 20

  /// The digest of `data`.
  public static func hex(_ data: Data) -> String {
    let hasher = Hasher()
    data.withUnsafeBytes { hasher.update($0) }
    return hasher.finalHex()
  }

  /// The digest of the file at `path`, read sequentially in chunks of `chunkSize` bytes.
  ///
  /// - Throws: `ChecksumError` when the file cannot be opened or read (missing, a folder, no
  ///   permission, an I/O error).
  public static func hex(contentsOf path: String) throws(ChecksumError) -> String {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    if descriptor < 0 { throw ChecksumError(path: path, reason: String(cString: strerror(errno))) }
    defer { close(descriptor) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64)
    defer { buffer.deallocate() }
    let hasher = Hasher()
    while true {
      let n = read(descriptor, buffer.baseAddress, chunkSize)
      if n < 0 {
        let code = errno
        if code == EINTR { continue }
        throw ChecksumError(path: path, reason: String(cString: strerror(code)))
      }
      if n == 0 { break }
      hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
    return hasher.finalHex()
  }

  /// One running digest: an `AVSHA` context, freed with the object.
  private final class Hasher {
    private let context: OpaquePointer

    init() {
      // av_sha_alloc fails only when out of memory; av_sha_init only for a bit count other than
      // 160, 224 or 256.
      guard let context = av_sha_alloc() else { fatalError("SHA256: out of memory") }
      self.context = context
      precondition(av_sha_init(context, 256) == 0, "SHA256: av_sha_init(256) failed")
    }

    deinit { av_free(UnsafeMutableRawPointer(context)) }

    /// Adds `bytes` to the message.
    func update(_ bytes: UnsafeRawBufferPointer) {
      guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
      av_sha_update(context, base.assumingMemoryBound(to: UInt8.self), numericCast(bytes.count))
    }

    /// Pads the message and returns its digest (the context must not be updated afterwards).
    func finalHex() -> String {
      var digest = [UInt8](repeating: 0, count: 32)
      av_sha_final(context, &digest)
      let digits = Array("0123456789abcdef".utf8)
      var text = [UInt8]()
      text.reserveCapacity(64)
      for byte in digest {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 15)])
      }
      return String(decoding: text, as: UTF8.self)
    }
  }
}
