import ArgumentParser
import Compute
import Datasets
import Foundation
import Inference
import Inflation
import Training

/// `vcoswin demo`: the whole pipeline on the shipped clips, end to end, at one seed or several.
struct DemoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Pretrain, inflate, fine-tune, evaluate and classify on the shipped clips.",
    discussion: HelpExamples.protected(
      """
      1. pretrains the 2D CoSwin image model on frames of the clips (6 shapes);
      2. inflates it into a Video CoSwin model (a fresh head per task);
      3. fine-tunes it with the published recipe, backbone at ×1 (printed), on two tasks: 12 \
      shape × motion classes with 24 training clips each (what moves matters as much as \
      how), and pure motion (8 classes, any shape);
      4. trains the same video model from random initialisation, same steps;
      5. trains the image model on single frames of the main task, evaluated averaged over \
      the clip's frames (a baseline that cannot see motion);
      6. writes a report folder (--out): per-run curves, inflated-vs-random.svg (validation \
      top-1 per epoch, mean and min–max over the seeds, one panel per task), and for the \
      first seed the main task's confusion matrix and a contact sheet of predictions.
      With --seeds, every step runs once per seed (OUT/seed-N) and the summary gives the mean \
      and range over the seeds.

      Examples:
        vcoswin demo
        vcoswin demo --json --out /tmp/demo
        vcoswin demo --seeds 0,1,2,3,4
      """))

  @Option(help: "The dataset folder (from `vcoswin synth`; default: the shipped Clips).")
  var clips: String?

  @Option(
    help:
      "Report folder; one that holds files is refused unless --overwrite (or --reuse, which reads its runs)."
  )
  var out = "demo-report"

  @OptionGroup var output: OverwriteOption

  @Option(help: "Model preset of the image and video models.")
  var preset = "nano"

  @Option(help: "Epochs of image pretraining.")
  var imageEpochs = 30

  @Option(help: "Epochs of the main task (each video model, and the frame-averaging baseline).")
  var mainEpochs = 12

  @Option(help: "Epochs of the motion task (each video model).")
  var motionEpochs = 6

  @Option(help: "Crop size.")
  var size = 32

  @Option(help: "Frames per clip.")
  var clipLen = 8
  @Option(help: "Step between sampled frames.")
  var interval = 2

  @Option(help: "Threads for the model.")
  var threads = ProcessInfo.processInfo.activeProcessorCount

  @Option(help: "Seed.")
  var seed: UInt64 = 0

  @Option(help: "Seeds to run one after the other, e.g. 0,1,2,3,4 (replaces --seed).")
  var seeds: String?

  @Flag(help: "End with one JSON object of the results.")
  var json = false

  @Flag(help: "No progress bars.")
  var quiet = false

  @Flag(
    help:
      "Read the runs an earlier demo finished in --out (all epochs written) instead of training them again: continues an interrupted run, or collects seeds run as separate processes (OUT/seed-N)."
  )
  var reuse = false

  func validate() throws {
    for (name, v) in [
      ("--image-epochs", imageEpochs), ("--main-epochs", mainEpochs),
      ("--motion-epochs", motionEpochs), ("--threads", threads),
    ] where !(1...10_000).contains(v) {
      throw ValidationError("\(name) must be in 1…10000 (got \(v)).")
    }
    _ = try seedList()
    do {
      try DataOptions(kind: .video, clipLength: clipLen, frameInterval: interval, size: size)
        .validate(source: "the demo's --clip-len, --interval and --size")
    } catch { throw ValidationError("\(error)") }
  }

  /// `--seeds` as numbers (each once), or `[--seed]`.
  func seedList() throws -> [UInt64] {
    guard let seeds else { return [seed] }
    let parts = seeds.split(separator: ",", omittingEmptySubsequences: false)
    let values = parts.compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
    guard !parts.isEmpty, values.count == parts.count, Set(values).count == values.count,
      values.count <= 100
    else {
      throw ValidationError(
        "--seeds takes distinct whole numbers separated by commas, e.g. 0,1,2 (got '\(seeds)').")
    }
    return values
  }

  /// The shipped Clips folder: in the current folder, or beside the build folder.
  func datasetFolder() throws -> URL {
    if let clips { return URL(fileURLWithPath: clips) }
    if let list = shippedFile("Clips/pairs_train.txt") {
      return list.deletingLastPathComponent()
    }
    throw CommandFailure(
      "no Clips folder with pairs_train.txt here or beside the build; give --clips DIR")
  }

  func run() throws {
    ThreadBudget.configure(threads: threads)
    let started = Date()
    if !reuse { try output.checkFolder(out, option: "--out") }
    let report = URL(fileURLWithPath: out)
    try FileManager.default.createDirectory(at: report, withIntermediateDirectories: true)
    let (json, quiet) = (self.json, self.quiet)
    var recipe = FinetuneRecipe.apply(to: TrainOptions())
    recipe.batchSize = 16
    // The one departure from the published recipe, measured in Docs/INFLATION.md: with 24
    // clips per class and about 200 steps, a backbone at 0.1× the rate does not learn motion.
    recipe.backboneLRScale = 1
    var settings = DemoSettings(
      data: try datasetFolder(), preset: preset, imageEpochs: imageEpochs, size: size,
      clipLen: clipLen, interval: interval,
      tasks: DemoTask.standard(mainEpochs: mainEpochs, motionEpochs: motionEpochs),
      recipe: recipe, dropPath: FinetuneRecipe.dropPath, embedSlope: TimeSymmetry.defaultSlope,
      quiet: quiet,
      say: { text in
        if !json || !quiet { printHumanError(text) }
      })
    settings.reuse = reuse
    let seeds = try seedList()
    var results: [DemoSeedResult] = []
    for s in seeds {
      let folder = seeds.count == 1 ? report : report.appendingPathComponent("seed-\(s)")
      results.append(try DemoPipeline(settings: settings, seed: s, out: folder).run())
    }
    try writeFigures(results, settings: settings, report: report)
    printSummary(results, settings: settings, seconds: Date().timeIntervalSince(started))
    printHuman("report: \(report.path)/")
    if json { print(try jsonLine(jsonObject(results))) }
  }
}
