// Sharding a list between the ranks of a distributed run: which entries a rank takes, and a
// small byte format for the results it sends back to rank 0.

import Foundation

/// The entries `0..<count` that rank `rank` of `size` takes: a contiguous block of whole
/// groups of `granule` entries, blocks in rank order (rank 0 first).
///
/// With `G = ⌈count / granule⌉` groups, rank `r` takes groups `⌊r·G/size⌋ ..< ⌊(r+1)·G/size⌋`,
/// i.e. entries from `granule · ⌊r·G/size⌋` to `min(count, granule · ⌊(r+1)·G/size⌋)`. The
/// blocks cover `0..<count` once, in order; a rank may get none (more ranks than groups).
/// Groups are whole batches, so each batch a rank runs is the batch one process would run.
/// Preconditions: `count ≥ 0`, `size ≥ 1`, `0 ≤ rank < size`, `granule ≥ 1`.
public func shardRange(count: Int, rank: Int, size: Int, granule: Int = 1) -> Range<Int> {
  precondition(count >= 0 && size >= 1 && (0..<size).contains(rank) && granule >= 1, "bad shard")
  let groups = (count + granule - 1) / granule
  let first = rank * groups / size
  let end = (rank + 1) * groups / size
  return Swift.min(count, first * granule)..<Swift.min(count, end * granule)
}

/// A malformed shard message (a rank sent bytes that do not decode).
public struct ShardDecodingError: Error, CustomStringConvertible {
  public var description: String
  public init(description: String) { self.description = description }
}

/// Appends values to a byte buffer: integers as 8-byte little-endian, floats as their 4-byte
/// little-endian bit patterns (exact, NaN included), strings as a length and UTF-8 bytes.
public struct ShardWriter {
  public private(set) var bytes: [UInt8] = []
  public init() {}

  public mutating func int(_ v: Int) {
    withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 }
  }

  public mutating func floats(_ v: [Float]) {
    int(v.count)
    bytes.reserveCapacity(bytes.count + 4 * v.count)
    for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 } }
  }

  public mutating func string(_ s: String) {
    let utf8 = Array(s.utf8)
    int(utf8.count)
    bytes += utf8
  }
}

/// Reads what `ShardWriter` wrote, in the same order; running past the end is an error.
public struct ShardReader {
  private let bytes: [UInt8]
  private var at = 0
  public init(_ bytes: [UInt8]) { self.bytes = bytes }

  public var isAtEnd: Bool { at == bytes.count }

  private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
    guard n >= 0, n <= bytes.count - at else {
      throw ShardDecodingError(
        description: "shard message truncated: need \(n) bytes at \(at) of \(bytes.count)")
    }
    defer { at += n }
    return bytes[at..<(at + n)]
  }

  public mutating func int() throws -> Int {
    var v: UInt64 = 0
    for (i, b) in try take(8).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
    return Int(Int64(bitPattern: v))
  }

  public mutating func floats() throws -> [Float] {
    let n = try int()
    guard n >= 0, n <= (bytes.count - at) / 4 else {
      throw ShardDecodingError(
        description: "shard message: \(n) floats announced, \(bytes.count - at) bytes left")
    }
    let raw = try take(4 * n)
    var out = [Float](repeating: 0, count: n)
    var i = raw.startIndex
    for k in 0..<n {
      let bits =
        UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3])
        << 24
      out[k] = Float(bitPattern: bits)
      i += 4
    }
    return out
  }

  public mutating func string() throws -> String {
    let n = try int()
    return String(decoding: try take(n), as: UTF8.self)
  }
}

extension ShardWriter {
  /// Entries that could not be read: their count, then each one's list index and message.
  public mutating func skippedEntries(_ entries: [SkippedEntry]) {
    int(entries.count)
    for s in entries {
      int(s.index)
      string(s.message)
    }
  }
}

extension ShardReader {
  /// What `ShardWriter.skippedEntries` wrote; a negative or truncated count is an error.
  public mutating func skippedEntries() throws -> [SkippedEntry] {
    let n = try int()
    guard n >= 0 else {
      throw ShardDecodingError(description: "shard message: \(n) skipped entries announced")
    }
    var out: [SkippedEntry] = []
    for _ in 0..<n { out.append(SkippedEntry(index: try int(), message: try string())) }
    return out
  }
}
