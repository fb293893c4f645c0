import ArgumentParser
import Compute
import Foundation
import Models
import SafeTensors

/// `vcoswin features`: pooled features and logits of a tensor input.
struct FeaturesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "features",
    abstract: "Pooled features and logits of the tensor `input` in a safetensors file.",
    discussion: """
      Reads tensor `input`, [B,3,H,W] for an image model or [B,3,T,H,W] for a video model,
      channels first, and feeds it to the model unchanged (no normalisation). Writes
      `features` [B,C] (after the final LayerNorm and mean pooling) and `logits` [B,K].

      Example:
        vcoswin features --input clip.safetensors --checkpoint model.safetensors --output f.safetensors
      """)

  @Option(help: "safetensors file holding the tensor `input`.")
  var input: String

  @Option(help: "Model checkpoint.")
  var checkpoint: String

  @Option(help: "Output safetensors file.")
  var output: String

  @Option(help: "Entries per forward pass (memory).")
  var batch = 8

  @Option(help: "Threads (BLAS and the package's parallel loops).")
  var threads = ProcessInfo.processInfo.activeProcessorCount

  func validate() throws {
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads)).") }
    guard batch >= 1 else { throw ValidationError("--batch must be at least 1 (got \(batch)).") }
  }

  func run() throws {
    ThreadBudget.configure(threads: threads)
    let (model, info) = try VCoSwinModel.load(path: checkpoint)
    let file = try SafeTensorsFile.read(path: input)
    let (shape, values) = try file.floats("input")
    guard shape.count == info.config.dims + 2, shape[0] >= 1 else {
      throw CommandFailure(
        "\(input): tensor 'input' has shape \(shape); this \(info.kind) checkpoint needs \(info.config.dims == 2 ? "[B,3,H,W]" : "[B,3,T,H,W]")")
    }
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw CommandFailure("\(input): tensor 'input' holds a NaN or infinite value at element \(bad)")
    }
    let x = Tensor(shape: shape, values: values)
    let b = shape[0]
    let f = info.config.featureDim
    let k = info.config.classes
    var features = [Float](repeating: 0, count: b * f)
    var logits = [Float](repeating: 0, count: b * k)
    let per = x.count / b
    var start = 0
    while start < b {
      let n = min(batch, b - start)
      let part = Tensor(viewOf: x, offset: start * per, shape: [n] + shape.dropFirst())
      let out: ModelOutput
      do {
        out = try model.forward(part, training: false)
      } catch let e as ModelInputError {
        throw CommandFailure("\(input): \(e)")
      }
      for i in 0..<(n * f) { features[start * f + i] = out.features.pointer[i] }
      for i in 0..<(n * k) { logits[start * k + i] = out.logits.pointer[i] }
      start += n
    }
    let labels = String(decoding: try JSONEncoder().encode(info.labels), as: UTF8.self)
    var writer = SafeTensorsWriter(metadata: ["checkpoint": checkpoint, "input": input, "labels": labels])
    try writer.add("features", shape: [b, f], floats: features)
    try writer.add("logits", shape: [b, k], floats: logits)
    try writer.write(to: output)
    print("\(output): features [\(b), \(f)], logits [\(b), \(k)]")
  }
}
