import ArgumentParser
import Compute
import Foundation
import Models
import SafeTensors
import Training

/// Options shared by `classify` and `eval`: the checkpoint, the views, and how clips are cut.
struct InferenceArguments: ParsableArguments {
  @Option(help: "Model checkpoint (default: $VCOSWIN_MODEL, else the shipped Clips/default-model.safetensors).")
  var checkpoint: String?

  @Option(help: "Clips per video (evenly spaced); their probabilities are averaged.")
  var clips = 1

  @Option(help: "Crops per clip: 1 (centre) or 3 (three crops along the long side).")
  var crops = 1

  @Option(help: "Frames per clip (default: as the checkpoint was trained, else 8).")
  var clipLen: Int?

  @Option(help: "Step between sampled frames (default: as trained, else 2).")
  var interval: Int?

  @Option(help: "Crop size (default: as trained, else 64).")
  var size: Int?

  @Option(help: "Entries per forward pass.")
  var batch = 8

  @Option(help: "Threads for the model (BLAS and parallel loops).")
  var threads = ProcessInfo.processInfo.activeProcessorCount

  @Option(help: "Decoding threads.")
  var workers = 1

  func validate() throws {
    guard clips >= 1 else { throw ValidationError("--clips must be at least 1 (got \(clips)).") }
    guard crops == 1 || crops == 3 else { throw ValidationError("--crops must be 1 or 3 (got \(crops)).") }
    for (name, v) in [("--clip-len", clipLen), ("--interval", interval), ("--size", size)] {
      if let v, v < 1 { throw ValidationError("\(name) must be at least 1 (got \(v)).") }
    }
    guard batch >= 1, threads >= 1, workers >= 1 else {
      throw ValidationError("--batch, --threads and --workers must be at least 1.")
    }
  }

  /// The checkpoint to use: `--checkpoint`, `$VCOSWIN_MODEL`, or the shipped default model
  /// (`Clips/default-model.safetensors` in the current folder or beside the build folder).
  func checkpointPath() throws -> String {
    if let checkpoint { return checkpoint }
    if let env = ProcessInfo.processInfo.environment["VCOSWIN_MODEL"], !env.isEmpty { return env }
    let name = "Clips/default-model.safetensors"
    if let found = shippedFile(name) { return found.path }
    throw CommandFailure("no --checkpoint given and no default model found (\(name)); give --checkpoint or set VCOSWIN_MODEL")
  }

  /// Loads the model and works out the data options: explicit flags, else what the checkpoint
  /// was trained with (its `training` metadata), else defaults.
  func load() throws -> (model: VCoSwinModel, info: CheckpointInfo, data: DataOptions, path: String) {
    ThreadBudget.configure(threads: threads)
    let path = try checkpointPath()
    let file = try SafeTensorsFile.read(path: path)
    let info = try Checkpoint.info(of: file)
    let model = VCoSwinModel(config: info.config)
    try model.load(file)
    var data = DataOptions(kind: info.config.dims == 2 ? .image : .video)
    if let trained = Trainer.dataOptions(of: file) { data = trained }
    data.kind = info.config.dims == 2 ? .image : .video
    if let clipLen { data.clipLength = clipLen }
    if let interval { data.frameInterval = interval }
    if let size { data.size = size }
    return (model, info, data, path)
  }
}

/// One JSON object as a line (keys sorted).
func jsonLine(_ object: Any) throws -> String {
  String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
}
