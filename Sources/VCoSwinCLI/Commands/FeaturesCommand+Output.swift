import Datasets
import Distributed
import Foundation
import Inference
import SafeTensors

extension FeaturesCommand {
  /// Every rank's rows on rank 0, in rank order (nil on the other ranks): `work` computes this
  /// rank's rows, each features then logits `[F + K]`.
  func gatherRows(_ work: () throws -> [[Float]]) throws -> [[Float]]? {
    let parts = try ShardedWork.gather(on: Communicator.world) {
      var w = ShardWriter()
      for row in try work() { w.floats(row) }
      return w.bytes
    }
    guard let parts else { return nil }
    var rows: [[Float]] = []
    for bytes in parts {
      var r = ShardReader(bytes)
      while !r.isAtEnd { rows.append(try r.floats()) }
    }
    return rows
  }

  /// Writes `features` `[N, F]` and `logits` `[N, K]` from `rows` (one per entry, features then
  /// logits), with the checkpoint, the labels and the input or videos in `__metadata__`.
  func write(_ rows: [[Float]], entries: Int, _ loaded: LoadedModel) throws {
    let (f, k) = (loaded.info.config.featureDim, loaded.info.config.classes)
    guard rows.count == entries, rows.allSatisfy({ $0.count == f + k }) else {
      throw CommandFailure("features: the ranks sent \(rows.count) rows for \(entries) entries")
    }
    var metadata = ["checkpoint": loaded.path, "labels": try jsonText(loaded.info.labels)]
    if let input {
      metadata["input"] = input
    } else {
      metadata["videos"] = try jsonText(videos)
    }
    var writer = SafeTensorsWriter(metadata: metadata)
    try writer.add("features", shape: [entries, f], floats: rows.flatMap { $0[0..<f] })
    try writer.add("logits", shape: [entries, k], floats: rows.flatMap { $0[f...] })
    try writer.write(to: output)
    printHuman("\(output): features [\(entries), \(f)], logits [\(entries), \(k)]")
  }

  /// `--every`: one row per timeline window of each video (one streaming pass per video),
  /// windows `every` seconds apart (rounded to frames with the video's frame rate). Writes
  /// `features` [N, F], `logits` [N, K], `times` [N, 2] (start, end seconds), `frames` [N, 2]
  /// (first and last sampled frame, int64) and `video` [N] (index into the `videos` metadata).
  func windowRows(_ loaded: LoadedModel, every: Double) throws {
    guard loaded.info.config.dims == 3 else {
      throw CommandFailure(
        "\(loaded.path): --every needs a video model; this is an image checkpoint")
    }
    let (f, k) = (loaded.info.config.featureDim, loaded.info.config.classes)
    // This rank's block of videos; per window: features, logits, times, then frames and video.
    let world = Communicator.world
    let mine = ShardedWork.block(count: videos.count, on: world)
    let parts = try ShardedWork.gather(on: world) {
      var part = ShardWriter()
      for v in mine {
        let windows = try loaded.windowFeatures(
          ofVideo: videos[v], every: every, threads: inference.workers)
        for w in windows {
          part.floats(Array(w.probabilities[0..<f]))
          part.floats(Array(w.probabilities[f...]))
          part.floats([Float(w.start), Float(w.end)])
          for value in [w.firstFrame, w.lastFrame, v] { part.int(value) }
        }
      }
      return part.bytes
    }
    guard let parts else { return }
    // Rows of all videos: features [N, F], logits [N, K], times [N, 2], frames [N, 2], video [N].
    var (features, logits, times): ([Float], [Float], [Float]) = ([], [], [])
    var (frames, owner): ([Int64], [Int64]) = ([], [])
    for bytes in parts {
      var r = ShardReader(bytes)
      while !r.isAtEnd {
        features += try r.floats()
        logits += try r.floats()
        times += try r.floats()
        frames += [Int64(try r.int()), Int64(try r.int())]
        owner.append(Int64(try r.int()))
      }
    }
    let n = owner.count
    let metadata = [
      "checkpoint": loaded.path, "labels": try jsonText(loaded.info.labels),
      "every": String(every), "videos": try jsonText(videos),
    ]
    var writer = SafeTensorsWriter(metadata: metadata)
    try writer.add("features", shape: [n, f], floats: features)
    try writer.add("logits", shape: [n, k], floats: logits)
    try writer.add("times", shape: [n, 2], floats: times)
    try writer.add("frames", shape: [n, 2], int64s: frames)
    try writer.add("video", shape: [n], int64s: owner)
    try writer.write(to: output)
    printHuman(
      "\(output): \(n) windows of \(videos.count) video(s), features [\(n), \(f)], logits [\(n), \(k)], times and frames [\(n), 2]"
    )
  }
}

/// `strings` as a JSON array (the `labels` and `videos` metadata).
private func jsonText(_ strings: [String]) throws -> String {
  String(decoding: try JSONEncoder().encode(strings), as: UTF8.self)
}
