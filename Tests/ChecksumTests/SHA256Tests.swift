import Checksum
import Foundation
import XCTest
import _TestSupport

/// SHA-256 of bytes and of files against known answers (FIPS 180-4's examples, and Python's
/// `hashlib.sha256` for a file of several chunks).
final class SHA256Tests: TemporaryFolderTestCase {
  func testSHA256KnownAnswers() {
    XCTAssertEqual(
      SHA256.hex(Data("abc".utf8)),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertEqual(
      SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    XCTAssertEqual(
      SHA256.hex(Data(String(repeating: "a", count: 1000).utf8)),
      "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    XCTAssertEqual(
      SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
  }

  /// A file of two chunks and a part (byte i is i mod 251, so no chunk repeats another), hashed
  /// as it streams: the digest of
  /// `hashlib.sha256(bytes(i % 251 for i in range(2 * 1048576 + 12345))).hexdigest()`.
  func testFileOfSeveralChunks() throws {
    let count = 2 * 1_048_576 + 12_345
    XCTAssertGreaterThan(count, 2 * SHA256.chunkSize, "the file spans more than two chunks")
    let bytes = Data((0..<count).map { UInt8($0 % 251) })
    let file = path("chunks.bin")
    try bytes.write(to: URL(fileURLWithPath: file))
    let expected = "2e5e321c61c38df2ec144156f2f70495fa0551a75f1d8cd234ffe54b01d11fba"
    XCTAssertEqual(try SHA256.hex(contentsOf: file), expected)
    XCTAssertEqual(SHA256.hex(bytes), expected)
  }

  /// Files of 0, 1 and exactly one chunk of bytes hash as their bytes do.
  func testFileDigestIsTheBytesDigest() throws {
    for count in [0, 1, SHA256.chunkSize] {
      let bytes = Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
      let file = path("bytes-\(count).bin")
      try bytes.write(to: URL(fileURLWithPath: file))
      XCTAssertEqual(try SHA256.hex(contentsOf: file), SHA256.hex(bytes), "\(count) bytes")
    }
  }

  /// A missing file and a folder are errors that name the path and the reason.
  func testUnreadablePathsNameThePath() {
    for (file, reason) in [
      (path("missing.bin"), "No such file or directory"), (folder.path, "Is a directory"),
    ] {
      XCTAssertThrowsError(try SHA256.hex(contentsOf: file)) { error in
        XCTAssertEqual(error as? ChecksumError, ChecksumError(path: file, reason: reason))
        XCTAssertEqual("\(error)", "\(file): cannot read: \(reason)")
      }
    }
  }
}
