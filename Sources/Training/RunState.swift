// Where a training run stands, as `last.safetensors` (and `best.safetensors`) record it under
// `__metadata__["training"]`: the epochs done, the optimizer step, the best validation top-1
// and its epoch, the history of every epoch, and the options and data options of the run. A
// resume reads it back and checks it before trusting any figure in it.

import Datasets
import Foundation
import SafeTensors

/// Where a run stands: saved in `last.safetensors` under `__metadata__["training"]`.
struct RunState: Codable {
  var epochsDone: Int
  var step: Int
  var bestTop1: Double
  var history: [EpochMetrics]
  var options: TrainOptions
  var data: DataOptions
  /// The epoch `best.safetensors` holds (0: none yet); nil in files of earlier versions.
  var bestEpoch: Int?

  enum CodingKeys: String, CodingKey {
    case step, history, options, data
    case epochsDone = "epochs_done", bestTop1 = "best_top1", bestEpoch = "best_epoch"
  }

  /// `bestEpoch`, or for files that do not record it, the first epoch of the history that
  /// reached `bestTop1` (a best is replaced only by a strictly better one).
  var recordedBestEpoch: Int {
    if let bestEpoch { return bestEpoch }
    return history.first(where: { $0.valTop1 == bestTop1 })?.epoch ?? 0
  }

  /// The run state `file` records under `__metadata__["training"]`; nil when it records none
  /// (a checkpoint that no training run wrote).
  /// - Throws: `TrainingError` naming the file and the key (and the JSON field) when the block is
  ///   present but does not decode, or holds a figure no run writes (`implausibleFigure`).
  static func recorded(in file: SafeTensorsFile) throws -> RunState? {
    guard let text = file.metadata["training"] else { return nil }
    let state: RunState
    do {
      state = try JSONDecoder().decode(RunState.self, from: Data(text.utf8))
    } catch {
      throw TrainingError(
        "\(file.path): __metadata__ 'training': unreadable: \(decodingReason(error))")
    }
    if let problem = state.implausibleFigure {
      throw TrainingError("\(file.path): __metadata__ 'training': \(problem) (a damaged file)")
    }
    return state
  }

  /// The first figure no run records, in words naming its field, or nil: `best_top1` is −1
  /// (no epoch validated yet) or an accuracy in [0, 1]; in every `history` entry the accuracies
  /// (`val_top1`, `val_top5`, `train_top1`) lie in [0, 1] and `train_loss` (a cross-entropy)
  /// is finite and ≥ 0.
  var implausibleFigure: String? {
    func isAccuracy(_ x: Double) -> Bool { (0...1).contains(x) }
    if bestTop1 != -1, !isAccuracy(bestTop1) {
      return "best_top1 \(bestTop1) is no accuracy (0 to 1, or -1 before the first epoch)"
    }
    for (i, m) in history.enumerated() {
      let accuracies =
        [("val_top1", m.valTop1), ("val_top5", m.valTop5)]
        + (m.trainTop1.map { [("train_top1", $0)] } ?? [])
      for (key, value) in accuracies where !isAccuracy(value) {
        return "history[\(i)].\(key) \(value) is no accuracy (0 to 1)"
      }
      guard m.trainLoss.isFinite, m.trainLoss >= 0 else {
        return "history[\(i)].train_loss \(m.trainLoss) is no loss (finite, ≥ 0)"
      }
    }
    return nil
  }

  /// A run at its start: no epoch done, no best yet.
  static func start(options: TrainOptions, data: DataOptions) -> RunState {
    RunState(
      epochsDone: 0, step: 0, bestTop1: -1, history: [], options: options, data: data,
      bestEpoch: 0)
  }

  /// `field this ≠ recorded` for every top-level JSON field (snake_case, as files record them,
  /// `_` read as a space) in which `current` and `recorded` differ; values as JSON.
  static func differences<T: Encodable>(_ current: T, _ recorded: T) -> [String] {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    func fields(_ v: T) -> [String: Any] {
      guard let data = try? enc.encode(v),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
      else { return [:] }
      return object
    }
    func text(_ v: Any?) -> String {
      guard let v else { return "none" }
      guard
        let data = try? JSONSerialization.data(
          withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
      else { return "\(v)" }
      return String(decoding: data, as: UTF8.self)
    }
    let (a, b) = (fields(current), fields(recorded))
    return Set(a.keys).union(b.keys).sorted().compactMap { key in
      let (x, y) = (text(a[key]), text(b[key]))
      return x == y ? nil : "\(key.replacingOccurrences(of: "_", with: " ")) \(x) ≠ \(y)"
    }
  }
}
