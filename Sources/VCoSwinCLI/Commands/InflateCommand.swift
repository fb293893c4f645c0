import ArgumentParser
import Foundation
import Inflation
import TerminalText

/// `vcoswin inflate`: an image checkpoint becomes a video checkpoint (Docs/INFLATION.md).
struct InflateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inflate",
    abstract: "Inflate a 2D (image) checkpoint into a 3D (video) checkpoint.",
    discussion: HelpExamples.protected(
      """
      Convolutions become 3D with every temporal slice W/Kt (temporal padding replicates the \
      edge frame); relative-position-bias tables are resized bicubically when the spatial \
      window changes and repeated 2Wt-1 times along time; norms, linears and biases are \
      copied. The head is replaced by a fresh one unless --keep-head. For ablations, \
      --embed centre puts W at the centre slice (zeros elsewhere), --embed-slope tilts the \
      slices, --bias-time zero keeps the bias on same-frame offsets only. The source is a \
      checkpoint made by this package (CoSwin or Swin) or released Swin image weights: a \
      PyTorch .pth as downloaded (torchvision swin_t/s/b, the official Swin release) or the \
      same state dict as safetensors (it becomes the swin3d shape with torchvision's 3D names).

      Examples:
        vcoswin inflate --from image.safetensors --to video.safetensors
        vcoswin inflate --from swin_t-704ceda3.pth --to swin3d.safetensors --window 8,7,7 --classes 400
        vcoswin inflate --from image.safetensors --to video.safetensors --embed centre
        vcoswin inflate --from image.safetensors --to video.safetensors --temporal-kernel 3 --temporal-padding 1 --temporal-stride 2 --window 2,4,4 --window 4,4,4 --window 4,4,4 --window 4,2,2
      """))

  @Option(help: "The 2D checkpoint.")
  var from: String

  @Option(help: "The 3D checkpoint to write.")
  var to: String

  @Option(help: "Temporal kernel Kt of the token embedding.")
  var temporalKernel = 2

  @Option(help: "Temporal stride of the token embedding (default: the kernel).")
  var temporalStride: Int?

  @Option(help: "Temporal padding of the token embedding (replicates edge frames).")
  var temporalPadding = 0

  @Option(help: "Temporal kernel of the CoSwin merge convolutions.")
  var mergeTemporalKernel = 3

  @Option(help: "Temporal stride of the CoSwin merge convolutions.")
  var mergeTemporalStride = 1

  @Option(help: "Temporal padding of the CoSwin merge convolutions.")
  var mergeTemporalPadding = 1

  @Option(
    name: .customLong("window"),
    help:
      "3D window t,h,w: once for every stage, or once per stage in order (default: the 2D window with t = 2,4,8,8 for CoSwin, 8 for Swin)."
  )
  var windows: [String] = []

  @Option(
    help:
      "The token embedding's temporal slices: inflated (each W/Kt) or centre (W at slice Kt/2, zeros elsewhere)."
  )
  var embed: EmbedInflation = .inflated

  @Option(
    help:
      "The bias tables on temporal offsets dt ≠ 0: replicated (the 2D table) or zero (2D table at dt = 0 only)."
  )
  var biasTime: BiasTimeInflation = .replicated

  @Option(
    help:
      "Temporal slope ε of the inflated embedding: slices W/Kt·(1 + ε·s), s from −1 to 1 (sum W kept)."
  )
  var embedSlope = 0.0

  @Flag(help: "Keep the classifier head and its label names.")
  var keepHead = false

  @Option(
    help:
      "Class names of the 3D model, one per class (with --keep-head, replacing the source's): a labels file, or 'kinetics400'."
  )
  var labels: String?

  @Option(help: "Classes of the fresh head (default: the source's).")
  var classes: Int?

  @Option(help: "Seed of the fresh head.")
  var seed: UInt64 = 0

  @Flag(help: "Print the report as one JSON object.")
  var json = false

  @OptionGroup var output: OverwriteOption

  func validate() throws {
    if keepHead && classes != nil {
      throw ValidationError("--classes makes a fresh head; it cannot go with --keep-head.")
    }
    if let classes, classes < 1 {
      throw ValidationError("--classes must be at least 1 (got \(classes)).")
    }
    _ = try parsedWindows()
    guard (-1...1).contains(embedSlope) else {
      throw ValidationError("--embed-slope must be in [-1, 1] (got \(embedSlope)).")
    }
  }

  func parsedWindows() throws -> [[Int]]? {
    if windows.isEmpty { return nil }
    return try windows.map { text in
      let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard parts.count == 3, let t = parts[0], let h = parts[1], let w = parts[2] else {
        throw ValidationError("--window takes t,h,w (three whole numbers), not '\(text)'.")
      }
      return [t, h, w]
    }
  }

  func run() throws {
    try output.check([("--to", to)])
    let given = try labels.map(readLabelsNamingFile)
    var o = InflationOptions()
    o.temporalKernel = temporalKernel
    o.temporalStride = temporalStride
    o.temporalPadding = temporalPadding
    o.mergeTemporalKernel = mergeTemporalKernel
    o.mergeTemporalStride = mergeTemporalStride
    o.mergeTemporalPadding = mergeTemporalPadding
    o.windows = try parsedWindows()
    o.keepHead = keepHead
    o.classes = classes
    o.seed = seed
    o.embed = embed
    o.biasTime = biasTime
    o.embedSlope = embedSlope
    let result = try Inflate.run(from: from, to: to, options: o, labels: given)
    let c = result.info.config
    if json {
      let counts = Dictionary(uniqueKeysWithValues: result.summary.map { ($0.0.rawValue, $0.1) })
      let object: [String: Any] = [
        "from": from, "to": to, "variant": c.variant.rawValue, "windows": c.windows,
        "embed_kernel": c.embedKernel, "classes": c.classes, "counts": counts,
      ]
      let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
      print(String(decoding: data, as: UTF8.self))
      return
    }
    printHuman(
      "\(from) → \(to): \(c.variant.rawValue) video model, embedding kernel \(c.embedKernel) stride \(c.embedStride)"
    )
    print(
      "windows per stage: "
        + c.windows.map { $0.map(String.init).joined(separator: "×") }.joined(separator: ", "))
    // What happened to each tensor not copied as it is: the action, then the tensor names
    // (from the source file: escaped) and shapes.
    var steps = TextTable([.left, .left])
    for step in result.steps where step.action != .copied {
      let (source, target) = (
        "\(step.source) \(step.sourceShape)", "\(step.target) \(step.targetShape)"
      )
      switch step.action {
      case .dropped: steps.append([step.action.rawValue, source])
      case .initialised: steps.append([step.action.rawValue, target])
      default: steps.append([step.action.rawValue, "\(source) → \(target)"])
      }
    }
    for line in steps.lines(indent: "  ", separator: " ") { print(line) }
    print("summary: " + result.summary.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", "))
  }
}

extension EmbedInflation: ExpressibleByArgument {}
extension BiasTimeInflation: ExpressibleByArgument {}
