// Exporting a model to ONNX: the graph of `ModelGraph` for one input size, with a dynamic
// batch, wrapped into a ModelProto with its metadata, written atomically (Docs/EXPORT.md).

import Foundation
import Models
import SafeTensors

/// A model exported to ONNX, held in memory until written.
public struct ONNXModel {
  /// The operator set of the default domain the graph uses.
  public let opset: Int
  /// The input's shape without its batch: `[3, T, H, W]` or `[3, H, W]`.
  public let inputShape: [Int]
  /// K, the logits per entry.
  public let classes: Int
  /// Nodes and initializers of the graph.
  public let nodeCount: Int
  public let initializerCount: Int
  /// Every operator type the graph uses, sorted.
  public let operatorTypes: [String]
  /// `ModelProto` fields before the graph, and the encoded `GraphProto`.
  private let header: [UInt8]
  private let graph: [UInt8]

  fileprivate init(
    opset: Int, inputShape: [Int], classes: Int, builder: GraphBuilder, header: [UInt8],
    graph: [UInt8]
  ) {
    self.opset = opset
    self.inputShape = inputShape
    self.classes = classes
    nodeCount = builder.nodes.count
    initializerCount = builder.initializers.count
    operatorTypes = Set(builder.nodes.map(\.opType)).sorted()
    self.header = header
    self.graph = graph
  }

  /// The `ModelProto.graph` field's key and length (field 7).
  private var graphHeader: [UInt8] {
    ProtobufMessage.lengthDelimitedHeader(7, length: graph.count)
  }

  /// Size of the file in bytes.
  public var byteCount: Int { header.count + graphHeader.count + graph.count }

  /// The serialized `ModelProto`.
  public func serialized() -> [UInt8] { header + graphHeader + graph }

  /// Writes the model to `path` atomically (temporary file in the same folder, fsync, rename):
  /// an existing file is replaced only once the new one is complete.
  public func write(to path: String) throws {
    try AtomicFile.write(to: path) { fd in
      for part in [header, graphHeader, graph] { try part.withUnsafeBytes { try writeAll(fd, $0) } }
    }
  }
}

/// Builds ONNX models from checkpoints of this package (any variant, 2D or 3D).
public enum ONNXExport {
  /// Operator sets the exporter writes (LayerNormalization needs 17).
  public static let opsets = 17...21
  /// The default operator set.
  public static let defaultOpset = 17
  /// Name of the graph's input `[batch, 3, (T,) H, W]` and output `[batch, K]`.
  public static let inputName = ModelGraph.inputName
  public static let outputName = ModelGraph.outputName
  /// The symbolic name of the batch dimension.
  public static let batchDimension = "batch"
  /// Largest file one protobuf message can be (2 GiB − 1).
  static let maxBytes = Int(Int32.max)

  /// The model of `config` with weights `tensors` (every parameter of `config`, PyTorch
  /// layouts, this package's names) for inputs of spatial sizes `input` (`[T, H, W]` or
  /// `[H, W]`), written for operator set `opset`.
  ///
  /// `metadata` goes into `metadata_props` beside the exporter's own keys `config`, `kind`,
  /// `input` and `output` (which it cannot replace). Throws `ONNXExportError` for sizes the
  /// model cannot take, an operator set outside `opsets`, a missing, mis-shaped, non-finite or
  /// unexpected tensor, or a model past the 2 GiB a protobuf file can hold.
  public static func model(
    config: ModelConfig, tensors: NamedTensors, input: [Int], opset: Int = defaultOpset,
    metadata: [String: String] = [:], producerVersion: String = "0.1.0"
  ) throws -> ONNXModel {
    guard opsets.contains(opset) else {
      throw ONNXExportError(
        "operator set \(opset) is not supported: choose \(opsets.lowerBound)…\(opsets.upperBound)")
    }
    let plan = try ExportPlan(config: config, input: input)
    let names = Set(config.parameterSpecs.map(\.name))
    if let extra = tensors.keys.sorted().first(where: {
      !names.contains($0) && !ModelConfig.isBufferName($0)
    }) {
      throw ONNXExportError(
        "unexpected tensor '\(extra)' with shape \(tensors[extra]?.shape ?? []) (not a parameter of this model)"
      )
    }
    let builder = GraphBuilder(opset: opset)
    let graph = ModelGraph(plan: plan, weights: ExportWeights(tensors: tensors), g: builder)
    let logits = try graph.build()
    let inputShape = [config.inChannels] + input
    let batch = ONNXValueInfo.Dimension.symbolic(batchDimension)
    let inputInfo = ONNXValueInfo(
      name: inputName, elementType: .float, shape: [batch] + inputShape.map { .fixed($0) })
    precondition(logits == outputName, "the head's Gemm makes the output")
    let outputInfo = ONNXValueInfo(
      name: outputName, elementType: .float, shape: [batch, .fixed(config.classes)])
    let layout = config.dims == 3 ? "[batch, 3, T, H, W]" : "[batch, 3, H, W]"
    var props = metadata
    props["config"] = try config.jsonString()
    props["kind"] = config.kind
    props["input"] =
      "\(inputName): float32 \(layout) = [\(([batchDimension] + inputShape.map(String.init)).joined(separator: ", "))], RGB, channels first"
    props["output"] = "\(outputName): float32 [batch, \(config.classes)]"
    let doc =
      "vcoswin \(config.variant.rawValue) \(config.dims)D model, input \(inputName) \(layout) with \(input.map(String.init).joined(separator: "×")) fixed, output \(outputName)"
    let encodedGraph = builder.encoded(
      name: "vcoswin", docString: doc, inputs: [inputInfo], outputs: [outputInfo]
    ).bytes
    let header = onnxModelHeader(
      opset: opset, producer: "vcoswin", producerVersion: producerVersion, docString: doc,
      metadata: props
    ).bytes
    let model = ONNXModel(
      opset: opset, inputShape: inputShape, classes: config.classes, builder: builder,
      header: header, graph: encodedGraph)
    guard model.byteCount <= maxBytes else {
      throw ONNXExportError(
        "the model needs \(model.byteCount) bytes; one ONNX protobuf file holds at most 2 GiB")
    }
    return model
  }
}
