import Foundation

@testable import TorchCheckpoint

/// Writes stored (uncompressed) zip archives, optionally with zip64 records, for tests that
/// rebuild a checkpoint around a mutated `data.pkl` or probe the zip reader.
enum StoredZipWriter {
  static func le(_ v: UInt64, _ n: Int) -> [UInt8] {
    (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
  }

  /// The archive bytes of `entries` (name, data), in order. With `zip64`, sizes and offsets in
  /// the central directory are saturated and given in zip64 extra fields, and the end record
  /// defers to a zip64 end record. `padding` puts that many bytes of an unknown extra field in
  /// each local header (as PyTorch does to align data), so data starts after the local extra.
  static func archive(
    _ entries: [(name: String, data: [UInt8])], zip64: Bool = false, padding: Int = 0,
    aliases: [(name: String, of: Int)] = []
  ) -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    var written: [(crc: UInt32, size: Int, offset: Int)] = []
    for (name, data) in entries {
      let nameBytes = Array(name.utf8)
      let crc = data.withUnsafeBytes { ZipArchive.crc32($0) }
      let offset = out.count
      var localExtra: [UInt8] = []
      if padding > 0 {
        localExtra = le(0x4246, 2) + le(UInt64(padding), 2) + [UInt8](repeating: 0, count: padding)
      }
      out += le(0x0403_4b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(UInt64(crc), 4)
      out += le(UInt64(data.count), 4) + le(UInt64(data.count), 4)
      out +=
        le(UInt64(nameBytes.count), 2) + le(UInt64(localExtra.count), 2) + nameBytes + localExtra
        + data
      let size32: UInt64 = zip64 ? 0xFFFF_FFFF : UInt64(data.count)
      let offset32: UInt64 = zip64 ? 0xFFFF_FFFF : UInt64(offset)
      let extra =
        zip64
        ? le(1, 2) + le(24, 2) + le(UInt64(data.count), 8) + le(UInt64(data.count), 8)
          + le(UInt64(offset), 8) : []
      central +=
        le(0x0201_4b50, 4) + le(45, 2) + le(45, 2) + le(0, 2) + le(0, 2) + le(0, 4)
        + le(UInt64(crc), 4)
      central +=
        le(size32, 4) + le(size32, 4) + le(UInt64(nameBytes.count), 2) + le(UInt64(extra.count), 2)
      central += le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(offset32, 4) + nameBytes + extra
      written.append((crc, data.count, offset))
    }
    // Directory records that point at another entry's local header and data.
    for (name, target) in aliases {
      let nameBytes = Array(name.utf8)
      let t = written[target]
      central +=
        le(0x0201_4b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4)
        + le(UInt64(t.crc), 4) + le(UInt64(t.size), 4) + le(UInt64(t.size), 4)
        + le(UInt64(nameBytes.count), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4)
        + le(UInt64(t.offset), 4) + nameBytes
    }
    let count = UInt64(entries.count + aliases.count)
    let cdOffset = out.count
    out += central
    if zip64 {
      let recordOffset = out.count
      out += le(0x0606_4b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4)
      out += le(count, 8) + le(count, 8)
      out += le(UInt64(central.count), 8) + le(UInt64(cdOffset), 8)
      out += le(0x0706_4b50, 4) + le(0, 4) + le(UInt64(recordOffset), 8) + le(1, 4)
      out += le(0x0605_4b50, 4) + le(0, 2) + le(0, 2) + le(0xFFFF, 2) + le(0xFFFF, 2)
      out += le(0xFFFF_FFFF, 4) + le(0xFFFF_FFFF, 4) + le(0, 2)
    } else {
      out +=
        le(0x0605_4b50, 4) + le(0, 2) + le(0, 2) + le(count, 2) + le(count, 2)
      out += le(UInt64(central.count), 4) + le(UInt64(cdOffset), 4) + le(0, 2)
    }
    return out
  }
}
