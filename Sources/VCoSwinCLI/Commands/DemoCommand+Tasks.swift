import Compute
import Datasets
import Foundation
import Inference
import Inflation
import Models
import Synth
import Training
import VideoIO

/// One video task of the demo: lists and labels in the dataset folder, the horizontal-flip
/// label map, and whether it is the main task (the one the Must-show figures are about).
struct DemoTask {
  var name: String
  var title: String
  var main: Bool
  var train: String
  var val: String
  var labels: String
  /// `--flip-map` text of the classes a mirror swaps (nil: no flips).
  var flipMap: String?
  var epochs: Int

  /// The main task (shape × motion pairs, few clips per class) and pure motion.
  static func standard(mainEpochs: Int, motionEpochs: Int) -> [DemoTask] {
    [
      DemoTask(
        name: "shape_motion", title: "shape × motion", main: true, train: "pairs_train.txt",
        val: "pairs_val.txt", labels: "pair_labels.txt",
        flipMap: ShapeMotionTask.standard.flipMap, epochs: mainEpochs),
      DemoTask(
        name: "motion", title: "motion", main: false, train: "train_few.txt",
        val: "val.txt", labels: "motion_labels.txt", flipMap: MotionClass.mirrorPairs,
        epochs: motionEpochs),
    ]
  }
}

/// A task's curves at one seed: validation top-1 and training loss per epoch, per model.
struct DemoTaskResult {
  var task: DemoTask
  var classes: Int
  var inflated: [EpochMetrics]
  var random: [EpochMetrics]
  var chance: Double { 1 / Double(classes) }
}

/// Everything one seed of the demo measured.
struct DemoSeedResult {
  var seed: UInt64
  /// Best validation top-1 of the image model on the shapes (the checkpoint inflated).
  var imageTop1: Double
  /// The image model on the main task, one frame at a time averaged over the clip's frames
  /// (last epoch).
  var framesAveragedTop1: Double
  var tasks: [DemoTaskResult]
  /// Seconds per stage, in order.
  var times: [(String, Double)]
  /// The main task's inflated run folder (its best checkpoint feeds the confusion matrix).
  var mainFolder: URL

  var main: DemoTaskResult? { tasks.first { $0.task.main } }
}

/// The demo's options that every seed shares.
struct DemoSettings {
  var data: URL
  var preset: String
  var imageEpochs: Int
  var size: Int
  var clipLen: Int
  var interval: Int
  var tasks: [DemoTask]
  /// The recipe of the inflated models (the published one); random initialisation takes the
  /// same with the backbone at the head's rate.
  var recipe: TrainOptions
  var dropPath: Double
  /// `finetune --embed-slope`.
  var embedSlope: Double
  /// Read runs that an earlier demo finished in the same folder instead of training them again.
  var reuse = false
  var quiet: Bool
  var say: (String) -> Void

  func file(_ name: String) -> String { data.appendingPathComponent(name).path }

  /// The random-initialisation recipe: no pretrained backbone to protect.
  var randomRecipe: TrainOptions {
    var o = recipe
    o.backboneLRScale = 1
    return o
  }
}

/// One seed of the demo: image pretraining, inflation, fine-tuning from the inflated and from
/// random weights on every task, and the frame-averaging baseline on the main task.
struct DemoPipeline {
  var settings: DemoSettings
  var seed: UInt64
  var out: URL

  func run() throws -> DemoSeedResult {
    let s = settings
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    var times: [(String, Double)] = []
    // Whole frames (no crop augmentation): at 32×32 a crop can cut the shape or its motion.
    let frameData = DataOptions(kind: .image, size: s.size, minArea: 1)

    // 1. The image model learns the shapes from single frames.
    let shapes = try ClipList.labelNames(contentsOf: s.file("shape_labels.txt"))
    var imageOptions = TrainOptions()
    imageOptions.epochs = s.imageEpochs
    imageOptions.batchSize = 32
    imageOptions.seed = seed
    let imageConfig = try ModelConfig.preset(s.preset, dims: 2, classes: shapes.count)
    let image = try train(
      "image", model: VCoSwinModel(config: imageConfig, seed: seed), labels: shapes,
      provenance: "demo: pretrain preset \(s.preset)", train: "shapes_train.txt",
      val: "shapes_val.txt", data: frameData, options: imageOptions, times: &times)
    let imageBest = image.dir.appendingPathComponent("best.safetensors").path

    var tasks: [DemoTaskResult] = []
    var mainFolder = out
    for task in s.tasks {
      let labels = try ClipList.labelNames(contentsOf: s.file(task.labels))
      let flipLabels = try task.flipMap.map { try flipLabelMap($0, labels: labels) }
      let clipData = DataOptions(
        kind: .video, clipLength: s.clipLen, frameInterval: s.interval, size: s.size,
        flip: flipLabels != nil, flipLabels: flipLabels, minArea: 1)
      // 2. Inflation, with a fresh head for the task's classes.
      let initPath = out.appendingPathComponent("video-init-\(task.name).safetensors").path
      var io = InflationOptions()
      io.classes = labels.count
      io.seed = seed
      let inflation = try Inflate.run(from: imageBest, to: initPath, options: io)
      s.say(
        "— inflated \(imageBest) → \(initPath): "
          + inflation.summary.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", "))
      // 3. The video model from the inflated weights, with the published recipe.
      let (inflatedModel, _) = try loadWithHead(
        path: initPath, classes: labels.count, seed: seed, dropPath: s.dropPath)
      // As `finetune` does: the equal temporal slices are sloped (Docs/INFLATION.md).
      TimeSymmetry.breakInflatedEmbedding(of: inflatedModel, slope: s.embedSlope)
      var options = s.recipe
      options.epochs = task.epochs
      options.seed = seed
      let inflated = try train(
        "\(task.name)-inflated", model: inflatedModel, labels: labels,
        provenance: "demo: fine-tuned from \(try fileProvenance(initPath))", train: task.train,
        val: task.val, data: clipData, options: options, times: &times)
      if task.main { mainFolder = inflated.dir }
      // 4. The same model and steps from random initialisation.
      var randomOptions = s.randomRecipe
      randomOptions.epochs = task.epochs
      randomOptions.seed = seed
      let random = try train(
        "\(task.name)-random-init",
        model: VCoSwinModel(config: inflatedModel.config, seed: seed &+ 1), labels: labels,
        provenance: "demo: random init", train: task.train, val: task.val, data: clipData,
        options: randomOptions, times: &times)
      tasks.append(
        DemoTaskResult(
          task: task, classes: labels.count, inflated: inflated.history, random: random.history))
    }

    // 5. The image model on the main task, one frame at a time, averaged over the clip's frames.
    var framesAveraged = 0.0
    if let main = s.tasks.first(where: { $0.main }) {
      let labels = try ClipList.labelNames(contentsOf: s.file(main.labels))
      let (model, _) = try loadWithHead(path: imageBest, classes: labels.count, seed: seed)
      var options = s.recipe
      options.epochs = main.epochs
      options.seed = seed
      options.evalClips = s.clipLen
      let baseline = try train(
        "\(main.name)-frames-averaged", model: model, labels: labels,
        provenance: "demo: image model on frames of \(main.train)", train: main.train,
        val: main.val, data: frameData, options: options, times: &times)
      framesAveraged = baseline.history.last?.valTop1 ?? 0
    }
    return DemoSeedResult(
      seed: seed, imageTop1: image.history.map(\.valTop1).max() ?? 0,
      framesAveragedTop1: framesAveraged, tasks: tasks, times: times, mainFolder: mainFolder)
  }

  /// Trains `model` in `out/title` and returns its history; the seconds go into `times`.
  /// With `settings.reuse`, a folder whose `metrics.jsonl` already holds every epoch (and
  /// whose `best.safetensors` exists) is read instead of trained again.
  func train(
    _ title: String, model: VCoSwinModel, labels: [String], provenance: String, train: String,
    val: String, data: DataOptions, options: TrainOptions, times: inout [(String, Double)]
  ) throws -> (history: [EpochMetrics], dir: URL) {
    let dir = out.appendingPathComponent(title)
    if settings.reuse,
      FileManager.default.fileExists(atPath: dir.appendingPathComponent("best.safetensors").path),
      let done = try? MetricsLog.read(dir.appendingPathComponent("metrics.jsonl")),
      done.count == options.epochs
    {
      settings.say("— seed \(seed), \(title): \(options.epochs) epochs read from \(dir.path)")
      times.append((title, done.map(\.seconds).reduce(0, +)))
      return (done, dir)
    }
    let trainer = try Trainer(
      model: model, labels: labels, provenance: provenance,
      train: try ListDataset(listPath: settings.file(train), labels: labels, options: data),
      val: try ListDataset(listPath: settings.file(val), labels: labels, options: data),
      options: options, out: dir, title: title)
    trainer.showProgress = !settings.quiet
    if settings.quiet { trainer.log = { _ in } }
    settings.say("— seed \(seed), \(title): \(options.epochs) epochs on \(train)")
    let t0 = Date()
    let history = try trainer.run(resume: false)
    times.append((title, Date().timeIntervalSince(t0)))
    return (history, dir)
  }
}
