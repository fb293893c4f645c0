import CFFmpeg

/// How the stored picture is turned for display, from a stream's display matrix — what the
/// `ffmpeg` command applies by default (autorotate). A phone recording held upright stores
/// landscape frames with a matrix saying "turn 90° clockwise".
///
/// The transform, in displayed coordinates (`x'`, `y'` in a `W'`×`H'` picture): let
/// `u = flipX ? W'−1−x' : x'` and `v = flipY ? H'−1−y' : y'`; the displayed pixel is stored
/// pixel `(x: v, y: u)` when `transposed`, else `(x: u, y: v)`. These eight cases are the
/// rotations by multiples of 90° and their mirror images.
struct DisplayOrientation: Equatable, Sendable {
  var transposed = false
  var flipX = false
  var flipY = false

  /// Clockwise degrees the picture is turned (0, 90, 180 or 270) before `mirrored`.
  var rotation: Int {
    switch (transposed, flipX != flipY) {
    case (true, true): return flipX ? 90 : 270
    case (true, false): return flipX ? 270 : 90
    case (false, _): return flipY ? 180 : 0
    }
  }

  /// Whether the turned picture is then mirrored left–right.
  var mirrored: Bool { transposed ? flipX == flipY : flipX != flipY }

  static let identity = DisplayOrientation()

  var isIdentity: Bool { !transposed && !flipX && !flipY }

  /// The orientation a display matrix asks for, decided as the `ffmpeg` command does
  /// (angle `θ = −round(av_display_rotation_get)` in 0..<360, then `transpose`, `hflip`,
  /// `vflip` by the signs of the matrix entries). Angles more than 1° from a multiple of 90°
  /// are not applied (identity): frames stay as stored.
  init(matrix: UnsafePointer<Int32>) {
    self.init()
    let angle = av_display_rotation_get(matrix)
    guard angle.isFinite else { return }
    var theta = -angle.rounded()
    theta -= 360 * (theta / 360 + 0.9 / 360).rounded(.down)
    let m0 = matrix[0]
    let m3 = matrix[3]
    let m4 = matrix[4]
    if abs(theta - 90) < 1 {
      // transpose=clock, or cclock_flip (a plain transpose) when mirrored.
      self = DisplayOrientation(transposed: true, flipX: m3 <= 0, flipY: false)
    } else if abs(theta - 180) < 1 {
      self = DisplayOrientation(transposed: false, flipX: m0 < 0, flipY: m4 < 0)
    } else if abs(theta - 270) < 1 {
      // transpose=cclock, or clock_flip when mirrored.
      self = DisplayOrientation(transposed: true, flipX: m3 < 0, flipY: true)
    } else if abs(theta) < 1 {
      flipY = m4 < 0
    }
  }

  init(transposed: Bool, flipX: Bool, flipY: Bool) {
    self.transposed = transposed
    self.flipX = flipX
    self.flipY = flipY
  }

  init() {}

  /// The orientation of `stream`'s display matrix; identity when it has none.
  init(stream: UnsafePointer<AVStream>) {
    guard let matrix = vc_stream_display_matrix(stream) else {
      self.init()
      return
    }
    self.init(matrix: matrix)
  }

  /// The displayed size of a stored `width`×`height` picture.
  func displayedSize(width: Int, height: Int) -> (width: Int, height: Int) {
    transposed ? (height, width) : (width, height)
  }

  /// The stored rectangle that shows as `rect` of the displayed `width`×`height` picture.
  func storedRect(_ rect: PixelRect, displayedWidth: Int, displayedHeight: Int) -> PixelRect {
    let u = flipX ? displayedWidth - rect.x - rect.width : rect.x
    let v = flipY ? displayedHeight - rect.y - rect.height : rect.y
    return transposed
      ? PixelRect(x: v, y: u, width: rect.height, height: rect.width)
      : PixelRect(x: u, y: v, width: rect.width, height: rect.height)
  }

  /// Copies packed RGB24 `src` in stored orientation (tight rows) to `dst`, displayed
  /// `width`×`height` with row stride `stride` bytes. Precondition: `src` holds the stored
  /// picture of that displayed size (`displayedSize` inverted).
  func copyRGB24(
    from src: UnsafePointer<UInt8>, to dst: UnsafeMutablePointer<UInt8>, width: Int,
    height: Int, stride: Int
  ) {
    let storedWidth = transposed ? height : width
    for y in 0..<height {
      let v = flipY ? height - 1 - y : y
      let row = dst + y * stride
      for x in 0..<width {
        let u = flipX ? width - 1 - x : x
        let s = src + (transposed ? u * storedWidth + v : v * storedWidth + u) * 3
        row[x * 3] = s[0]
        row[x * 3 + 1] = s[1]
        row[x * 3 + 2] = s[2]
      }
    }
  }
}
