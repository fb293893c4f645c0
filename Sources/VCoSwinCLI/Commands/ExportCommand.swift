import ArgumentParser
import Checksum
import Datasets
import Export
import Foundation
import Inference
import Models
import VideoIO

/// `vcoswin export`: a checkpoint as an ONNX model for other runtimes (Docs/EXPORT.md).
struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write a checkpoint as an ONNX model (standard operators, dynamic batch).",
    discussion: HelpExamples.protected(
      """
      Takes any checkpoint a command takes (this package's, or a foreign .pth / safetensors \
      state dict). The graph's input `video` is [batch, 3, T, H, W] float32 ([batch, 3, H, W] \
      for an image model), normalised as the recipe says; T, H and W are fixed here (default: \
      the checkpoint's test recipe). The output is `logits` [batch, K]. Labels, the test \
      recipe and the checkpoint's SHA-256 go into the model's metadata_props.

      Examples:
        vcoswin export Clips/default-model.safetensors --onnx default.onnx
        vcoswin export swin3d_t.pth --onnx swin3d_t.onnx --frames 16 --size 224
      """))

  @Argument(help: "The checkpoint.")
  var checkpoint: String

  @Option(help: "The ONNX file to write.")
  var onnx: String

  @Option(help: "Frames T of the input (video models; default: the recipe's clip length).")
  var frames: Int?

  @Option(help: "Height and width of the input (default: the recipe's crop size).")
  var size: Int?

  @Option(
    help: "ONNX operator set (\(ONNXExport.opsets.lowerBound)…\(ONNXExport.opsets.upperBound)).")
  var opset = ONNXExport.defaultOpset

  @Option(help: ArgumentHelp(labelsOptionHelp))
  var labels: String?

  @OptionGroup var output: OverwriteOption

  func validate() throws {
    for (name, value, limit) in [
      ("--frames", frames, DataOptions.maxClipLength), ("--size", size, DataOptions.maxSize),
    ] {
      if let value, !(1...limit).contains(value) {
        throw ValidationError("\(name) must be in 1…\(limit) (got \(value)).")
      }
    }
    guard ONNXExport.opsets.contains(opset) else {
      throw ValidationError(
        "--opset must be in \(ONNXExport.opsets.lowerBound)…\(ONNXExport.opsets.upperBound) (got \(opset))."
      )
    }
  }

  func run() throws {
    try output.check([("--onnx", onnx)])
    let given = try labels.map(readLabelsNamingFile)
    var opened = try Checkpoint.open(path: checkpoint)
    if let given {
      try opened.info.replaceLabels(given.names, from: given.file, checkpoint: checkpoint)
    }
    let config = opened.info.config
    if config.dims == 2, frames != nil {
      throw CommandFailure("\(checkpoint): an image model takes no --frames")
    }
    var data = try DataOptions.recorded(in: opened.file) ?? DataOptions(kind: .video)
    data.kind = config.dims == 2 ? .image : .video
    if let frames { data.clipLength = frames }
    if let size { data.setCrop(size) }
    try data.validate(source: "\(checkpoint) with the options given")
    let views = try Views.recorded(in: opened.file) ?? Views()
    let input =
      config.dims == 3 ? [data.clipLength, data.size, data.size] : [data.size, data.size]
    let model: ONNXModel
    do {
      model = try ONNXExport.model(
        config: config, tensors: try opened.floatTensors(), input: input, opset: opset,
        metadata: try metadata(opened, data: data, views: views),
        producerVersion: VCoSwin.configuration.version)
    } catch let e as ONNXExportError {
      throw CommandFailure("\(checkpoint): \(e)")
    }
    try model.write(to: onnx)
    let shape = (["batch"] + model.inputShape.map(String.init)).joined(separator: ", ")
    printHuman(
      "\(onnx): \(config.kind) model, input \(ONNXExport.inputName) [\(shape)], output \(ONNXExport.outputName) [batch, \(model.classes)]; opset \(model.opset), \(model.nodeCount) nodes, \(String(format: "%.1f", Double(model.byteCount) / 1_048_576)) MiB"
    )
  }

  /// `metadata_props`: labels, the test recipe the input follows (mean, std, size and clip
  /// length of the exported input, frame interval, views), and where the weights come from.
  private func metadata(
    _ opened: OpenedCheckpoint, data: DataOptions, views: Views
  ) throws -> [String: String] {
    let mean = data.normalize ? ClipTransform.imageNetMean : [0, 0, 0]
    let std = data.normalize ? ClipTransform.imageNetStd : [1, 1, 1]
    var props = [
      "labels": try jsonLine(opened.info.labels),
      // Float32 values as they print (0.485, not their Double expansion).
      "mean": "[" + mean.map { "\($0)" }.joined(separator: ",") + "]",
      "std": "[" + std.map { "\($0)" }.joined(separator: ",") + "]",
      "size": String(data.size),
      "resize":
        "short side \(data.resize ?? data.size), then a size×size centre crop (views: clips × crops)",
      "views": try jsonLine(["clips": views.clips, "crops": views.crops]),
      "source": URL(fileURLWithPath: checkpoint).lastPathComponent,
      "source_sha256": try SHA256.hex(contentsOf: checkpoint),
      "provenance": opened.info.provenance,
    ]
    if opened.info.config.dims == 3 {
      props["clip_length"] = String(data.clipLength)
      props["frame_interval"] = String(data.frameInterval)
    }
    if let layout = opened.layout { props["layout"] = layout.rawValue }
    return props
  }
}
