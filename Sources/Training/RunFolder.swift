// The folder of a training run and every file in it: `metrics.jsonl` and `curves.svg`
// (rewritten after each epoch), `last.safetensors` (weights, optimizer state and the run state,
// `RunState`) and `best.safetensors` (the best epoch's weights and run state).
//
// Every write is atomic (`AtomicFile`). When an epoch is a new best, `best` is written before
// `last`, and `last` records which epoch `best` holds (`best_epoch`): a kill between the two
// leaves `best` one epoch ahead of `last`, and the resumed run redoes that epoch and writes it
// again. On resume, a `best.safetensors` that is missing or holds another epoch than `last`
// records is rewritten from `last` when `last` is that epoch, otherwise reported. Temporaries
// left by a killed write are removed when a run starts.
//
// A folder holding any of the four files holds a run: a new run refuses it unless told to
// resume it or to replace it (`--overwrite`, which removes those files first). One run at a
// time: a run locks its folder (`run.lock`, `RunFolder+Lock.swift`) before it looks at it.
//
// In a distributed run one process owns the folder (rank 0; `owner`); on the others every
// write here is skipped, and what a resume needs comes from the owner (`TrainingGroup`).

import Compute
import Datasets
import Foundation
import Models
import NN
import SafeTensors

/// How a run starts in its folder.
public enum RunStart: Sendable, Equatable {
  /// A new run: the folder must not hold an earlier one.
  case new
  /// Continue the run the folder holds (`last.safetensors`), or start one when it holds none.
  case resume
  /// A new run that replaces the one the folder holds.
  case overwrite
}

/// The folder of a training run: its files, resume, and the refusal to mix two runs.
public final class RunFolder {
  /// The folder.
  public let url: URL
  /// The folder as given (`--out`), for messages.
  public let path: String
  /// Whether this process writes the files (rank 0 of a distributed run).
  public let owner: Bool
  /// Messages for people (reconciled `best`, removed temporaries); from the owner only.
  var note: (String) -> Void = { _ in }
  /// The epoch `best.safetensors` holds one epoch ahead of `last.safetensors` (a kill between
  /// the two writes), found by `reconcileBest`: the resumed run redoes it.
  private var bestAhead: Int?
  /// The descriptor of `run.lock` while this object holds the folder's lock, else -1
  /// (`RunFolder+Lock.swift`).
  var lockDescriptor: Int32 = -1

  /// The files a training run writes in its folder: a folder holding any of them holds a run.
  public static let fileNames = [
    "metrics.jsonl", "curves.svg", "last.safetensors", "best.safetensors",
  ]

  public init(path: String, owner: Bool = true) {
    self.path = path
    url = URL(fileURLWithPath: path)
    self.owner = owner
  }

  public init(url: URL, owner: Bool = true) {
    self.url = url
    path = url.path
    self.owner = owner
  }

  deinit { unlock() }

  public var lastURL: URL { url.appendingPathComponent("last.safetensors") }
  public var bestURL: URL { url.appendingPathComponent("best.safetensors") }

  /// The run files present (none when the folder does not exist).
  public func existingRunFiles() -> [String] {
    Self.fileNames.filter {
      FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path)
    }
  }

  /// The files of an earlier run that a run started as `start` may use or replace (none on a
  /// process that does not own the folder).
  /// - Throws: `TrainingError` for a `.new` run in a folder that holds an earlier run, naming
  ///   the folder and its files.
  public func earlierRun(startingAs start: RunStart) throws -> [String] {
    guard owner else { return [] }
    let earlier = existingRunFiles()
    if !earlier.isEmpty && start == .new {
      throw TrainingError(
        "--out \(path): holds an earlier run (\(earlier.joined(separator: ", "))); continue it with --resume, replace it with --overwrite, or give another --out"
      )
    }
    return earlier
  }

  /// `--overwrite`: removes the files `earlierRun(startingAs:)` found; returns what to tell
  /// people (nil when there was nothing to remove).
  /// - Throws: `TrainingError` naming a file that cannot be removed.
  public func removeEarlierRun(_ names: [String]) throws -> String? {
    guard owner, !names.isEmpty else { return nil }
    for name in names {
      let file = url.appendingPathComponent(name)
      do {
        try FileManager.default.removeItem(at: file)
      } catch {
        throw TrainingError(
          "\(file.path): cannot remove it (--overwrite): \((error as NSError).localizedDescription)"
        )
      }
    }
    return "--overwrite: removed \(names.joined(separator: ", ")) from \(path)"
  }

  /// Creates the folder, checks that files can be written in it and removes the temporaries of
  /// killed writes (owner only).
  func prepare() throws {
    guard owner else { return }
    try createFolder()
    try checkWritable()
    for name in AtomicFile.removeStaleTemporaries(in: url.path) {
      note("removed \(url.appendingPathComponent(name).path), left by an interrupted write")
    }
  }

  /// Writes an epoch's files (owner only): `metrics.jsonl` and `curves.svg` with the whole
  /// history, `best.safetensors` when the epoch is the new best, then `last.safetensors`.
  func recordEpoch(
    _ state: RunState, isBest: Bool, checkpoint: RunCheckpoint, title: String
  ) throws {
    guard owner else { return }
    try MetricsLog.write(state.history, to: url, title: title)
    // `best` first: a kill between the two writes leaves `best` ahead of `last`, and the
    // resumed run redoes this epoch; the other order would leave `best` behind for good.
    if isBest { try checkpoint.write(state, to: bestURL, optimizerState: false) }
    try checkpoint.write(state, to: lastURL, optimizerState: true)
    let epoch = state.epochsDone
    if let ahead = bestAhead, ahead == epoch, !isBest {
      note(
        "warning: \(bestURL.path) holds epoch \(epoch) of the interrupted run, which this run's epoch \(epoch) did not match (other --threads?); the best epoch recorded is \(state.recordedBestEpoch)"
      )
    }
  }

  /// Checks `best.safetensors` against what `last.safetensors` (restored into `state`)
  /// records, and sets `state.bestEpoch`. Missing or another epoch: rewritten from the restored
  /// weights when `last` is the best epoch; one epoch ahead of `last` (a kill between the two
  /// writes): left to the redone epoch (`bestAhead`); otherwise reported. Only the owner looks.
  func reconcileBest(_ state: inout RunState, checkpoint: RunCheckpoint) throws {
    let recorded = state.recordedBestEpoch
    state.bestEpoch = recorded
    guard owner, recorded > 0 else { return }
    let onDisk = Self.epochsDone(of: bestURL.path)
    if onDisk == recorded { return }
    let found =
      onDisk.map { "holds epoch \($0)" }
      ?? (FileManager.default.fileExists(atPath: bestURL.path) ? "cannot be read" : "is missing")
    if recorded == state.epochsDone {
      try checkpoint.write(state, to: bestURL, optimizerState: false)
      note(
        "\(bestURL.path) \(found) but \(lastURL.path) records best epoch \(recorded): rewritten from it"
      )
    } else if let onDisk, onDisk == state.epochsDone + 1 {
      note(
        "\(bestURL.path) holds epoch \(onDisk), which \(lastURL.path) does not record yet (stopped between the two writes): epoch \(onDisk) is redone"
      )
      bestAhead = onDisk
    } else {
      note(
        "warning: \(bestURL.path) \(found) but \(lastURL.path) records best epoch \(recorded), whose weights it does not hold; best.safetensors is written again when an epoch beats val top-1 \(String(format: "%.4f", state.bestTop1))"
      )
    }
  }

  /// `epochs_done` of a checkpoint written by a training run; nil when it is missing or
  /// unreadable. A probe: the caller reports such a file and rewrites or replaces it.
  static func epochsDone(of path: String) -> Int? {
    guard FileManager.default.fileExists(atPath: path),
      let file = try? SafeTensorsFile.read(path: path),
      let state = try? RunState.recorded(in: file)
    else { return nil }
    return state.epochsDone
  }

  /// Checks the run state `file` records, if any, as a resume reads it: decodable, and every
  /// accuracy in [0, 1] and loss finite (for `info`, which prints them).
  /// - Throws: `TrainingError` naming the file, `__metadata__ 'training'` and the field.
  public static func checkRunState(in file: SafeTensorsFile) throws {
    _ = try RunState.recorded(in: file)
  }
}

/// What a run's checkpoints hold besides the run state: the model (config and weights), its
/// class names and provenance, and the optimizer's state (`last.safetensors` only).
struct RunCheckpoint {
  let model: VCoSwinModel
  let optimizer: AdamW
  let labels: [String]
  let provenance: String

  /// Writes weights (and optimizer state) with `state` in the metadata, atomically.
  func write(_ state: RunState, to url: URL, optimizerState: Bool) throws {
    let info = CheckpointInfo(config: model.config, labels: labels, provenance: provenance)
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    let training = String(decoding: try enc.encode(state), as: UTF8.self)
    var optimizerTensors: [String: Tensor] = [:]
    if optimizerState {
      for (name, t) in optimizer.stateTensors() {
        optimizerTensors[Checkpoint.optimizerPrefix + name] = t
      }
    }
    try Checkpoint.write(
      to: url.path, info: info, store: model.store, extraMetadata: ["training": training],
      extraTensors: optimizerTensors)
  }

  /// Loads the weights and the optimizer state of `file` (read from `path`).
  func load(_ file: SafeTensorsFile, path: String) throws {
    try model.load(file)
    var tensors: [String: Tensor] = [:]
    for key in file.keys where key.hasPrefix(Checkpoint.optimizerPrefix) {
      let t = try file.floats(key)
      tensors[String(key.dropFirst(Checkpoint.optimizerPrefix.count))] = Tensor(
        shape: t.shape, values: t.values)
    }
    do {
      try optimizer.loadState(tensors)
    } catch {
      throw TrainingError("\(path): optimizer state: \(error)")
    }
  }
}
