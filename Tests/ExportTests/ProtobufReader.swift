// A small protobuf reader for the tests: reads back what the exporter wrote, field by field,
// independently of the writer's code (wire format: protobuf.dev "Message Structure";
// field numbers: onnx/onnx.proto).

import XCTest

/// One field of a message as read from the wire.
enum WireValue {
  case varint(UInt64)
  case fixed64(UInt64)
  case bytes(ArraySlice<UInt8>)
  case fixed32(UInt32)
}

struct WireError: Error, CustomStringConvertible {
  var description: String
}

/// The fields of one message, in the order they were written.
struct WireMessage {
  var fields: [(number: Int, value: WireValue)] = []

  init(_ bytes: ArraySlice<UInt8>) throws {
    var i = bytes.startIndex
    func varint() throws -> UInt64 {
      var v: UInt64 = 0
      var shift: UInt64 = 0
      while true {
        guard i < bytes.endIndex, shift < 64 else { throw WireError(description: "bad varint") }
        let b = bytes[i]
        i += 1
        v |= UInt64(b & 0x7f) << shift
        if b < 0x80 { return v }
        shift += 7
      }
    }
    while i < bytes.endIndex {
      let key = try varint()
      let number = Int(key >> 3)
      switch key & 7 {
      case 0: fields.append((number, .varint(try varint())))
      case 1:
        guard bytes.endIndex - i >= 8 else { throw WireError(description: "short fixed64") }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
        i += 8
        fields.append((number, .fixed64(v)))
      case 2:
        let n = Int(try varint())
        guard n >= 0, bytes.endIndex - i >= n else { throw WireError(description: "short bytes") }
        fields.append((number, .bytes(bytes[i..<(i + n)])))
        i += n
      case 5:
        guard bytes.endIndex - i >= 4 else { throw WireError(description: "short fixed32") }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[i + k]) << (8 * UInt32(k)) }
        i += 4
        fields.append((number, .fixed32(v)))
      default: throw WireError(description: "wire type \(key & 7) of field \(number)")
      }
    }
  }

  /// Every embedded message of field `n`.
  func messages(_ n: Int) throws -> [WireMessage] {
    try fields.filter { $0.number == n }.map {
      guard case .bytes(let b) = $0.value else { throw WireError(description: "field \(n)") }
      return try WireMessage(b)
    }
  }

  /// The (last) embedded message of field `n`.
  func message(_ n: Int) throws -> WireMessage {
    guard let m = try messages(n).last else { throw WireError(description: "no field \(n)") }
    return m
  }

  /// Every string of field `n`.
  func strings(_ n: Int) -> [String] {
    fields.compactMap {
      guard $0.number == n, case .bytes(let b) = $0.value else { return nil }
      return String(decoding: b, as: UTF8.self)
    }
  }

  /// The (last) string of field `n`, or nil.
  func string(_ n: Int) -> String? { strings(n).last }

  /// Every varint of field `n`, as signed 64-bit values.
  func ints(_ n: Int) -> [Int] {
    fields.compactMap {
      guard $0.number == n, case .varint(let v) = $0.value else { return nil }
      return Int(Int64(bitPattern: v))
    }
  }

  /// The bytes of field `n` (the last one), or nil.
  func bytes(_ n: Int) -> ArraySlice<UInt8>? {
    fields.last { $0.number == n }.flatMap {
      if case .bytes(let b) = $0.value { return b }
      return nil
    }
  }
}

/// What the tests read back from an ONNX file.
struct ReadModel {
  var irVersion: Int
  var opsets: [(domain: String, version: Int)]
  var metadata: [String: String]
  var graph: WireMessage
  /// Graph inputs and outputs: name and dims (an Int, or the dim_param's name).
  var inputs: [(name: String, elementType: Int, dims: [String])]
  var outputs: [(name: String, elementType: Int, dims: [String])]
  /// Nodes: op type, domain, inputs, outputs.
  var nodes: [(op: String, domain: String, inputs: [String], outputs: [String])]
  /// Initializers: name, data type, dims, raw byte count.
  var initializers: [(name: String, dataType: Int, dims: [Int], rawBytes: Int)]

  init(_ bytes: [UInt8]) throws {
    let model = try WireMessage(bytes[...])
    irVersion = model.ints(1).last ?? 0
    opsets = try model.messages(8).map { ($0.string(1) ?? "", $0.ints(2).last ?? 0) }
    var meta: [String: String] = [:]
    for entry in try model.messages(14) { meta[entry.string(1) ?? ""] = entry.string(2) ?? "" }
    metadata = meta
    graph = try model.message(7)
    func valueInfo(_ m: WireMessage) throws -> (String, Int, [String]) {
      let tensor = try m.message(2).message(1)
      let dims = try tensor.message(2).messages(1).map { d -> String in
        if let v = d.ints(1).last { return String(v) }
        return d.string(2) ?? "?"
      }
      return (m.string(1) ?? "", tensor.ints(1).last ?? 0, dims)
    }
    inputs = try graph.messages(11).map(valueInfo)
    outputs = try graph.messages(12).map(valueInfo)
    nodes = try graph.messages(1).map {
      ($0.string(4) ?? "", $0.string(7) ?? "", $0.strings(1), $0.strings(2))
    }
    initializers = try graph.messages(5).map {
      ($0.string(8) ?? "", $0.ints(2).last ?? 0, $0.ints(1), $0.bytes(9)?.count ?? -1)
    }
  }
}
