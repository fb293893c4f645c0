// Labelled images or clips from a list file, decoded and augmented into model inputs.
//
// Legend: V views (clips × crops), T frames, H×W crop size. Samples are channels-first
// Float32, as the model takes them: an image `[3, H, W]`, a clip `[3, T, H, W]`.

import Compute
import Foundation
import VideoIO

/// Whether a dataset feeds an image model (2D) or a video model (3D).
public enum SampleKind: String, Codable, Sendable, CaseIterable {
  case image, video
}

/// How entries become model inputs.
public struct DataOptions: Codable, Sendable, Equatable {
  public var kind: SampleKind
  /// Frames per clip `T` (video).
  public var clipLength: Int
  /// Step between sampled frames (video).
  public var frameInterval: Int
  /// Crop size `H = W` the model sees.
  public var size: Int
  /// Evaluation: the short side frames are resized to before the `size` crop; nil: `size`
  /// (the crop spans the short side). torchvision evaluates its Swin3D weights at 256 → 224.
  public var resize: Int?
  /// Training: flip clips horizontally with probability ½ (off by default: a flip turns
  /// "move left" into "move right", unless `flipLabels` says so).
  public var flip: Bool
  /// Training: the label of a flipped sample, indexed by its label (mmaction2's
  /// `flip_label_map` as a permutation, e.g. move_left ↔ move_right); nil keeps labels.
  public var flipLabels: [Int]?
  /// Training: the random resized crop keeps this fraction of the frame area at least.
  public var minArea: Double
  /// Normalise with ImageNet mean and std.
  public var normalize: Bool

  public init(
    kind: SampleKind, clipLength: Int = 8, frameInterval: Int = 2, size: Int = 64,
    flip: Bool = false,
    flipLabels: [Int]? = nil, minArea: Double = 0.5, normalize: Bool = true, resize: Int? = nil
  ) {
    self.kind = kind
    self.clipLength = clipLength
    self.frameInterval = frameInterval
    self.size = size
    self.resize = resize
    self.flip = flip
    self.flipLabels = flipLabels
    self.minArea = minArea
    self.normalize = normalize
  }

  enum CodingKeys: String, CodingKey {
    case kind, size, flip, normalize, resize
    case clipLength = "clip_length", frameInterval = "frame_interval", minArea = "min_area"
    case flipLabels = "flip_labels"
  }

  /// Frames a sample holds: `T` for video, 1 for images.
  public var frames: Int { kind == .video ? clipLength : 1 }

  /// The shape of one sample: `[3, T, H, W]` or `[3, H, W]`.
  public var sampleShape: [Int] { kind == .video ? [3, clipLength, size, size] : [3, size, size] }

  /// The training transform: random resized crop (area `minArea…1`, aspect 3/4…4/3). The
  /// flip is drawn by `ListDataset.trainingSample`, which also maps the label.
  var trainTransform: ClipTransform {
    let mean = normalize ? ClipTransform.imageNetMean : [0, 0, 0]
    let std = normalize ? ClipTransform.imageNetStd : [1, 1, 1]
    return ClipTransform(
      crop: .randomResized(size: size, area: minArea...1, aspect: 0.75...(4.0 / 3.0)),
      randomFlip: false,
      mean: mean, std: std)
  }

  /// The sampler of `clips` clips of `frames` frames (one frame for an image model).
  func sampler(clips: Int, mode: ClipSampler.Mode) -> ClipSampler {
    ClipSampler(
      clipLength: frames, frameInterval: kind == .video ? frameInterval : 1, numClips: clips,
      mode: mode)
  }

  /// The evaluation transform: short side `resize` (else `size`), then `crops` `size`×`size`
  /// crops (1: centre, 3: three along the long side).
  public func testTransform(crops: Int = 1) -> ClipTransform {
    .test(size: size, shortSide: resize, threeCrop: crops == 3, normalize: normalize)
  }

  /// The crop size `size` becomes `crop`, the short side keeping its ratio to the crop
  /// (`resize · crop / size`, rounded, at least `crop`): `--size` on a recipe of 256 → 224
  /// gives 128 → 112 for 112.
  public mutating func setCrop(_ crop: Int) {
    if let resize, crop != size {
      self.resize = Swift.max(crop, Int((Double(resize) * Double(crop) / Double(size)).rounded()))
    }
    size = crop
  }

  /// The evaluation recipe in words: `32 frames at interval 2, short side 256, crop 224,
  /// ImageNet mean/std`.
  public var summary: String {
    let frames = kind == .video ? "\(clipLength) frames at interval \(frameInterval), " : ""
    let norm = normalize ? "ImageNet mean/std" : "not normalised"
    return "\(frames)short side \(resize ?? size), crop \(size), \(norm)"
  }
}

/// A list of labelled files (`path label` lines) and how to turn an entry into input.
///
/// Safe to use from several threads at once: every call opens its own reader.
public final class ListDataset: @unchecked Sendable {
  public let list: ClipList
  public let options: DataOptions
  /// Class names, index = label.
  public let labels: [String]

  /// Reads `listPath`; malformed lines are kept in `list.badLines` (reported, not fatal).
  ///
  /// Labels that are not classes (a name missing from `labels`, an integer out of range, a
  /// name where no names are known) are not skipped one by one: they are one `DatasetError`,
  /// before any work, listing each unknown label with its count and first lines.
  ///
  /// - Parameters:
  ///   - labels: class names (a labels file's lines); integer labels must be below its count.
  ///   - labelsSource: where `labels` come from, for that error (`labels.txt`, `the 8 classes
  ///     of best.safetensors`); nil: not named.
  public init(listPath: String, labels: [String], options: DataOptions, labelsSource: String? = nil)
    throws
  {
    self.list = try ClipList(
      contentsOf: listPath, labelNames: labels, classCount: labels.count, skipBadLines: true)
    self.options = options
    self.labels = labels
    if let message = Self.unknownLabels(in: list, classes: labels.count, source: labelsSource) {
      throw DatasetError(message)
    }
  }

  /// One message for every line of `list` whose label is not a class, or nil when there are
  /// none: `LIST: 44 entries have labels that are not among the 5 classes of labels.txt:
  /// `jump` ×40 (lines 3, 5, 9, …), `7` ×4 (lines 12, …)`.
  public static func unknownLabels(in list: ClipList, classes: Int, source: String?) -> String? {
    var order: [String] = []
    var lines: [String: [Int]] = [:]
    var noNames = false
    for bad in list.badLines {
      guard let line = bad.line, let label = bad.rejectedLabel else { continue }
      if case .labelNotAnInteger = bad.kind { noNames = true }
      if lines[label] == nil { order.append(label) }
      lines[label, default: []].append(line)
    }
    guard !order.isEmpty else { return nil }
    let total = lines.values.reduce(0) { $0 + $1.count }
    let names =
      order.prefix(10).map { label -> String in
        let at = lines[label] ?? []
        let shown =
          at.prefix(3).map(String.init).joined(separator: ", ") + (at.count > 3 ? ", …" : "")
        return "`\(label)` ×\(at.count) (line\(at.count > 1 ? "s" : "") \(shown))"
      }.joined(separator: ", ") + (order.count > 10 ? ", and \(order.count - 10) more" : "")
    let entries = "\(total) entr\(total == 1 ? "y has a label" : "ies have labels")"
    if noNames {
      return
        "\(list.path): \(entries) that \(total == 1 ? "is a name" : "are names"), and no labels file names the classes: \(names); give --labels FILE (one class name per line)"
    }
    let against = source.map { " of \($0)" } ?? ""
    return
      "\(list.path): \(entries) that \(total == 1 ? "is" : "are") not among the \(classes) classes\(against): \(names)"
  }

  /// Classes (indices into `labels`) that no entry of the list has.
  public var classesWithoutEntries: [Int] {
    var seen = Set<Int>()
    for e in list.entries { seen.insert(e.label) }
    return labels.indices.filter { !seen.contains($0) }
  }

  public var count: Int { list.entries.count }
  public func label(_ i: Int) -> Int { list.entries[i].label }

  /// `list.txt:12: path: reason` for entry `i`.
  func describe(_ i: Int, _ error: Error) -> String {
    let e = list.entries[i]
    return "\(list.path):\(e.line): " + errorText(error, naming: e.path)
  }

  /// One training sample of entry `i`: a random clip (train-mode sampling), a random
  /// resized crop and, with `options.flip`, a horizontal flip with probability ½ (its label
  /// mapped through `options.flipLabels`). `values` has `sampleShape`. Throws `SkippedEntry`
  /// naming the list line.
  public func trainingSample(_ i: Int, rng: inout SeededRandom) throws -> TrainingSample {
    var values: [Float]
    do {
      let reader = try VideoReader(path: list.entries[i].path)
      values = try reader.sampleClips(
        sampler: options.sampler(clips: 1, mode: .train), transform: options.trainTransform,
        seed: rng.next()
      ).data
    } catch {
      throw SkippedEntry(index: i, message: describe(i, error))
    }
    var label = self.label(i)
    if options.flip && rng.next() & 1 == 1 {
      flipRows(&values, width: options.size)
      if let map = options.flipLabels, label < map.count { label = map[label] }
    }
    return TrainingSample(values: values, label: label)
  }

  /// The evaluation views of entry `i`: `clips` evenly spaced clips × `crops` crops (1 or 3),
  /// `[V, 3, T, H, W]` (or `[V, 3, H, W]`).
  public func evaluationViews(_ i: Int, clips: Int, crops: Int) throws -> [Float] {
    do {
      let reader = try VideoReader(path: list.entries[i].path)
      return try Self.views(reader: reader, options: options, clips: clips, crops: crops)
    } catch {
      throw SkippedEntry(index: i, message: describe(i, error))
    }
  }

  /// Evaluation views of an open reader (shared with `classify`): test-mode sampling of
  /// `clips` clips, each cut into `crops` crops. For an image model a clip is one frame, so
  /// `clips` frames of a video are averaged (the frame-averaging baseline).
  public static func views(reader: VideoReader, options: DataOptions, clips: Int, crops: Int) throws
    -> [Float]
  {
    // All views of one entry are averaged, so their order (crop-major) does not matter.
    return try reader.sampleClips(
      sampler: options.sampler(clips: clips, mode: .test),
      transform: options.testTransform(crops: crops)
    ).data
  }
}

/// A training sample and its label (which a label-mapping flip may have changed).
public struct TrainingSample: Sendable {
  /// `[3, T, H, W]` or `[3, H, W]`.
  public var values: [Float]
  public var label: Int
}

/// Mirrors every row of length `width` in place: a horizontal flip of `[…, H, W]` values.
func flipRows(_ values: inout [Float], width: Int) {
  precondition(width >= 1 && values.count % width == 0, "values must hold whole rows of \(width)")
  values.withUnsafeMutableBufferPointer { v in
    for start in stride(from: 0, to: v.count, by: width) {
      var (a, b) = (start, start + width - 1)
      while a < b {
        v.swapAt(a, b)
        a += 1
        b -= 1
      }
    }
  }
}
