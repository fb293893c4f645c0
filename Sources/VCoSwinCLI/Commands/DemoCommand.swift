import ArgumentParser
import Compute
import Datasets
import Foundation
import Inference
import Inflation
import Models
import Reports
import SafeTensors
import Synth
import Training
import VideoIO

/// `vcoswin demo`: the whole pipeline on the shipped clips, end to end.
struct DemoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Pretrain, inflate, fine-tune, evaluate and classify on the shipped clips.",
    discussion: """
      1. pretrains the 2D CoSwin image model on frames of the clips (shapes);
      2. inflates it into a Video CoSwin model;
      3. fine-tunes the video model on the motion classes;
      4. trains the same video model from random initialisation, same budget;
      5. trains the image model on single frames with motion labels, evaluated
         averaged over frames (a baseline that cannot see direction);
      6. evaluates, classifies a few clips, and writes a report folder (--out,
         replaced on every run): curves (SVG), the confusion matrix (SVG) and
         a contact sheet of validation clips with their top-3 predictions (PNG).

      Examples:
        vcoswin demo
        vcoswin demo --json --out /tmp/demo
      """)

  @Option(help: "The dataset folder (from `vcoswin synth`; default: the shipped Clips).")
  var clips: String?

  @Option(help: "Report folder.")
  var out = "demo-report"

  @Option(help: "Model preset of both models.")
  var preset = "nano"

  @Option(help: "Epochs of image pretraining.")
  var imageEpochs = 40

  @Option(help: "Epochs of video fine-tuning (inflated and random initialisation alike).")
  var videoEpochs = 10

  @Option(help: "Epochs of the frame-averaging image baseline on motion.")
  var baselineEpochs = 8

  @Option(help: "Crop size.")
  var size = 32

  @Option(help: "Frames per clip and step between them.")
  var clipLen = 8
  @Option(help: "Step between sampled frames.")
  var interval = 2

  @Option(help: "Threads for the model.")
  var threads = ProcessInfo.processInfo.activeProcessorCount

  @Option(help: "Seed.")
  var seed: UInt64 = 0

  @Flag(help: "End with one JSON object of the results.")
  var json = false

  @Flag(help: "No progress bars.")
  var quiet = false

  /// The shipped Clips folder: in the current folder, or beside the build folder.
  func datasetFolder() throws -> URL {
    if let clips { return URL(fileURLWithPath: clips) }
    if let list = shippedFile("Clips/train.txt") { return list.deletingLastPathComponent() }
    throw CommandFailure(
      "no Clips folder with train.txt here or beside the build; give --clips DIR")
  }

  func run() throws {
    ThreadBudget.configure(threads: threads)
    let started = Date()
    let data = try datasetFolder()
    let report = URL(fileURLWithPath: out)
    try FileManager.default.createDirectory(at: report, withIntermediateDirectories: true)
    func file(_ name: String) -> String { data.appendingPathComponent(name).path }
    func say(_ text: String) {
      if !json || !quiet { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }
    let shapes = try ClipList.labelNames(contentsOf: file("shape_labels.txt"))
    let motions = try ClipList.labelNames(contentsOf: file("motion_labels.txt"))
    // Whole frames (no crop augmentation): at 32×32 a crop can cut the shape or its motion.
    let frameData = DataOptions(kind: .image, size: size, minArea: 1)
    // Video training flips clips horizontally, swapping the classes a mirror swaps (when the
    // dataset has them).
    let flipLabels = try? flipLabelMap(MotionClass.mirrorPairs, labels: motions)
    let clipData = DataOptions(
      kind: .video, clipLength: clipLen, frameInterval: interval, size: size,
      flip: flipLabels != nil,
      flipLabels: flipLabels, minArea: 1)
    var times: [String: Double] = [:]

    func train(
      _ title: String, model: VCoSwinModel, labels: [String], provenance: String, train: String,
      val: String,
      data: DataOptions, epochs: Int, lr: Double, backbone: Double, evalClips: Int = 1
    ) throws -> (history: [EpochMetrics], dir: URL) {
      let dir = report.appendingPathComponent(title)
      var o = TrainOptions()
      o.epochs = epochs
      o.batchSize = data.kind == .image ? 32 : 16
      o.lr = lr
      o.warmupEpochs = 1
      o.backboneLRScale = backbone
      o.seed = seed
      o.evalClips = evalClips
      let trainer = try Trainer(
        model: model, labels: labels, provenance: provenance,
        train: try ListDataset(listPath: file(train), labels: labels, options: data),
        val: try ListDataset(listPath: file(val), labels: labels, options: data),
        options: o, out: dir, title: title)
      trainer.showProgress = !quiet
      if quiet { trainer.log = { _ in } }
      say("— \(title): \(epochs) epochs on \(train)")
      let t0 = Date()
      let history = try trainer.run(resume: false)
      times[title] = Date().timeIntervalSince(t0)
      return (history, dir)
    }

    // 1. The image model learns the shapes from single frames.
    let imageConfig = try ModelConfig.preset(preset, dims: 2, classes: shapes.count)
    let image = try train(
      "image", model: VCoSwinModel(config: imageConfig, seed: seed), labels: shapes,
      provenance: "demo: pretrain preset \(preset)", train: "shapes_train.txt",
      val: "shapes_val.txt",
      data: frameData, epochs: imageEpochs, lr: 1e-3, backbone: 1)
    let imageBest = image.dir.appendingPathComponent("best.safetensors").path

    // 2. Inflation.
    let inflatedPath = report.appendingPathComponent("video-init.safetensors").path
    var io = InflationOptions()
    io.classes = motions.count
    io.seed = seed
    let inflation = try Inflate.run(from: imageBest, to: inflatedPath, options: io)
    say(
      "— inflated \(imageBest) → \(inflatedPath): "
        + inflation.summary.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", "))

    // 3. The video model, from the inflated weights.
    let (inflatedModel, _) = try VCoSwinModel.load(path: inflatedPath)
    let video = try train(
      "video", model: inflatedModel, labels: motions,
      provenance: "demo: fine-tuned from \(try fileProvenance(inflatedPath))",
      train: "train.txt", val: "val.txt", data: clipData, epochs: videoEpochs, lr: 1e-3, backbone: 1
    )

    // 4. The same model and budget from random initialisation.
    let random = try train(
      "video-random-init", model: VCoSwinModel(config: inflatedModel.config, seed: seed &+ 1),
      labels: motions,
      provenance: "demo: random init", train: "train.txt", val: "val.txt", data: clipData,
      epochs: videoEpochs, lr: 1e-3, backbone: 1)

    // 5. The image model on motion, one frame at a time, averaged over the clip's frames.
    let (baselineModel, _) = try loadWithHead(path: imageBest, classes: motions.count, seed: seed)
    let baseline = try train(
      "image-on-motion", model: baselineModel, labels: motions,
      provenance: "demo: image model on motion frames",
      train: "train.txt", val: "val.txt", data: frameData, epochs: baselineEpochs, lr: 1e-3,
      backbone: 1,
      evalClips: clipLen)

    // 6. Evaluation of the best video model, its confusion matrix, and a contact sheet.
    let videoBest = video.dir.appendingPathComponent("best.safetensors").path
    let (best, info) = try VCoSwinModel.load(path: videoBest)
    let valSet = try ListDataset(listPath: file("val.txt"), labels: motions, options: clipData)
    let result = try evaluate(model: best, dataset: valSet, clips: 1, crops: 1, batchSize: 16)
    let confusionPath = report.appendingPathComponent("confusion.svg")
    try AtomicFile.write(
      result.confusion.svg(title: "Video CoSwin (inflated) on the motion classes"),
      to: confusionPath.path)
    try AtomicFile.write(
      comparisonSVG(inflated: video.history, random: random.history),
      to: report.appendingPathComponent("inflated-vs-random.svg").path)
    let sheetPath = report.appendingPathComponent("predictions.png").path
    try predictionSheet(
      dataset: valSet, result: result, labels: info.labels, count: 6, to: sheetPath)

    let seconds = Date().timeIntervalSince(started)
    let rows: [(String, Double, String)] = [
      ("image model, shape classes (val top-1)", image.history.map(\.valTop1).max() ?? 0, "image"),
      ("video model, inflated (val top-1)", video.history.map(\.valTop1).max() ?? 0, "video"),
      (
        "video model, random init (val top-1)", random.history.map(\.valTop1).max() ?? 0,
        "video-random-init"
      ),
      (
        "image model on motion, frames averaged", baseline.history.map(\.valTop1).max() ?? 0,
        "image-on-motion"
      ),
    ]
    print("")
    print("result                                      top-1    time")
    for (name, acc, key) in rows {
      print(
        name.padding(toLength: 42, withPad: " ", startingAt: 0)
          + String(format: "  %5.1f%%  %5.0f s", acc * 100, times[key] ?? 0))
    }
    // How much inflation helps shows early: accuracy after the first epochs, and the mean over
    // all epochs (the area under the validation curve), side by side.
    let inflatedCurve = video.history.map(\.valTop1)
    let randomCurve = random.history.map(\.valTop1)
    let early = (0..<Swift.min(3, inflatedCurve.count, randomCurve.count)).map {
      String(
        format: "epoch %d %.1f%% vs %.1f%%", $0 + 1, inflatedCurve[$0] * 100, randomCurve[$0] * 100)
    }
    let mean = { (c: [Double]) in c.isEmpty ? 0 : c.reduce(0, +) / Double(c.count) }
    print(
      "inflated vs random init: " + early.joined(separator: ", ")
        + String(
          format: "; mean over %d epochs %.1f%% vs %.1f%%", inflatedCurve.count,
          mean(inflatedCurve) * 100, mean(randomCurve) * 100))
    print(
      String(
        format: "chance on motion: %.1f%%; total %.0f s", 100.0 / Double(motions.count), seconds))
    print(
      "report: \(report.path)/ (curves: */curves.svg, inflated-vs-random.svg, confusion.svg, predictions.png)"
    )
    if json {
      print(
        try jsonLine([
          "image_val_top1": rows[0].1, "video_val_top1": rows[1].1,
          "random_init_video_val_top1": rows[2].1,
          "image_model_on_motion_top1": rows[3].1, "seconds": seconds, "report": report.path,
          "video_val_top1_by_epoch": inflatedCurve,
          "random_init_video_val_top1_by_epoch": randomCurve,
          "video_val_top1_mean": mean(inflatedCurve),
          "random_init_video_val_top1_mean": mean(randomCurve),
        ]))
    }
  }

  /// Validation top-1 per epoch of the inflated and the randomly initialised video models.
  func comparisonSVG(inflated: [EpochMetrics], random: [EpochMetrics]) -> String {
    LinePlot.svg(
      panels: [
        PlotPanel(
          title: "Inflated vs random initialisation: validation top-1", yLabel: "top-1",
          series: [
            PlotSeries(name: "inflated", points: inflated.map { (Double($0.epoch), $0.valTop1) }),
            PlotSeries(name: "random init", points: random.map { (Double($0.epoch), $0.valTop1) }),
          ], yRange: 0...1),
        PlotPanel(
          title: "Training loss", yLabel: "loss",
          series: [
            PlotSeries(name: "inflated", points: inflated.map { (Double($0.epoch), $0.trainLoss) }),
            PlotSeries(
              name: "random init", points: random.map { (Double($0.epoch), $0.trainLoss) }),
          ]),
      ], xLabel: "epoch")
  }

  /// A PNG with one row per clip: its sampled frames, then the truth and top-3 predictions.
  func predictionSheet(
    dataset: ListDataset, result: EvaluationResult, labels: [String], count: Int, to path: String
  ) throws {
    let scale = 2
    var rows: [RGBImage] = []
    for i in 0..<Swift.min(count, dataset.count) {
      guard let probs = result.probabilities[i] else { continue }
      let reader = try VideoReader(path: dataset.list.entries[i].path)
      var plain = dataset.options
      plain.normalize = false
      let values = try ListDataset.views(reader: reader, options: plain, clips: 1, crops: 1)
      let (t, h, w) = (plain.clipLength, plain.size, plain.size)
      let lines =
        ["true: \(labels[dataset.label(i)])"]
        + topK(probs, 3).map {
          "\(labels[$0.index]) " + String(format: "%.0f%%", Double($0.prob) * 100)
        }
      let textWidth = lines.map { RGBImage.textWidth($0, scale: 1) }.max() ?? 0
      let cell = w * scale
      var row = RGBImage(
        width: t * (cell + 2) + textWidth + 8, height: Swift.max(h * scale, 4 * 9) + 4,
        fill: (255, 255, 255))
      for f in 0..<t {
        for y in 0..<(h * scale) {
          for x in 0..<cell {
            let src = (y / scale) * w + x / scale
            let dst = ((y + 2) * row.width + f * (cell + 2) + x) * 3
            for c in 0..<3 {
              let v = values[(c * t + f) * h * w + src]
              row.pixels[dst + c] = UInt8(Swift.max(0, Swift.min(255, (v * 255).rounded())))
            }
          }
        }
      }
      for (k, line) in lines.enumerated() {
        let correct = k == 1 && topK(probs, 1)[0].index == dataset.label(i)
        let colour: (UInt8, UInt8, UInt8) =
          k == 0 ? (0, 0, 0) : (k == 1 ? (correct ? (0, 130, 0) : (200, 0, 0)) : (90, 90, 90))
        row.draw(text: line, x: t * (cell + 2) + 6, y: 3 + k * 9, colour: colour)
      }
      rows.append(row)
    }
    guard !rows.isEmpty else { return }
    try ImageFile.write(ContactSheet.render(rows: rows.map { [$0] }, gap: 2), to: path)
  }
}
