// The Protocol Buffers wire format, as much of it as an ONNX file needs.
//
// Reference: https://protobuf.dev/programming-guides/encoding/ ("Message Structure").
// A message is a sequence of fields, each `key = (field_number << 3) | wire_type` as a varint,
// then the value:
//   wire type 0 (VARINT): int32, int64, enums, bool — base-128 varint, least significant group
//     first, high bit = more bytes follow; a negative int32/int64 is its 64-bit two's
//     complement (10 bytes);
//   wire type 2 (LEN): strings, bytes, embedded messages — varint byte length, then the bytes;
//   wire type 5 (I32): float — 4 bytes little-endian (IEEE 754).
// Repeated scalars are written unpacked (one key per element), as proto2 (onnx.proto's syntax)
// writes them by default; every parser reads both packed and unpacked forms.

/// Wire types used by ONNX messages.
enum WireType: UInt64 {
  case varint = 0
  case lengthDelimited = 2
  case fixed32 = 5
}

/// A message under construction: fields appended in order to `bytes`.
///
/// Field order does not matter to parsers; a field written twice is a repeated field (or, for
/// a singular one, the last value wins), so callers write each singular field once.
struct ProtobufMessage {
  private(set) var bytes: [UInt8] = []

  init() {}

  /// Appends `value` as a base-128 varint (1 to 10 bytes).
  mutating func appendVarint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  /// Appends the key of field `number` with wire type `wire`.
  mutating func appendKey(_ number: Int, _ wire: WireType) {
    precondition(number >= 1 && number < 1 << 29, "protobuf field numbers are 1…2²⁹−1")
    appendVarint(UInt64(number) << 3 | wire.rawValue)
  }

  /// An `int64` / `int32` / enum field (varint; negative values as 64-bit two's complement).
  mutating func int(_ number: Int, _ value: Int) {
    appendKey(number, .varint)
    appendVarint(UInt64(bitPattern: Int64(value)))
  }

  /// A `float` field (fixed32, little-endian IEEE 754).
  mutating func float(_ number: Int, _ value: Float) {
    appendKey(number, .fixed32)
    let bits = value.bitPattern
    for shift in stride(from: 0, to: 32, by: 8) {
      bytes.append(UInt8(truncatingIfNeeded: bits >> shift))
    }
  }

  /// A `string` field (UTF-8 bytes, length-delimited).
  mutating func string(_ number: Int, _ value: String) {
    raw(number, Array(value.utf8))
  }

  /// A `bytes` field (length-delimited).
  mutating func raw(_ number: Int, _ value: [UInt8]) {
    appendKey(number, .lengthDelimited)
    appendVarint(UInt64(value.count))
    bytes += value
  }

  /// A `bytes` field holding the little-endian bytes of `values`.
  mutating func raw(_ number: Int, littleEndian values: [Int64]) {
    #if _endian(little)
      values.withUnsafeBytes { append(number, contentsOf: $0) }
    #else
      values.map(\.littleEndian).withUnsafeBytes { append(number, contentsOf: $0) }
    #endif
  }

  /// A `bytes` field holding the little-endian IEEE 754 bytes of `values`.
  mutating func raw(_ number: Int, littleEndian values: [Float]) {
    #if _endian(little)
      values.withUnsafeBytes { append(number, contentsOf: $0) }
    #else
      values.map(\.bitPattern.littleEndian).withUnsafeBytes { append(number, contentsOf: $0) }
    #endif
  }

  /// A length-delimited field holding `payload`.
  private mutating func append(_ number: Int, contentsOf payload: UnsafeRawBufferPointer) {
    appendKey(number, .lengthDelimited)
    appendVarint(UInt64(payload.count))
    bytes += payload
  }

  /// An embedded message field (length-delimited).
  mutating func message(_ number: Int, _ value: ProtobufMessage) {
    raw(number, value.bytes)
  }

  /// The bytes of a length-delimited field `number` of `length` bytes, without its payload:
  /// key and length, for a payload written separately (a file written in parts).
  static func lengthDelimitedHeader(_ number: Int, length: Int) -> [UInt8] {
    var m = ProtobufMessage()
    m.appendKey(number, .lengthDelimited)
    m.appendVarint(UInt64(length))
    return m.bytes
  }
}
