import CFFmpeg

// One pass over a whole video in presentation order (timelines of long videos): every frame
// decoded once, the wanted ones handed out as they come, nothing kept by the reader.
//
// Legend: H, W the transform's output size (the crop); one frame is [3, H, W].

extension VideoReader {
  /// Decodes the whole video once, from its start, and calls `body` for every frame number
  /// `n` in `0..<frameCount` with `wanted(n)`, in ascending order.
  ///
  /// The frame handed to `body` is valid only during the call: convert what you need
  /// (`planar`, `rgb`) inside it. `decodedFrameCount` grows by the frames the stream holds,
  /// whatever `wanted` says (frames in between must be decoded anyway). A frame that cannot be
  /// decoded is replaced by the next decodable one (at the end by the last one).
  /// Memory: one decoded frame, whatever the length.
  /// - Throws: `VideoError` naming the file when nothing can be decoded; whatever `body` throws.
  public func forEachFrameInOrder(
    wanted: (Int) -> Bool, _ body: (DecodedFrame) throws -> Void
  ) throws {
    try decodeInOrder(wanted: wanted) { n, frame in
      try body(DecodedFrame(reader: self, frame: frame, number: n))
    }
  }
}

/// A decoded frame during `VideoReader.forEachFrameInOrder`: valid only inside the callback.
public struct DecodedFrame {
  /// The reader the frame came from (a file's `VideoReader` or a `VideoStream`).
  let reader: any FrameConverting
  let frame: UnsafeMutablePointer<AVFrame>
  /// The frame number (presentation order).
  public let number: Int

  /// The frame as an RGB image scaled to `width`×`height` (the displayed size when nil).
  /// Precondition: sizes ≥ 1.
  public func rgb(width: Int? = nil, height: Int? = nil) throws -> RGBImage {
    let shown = reader.orientation.displayedSize(
      width: Int(frame.pointee.width), height: Int(frame.pointee.height))
    let w = width ?? shown.width
    let h = height ?? shown.height
    var image = RGBImage(width: w, height: h)
    try image.pixels.withUnsafeMutableBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      try reader.scale(frame, region: nil, width: w, height: h, into: base, stride: w * 3)
    }
    return image
  }

  /// Writes the frame through `transform` as planar Float32 `[3, H, W]` at `dst` (channel
  /// `c` at `dst + c · H · W`): the same values as `readClips` gives the frame in a clip with
  /// this transform, first crop, no flip. Meant for test-time transforms; random choices of a
  /// training transform are not drawn (a random resized crop becomes a centre crop of its size).
  /// `dst` must hold `3 · H · W` floats, with (H, W) = `transform.outputSize` of the video.
  ///
  /// The geometry (of the stream's displayed size, `info`, fixed for the reader), the lookup
  /// table and the RGB24 buffer are made at the first frame and reused for the following
  /// ones while `transform` stays the same (`planarScratch` of the reader or stream).
  public func planar(_ transform: ClipTransform, into dst: UnsafeMutablePointer<Float>) throws {
    var scratch: PlanarScratch
    if let kept = reader.planarScratch, kept.transform == transform {
      scratch = kept
    } else {
      scratch = try PlanarScratch(
        transform, width: reader.info.width, height: reader.info.height, path: reader.path)
    }
    reader.planarScratch = nil  // unique reference: the scale below writes in place
    defer { reader.planarScratch = scratch }
    let g = scratch.geometry
    guard let rect = g.crops.first else { return }
    try scratch.rgb.withUnsafeMutableBufferPointer { b in
      guard let base = b.baseAddress else { return }
      try reader.scale(
        frame, region: g.source, width: g.scaledWidth, height: g.scaledHeight, into: base,
        stride: g.scaledWidth * 3)
    }
    scratch.rgb.withUnsafeBufferPointer { src in
      writePlanar(
        src: src, stride: g.scaledWidth * 3, rect: rect, flip: false, lut: scratch.lut, dst: dst,
        plane: rect.width * rect.height)
    }
  }
}

/// What `DecodedFrame.planar` needs for every frame of a stream, made once: the transform
/// made still, its geometry, its lookup table and the RGB24 buffer the frame is scaled into.
struct PlanarScratch {
  /// The transform as given (what the scratch is reused for).
  let transform: ClipTransform
  /// The still transform's geometry for a `width`×`height` displayed stream.
  let geometry: ClipGeometry
  /// `lookupTable` of the still transform: 768 floats, channel-major.
  let lut: [Float]
  /// rgb: [scaledHeight, scaledWidth, 3], the scaled frame before the crop.
  var rgb: [UInt8]

  /// Random choices of a training transform are not drawn: no flip, and a random resized crop
  /// becomes its test-time equivalent (short side and centre crop of its size).
  /// - Throws: `VideoError` naming `path` when the scaled frame would be too large (an extreme
  ///   aspect ratio), before anything is allocated.
  init(_ transform: ClipTransform, width: Int, height: Int, path: String) throws {
    self.transform = transform
    var fixed = SplitMix64(seed: 0)
    var still = transform
    still.randomFlip = false
    if case .randomResized(let size, _, _) = still.crop {
      still.shortSide = size
      still.crop = .center(size)
    }
    geometry = still.geometry(width: width, height: height, random: &fixed)
    try geometry.checkScaledSize(path: path, width: width, height: height)
    lut = still.lookupTable
    rgb = [UInt8](repeating: 0, count: geometry.scaledWidth * geometry.scaledHeight * 3)
  }
}
