// Resuming a run from `last.safetensors`: the file is checked against this run before anything
// of it is trusted — the model config, the epoch count (the schedule spans it), the seed, the
// global batch and accumulation (they fix the steps) and the data options must be the ones
// recorded, and the recorded position must be one a run of these options can reach. How the
// global batch is split between processes may differ.

import Datasets
import Foundation
import Models
import SafeTensors

extension RunFolder {
  /// Restores weights, optimizer state and the run state from `file` (`last.safetensors`, as
  /// the owner read it; nil when there is none: a run from epoch 1) into `checkpoint`, for a
  /// run of `options` on `data` with `stepsPerEpoch` optimizer steps per epoch; then checks
  /// `best.safetensors` against it (`reconcileBest`).
  /// - Throws: `TrainingError` naming the file and each field that differs (this run's value
  ///   first), or the recorded position that no run of these options reaches.
  func resume(
    from file: SafeTensorsFile?, into checkpoint: RunCheckpoint, options: TrainOptions,
    data: DataOptions, stepsPerEpoch: Int
  ) throws -> RunState {
    let path = lastURL.path
    guard let file else {
      note("nothing to resume in \(url.path): starting from epoch 1")
      return RunState.start(options: options, data: data)
    }
    let info = try Checkpoint.info(of: file)
    let config = checkpoint.model.config
    guard info.config == config else {
      let fields = RunState.differences(config, info.config)
      throw TrainingError(
        "\(path): this run's model config differs from the recorded one (this run ≠ recorded): \(fields.isEmpty ? "config" : fields.joined(separator: ", ")); resume with the same model, or start a new --out"
      )
    }
    guard var state = try RunState.recorded(in: file) else {
      throw TrainingError(
        "\(path): __metadata__ has no 'training' (the run state a training run writes into last.safetensors): not a checkpoint to resume; start a new --out"
      )
    }
    guard state.options.epochs == options.epochs else {
      throw TrainingError(
        "--epochs \(options.epochs) ≠ \(state.options.epochs) recorded in \(path): the learning-rate schedule spans the epochs of the run; resume with --epochs \(state.options.epochs), or start a new --out"
      )
    }
    // A damaged or edited position would overflow the epoch loop or the step counter.
    guard (0...options.epochs).contains(state.epochsDone),
      (0...(options.epochs * stepsPerEpoch)).contains(state.step)
    else {
      throw TrainingError(
        "\(path): epochs_done \(state.epochsDone), step \(state.step) is no position in a run of \(options.epochs) epochs of \(stepsPerEpoch) steps (a damaged file); start a new --out"
      )
    }
    // The best epoch decides which file `best.safetensors` must hold (`reconcileBest`).
    if let best = state.bestEpoch, !(0...state.epochsDone).contains(best) {
      throw TrainingError(
        "\(path): __metadata__ 'training': best_epoch \(best) is not one of the \(state.epochsDone) epochs done (a damaged file); start a new --out"
      )
    }
    let fields = Self.optionDifferences(options, data: data, recorded: state)
    guard fields.isEmpty else {
      throw TrainingError(
        "\(path): this run's options differ from the recorded ones (this run ≠ recorded): \(fields.joined(separator: ", ")); resume with the recorded ones, or start a new --out"
      )
    }
    // The files of this run record how it is split now.
    state.options.batchSize = options.batchSize
    state.options.processes = options.processes
    try checkpoint.load(file, path: path)
    note("resuming \(path) after epoch \(state.epochsDone) (step \(state.step))")
    try reconcileBest(&state, checkpoint: checkpoint)
    return state
  }

  /// `field this ≠ recorded` for each option a resumed run must keep: the seed, the global
  /// batch (processes × batch size: the split between processes does not matter), the
  /// accumulation and every data option.
  static func optionDifferences(_ options: TrainOptions, data: DataOptions, recorded: RunState)
    -> [String]
  {
    let then = recorded.options
    var fields: [String] = []
    if then.seed != options.seed {
      fields.append("seed \(options.seed) ≠ \(then.seed)")
    }
    if then.globalBatchSize != options.globalBatchSize {
      fields.append(
        options.processes == nil && then.processes == nil
          ? "batch size \(options.batchSize) ≠ \(then.batchSize)"
          : "processes × batch size \(options.processes ?? 1) × \(options.batchSize) ≠ \(then.processes ?? 1) × \(then.batchSize)"
      )
    }
    if then.accumulate != options.accumulate {
      fields.append("accumulate \(options.accumulate) ≠ \(then.accumulate)")
    }
    if recorded.data != data {
      let changed = RunState.differences(data, recorded.data)
      fields += changed.isEmpty ? ["data options"] : changed
    }
    return fields
  }
}
