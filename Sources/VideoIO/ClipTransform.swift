import Foundation

/// A rectangle of pixels: columns `x..<x+width`, rows `y..<y+height`.
public struct PixelRect: Hashable, Sendable {
  public var x: Int
  public var y: Int
  public var width: Int
  public var height: Int
  public init(x: Int, y: Int, width: Int, height: Int) {
    self.x = x
    self.y = y
    self.width = width
    self.height = height
  }
}

/// How decoded frames become model input: resize, crop, flip, normalise — as mmaction2's
/// `Resize`, `CenterCrop`, `ThreeCrop`, `RandomResizedCrop`, `Flip` and `Normalize`.
///
/// The same geometry applies to every frame of a clip; random choices (random resized crop,
/// flip) are drawn once per clip. swscale resizes the frame (area filter when shrinking,
/// bilinear when enlarging); one loop then reads
/// the crop(s) from its RGB24 output and writes planar Float32, normalised:
/// `out = (v/255 − mean[c]) / std[c]` for channel `c` (RGB order).
public struct ClipTransform: Sendable, Equatable {
  /// The crop taken from the resized frame.
  public enum Crop: Sendable, Equatable {
    /// The whole resized frame.
    case none
    /// A `size`×`size` crop at the centre: left `(W − size) / 2`, top `(H − size) / 2`.
    case center(Int)
    /// Three `size`×`size` crops along the long side, in mmaction2's order: start (left or
    /// top), end (right or bottom), centre; centred across the short side.
    case three(Int)
    /// Training: a random region of `area` × the frame's area (fractions) and aspect ratio
    /// (width/height) log-uniform in `aspect`, scaled to `size`×`size`. Up to 10 draws; if
    /// none fits, the centred square of the short side. `shortSide` is not used.
    case randomResized(size: Int, area: ClosedRange<Double>, aspect: ClosedRange<Double>)

    /// `randomResized` with mmaction2's default ranges: area 0.08…1, aspect 3/4…4/3.
    public static func randomResized(size: Int) -> Crop {
      .randomResized(size: size, area: 0.08...1, aspect: 0.75...(4.0 / 3.0))
    }
  }

  /// Resize so that the short side is this many pixels, keeping the aspect ratio
  /// (long side `Int(long · S/short + 0.5)`); nil keeps the decoded size.
  public var shortSide: Int?
  public var crop: Crop
  /// Training: flip each clip horizontally with probability 1/2.
  public var randomFlip: Bool
  /// Per-channel mean and standard deviation (RGB), in 0…1 units.
  public var mean: [Float]
  public var std: [Float]

  /// ImageNet statistics, mmaction2's defaults ([123.675, 116.28, 103.53] / 255 …).
  public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
  public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

  /// Precondition: sizes ≥ 1; `mean` and `std` have 3 entries, `std` nonzero.
  public init(
    shortSide: Int? = nil, crop: Crop = .none, randomFlip: Bool = false,
    mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1]
  ) {
    precondition(shortSide.map { $0 >= 1 } ?? true, "shortSide must be >= 1")
    precondition(
      mean.count == 3 && std.count == 3 && !std.contains(0), "need 3 means and 3 nonzero stds")
    switch crop {
    case .center(let s), .three(let s), .randomResized(let s, _, _):
      precondition(s >= 1, "crop size must be >= 1")
    case .none: break
    }
    self.shortSide = shortSide
    self.crop = crop
    self.randomFlip = randomFlip
    self.mean = mean
    self.std = std
  }

  /// The test-time transform: short side `shortSide` (nil: `size`), then a centre crop `size`
  /// (or three crops) — mmaction2's `Resize(scale=(-1, S))` + `CenterCrop(C)`, torchvision's
  /// `resize(S)` + `center_crop(C)`.
  public static func test(
    size: Int, shortSide: Int? = nil, threeCrop: Bool = false, normalize: Bool = true
  )
    -> ClipTransform
  {
    ClipTransform(
      shortSide: shortSide ?? size, crop: threeCrop ? .three(size) : .center(size),
      randomFlip: false,
      mean: normalize ? imageNetMean : [0, 0, 0], std: normalize ? imageNetStd : [1, 1, 1])
  }

  /// The training transform: random resized crop to `size`, random flip, normalised.
  public static func train(size: Int, normalize: Bool = true) -> ClipTransform {
    ClipTransform(
      crop: .randomResized(size: size), randomFlip: true,
      mean: normalize ? imageNetMean : [0, 0, 0], std: normalize ? imageNetStd : [1, 1, 1])
  }

  /// Views (crops) per clip: 3 for `.three`, otherwise 1.
  public var cropsPerClip: Int {
    if case .three = crop { return 3 }
    return 1
  }

  /// Size the frame is resized to before cropping, for a `width`×`height` source.
  public func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
    guard let s = shortSide else { return (width, height) }
    if width <= height {
      return (s, max(1, Int(Double(height) * Double(s) / Double(width) + 0.5)))
    }
    return (max(1, Int(Double(width) * Double(s) / Double(height) + 0.5)), s)
  }

  /// Output height and width of every view, for a `width`×`height` source.
  public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
    switch crop {
    case .none: return resizedSize(width: width, height: height)
    case .center(let s), .three(let s), .randomResized(let s, _, _): return (s, s)
    }
  }

  /// Draws the geometry of one clip for a `width`×`height` source.
  func geometry(width: Int, height: Int, random: inout SplitMix64) -> ClipGeometry {
    let whole = PixelRect(x: 0, y: 0, width: width, height: height)
    var g: ClipGeometry
    switch crop {
    case .randomResized(let size, let area, let aspect):
      let region = ClipTransform.randomRegion(
        width: width, height: height, area: area, aspect: aspect, random: &random)
      g = ClipGeometry(
        source: region, scaledWidth: size, scaledHeight: size,
        crops: [PixelRect(x: 0, y: 0, width: size, height: size)], flip: false)
    case .none:
      let r = resizedSize(width: width, height: height)
      g = ClipGeometry(
        source: whole, scaledWidth: r.width, scaledHeight: r.height,
        crops: [PixelRect(x: 0, y: 0, width: r.width, height: r.height)], flip: false)
    case .center(let s), .three(let s):
      // A crop larger than the resized frame is a precondition failure in mmaction2; here
      // the frame is enlarged so that its short side fits the crop.
      var r = resizedSize(width: width, height: height)
      if r.width < s || r.height < s {
        r = ClipTransform(shortSide: s).resizedSize(width: width, height: height)
      }
      let cx = (r.width - s) / 2
      let cy = (r.height - s) / 2
      var crops = [PixelRect(x: cx, y: cy, width: s, height: s)]
      if case .three = crop {
        if r.width >= r.height {
          crops = [0, r.width - s, cx].map { PixelRect(x: $0, y: cy, width: s, height: s) }
        } else {
          crops = [0, r.height - s, cy].map { PixelRect(x: cx, y: $0, width: s, height: s) }
        }
      }
      g = ClipGeometry(
        source: whole, scaledWidth: r.width, scaledHeight: r.height, crops: crops, flip: false)
    }
    if randomFlip { g.flip = random.unit() < 0.5 }
    return g
  }

  /// mmaction2's `RandomResizedCrop.get_crop_bbox`.
  static func randomRegion(
    width: Int, height: Int, area: ClosedRange<Double>, aspect: ClosedRange<Double>,
    random: inout SplitMix64
  ) -> PixelRect {
    let total = Double(width * height)
    let logAspect = log(aspect.lowerBound)...log(aspect.upperBound)
    for _ in 0..<10 {
      let ratio = exp(random.uniform(logAspect))
      let target = random.uniform(area) * total
      let w = Int((target * ratio).squareRoot().rounded(.toNearestOrEven))
      let h = Int((target / ratio).squareRoot().rounded(.toNearestOrEven))
      if w >= 1 && h >= 1 && w <= width && h <= height {
        let x = random.below(width - w + 1)
        let y = random.below(height - h + 1)
        return PixelRect(x: x, y: y, width: w, height: h)
      }
    }
    let s = min(width, height)
    return PixelRect(x: (width - s) / 2, y: (height - s) / 2, width: s, height: s)
  }

  /// `lut[c * 256 + v]`: the output value for byte `v` of channel `c`.
  var lookupTable: [Float] {
    var lut = [Float](repeating: 0, count: 768)
    for c in 0..<3 {
      for v in 0..<256 { lut[c * 256 + v] = (Float(v) / 255 - mean[c]) / std[c] }
    }
    return lut
  }
}

/// One clip's geometry: the source region swscale reads, the size it scales it to, and the
/// crops (in scaled coordinates) that become views.
struct ClipGeometry: Hashable {
  var source: PixelRect
  var scaledWidth: Int
  var scaledHeight: Int
  var crops: [PixelRect]
  var flip: Bool

  /// The most pixels a frame is resized to before cropping: 2^26 (192 MB as RGB24), far above
  /// any real frame at any accepted size; only an extreme aspect ratio gets there (a 2×20000
  /// video resized to a short side of 224 would be 224×2240000, and at 4096 half a terabyte).
  static let maxScaledPixels = 1 << 26

  /// Throws a `VideoError` naming `path` when the resized frame exceeds `maxScaledPixels`.
  func checkScaledSize(path: String, width: Int, height: Int) throws {
    let (pixels, overflow) = scaledWidth.multipliedReportingOverflow(by: scaledHeight)
    guard overflow || pixels > Self.maxScaledPixels else { return }
    throw VideoError(
      path: path, "cannot resize",
      detail:
        "its \(width)×\(height) frames would be resized to \(scaledWidth)×\(scaledHeight), more than \(Self.maxScaledPixels) pixels (an extreme aspect ratio)"
    )
  }
}

/// Clips as model input: `data` is `[count, 3, T, H, W]` Float32, row-major, RGB.
///
/// With several crops per clip the views are ordered crop-major, as mmaction2's
/// `FormatShape('NCTHW')`: view `v = crop · numClips + clip`. `indices[v]` holds the frame
/// numbers of view `v` (`[count][T]`).
public struct ClipBatch: Sendable {
  public var data: [Float]
  /// `[count, 3, T, H, W]`.
  public var shape: [Int]
  public var indices: [[Int]]

  public var count: Int { shape[0] }
  public var frames: Int { shape[2] }
  public var height: Int { shape[3] }
  public var width: Int { shape[4] }
}
