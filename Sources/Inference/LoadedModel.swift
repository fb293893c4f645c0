// A model ready for inference: the checkpoint's weights, its test recipe (how a video becomes
// input), the views of each input, the batch and the precision, loaded by one set of rules.

import Compute
import Datasets
import Foundation
import Models

/// An inference that cannot run (no model, a recipe the checkpoint lacks, an unreadable input),
/// with a sentence naming the file.
public struct InferenceError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// What to load and how to run it: the options `classify`, `eval`, `features` and `timeline`
/// share. Nil values take what the checkpoint records.
public struct ModelRequest: Sendable {
  /// The checkpoint (any format `Checkpoint.open` takes); nil: `$VCOSWIN_MODEL`, else the
  /// shipped default model.
  public var checkpoint: String?
  /// Frames per clip, step between sampled frames, crop size.
  public var clipLength: Int?
  public var frameInterval: Int?
  public var size: Int?
  public var views: Views
  /// Take the views of the full test protocol the checkpoint records instead of `views`.
  public var fullProtocol: Bool
  /// Views per forward pass.
  public var batch: Int
  public var precision: Precision
  /// Processes sharing this machine's memory (the ranks `mpirun` started on it).
  public var processes: Int
  /// Class names replacing the ones the checkpoint records (`--labels`), and the file they
  /// were read from (named when their count is not the checkpoint's class count).
  public var labels: (names: [String], file: String)?

  public init(
    checkpoint: String? = nil, clipLength: Int? = nil, frameInterval: Int? = nil,
    size: Int? = nil, views: Views = Views(), fullProtocol: Bool = false, batch: Int = 8,
    precision: Precision = .fp32, processes: Int = 1
  ) {
    self.checkpoint = checkpoint
    self.clipLength = clipLength
    self.frameInterval = frameInterval
    self.size = size
    self.views = views
    self.fullProtocol = fullProtocol
    self.batch = batch
    self.precision = precision
    self.processes = processes
    self.labels = nil
  }
}

/// A model ready for inference, with the recipe and views it runs with.
public struct LoadedModel {
  public let model: VCoSwinModel
  /// Config, labels (the request's, else the checkpoint's) and provenance.
  public let info: CheckpointInfo
  /// The test recipe: sample kind, clip length, frame interval, crop size, normalisation.
  public var recipe: DataOptions
  /// The checkpoint file.
  public let path: String
  public var views: Views
  /// Views per forward pass, ≥ 1.
  public var batch: Int
  public var precision: Precision
  /// The layout a foreign (`.pth`) state dict was converted from in memory; nil otherwise.
  public let convertedFrom: String?

  /// The checkpoint to use: `explicit`, else `$VCOSWIN_MODEL`, else the shipped default model
  /// (`Clips/default-model.safetensors` in the current folder or above the binary).
  /// - Throws: `InferenceError` when none is given and no default model is found.
  public static func checkpointPath(
    _ explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> String {
    if let explicit { return explicit }
    if let env = environment["VCOSWIN_MODEL"], !env.isEmpty { return env }
    let name = "Clips/default-model.safetensors"
    if let found = shippedFile(name) { return found.path }
    throw InferenceError(
      "no --checkpoint given and no default model found (\(name)); give --checkpoint or set VCOSWIN_MODEL"
    )
  }

  /// Loads the model of `request` and works out its recipe and views.
  ///
  /// Rules, in order: the checkpoint is opened and its tensor header verified (a `.pth` state
  /// dict is converted in memory by its layout's rename table); the recipe is what the
  /// checkpoint records (a training run's `training.data` or an import's recipe), else the
  /// defaults, with the kind from the config and each value the request gives overriding it
  /// (a crop size keeps the recipe's ratio of short side to crop, `DataOptions.setCrop`); the
  /// request's labels replace the recorded ones, and must be as many as the classes;
  /// the views are the request's, or with `fullProtocol` the test views the checkpoint
  /// records. The memory of one forward of `min(batch, V)` views and of one input's views is
  /// checked against this machine's before the model is built.
  /// - Throws: `CheckpointError`, `DataOptionsError` naming the file and key;
  ///   `MemoryBudgetError`; `InferenceError` when `fullProtocol` finds no recorded views;
  ///   `LabelCountError` when the request's labels are not one per class.
  public static func load(_ request: ModelRequest) throws -> LoadedModel {
    let path = try checkpointPath(request.checkpoint)
    let opened = try Checkpoint.open(path: path)
    var info = opened.info
    if let labels = request.labels {
      try info.replaceLabels(labels.names, from: labels.file, checkpoint: path)
    }
    let kind: SampleKind = info.config.dims == 2 ? .image : .video
    var recipe = try DataOptions.recorded(in: opened.file) ?? DataOptions(kind: kind)
    recipe.kind = kind
    if let clipLength = request.clipLength { recipe.clipLength = clipLength }
    if let frameInterval = request.frameInterval { recipe.frameInterval = frameInterval }
    if let size = request.size { recipe.setCrop(size) }
    // The options given may take a recorded recipe out of bounds (a short side kept in ratio).
    try recipe.validate(source: "\(path) with the options given")
    var views = request.views
    if request.fullProtocol {
      guard let recorded = try Views.recorded(in: opened.file) else {
        throw InferenceError(
          "\(path): records no full test protocol; give --clips and --crops instead")
      }
      views = recorded
    }
    // One forward [min(batch, V), 3, (T,) H, W] and one input's views [V, 3, (T,) H, W].
    let sizes = Array(recipe.sampleShape.dropFirst())
    let perForward = info.config.inferenceBytes(
      batch: Swift.min(request.batch, views.count), input: sizes)
    let input = saturatingProduct(views.count, recipe.sampleShape.reduce(4, saturatingProduct))
    try MemoryBudget.check(
      saturatingSum(perForward, input),
      what:
        "\(path) at \(sizes.map(String.init).joined(separator: "×")) per view, \(views.count) views, batch \(request.batch)",
      processes: request.processes)
    return LoadedModel(
      model: try VCoSwinModel.loaded(opened), info: info, recipe: recipe, path: path,
      views: views, batch: request.batch, precision: request.precision,
      convertedFrom: opened.layout?.summary)
  }

  /// One line for the log: `PATH (video model, 8 classes; labels a, b, c, …)`, with the layout
  /// a `.pth` was converted from.
  public var summary: String {
    let named = info.labels.first.map { !$0.hasPrefix("class_") } ?? false
    let labels =
      named
      ? "labels \(info.labels.prefix(3).joined(separator: ", "))\(info.labels.count > 3 ? ", …" : "")"
      : "no label names recorded (class_0…)"
    let source = convertedFrom.map { ", converted from the \($0) layout" } ?? ""
    return "\(path) (\(info.kind) model, \(info.config.classes) classes; \(labels)\(source))"
  }
}
