// What a file is, from its first bytes, so that a file given where a checkpoint (or any
// safetensors file) is expected is named for what it is ("this is a video (Matroska/WebM), not
// a checkpoint") instead of failing deep in a parser ("header length 8104636986402275328 goes
// past the end of the file").
//
// Signatures (offset: bytes), checked in this order:
//   safetensors   0: u64 N ≤ size − 8, 8: `{`
//   zip           0: 50 4B 03 04          (a PyTorch `.pth` since 1.6 is one)
//   pickle        0: 80 02…05             (legacy `torch.save`, `pickle.dump`)
//   Matroska/WebM 0: 1A 45 DF A3          MP4/QuickTime 4: `ftyp` (`qt  ` brand: QuickTime;
//   AVI 0: `RIFF`, 8: `AVI `              `heic`/`avif`… brands: images), 4: `moov` `mdat` `wide`
//   MPEG-TS 0: 47, 188: 47                MPEG-PS 0: 00 00 01 BA     FLV 0: `FLV`
//   ASF/WMV 0: 30 26 B2 75 8E 66 CF 11    Ogg 0: `OggS`              MPEG-1/2 video 0: 00 00 01 B3
//   PNG 0: 89 `PNG` 0D 0A 1A 0A           JPEG 0: FF D8 FF           GIF 0: `GIF8`
//   WebP 0: `RIFF`, 8: `WEBP`             BMP 0: `BM` + size              TIFF 0: `II*\0` / `MM\0*`
//   WAV 0: `RIFF`, 8: `WAVE`              FLAC 0: `fLaC`            MP3 0: `ID3`
//   gzip 0: 1F 8B   PDF 0: `%PDF`   ELF 0: 7F `ELF`   HDF5 0: 89 `HDF` 0D 0A 1A 0A
//   NumPy 0: 93 `NUMPY`   GGUF 0: `GGUF`   text: printable UTF-8 only (JSON, YAML, a list)
// Signatures that are short (`BM`, MPEG-TS's one byte) are only trusted once the file is known
// not to be a safetensors file, which the first rule settles.

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What a file holds, as far as its first bytes tell.
public struct FileKind: Equatable, Sendable, CustomStringConvertible {
  /// The broad kind, which decides how a caller words its refusal.
  public enum Category: String, Equatable, Sendable {
    case safeTensors
    /// A zip archive (a PyTorch `.pth` is one).
    case zipArchive
    /// A Python pickle (legacy `torch.save`).
    case pickle
    case video
    case image
    case audio
    case text
    /// Another recognised format (an archive, a program, a document, an array file); `format`
    /// is then the whole phrase, e.g. `a PDF document`.
    case other
  }

  public var category: Category
  /// The format's name, e.g. `Matroska/WebM`.
  public var format: String

  public init(_ category: Category, _ format: String) {
    self.category = category
    self.format = format
  }

  /// `a video (Matroska/WebM)`, `a safetensors file`, `a zip archive`.
  public var description: String {
    switch category {
    case .safeTensors: return "a safetensors file"
    case .zipArchive: return "a zip archive"
    case .pickle: return "a Python pickle"
    case .video: return "a video (\(format))"
    case .image: return "an image (\(format))"
    case .audio: return "a sound file (\(format))"
    case .text: return "a text file"
    case .other: return format
    }
  }

  /// How many bytes `recognise` looks at (MPEG-TS's second sync byte sits at 188).
  public static let prefixLength = 512

  /// The kind of a file whose first bytes are `head` (at most `prefixLength` are looked at) and
  /// whose size is `fileSize`; nil when no signature matches.
  public static func recognise<Bytes: Collection<UInt8>>(_ head: Bytes, fileSize: Int) -> FileKind?
  {
    let b = Array(head.prefix(prefixLength))
    func at(_ offset: Int, _ bytes: [UInt8]) -> Bool {
      b.count >= offset + bytes.count && Array(b[offset..<(offset + bytes.count)]) == bytes
    }
    func at(_ offset: Int, _ text: String) -> Bool { at(offset, Array(text.utf8)) }

    if b.count >= 9, b[8] == UInt8(ascii: "{") {
      let length = b.prefix(8).enumerated().reduce(UInt64(0)) {
        $0 | UInt64($1.element) << (8 * UInt64($1.offset))
      }
      if length <= UInt64(max(0, fileSize - 8)) { return FileKind(.safeTensors, "safetensors") }
    }
    if at(0, [0x50, 0x4B, 0x03, 0x04]) { return FileKind(.zipArchive, "zip") }
    if b.count >= 2, b[0] == 0x80, (2...5).contains(b[1]) { return FileKind(.pickle, "pickle") }

    if at(0, [0x1A, 0x45, 0xDF, 0xA3]) { return FileKind(.video, "Matroska/WebM") }
    if at(4, "ftyp") {
      let brand = b.count >= 12 ? String(decoding: b[8..<12], as: UTF8.self) : ""
      if ["heic", "heix", "mif1", "msf1", "avif", "avis"].contains(brand) {
        return FileKind(.image, brand.hasPrefix("avi") ? "AVIF" : "HEIF")
      }
      return FileKind(.video, brand == "qt  " ? "QuickTime" : "MP4")
    }
    if at(4, "moov") || at(4, "mdat") || at(4, "wide") { return FileKind(.video, "QuickTime") }
    if at(0, "RIFF") {
      if at(8, "AVI ") { return FileKind(.video, "AVI") }
      if at(8, "WEBP") { return FileKind(.image, "WebP") }
      if at(8, "WAVE") { return FileKind(.audio, "WAV") }
    }
    if at(0, [0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) {
      return FileKind(.video, "ASF/WMV")
    }
    if at(0, "FLV") { return FileKind(.video, "FLV") }
    if at(0, "OggS") { return FileKind(.video, "Ogg") }
    if at(0, [0x00, 0x00, 0x01, 0xBA]) { return FileKind(.video, "MPEG program stream") }
    if at(0, [0x00, 0x00, 0x01, 0xB3]) { return FileKind(.video, "MPEG video") }
    if b.count > 188, b[0] == 0x47, b[188] == 0x47 {
      return FileKind(.video, "MPEG transport stream")
    }

    if at(0, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return FileKind(.image, "PNG") }
    if at(0, [0xFF, 0xD8, 0xFF]) { return FileKind(.image, "JPEG") }
    if at(0, "GIF8") { return FileKind(.image, "GIF") }
    if at(0, "II*\0") || at(0, "MM\0*") { return FileKind(.image, "TIFF") }
    if at(0, "BM"), b.count >= 6,
      Int(b[2]) | Int(b[3]) << 8 | Int(b[4]) << 16 | Int(b[5]) << 24 == fileSize
    {
      return FileKind(.image, "BMP")
    }

    if at(0, "fLaC") { return FileKind(.audio, "FLAC") }
    if at(0, "ID3") { return FileKind(.audio, "MP3") }

    if at(0, [0x1F, 0x8B]) { return FileKind(.other, "a gzip file") }
    if at(0, "%PDF") { return FileKind(.other, "a PDF document") }
    if at(0, [0x7F, 0x45, 0x4C, 0x46]) { return FileKind(.other, "a program or library (ELF)") }
    if at(0, [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) {
      return FileKind(.other, "an HDF5 file")
    }
    if at(0, [0x93]) && at(1, "NUMPY") { return FileKind(.other, "a NumPy array (.npy)") }
    if at(0, "GGUF") { return FileKind(.other, "a GGUF model file") }

    if !b.isEmpty, isPrintableText(b) { return FileKind(.text, "text") }
    return nil
  }

  /// The kind of the file at `path` (its first `prefixLength` bytes); nil when it cannot be
  /// read or no signature matches. Never blocks on a FIFO.
  public static func recognise(path: String) -> FileKind? {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    var head = [UInt8](repeating: 0, count: prefixLength)
    let n = pread(fd, &head, prefixLength, 0)
    guard n > 0 else { return nil }
    return recognise(head[..<n], fileSize: Int(st.st_size))
  }

  /// Whether `bytes` are UTF-8 with no control characters but tab, LF and CR (a possibly cut
  /// last character allowed).
  static func isPrintableText(_ bytes: [UInt8]) -> Bool {
    var iterator = bytes.makeIterator()
    var parser = Unicode.UTF8.ForwardParser()
    var consumed = 0
    while true {
      switch parser.parseScalar(from: &iterator) {
      case .valid(let encoded):
        consumed += encoded.count
        let scalar = Unicode.UTF8.decode(encoded)
        if scalar.value < 0x20 && ![0x09, 0x0A, 0x0D].contains(scalar.value) { return false }
        if scalar.value == 0x7F { return false }
      case .emptyInput: return true
      case .error(let length):
        // Only a character cut by the end of the prefix is forgiven.
        return consumed + length >= bytes.count - 3 && bytes.count == prefixLength
      }
    }
  }
}
