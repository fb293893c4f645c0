import Foundation
import SafeTensors
import XCTest

@testable import TorchCheckpoint

/// Seeded mutations of a checkpoint: of its `data.pkl` (rebuilt into a valid zip) and of the
/// zip structure itself. Each case must end in a TorchCheckpointError or a consistent result;
/// a trap or a hang fails the whole run.
final class FuzzTests: XCTestCase {
  struct Counts {
    var cases = 0, errors = 0, accepted = 0
  }

  /// Reads `bytes` as a checkpoint file: a thrown TorchCheckpointError or a result whose every
  /// tensor has exactly count × dtype size bytes and converts to Float32.
  func check(_ bytes: [UInt8], _ label: String, _ counts: inout Counts) throws {
    let path = scratchPath("fuzz.pth")
    try writeFile(path, bytes)
    counts.cases += 1
    let start = Date()
    do {
      let sd = try TorchCheckpointFile.read(path: path)
      counts.accepted += 1
      for key in sd.keys {
        let e = try sd.entry(key)
        XCTAssertEqual(e.data.count, e.count * e.dtype.size, "\(label): \(key)")
        _ = try sd.floats(key)
      }
    } catch is TorchCheckpointError {
      counts.errors += 1
    } catch {
      XCTFail("\(label): not a TorchCheckpointError: \(error)")
    }
    XCTAssertLessThan(Date().timeIntervalSince(start), 2, "\(label) took too long")
  }

  func testMutatedPickles() throws {
    let entries = try archiveEntries(try fixture("views.pth"))
    let pickleIndex = try XCTUnwrap(entries.firstIndex { $0.name.hasSuffix("/data.pkl") })
    let pickle = entries[pickleIndex].data
    var rng = SplitMix64(seed: 0x7063_6b6c)
    var counts = Counts()
    let hugeLengths: [[UInt8]] = [
      [0x58, 0xFF, 0xFF, 0xFF, 0x7F], [0x8D] + [UInt8](repeating: 0xFF, count: 8),
      [0x42, 0xFF, 0xFF, 0xFF, 0xFF],
      [0x54, 0xFE, 0xFF, 0xFF, 0xFF], [0x8B, 0xFF, 0xFF, 0xFF, 0x7F], [0x8A, 0xFF],
      [0x6A, 0xFF, 0xFF, 0xFF, 0xFF],
      [0x72, 0xFF, 0xFF, 0xFF, 0xFF], [0x95] + [UInt8](repeating: 0xFF, count: 8),
      [0x4A, 0xFF, 0xFF, 0xFF, 0x7F],
    ]
    // Opcodes that make memo cycles and deep nesting when spliced in.
    let cycles: [[UInt8]] = [
      [0x5D, 0x94, 0x68, 0x00, 0x61], [0x7D, 0x71, 0xF0, 0x4B, 0x01, 0x68, 0xF0, 0x73],
      [0x68, 0x01, 0x68, 0x01, 0x61],
      [0x32, 0x32, 0x73], [0x28, 0x68, 0x02, 0x65], [0x68, 0x0D, 0x68, 0x0D, 0x73],
    ]
    for n in 0..<500 {
      var p = pickle
      let at = Int.random(in: 0..<p.count, using: &rng)
      switch n % 6 {
      case 0:  // flip 1–4 bytes
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
          p[Int.random(in: 0..<p.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
        }
      case 1:  // truncate
        p.removeSubrange(at...)
      case 2:  // a huge length
        p.insert(contentsOf: hugeLengths[n / 6 % hugeLengths.count], at: at)
      case 3:  // a memo cycle
        p.insert(contentsOf: cycles[n / 6 % cycles.count], at: at)
      case 4:  // a random byte becomes a random small integer (offsets, sizes, strides, numels)
        if let i = (at..<p.count).first(where: { p[$0] == 0x4B }), i + 1 < p.count {
          p[i + 1] = UInt8.random(in: 0...255, using: &rng)
        }
      default:  // splice a chunk elsewhere
        let len = Int.random(in: 1...32, using: &rng)
        let from = Int.random(in: 0..<p.count, using: &rng)
        p.insert(contentsOf: p[from..<min(p.count, from + len)], at: at)
      }
      var mutated = entries
      mutated[pickleIndex].data = p
      try check(StoredZipWriter.archive(mutated), "pickle case \(n)", &counts)
    }
    // Whole-stream cycles: a state-dict key pointing at its own dict, a list holding itself.
    for s: [UInt8] in [
      [0x80, 0x02, 0x7D, 0x71, 0x00] + binunicode("state_dict") + [0x68, 0x00, 0x73, 0x2E],
      [0x80, 0x02, 0x7D, 0x71, 0x00] + binunicode("model") + [0x7D, 0x71, 0x01]
        + binunicode("module") + [0x68, 0x00, 0x73, 0x73, 0x2E],
      [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E],
    ] {
      var mutated = entries
      mutated[pickleIndex].data = s
      try check(StoredZipWriter.archive(mutated), "cycle", &counts)
    }
    print(
      "fuzz data.pkl: \(counts.cases) cases, \(counts.errors) errors, \(counts.accepted) accepted")
    XCTAssertGreaterThan(counts.errors, 0)
  }

  func testMutatedZipStructure() throws {
    let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try fixture("views.pth"))))
    var rng = SplitMix64(seed: 0x7a69_7073)
    var counts = Counts()
    func signatures(_ b: [UInt8], _ third: UInt8, _ fourth: UInt8) -> [Int] {
      (0..<(b.count - 3)).filter {
        b[$0] == 0x50 && b[$0 + 1] == 0x4B && b[$0 + 2] == third && b[$0 + 3] == fourth
      }
    }
    let locals = signatures(original, 3, 4)
    let centrals = signatures(original, 1, 2)
    let eocd = try XCTUnwrap(signatures(original, 5, 6).last)
    let zip64 = signatures(original, 6, 6).last
    func put(_ b: inout [UInt8], _ at: Int, _ value: UInt64, _ n: Int) {
      for i in 0..<n where at + i < b.count {
        b[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
      }
    }
    let values: [UInt64] = [
      0, 1, 22, 46, 0xFFFF, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF,
      UInt64(original.count), UInt64(original.count - 1),
    ]
    for n in 0..<400 {
      var b = original
      let value =
        Bool.random(using: &rng)
        ? values[Int.random(in: 0..<values.count, using: &rng)]
        : rng.next() >> UInt64.random(in: 0...63, using: &rng)
      switch n % 7 {
      case 0:  // truncate the file
        b.removeSubrange(Int.random(in: 0..<b.count, using: &rng)...)
      case 1:  // EOCD: entry counts, directory size, directory offset, comment length
        put(&b, eocd + [8, 10, 12, 16, 20][n / 7 % 5], value, [2, 2, 4, 4, 2][n / 7 % 5])
      case 2:  // zip64 end record: counts, directory size and offset; and its locator
        if let z = zip64 {
          let field = [24, 32, 40, 48][n / 7 % 4]
          put(&b, z + field, value, 8)
          if n / 7 % 5 == 4 { put(&b, eocd - 12, value, 8) }
        }
      case 3:  // a central directory entry: method, sizes, name/extra/comment lengths, offset
        let c = centrals[Int.random(in: 0..<centrals.count, using: &rng)]
        let (field, width) = [(10, 2), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (42, 4)][
          n / 7 % 7]
        put(&b, c + field, value, width)
      case 4:  // a local header: name and extra lengths
        let l = locals[Int.random(in: 0..<locals.count, using: &rng)]
        put(&b, l + (n / 7 % 2 == 0 ? 26 : 28), value, 2)
      case 5:  // random bytes anywhere
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
          b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
      default:  // a huge comment-length-like garbage tail, or a file cut inside the directory
        if n / 7 % 2 == 0 {
          b += [UInt8](repeating: 0x50, count: Int.random(in: 1...70_000, using: &rng))
        } else {
          b.removeSubrange(Int.random(in: centrals[0]..<b.count, using: &rng)...)
        }
      }
      try check(b, "zip case \(n)", &counts)
    }
    print("fuzz zip: \(counts.cases) cases, \(counts.errors) errors, \(counts.accepted) accepted")
    XCTAssertGreaterThan(counts.errors, counts.cases / 2)
  }
}
