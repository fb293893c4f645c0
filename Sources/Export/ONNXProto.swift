// The ONNX messages an exported model uses, encoded with `ProtobufMessage`.
//
// Field numbers are those of onnx/onnx.proto (proto2, stable since IR version 3; cited per
// message below). Only the fields this exporter writes are listed.
//
//   ModelProto           ir_version 1, producer_name 2, producer_version 3, doc_string 6,
//                        graph 7, opset_import 8, metadata_props 14
//   OperatorSetIdProto   domain 1, version 2
//   StringStringEntryProto key 1, value 2
//   GraphProto           node 1, name 2, initializer 5, doc_string 10, input 11, output 12
//   NodeProto            input 1, output 2, name 3, op_type 4, attribute 5
//   AttributeProto       name 1, f 2, i 3, floats 7, ints 8, type 20
//                        (AttributeType FLOAT 1, INT 2, FLOATS 6, INTS 7)
//   TensorProto          dims 1, data_type 2, name 8, raw_data 9 (little-endian)
//                        (DataType FLOAT 1, INT64 7)
//   ValueInfoProto       name 1, type 2
//   TypeProto            tensor_type 1;  TypeProto.Tensor elem_type 1, shape 2
//   TensorShapeProto     dim 1;  Dimension dim_value 1, dim_param 2

/// An element type of a tensor (`TensorProto.DataType`).
enum ONNXElementType: Int {
  case float = 1
  case int64 = 7
}

/// A node attribute (`AttributeProto`): one value of the kinds this exporter writes.
enum ONNXAttributeValue: Equatable {
  case int(Int)
  case float(Float)
  case ints([Int])
  case floats([Float])
}

/// A named attribute of a node.
struct ONNXAttribute: Equatable {
  var name: String
  var value: ONNXAttributeValue

  init(_ name: String, _ value: ONNXAttributeValue) {
    self.name = name
    self.value = value
  }

  /// `AttributeProto`: name 1, type 20, then the value's field (i 3, f 2, ints 8, floats 7).
  var encoded: ProtobufMessage {
    var m = ProtobufMessage()
    m.string(1, name)
    switch value {
    case .int(let v):
      m.int(20, 2)
      m.int(3, v)
    case .float(let v):
      m.int(20, 1)
      m.float(2, v)
    case .ints(let vs):
      m.int(20, 7)
      for v in vs { m.int(8, v) }
    case .floats(let vs):
      m.int(20, 6)
      for v in vs { m.float(7, v) }
    }
    return m
  }
}

/// One operator application (`NodeProto`) of the default (ai.onnx) domain.
struct ONNXNode {
  var opType: String
  var inputs: [String]
  var outputs: [String]
  var name: String
  var attributes: [ONNXAttribute]

  /// `NodeProto`: input 1, output 2, name 3, op_type 4, attribute 5.
  var encoded: ProtobufMessage {
    var m = ProtobufMessage()
    for i in inputs { m.string(1, i) }
    for o in outputs { m.string(2, o) }
    m.string(3, name)
    m.string(4, opType)
    for a in attributes { m.message(5, a.encoded) }
    return m
  }
}

/// A constant tensor of the graph (`TensorProto` as an initializer), row-major.
struct ONNXTensor {
  enum Values {
    case floats([Float])
    case int64s([Int64])
  }
  var name: String
  var shape: [Int]
  var values: Values

  var elementType: ONNXElementType {
    switch values {
    case .floats: return .float
    case .int64s: return .int64
    }
  }

  /// `TensorProto`: dims 1, data_type 2, name 8, raw_data 9.
  var encoded: ProtobufMessage {
    var m = ProtobufMessage()
    for d in shape { m.int(1, d) }
    m.int(2, elementType.rawValue)
    m.string(8, name)
    switch values {
    case .floats(let v): m.raw(9, littleEndian: v)
    case .int64s(let v): m.raw(9, littleEndian: v)
    }
    return m
  }
}

/// A graph input or output (`ValueInfoProto`) of a tensor type: each dimension a fixed size or
/// a named symbolic one (`dim_param`).
struct ONNXValueInfo {
  enum Dimension: Equatable {
    case fixed(Int)
    case symbolic(String)
  }
  var name: String
  var elementType: ONNXElementType
  var shape: [Dimension]

  /// `ValueInfoProto` name 1, type 2 → `TypeProto` tensor_type 1 → `TypeProto.Tensor`
  /// elem_type 1, shape 2 → `TensorShapeProto` dim 1 → `Dimension` dim_value 1 / dim_param 2.
  var encoded: ProtobufMessage {
    var shapeProto = ProtobufMessage()
    for d in shape {
      var dim = ProtobufMessage()
      switch d {
      case .fixed(let v): dim.int(1, v)
      case .symbolic(let name): dim.string(2, name)
      }
      shapeProto.message(1, dim)
    }
    var tensorType = ProtobufMessage()
    tensorType.int(1, elementType.rawValue)
    tensorType.message(2, shapeProto)
    var type = ProtobufMessage()
    type.message(1, tensorType)
    var m = ProtobufMessage()
    m.string(1, name)
    m.message(2, type)
    return m
  }
}

/// The ONNX IR version a file with operator set `opset` declares (onnx/docs/Versioning.md:
/// opsets 17–18 came with IR 8, 19–20 with IR 9, 21–22 with IR 10).
func onnxIRVersion(opset: Int) -> Int {
  switch opset {
  case ...18: return 8
  case 19...20: return 9
  default: return 10
  }
}

/// The fields of a `ModelProto` other than its graph, which is written after them
/// (`ModelProto.graph` is field 7): ir_version 1, producer_name 2, producer_version 3,
/// doc_string 6, opset_import 8 (`OperatorSetIdProto` domain 1 = "", version 2),
/// metadata_props 14 (`StringStringEntryProto` key 1, value 2), keys in sorted order.
func onnxModelHeader(
  opset: Int, producer: String, producerVersion: String, docString: String,
  metadata: [String: String]
) -> ProtobufMessage {
  var m = ProtobufMessage()
  m.int(1, onnxIRVersion(opset: opset))
  m.string(2, producer)
  m.string(3, producerVersion)
  m.string(6, docString)
  var opsetImport = ProtobufMessage()
  opsetImport.string(1, "")
  opsetImport.int(2, opset)
  m.message(8, opsetImport)
  for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
    var entry = ProtobufMessage()
    entry.string(1, key)
    entry.string(2, value)
    m.message(14, entry)
  }
  return m
}
