import Foundation
import XCTest

@testable import SafeTensors

/// What a file is, from its first bytes: a video or image given where a safetensors file (a
/// checkpoint) goes is named for what it is.
final class FileKindTests: XCTestCase {
  /// `bytes` padded with zeros to 64 bytes (a file's start).
  func head(_ bytes: [UInt8], pad: Int = 64) -> [UInt8] {
    bytes + [UInt8](repeating: 0, count: max(0, pad - bytes.count))
  }

  func kind(_ bytes: [UInt8], size: Int = 1 << 20) -> String? {
    FileKind.recognise(bytes, fileSize: size)?.description
  }

  func testSignatures() {
    let ascii = { (s: String) in Array(s.utf8) }
    XCTAssertEqual(kind(head([0x1A, 0x45, 0xDF, 0xA3, 0x01])), "a video (Matroska/WebM)")
    XCTAssertEqual(kind(head([0, 0, 0, 0x20] + ascii("ftypisom"))), "a video (MP4)")
    XCTAssertEqual(kind(head([0, 0, 0, 0x14] + ascii("ftypqt  "))), "a video (QuickTime)")
    XCTAssertEqual(kind(head([0, 0, 0, 0x1C] + ascii("ftypavif"))), "an image (AVIF)")
    XCTAssertEqual(kind(head(ascii("RIFF\u{10}\0\0\0AVI LIST"))), "a video (AVI)")
    XCTAssertEqual(kind(head(ascii("RIFF\u{10}\0\0\0WEBPVP8 "))), "an image (WebP)")
    XCTAssertEqual(kind(head([0x89] + ascii("PNG\r\n\u{1A}\n"))), "an image (PNG)")
    XCTAssertEqual(kind(head([0xFF, 0xD8, 0xFF, 0xE0])), "an image (JPEG)")
    XCTAssertEqual(kind(head(ascii("GIF89a"))), "an image (GIF)")
    XCTAssertEqual(kind(head([0x50, 0x4B, 0x03, 0x04])), "a zip archive")
    XCTAssertEqual(kind(head([0x80, 0x02, 0x8A, 0x0A])), "a Python pickle")
    XCTAssertEqual(kind(head(ascii("%PDF-1.7"))), "a PDF document")
    XCTAssertEqual(kind(ascii("{\"config\": 1}\n")), "a text file")
    var ts = [UInt8](repeating: 0xFF, count: 376)
    (ts[0], ts[188]) = (0x47, 0x47)
    XCTAssertEqual(kind(ts), "a video (MPEG transport stream)")
    // A BMP's header holds the file's size; "BM" alone (a text file, say) is not one.
    XCTAssertEqual(kind(head(ascii("BM") + [0x40, 0, 0, 0]), size: 64), "an image (BMP)")
    XCTAssertNil(kind(head(ascii("BM") + [0x40, 0, 0, 0, 0x01]), size: 65))
    XCTAssertNil(kind([1, 2, 3]))
  }

  /// A safetensors file is recognised as one whatever its header length's bytes happen to look
  /// like (here the length 0x4D42 starts with `BM`), and a length past the file is not one.
  func testSafeTensorsComesFirst() {
    var bytes = [UInt8](repeating: 0x20, count: 8 + 0x4D42)
    bytes.replaceSubrange(0..<9, with: [0x42, 0x4D, 0, 0, 0, 0, 0, 0, UInt8(ascii: "{")])
    XCTAssertEqual(FileKind.recognise(bytes, fileSize: bytes.count)?.category, .safeTensors)
    XCTAssertNotEqual(FileKind.recognise(bytes, fileSize: 100)?.category, .safeTensors)
  }

  /// Reading a video as a safetensors file says what it is, not that a header length of
  /// 8104636986402275328 goes past the end of the file.
  func testReadingAVideoNamesIt() throws {
    let clip = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Clips/val/0000.mkv").path
    XCTAssertEqual(FileKind.recognise(path: clip)?.description, "a video (Matroska/WebM)")
    XCTAssertThrowsError(try SafeTensorsFile.read(path: clip)) {
      XCTAssertEqual(
        String(describing: $0), "\(clip): this is a video (Matroska/WebM), not a safetensors file")
    }
    XCTAssertNil(FileKind.recognise(path: "/no/such/file"))
  }
}
