// ZipArchive: the stored (uncompressed) entries of a zip file, the container of PyTorch
// checkpoints since 1.6. Only what PyTorch writes is read: method 0, no encryption, one disk.
//
// Layout (all integers little-endian; APPNOTE 4.3):
//   local header  (per entry)  "PK\3\4", 26 bytes of fields, name, extra, then the data
//   central directory          "PK\1\2", 42 bytes of fields, name, extra, comment (per entry)
//   zip64 EOCD record          "PK\6\6" (optional; 64-bit counts, sizes and offsets)
//   zip64 EOCD locator         "PK\6\7", 20 bytes just before the EOCD
//   EOCD record                "PK\5\6", 18 bytes of fields, comment (up to 65535 bytes)
// A field of 0xFFFF / 0xFFFFFFFF defers to the zip64 record or the entry's zip64 extra field
// (id 0x0001: uncompressed size, compressed size, local header offset, in that order, each
// present only when its 32-bit field is saturated).
//
// Every offset and length is checked against the file size with overflow-checked arithmetic
// before it is used; the data start comes from the LOCAL header (its extra field may differ
// from the central directory's).
import Foundation

/// The entries of a zip archive, read with `pread` (never memory-mapped), stored entries only.
public final class ZipArchive {
  /// One entry of the central directory.
  public struct Entry: Sendable, Equatable {
    /// The entry's name (UTF-8; invalid bytes are replaced).
    public var name: String
    /// Compression method (0 = stored, the only one read).
    public var method: Int
    /// General-purpose flags (bit 0 = encrypted).
    public var flags: Int
    /// CRC-32 of the uncompressed bytes.
    public var crc32: UInt32
    /// Size in the archive.
    public var compressedSize: Int
    /// Size once extracted (equal to `compressedSize` for stored entries).
    public var uncompressedSize: Int
    /// Offset of the entry's local header.
    public var localHeaderOffset: Int
  }

  /// The file read (names it in errors).
  public let path: String
  /// The file size when it was opened.
  public let fileSize: Int
  /// The central directory's entries, in order.
  public let entries: [Entry]
  private let indexByName: [String: Int]
  let file: PositionalFile

  /// At most this many entries are read (a central directory claiming more is refused).
  public static let maxEntries = 1_000_000

  /// Opens `path` and reads its central directory. Throws `TorchCheckpointError` for a
  /// missing or unreadable file, a file that is not a zip, or any inconsistent structure.
  public init(path: String) throws {
    let file = try PositionalFile(path: path)
    self.path = path
    self.file = file
    self.fileSize = file.size
    let entries = try ZipArchive.readCentralDirectory(file)
    self.entries = entries
    var index: [String: Int] = [:]
    for (i, e) in entries.enumerated() where index[e.name] == nil { index[e.name] = i }
    indexByName = index
  }

  /// The first entry called `name`, or nil.
  public func entry(named name: String) -> Entry? {
    indexByName[name].map { entries[$0] }
  }

  /// The byte range of a stored entry's data in the file, from its local header. Throws for a
  /// compressed or encrypted entry, a bad local header, or data outside the file.
  public func dataRange(of entry: Entry) throws -> Range<Int> {
    if entry.method != 0 || entry.flags & 1 != 0 {
      throw error(.compressedEntry(name: entry.name, method: entry.method))
    }
    if entry.compressedSize != entry.uncompressedSize {
      throw invalid(
        "stored entry '\(entry.name)' has compressed size \(entry.compressedSize) but uncompressed size \(entry.uncompressedSize)"
      )
    }
    let headerEnd = try checkedRange(
      entry.localHeaderOffset, 30, what: "local header of '\(entry.name)'")
    let header = try file.readBytes(offset: entry.localHeaderOffset, count: 30)
    if ZipArchive.u32(header, 0) != 0x0403_4b50 {
      throw invalid(
        "no local header signature at offset \(entry.localHeaderOffset) (entry '\(entry.name)')")
    }
    let nameLength = Int(ZipArchive.u16(header, 26))
    let extraLength = Int(ZipArchive.u16(header, 28))
    let start = try checkedRange(
      headerEnd.upperBound, nameLength + extraLength, what: "local header of '\(entry.name)'"
    )
    .upperBound
    let data = try checkedRange(start, entry.compressedSize, what: "data of '\(entry.name)'")
    return data
  }

  /// The bytes of a stored entry as an array (one read, no intermediate copy); with
  /// `verifyCRC`, a CRC-32 mismatch is an error.
  public func readBytes(_ entry: Entry, verifyCRC: Bool = false) throws -> [UInt8] {
    let range = try dataRange(of: entry)
    let bytes = try file.readBytes(offset: range.lowerBound, count: range.count)
    if verifyCRC {
      let crc = bytes.withUnsafeBytes { ZipArchive.crc32($0) }
      if crc != entry.crc32 {
        throw invalid("entry '\(entry.name)' fails its CRC-32 check (the file is corrupt)")
      }
    }
    return bytes
  }

  /// Reads `count` bytes at `offset` inside a stored entry's data (bounds-checked).
  func read(_ entry: Entry, offset: Int, count: Int) throws -> Data {
    let range = try dataRange(of: entry)
    let (end, o) = offset.addingReportingOverflow(count)
    if offset < 0 || count < 0 || o || end > range.count {
      throw invalid(
        "a read of \(count) bytes at \(offset) goes past entry '\(entry.name)' (\(range.count) bytes)"
      )
    }
    return try file.read(offset: range.lowerBound + offset, count: count)
  }

  // MARK: Central directory

  private static func readCentralDirectory(_ file: PositionalFile) throws -> [Entry] {
    let path = file.path
    func invalid(_ reason: String) -> TorchCheckpointError {
      TorchCheckpointError(path: path, .invalidZip(reason: reason))
    }
    let size = file.size
    guard size >= 22 else { throw TorchCheckpointError(path: path, .notZip) }
    // The EOCD record is in the last 22 + 65535 bytes (its comment is at most 65535 bytes).
    let tailLength = min(size, 22 + 65535)
    let tailStart = size - tailLength
    let tail = try file.readBytes(offset: tailStart, count: tailLength)
    var eocd = -1
    var i = tailLength - 22
    while i >= 0 {
      if tail[i] == 0x50 && tail[i + 1] == 0x4b && tail[i + 2] == 5 && tail[i + 3] == 6 {
        // The comment length must reach exactly to the end of the file (or at least fit).
        let commentLength = Int(u16(tail, i + 20))
        if i + 22 + commentLength <= tailLength {
          eocd = i
          break
        }
      }
      i -= 1
    }
    guard eocd >= 0 else { throw TorchCheckpointError(path: path, .notZip) }
    let eocdOffset = tailStart + eocd
    var entryCount = Int(u16(tail, eocd + 10))
    var cdSize = Int(u32(tail, eocd + 12))
    var cdOffset = Int(u32(tail, eocd + 16))
    let diskNumber = Int(u16(tail, eocd + 4))

    // Zip64: a locator just before the EOCD points at the zip64 EOCD record.
    if eocdOffset >= 20 {
      let locator = try file.readBytes(offset: eocdOffset - 20, count: 20)
      if u32(locator, 0) == 0x0706_4b50 {
        let recordOffset64 = u64(locator, 8)
        guard recordOffset64 <= UInt64(size), Int(recordOffset64) + 56 <= eocdOffset - 20 else {
          throw invalid("the zip64 end record offset \(recordOffset64) is outside the file")
        }
        let recordOffset = Int(recordOffset64)
        let record = try file.readBytes(offset: recordOffset, count: 56)
        guard u32(record, 0) == 0x0606_4b50 else {
          throw invalid("no zip64 end record signature at offset \(recordOffset)")
        }
        let count64 = u64(record, 32)
        let size64 = u64(record, 40)
        let offset64 = u64(record, 48)
        guard count64 <= UInt64(maxEntries), size64 <= UInt64(size), offset64 <= UInt64(size) else {
          throw invalid(
            "the zip64 end record claims \(count64) entries, a \(size64)-byte directory at \(offset64), in a \(size)-byte file"
          )
        }
        entryCount = Int(count64)
        cdSize = Int(size64)
        cdOffset = Int(offset64)
      } else if diskNumber == 0xFFFF || entryCount == 0xFFFF || cdSize == 0xFFFF_FFFF
        || cdOffset == 0xFFFF_FFFF
      {
        throw invalid("the end record defers to a zip64 record that is missing")
      }
    }
    guard cdOffset <= eocdOffset, cdSize <= eocdOffset - cdOffset else {
      throw invalid(
        "the central directory (\(cdSize) bytes at offset \(cdOffset)) overlaps the end record at \(eocdOffset)"
      )
    }
    guard entryCount <= cdSize / 46 else {
      throw invalid("\(entryCount) entries cannot fit in a \(cdSize)-byte central directory")
    }
    let directory = try file.readBytes(offset: cdOffset, count: cdSize)
    var entries: [Entry] = []
    entries.reserveCapacity(entryCount)
    var p = 0
    for n in 0..<entryCount {
      guard p + 46 <= cdSize, u32(directory, p) == 0x0201_4b50 else {
        throw invalid(
          "central directory entry \(n) at offset \(cdOffset + p) is missing or truncated")
      }
      let flags = Int(u16(directory, p + 8))
      let method = Int(u16(directory, p + 10))
      let crc = u32(directory, p + 16)
      var compressed = UInt64(u32(directory, p + 20))
      var uncompressed = UInt64(u32(directory, p + 24))
      let nameLength = Int(u16(directory, p + 28))
      let extraLength = Int(u16(directory, p + 30))
      let commentLength = Int(u16(directory, p + 32))
      var localOffset = UInt64(u32(directory, p + 42))
      let nameStart = p + 46
      let extraStart = nameStart + nameLength
      let next = extraStart + extraLength + commentLength
      guard next <= cdSize else {
        throw invalid("central directory entry \(n) runs past the directory's end")
      }
      let name = String(decoding: directory[nameStart..<extraStart], as: UTF8.self)
      // Zip64 extra field: the saturated 32-bit fields, in order.
      var q = extraStart
      while q + 4 <= extraStart + extraLength {
        let id = u16(directory, q)
        let length = Int(u16(directory, q + 2))
        let body = q + 4
        guard body + length <= extraStart + extraLength else {
          throw invalid("the extra field of entry '\(name)' runs past its end")
        }
        if id == 0x0001 {
          var r = body
          func take() throws -> UInt64 {
            guard r + 8 <= body + length else {
              throw invalid("the zip64 extra field of entry '\(name)' is too short")
            }
            defer { r += 8 }
            return u64(directory, r)
          }
          if uncompressed == 0xFFFF_FFFF { uncompressed = try take() }
          if compressed == 0xFFFF_FFFF { compressed = try take() }
          if localOffset == 0xFFFF_FFFF { localOffset = try take() }
        }
        q = body + length
      }
      guard compressed <= UInt64(size), uncompressed <= UInt64(Int.max), localOffset <= UInt64(size)
      else {
        throw invalid(
          "entry '\(name)' claims \(compressed) bytes at offset \(localOffset) in a \(size)-byte file"
        )
      }
      entries.append(
        Entry(
          name: name, method: method, flags: flags, crc32: crc, compressedSize: Int(compressed),
          uncompressedSize: Int(uncompressed), localHeaderOffset: Int(localOffset)))
      p = next
    }
    return entries
  }

  // MARK: Helpers

  /// `start ..< start + count`, or an error when it overflows or leaves the file.
  private func checkedRange(_ start: Int, _ count: Int, what: String) throws -> Range<Int> {
    let (end, overflow) = start.addingReportingOverflow(count)
    if start < 0 || count < 0 || overflow || end > fileSize {
      throw invalid(
        "the \(what) (\(count) bytes at offset \(start)) goes past the end of the file (\(fileSize) bytes)"
      )
    }
    return start..<end
  }

  private func invalid(_ reason: String) -> TorchCheckpointError {
    TorchCheckpointError(path: path, .invalidZip(reason: reason))
  }

  private func error(_ kind: TorchCheckpointError.Kind) -> TorchCheckpointError {
    TorchCheckpointError(path: path, kind)
  }

  static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }

  static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
  }

  static func u64(_ b: [UInt8], _ i: Int) -> UInt64 {
    UInt64(u32(b, i)) | UInt64(u32(b, i + 4)) << 32
  }

  private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  /// CRC-32 (the zip polynomial) of `bytes`.
  static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    crcTable.withUnsafeBufferPointer { table in
      for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    }
    return c ^ 0xFFFF_FFFF
  }
}
