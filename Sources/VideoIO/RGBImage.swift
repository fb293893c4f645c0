/// A packed 8-bit RGB image: `pixels[(y * width + x) * 3 + c]`, `c` = 0 red, 1 green, 2 blue.
public struct RGBImage: Sendable, Equatable {
  public var width: Int
  public var height: Int
  /// `width * height * 3` bytes, rows top to bottom, no padding.
  public var pixels: [UInt8]
  /// Why text drawn on the image is missing (no font could be loaded), or nil. Encoding the
  /// image (`ImageFile`) throws it, so no picture goes out with its text silently missing.
  public var textFailure: String?

  /// A `width`×`height` image filled with one colour. Precondition: sizes > 0.
  public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
    precondition(width > 0 && height > 0, "image size must be positive")
    self.width = width
    self.height = height
    var p = [UInt8](repeating: 0, count: width * height * 3)
    if fill != (0, 0, 0) {
      for i in 0..<(width * height) {
        p[3 * i] = fill.0
        p[3 * i + 1] = fill.1
        p[3 * i + 2] = fill.2
      }
    }
    pixels = p
  }

  /// Wraps existing pixels. Precondition: `pixels.count == width * height * 3`.
  public init(width: Int, height: Int, pixels: [UInt8]) {
    precondition(pixels.count == width * height * 3, "pixel count does not match the size")
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  /// The colour at (x, y). Precondition: inside the image.
  public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
    get {
      let i = (y * width + x) * 3
      return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
    set {
      let i = (y * width + x) * 3
      pixels[i] = newValue.0
      pixels[i + 1] = newValue.1
      pixels[i + 2] = newValue.2
    }
  }
}
