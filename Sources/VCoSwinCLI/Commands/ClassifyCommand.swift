import ArgumentParser
import Foundation
import Models
import Training
import VideoIO

/// `vcoswin classify`: action labels of videos (or images, with an image model).
struct ClassifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "classify",
    abstract: "Classify videos: the top-k labels with their probabilities.",
    discussion: """
      Each video is cut into --clips evenly spaced clips and --crops crops per clip; the class
      probabilities of all views are averaged. Any file FFmpeg reads works, of any length or
      size: short videos loop. A file that cannot be read prints an error line and the others
      go on (exit status 1 at the end).

      Examples:
        vcoswin classify Clips/val/0003.mkv
        vcoswin classify a.mp4 b.mkv --checkpoint runs/video/best.safetensors --top 3 --clips 4 --crops 3
        vcoswin classify Clips/val/*.mkv --json
      """)

  @Argument(help: "Videos to classify.")
  var videos: [String]

  @OptionGroup var inference: InferenceArguments

  @Option(help: "Labels to print per video.")
  var top = 5

  @Flag(help: "One JSON object per video per line: path, top [{label, index, prob}].")
  var json = false

  func validate() throws {
    guard !videos.isEmpty else { throw ValidationError("give at least one video.") }
    guard top >= 1 else { throw ValidationError("--top must be at least 1 (got \(top)).") }
  }

  func run() throws {
    try inference.refuseCheckpoints(amongVideos: videos)
    let loaded = try inference.load()
    let (model, info, data) = (loaded.model, loaded.info, loaded.data)
    let k = Swift.min(top, info.config.classes)
    let views = loaded.views
    var failures = 0
    for video in videos {
      let probs: [Float]
      do {
        let reader = try VideoReader(path: video, threads: 1)
        let values = try ListDataset.views(reader: reader, options: data, clips: loaded.clips, crops: loaded.crops)
        let input = stack([values], shape: data.sampleShape)
        let p = try model.averagedProbabilities(input, views: views, batch: inference.batch)
        probs = Array(p.buffer)
      } catch {
        failures += 1
        let message = String(describing: error)
        FileHandle.standardError.write(Data("error: \(message.contains(video) ? message : "\(video): \(message)")\n".utf8))
        continue
      }
      let best = topK(probs, k)
      if json {
        let list = best.map { ["label": info.labels[$0.index], "index": $0.index, "prob": Double($0.prob)] as [String: Any] }
        print(try jsonLine(["path": video, "top": list]))
      } else {
        print(video)
        for (rank, b) in best.enumerated() {
          let name = info.labels[b.index].padding(toLength: 24, withPad: " ", startingAt: 0)
          print("  \(rank + 1). \(name) " + String(format: "%6.2f%%", Double(b.prob) * 100))
        }
      }
    }
    if failures > 0 { throw CommandFailure("\(failures) of \(videos.count) files could not be classified") }
  }
}
