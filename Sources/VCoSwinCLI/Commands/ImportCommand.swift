import ArgumentParser
import Foundation
import Models
import VideoIO

/// `vcoswin import`: a torchvision Swin / Video Swin state dict → a checkpoint.
struct ImportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Convert a torchvision swin_t/s/b or swin3d_t/s/b state dict into a checkpoint.",
    discussion: """
      The state dict must be saved with safetensors.torch.save_file(model.state_dict(), path).
      The architecture is read from the tensor shapes (embedding, blocks per stage, heads,
      windows, MLP ratio, classes), or taken from --preset. Every tensor is checked against it
      (relative_position_index buffers are verified and dropped).

      Example:
        vcoswin import --from swin3d_t.safetensors --out video.safetensors --labels-file k400.txt
      """)

  @Option(name: .customLong("from"), help: "torchvision state dict (.safetensors).")
  var source: String

  @Option(help: "Output checkpoint (.safetensors).")
  var out: String

  @Option(help: "A preset that fixes the architecture (swin_t, swin3d_b, …) instead of reading it from shapes.")
  var preset: String?

  @Option(help: "Class names, one per line.")
  var labelsFile: String?

  func run() throws {
    var (info, tensors) = try TorchvisionImport.load(path: source, preset: preset)
    if let labelsFile {
      let names: [String]
      do {
        names = try ClipList.labelNames(contentsOf: labelsFile)
      } catch let error as ListError {
        throw CommandFailure(error.description)
      }
      guard names.count == info.config.classes else {
        throw CommandFailure("\(labelsFile): \(names.count) labels for \(info.config.classes) classes")
      }
      info.labels = names
    }
    try Checkpoint.write(to: out, info: info, tensors: tensors)
    let c = info.config
    print(
      "\(out): \(c.kind) model, embed \(c.embedDim), depths \(c.depths), heads \(c.heads), windows \(c.windows), \(c.classes) classes"
    )
  }
}
