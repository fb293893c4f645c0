// Running a loaded model: on the views of a video, on a tensor of inputs, and along the
// windows of a timeline.
//
// Legend: V = clips · crops views; n inputs; T frames, H×W crop; F features; K classes;
//         B windows per forward pass.

import Compute
import Datasets
import Models
import VideoIO

extension LoadedModel {
  /// The model input of an open reader: its views `[V, 3, T, H, W]` (`[V, 3, H, W]` for an
  /// image model), sampled and cut by the test recipe.
  public func input(of reader: VideoReader) throws -> Tensor {
    let values = try ListDataset.views(
      reader: reader, options: recipe, clips: views.clips, crops: views.crops)
    return stack([values], shape: recipe.sampleShape)
  }

  /// Class probabilities `[K]` of the video (or image) at `path`, averaged over its views.
  /// `viewsDone(n)` is called after each forward pass with its `n` views (`batch` at most; V
  /// in all), so a long input (the full protocol's 12 views) can show progress.
  /// - Throws: `InferenceError` naming the file.
  public func probabilities(
    ofVideo path: String, threads: Int = 1, viewsDone: (Int) -> Void = { _ in }
  ) throws -> [Float] {
    try naming(path) {
      let x = try input(of: VideoReader(path: path, threads: threads))
      // `array` copies while the tensor is alive (a bare `.buffer` may outlive it).
      return try model.probabilities(
        x, views: views.count, batch: batch, precision: precision, afterChunk: viewsDone
      ).array
    }
  }

  /// Forward passes one input's `V` views take: `⌈V / batch⌉`.
  public var forwardPassesPerInput: Int { (views.count + batch - 1) / Swift.max(1, batch) }

  /// Pooled features then logits `[F + K]` of the video at `path`, averaged over its views.
  /// - Throws: `InferenceError` naming the file.
  public func featuresAndLogits(ofVideo path: String, threads: Int = 1) throws -> [Float] {
    try naming(path) {
      let x = try input(of: VideoReader(path: path, threads: threads))
      return try model.featuresAndLogits(
        x, views: views.count, batch: batch, precision: precision
      ).array
    }
  }

  /// Pooled features then logits `[n, F + K]` of the inputs `x` `[n, 3, (T,) H, W]`, fed as
  /// they are (one view each), `batch` at a time.
  public func featuresAndLogits(_ x: Tensor) throws -> Tensor {
    try model.featuresAndLogits(x, views: 1, batch: batch, precision: precision)
  }

  /// Makes the recipe's clip span `frames` frames (a timeline's `--window-frames`): the frame
  /// interval becomes `frames / T`.
  /// - Throws: `InferenceError` when `frames` is not a multiple of the clip length `T`.
  public mutating func span(windowFrames frames: Int) throws {
    guard frames >= 1, frames % recipe.clipLength == 0 else {
      throw InferenceError(
        "--window-frames \(frames) is not a multiple of the clip length \(recipe.clipLength)")
    }
    recipe.frameInterval = frames / recipe.clipLength
  }

  /// The windows of a timeline over `reader`: the recipe's clip (T frames every I frames),
  /// starting every `strideFrames` frames, `batch` windows per forward pass.
  public func timelineRunner(for reader: VideoReader, strideFrames: Int) -> TimelineRunner {
    let plan = TimelinePlan(
      clipLength: recipe.clipLength, frameInterval: recipe.frameInterval,
      strideFrames: strideFrames, frameCount: reader.frameCount)
    return TimelineRunner(
      plan: plan, transform: recipe.testTransform(), batch: batch)
  }

  /// One streaming pass of `runner` over `reader`; each window's row is its class
  /// probabilities `[K]`, handed to `onWindow` as its batch is done.
  public func timeline(
    _ runner: TimelineRunner, reader: VideoReader,
    onWindow: (TimelineWindow) throws -> Void = { _ in }
  ) throws -> TimelineResult {
    try runner.run(
      reader: reader,
      classify: { try model.probabilities($0, views: 1, batch: batch, precision: precision) },
      onWindow: onWindow)
  }

  /// Pooled features then logits `[F + K]` of every timeline window of the video at `path`,
  /// windows `seconds` apart (`InferenceLimits.strideFrames`), in one streaming pass.
  /// - Throws: `InferenceError` naming the file (also when its frame rate is unknown).
  public func windowFeatures(ofVideo path: String, every seconds: Double, threads: Int = 1)
    throws -> [TimelineWindow]
  {
    try naming(path) {
      let reader = try VideoReader(path: path, threads: threads)
      guard let stride = InferenceLimits.strideFrames(seconds: seconds, fps: reader.info.fps)
      else { throw InferenceError("\(path): no frame rate known for --every") }
      return try timelineRunner(for: reader, strideFrames: stride).run(
        reader: reader,
        classify: { try model.featuresAndLogits($0, views: 1, batch: batch, precision: precision) }
      ).windows
    }
  }

  /// Checks the memory of a timeline before its pass: one forward of `batch` windows, the
  /// batch itself `[B, 3, T, H, W]` and the ring of one window's frames `[T·I, 3, H, W]`
  /// (Float32).
  /// - Throws: `MemoryBudgetError` saying what needs how much.
  public func checkTimelineMemory(processes: Int = 1) throws {
    let sample = [3, recipe.clipLength, recipe.size, recipe.size]
    let window = sample.reduce(4, saturatingProduct)
    let ring = saturatingProduct(
      saturatingProduct(recipe.frameInterval, 3 * 4),
      saturatingProduct(recipe.clipLength, recipe.size * recipe.size))
    try MemoryBudget.check(
      saturatingSum(
        info.config.inferenceBytes(batch: batch, input: Array(sample.dropFirst())),
        saturatingSum(saturatingProduct(batch, window), ring)),
      what:
        "\(path): timeline windows of \(sample.dropFirst().map(String.init).joined(separator: "×")), batch \(batch)",
      processes: processes)
  }

  /// `body`'s result; its error becomes an `InferenceError` whose text names `path`.
  private func naming<R>(_ path: String, _ body: () throws -> R) throws -> R {
    do {
      return try body()
    } catch {
      throw InferenceError(errorText(error, naming: path))
    }
  }
}
