import Datasets
import Foundation
import Inference
import Reports
import Training
import VideoIO

extension DemoCommand {
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
        width: t * (cell + 2) + textWidth + 8,
        height: Swift.max(h * scale, 4 * RGBImage.textLineHeight(scale: 1)) + 4,
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
        row.draw(
          text: line, x: t * (cell + 2) + 6, y: 3 + k * RGBImage.textLineHeight(scale: 1),
          colour: colour)
      }
      rows.append(row)
    }
    guard !rows.isEmpty else { return }
    try ImageFile.write(ContactSheet.render(rows: rows.map { [$0] }, gap: 2), to: path)
  }
}
