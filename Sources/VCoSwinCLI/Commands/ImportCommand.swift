import ArgumentParser
import Checksum
import Datasets
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
      Reads the file torch.save wrote (a .pth zip archive, read without running any code in \
      it) or a safetensors state dict, in any of these layouts: torchvision swin_t/s/b and \
      swin3d_t/s/b, the official Swin and Video Swin releases, mmaction2 0.x and 1.x (wrappers \
      state_dict / model / module. are unwrapped). The architecture is read from the tensor \
      shapes, or taken from --preset, and printed. Every tensor is checked against it. The \
      checkpoint records, and the import prints, the test recipe the layout's own release \
      evaluates with (Docs/FORMATS.md): torchvision Swin3D 32 frames at interval 2, short side \
      256, centre crop 224, 12 clips; official Video Swin and mmaction2 32 frames at interval \
      2, short side 224, crop 224, 4 clips × 3 crops; ImageNet mean/std. classify, eval, \
      features and timeline then use it. An existing --out is refused unless --overwrite.

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

  @Option(help: ArgumentHelp(labelsOptionHelp))
  var labels: String?

  @OptionGroup var output: OverwriteOption

  func run() throws {
    try output.check([("--out", out)])
    let given = try labels.map(readLabelsNamingFile)
    let opened = try Checkpoint.open(path: source, preset: preset)
    var info = opened.info
    if let given { try info.replaceLabels(given.names, from: given.file, checkpoint: source) }
    var provenance =
      (try? JSONSerialization.jsonObject(with: Data(info.provenance.utf8))) as? [String: Any] ?? [:]
    provenance["source_sha256"] = try SHA256.hex(contentsOf: source)
    info.provenance = String(
      decoding: try JSONSerialization.data(
        withJSONObject: provenance, options: [.sortedKeys, .withoutEscapingSlashes]),
      as: UTF8.self)
    // The recipe is read and checked before anything is written, and written as it was read
    // (a training run's `training.data` becomes the copy's `data`).
    let recipe = try DataOptions.recorded(in: opened.file)
    let views = try Views.recorded(in: opened.file) ?? Views()
    var extra = opened.recipeMetadata
    if let recipe {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      extra[Checkpoint.recipeKey] = String(decoding: try encoder.encode(recipe), as: UTF8.self)
    }
    try Checkpoint.write(
      to: out, info: info, tensors: try opened.floatTensors(), extraMetadata: extra)
    let c = info.config
    let from = opened.layout.map { "the \($0.summary) layout" } ?? "a vcoswin checkpoint"
    printHuman(
      "\(out): \(c.kind) model from \(from): embed \(c.embedDim), depths \(c.depths), heads \(c.heads), windows \(c.windows), patch \(c.embedKernel), \(c.classes) classes"
    )
    if let recipe {
      let source = opened.layout.map { " (\($0.releasedRecipe(config: c).source))" } ?? ""
      printHuman("recipe\(source): \(recipe.summary); full protocol \(views.summary)")
    }
  }
}
