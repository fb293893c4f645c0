import ArgumentParser
import Checksum
import Foundation
import Inference
import Inflation
import Models
import VideoIO

/// `vcoswin import`: a foreign Swin / Video Swin state dict (`.pth` or safetensors) → a checkpoint.
struct ImportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract:
      "Convert a PyTorch .pth or safetensors Swin / Video Swin state dict into a checkpoint.",
    discussion: HelpExamples.protected(
      """
      Reads the file torch.save wrote (a .pth zip archive, read without running any code in
      it) or a safetensors state dict, in any of these layouts: torchvision swin_t/s/b and
      swin3d_t/s/b, the official Swin and Video Swin releases, mmaction2 0.x and 1.x (wrappers
      state_dict / model / module. are unwrapped). The architecture is read from the tensor
      shapes, or taken from --preset, and printed. Every tensor is checked against it. The
      checkpoint records the released weights' test recipe (ImageNet mean/std, 224 pixels,
      32 frames at interval 2), which classify and eval then use.

      Examples:
        vcoswin import --from swin3d_t-7615ae03.pth --out k400.safetensors --labels kinetics400
        vcoswin import --from swin_tiny_patch244_window877_kinetics400_1k.pth --out vswin.safetensors --labels kinetics400
        vcoswin import --from swin_tiny_patch4_window7_224.pth --out swin_t.safetensors
      """))

  @Option(name: .customLong("from"), help: "State dict: .pth (torch.save) or .safetensors.")
  var source: String

  @Option(help: "Output checkpoint (.safetensors).")
  var out: String

  @Option(
    help:
      "A preset that fixes the architecture (swin_t, swin3d_b, …) instead of reading it from shapes."
  )
  var preset: String?

  @Option(
    help:
      "Class names: a file with one name per line, or 'kinetics400' for the shipped Kinetics-400 names."
  )
  var labels: String?

  func run() throws {
    let opened = try Checkpoint.open(path: source, preset: preset)
    var info = opened.info
    if let labels {
      let names = try readLabels(labels)
      guard names.count == info.config.classes else {
        throw CommandFailure(
          "\(labels): \(names.count) labels for the \(info.config.classes) classes of \(source)")
      }
      info.labels = names
    }
    var provenance =
      (try? JSONSerialization.jsonObject(with: Data(info.provenance.utf8))) as? [String: Any] ?? [:]
    provenance["source_sha256"] = try SHA256.hex(contentsOf: source)
    info.provenance = String(
      decoding: try JSONSerialization.data(
        withJSONObject: provenance, options: [.sortedKeys, .withoutEscapingSlashes]),
      as: UTF8.self)
    try Checkpoint.write(
      to: out, info: info, tensors: try opened.floatTensors(), extraMetadata: opened.recipeMetadata)
    let c = info.config
    let from = opened.layout.map { "the \($0.summary) layout" } ?? "a vcoswin checkpoint"
    printHuman(
      "\(out): \(c.kind) model from \(from): embed \(c.embedDim), depths \(c.depths), heads \(c.heads), windows \(c.windows), patch \(c.embedKernel), \(c.classes) classes"
    )
  }
}

/// Class names from `--labels`: a shipped set by name (`kinetics400`, torchvision's order), or
/// a labels file (one name per line).
func readLabels(_ value: String) throws -> [String] {
  let shipped = ["kinetics400": "Clips/kinetics400_labels.txt"]
  if let relative = shipped[value.lowercased()], !FileManager.default.fileExists(atPath: value) {
    guard let url = shippedFile(relative) else {
      throw CommandFailure("--labels \(value): the shipped labels file \(relative) was not found")
    }
    return try readLabelsFile(url.path)
  }
  return try readLabelsFile(value)
}
