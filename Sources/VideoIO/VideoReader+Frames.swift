import CFFmpeg

extension VideoReader {
  /// Decodes frames `numbers` (any order, repeats allowed) as RGB images, in the order asked,
  /// scaled to `width`×`height` (swscale's area filter) or at the decoded size when nil.
  /// Precondition: every number is in `0..<frameCount`; sizes ≥ 1.
  public func readFrames(_ numbers: [Int], width: Int? = nil, height: Int? = nil) throws
    -> [RGBImage]
  {
    var images: [Int: RGBImage] = [:]
    try forEachFrame(numbers, width: width, height: height) { n, image in images[n] = image }
    return numbers.compactMap { images[$0] }
  }

  /// Decodes frames `numbers` and hands each distinct one to `body` in ascending order as an
  /// RGB image `width`×`height` (decoded size when nil), without keeping them: memory stays
  /// one frame whatever the count. Precondition: every number is in `0..<frameCount`.
  public func forEachFrame(
    _ numbers: [Int], width: Int? = nil, height: Int? = nil,
    _ body: (Int, RGBImage) throws -> Void
  ) throws {
    var image: RGBImage? = nil
    try decode(numbers) { n, frame in
      let shown = orientation.displayedSize(
        width: Int(frame.pointee.width), height: Int(frame.pointee.height))
      let w = width ?? shown.width
      let h = height ?? shown.height
      if image?.width != w || image?.height != h { image = RGBImage(width: w, height: h) }
      guard var out = image else { return }
      image = nil  // unique reference: the scale below writes in place
      try out.pixels.withUnsafeMutableBufferPointer { buffer in
        guard let base = buffer.baseAddress else { return }
        try scale(frame, region: nil, width: w, height: h, into: base, stride: w * 3)
      }
      try body(n, out)
      image = out
    }
  }

  /// Samples clips with `sampler` and reads them through `transform`; one generator seeded
  /// with `seed` drives both (train-mode offsets, then per-clip crops and flips).
  ///
  /// Returns `[numClips · cropsPerClip, 3, clipLength, H, W]` (see `ClipBatch`).
  public func sampleClips(sampler: ClipSampler, transform: ClipTransform, seed: UInt64 = 0)
    throws -> ClipBatch
  {
    var random = SplitMix64(seed: seed)
    let clips = sampler.sample(frameCount: frameCount, random: &random)
    return try readClips(clips, transform: transform, random: &random)
  }

  /// Reads clips of the given frame numbers through `transform`.
  ///
  /// - Parameter clips: `[N][T]` frame numbers, every row the same length `T` ≥ 1, every
  ///   number in `0..<frameCount` (a precondition).
  /// - Returns: `[N · cropsPerClip, 3, T, H, W]`, views crop-major (see `ClipBatch`).
  ///   Each distinct frame is decoded once and scaled once per distinct clip geometry.
  public func readClips(_ clips: [[Int]], transform: ClipTransform, random: inout SplitMix64)
    throws -> ClipBatch
  {
    precondition(!clips.isEmpty, "need at least one clip")
    let T = clips[0].count
    precondition(T >= 1 && clips.allSatisfy { $0.count == T }, "clips must share one length ≥ 1")
    let N = clips.count
    let geometries = (0..<N).map { _ in
      transform.geometry(width: info.width, height: info.height, random: &random)
    }
    for g in geometries {
      try g.checkScaledSize(path: path, width: info.width, height: info.height)
    }
    let out = transform.outputSize(width: info.width, height: info.height)
    let (H, W) = (out.height, out.width)
    let crops = transform.cropsPerClip
    let views = N * crops
    let plane = T * H * W
    var data = [Float](repeating: 0, count: views * 3 * plane)
    var uses: [Int: [(clip: Int, t: Int)]] = [:]
    for (c, clip) in clips.enumerated() {
      for (t, n) in clip.enumerated() { uses[n, default: []].append((c, t)) }
    }
    let lut = transform.lookupTable
    // One RGB24 buffer [scaledHeight, scaledWidth, 3] per distinct scale job, reused from frame
    // to frame; `current` holds the jobs done for the frame at hand.
    var scaled: [ScaleKey: [UInt8]] = [:]
    var current = Set<ScaleKey>()
    try data.withUnsafeMutableBufferPointer { dataBuffer in
      guard let dst = dataBuffer.baseAddress else { return }
      try decode(Array(uses.keys)) { n, frame in
        current.removeAll(keepingCapacity: true)
        for (c, t) in uses[n] ?? [] {
          let g = geometries[c]
          let key = ScaleKey(source: g.source, width: g.scaledWidth, height: g.scaledHeight)
          if !current.contains(key) {
            var rgb =
              scaled.removeValue(forKey: key)
              ?? [UInt8](repeating: 0, count: g.scaledWidth * g.scaledHeight * 3)
            try rgb.withUnsafeMutableBufferPointer { b in
              guard let base = b.baseAddress else { return }
              try scale(
                frame, region: g.source, width: g.scaledWidth, height: g.scaledHeight,
                into: base, stride: g.scaledWidth * 3)
            }
            scaled[key] = rgb
            current.insert(key)
          }
          guard let rgb = scaled[key] else { continue }
          for (k, rect) in g.crops.enumerated() {
            let view = k * N + c
            rgb.withUnsafeBufferPointer { src in
              writePlanar(
                src: src, stride: g.scaledWidth * 3, rect: rect, flip: g.flip, lut: lut,
                dst: dst + view * 3 * plane + t * H * W, plane: plane)
            }
          }
        }
      }
    }
    var indices: [[Int]] = []
    for _ in 0..<crops { indices += clips }
    return ClipBatch(data: data, shape: [views, 3, T, H, W], indices: indices)
  }
}

/// What turns a decoded frame into pixels: the stream's size, orientation and converters,
/// shared by `VideoReader` (files, by frame number) and `VideoStream` (pipes and network
/// streams, as they arrive), so a frame from either goes through the same code
/// (`DecodedFrame.rgb`, `DecodedFrame.planar`).
protocol FrameConverting: AnyObject {
  /// The file path or URL, for messages.
  var path: String { get }
  /// The stream's facts (`width`, `height` as displayed).
  var info: StreamInfo { get }
  /// How the stream's display matrix turns stored frames.
  var orientation: DisplayOrientation { get }
  /// Pixel conversion, reused across frames.
  var scaler: Scaler { get }
  /// `scale`'s buffer for a turned stream, reused frame after frame.
  var turnScratch: [UInt8] { get set }
  /// `DecodedFrame.planar`'s scratch, made at the first frame.
  var planarScratch: PlanarScratch? { get set }
}

extension VideoReader: FrameConverting {}

extension FrameConverting {
  /// Scales `frame` (or its `region`) to packed RGB24 `width`×`height` at `dst`, turned as the
  /// stream's display matrix says; `region` is in displayed coordinates.
  ///
  /// A turned frame is scaled in stored orientation (the stored region that shows as
  /// `region`, to the stored size of the output), then the small output is turned: the same
  /// pixels as turning first, without turning a full-size frame.
  func scale(
    _ frame: UnsafeMutablePointer<AVFrame>, region: PixelRect?, width: Int, height: Int,
    into dst: UnsafeMutablePointer<UInt8>, stride: Int
  ) throws {
    guard !orientation.isIdentity else {
      try scaleStored(
        frame, region: region, width: width, height: height, into: dst, stride: stride)
      return
    }
    let shown = orientation.displayedSize(
      width: Int(frame.pointee.width), height: Int(frame.pointee.height))
    let stored = orientation.storedRect(
      region ?? PixelRect(x: 0, y: 0, width: shown.width, height: shown.height),
      displayedWidth: shown.width, displayedHeight: shown.height)
    let size = orientation.displayedSize(width: width, height: height)  // an involution
    // turned: [size.height, size.width, 3] at the front of the stream's buffer, taken out of
    // the reader for the call (no copy) and put back after.
    var turned: [UInt8] = []
    swap(&turned, &turnScratch)
    defer { swap(&turned, &turnScratch) }
    if turned.count < width * height * 3 {
      turned = [UInt8](repeating: 0, count: width * height * 3)
    }
    try turned.withUnsafeMutableBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      try scaleStored(
        frame, region: stored, width: size.width, height: size.height, into: base,
        stride: size.width * 3)
      orientation.copyRGB24(
        from: base, to: dst, width: width, height: height, stride: stride)
    }
  }

  /// Scales `frame` (or its `region`, in stored coordinates) to packed RGB24
  /// `width`×`height` at `dst`, as stored.
  fileprivate func scaleStored(
    _ frame: UnsafeMutablePointer<AVFrame>, region: PixelRect?, width: Int, height: Int,
    into dst: UnsafeMutablePointer<UInt8>, stride: Int
  ) throws {
    var source = frame
    let fw = Int(frame.pointee.width)
    let fh = Int(frame.pointee.height)
    var cropped: Frame? = nil
    if let r = region, r != PixelRect(x: 0, y: 0, width: fw, height: fh) {
      // A reference to the same buffers with moved plane pointers: no copy.
      let view = try Frame(path: path)
      try check(av_frame_ref(view.pointer, frame), path, "cannot reference frame")
      let x = min(max(r.x, 0), fw - 1)
      let y = min(max(r.y, 0), fh - 1)
      view.pointer.pointee.crop_left = x
      view.pointer.pointee.crop_top = y
      view.pointer.pointee.crop_right = max(0, fw - x - r.width)
      view.pointer.pointee.crop_bottom = max(0, fh - y - r.height)
      try check(
        av_frame_apply_cropping(view.pointer, Int32(AV_FRAME_CROP_UNALIGNED)), path,
        "cannot crop frame")
      source = view.pointer
      cropped = view
    }
    let f = source.pointee
    let planes: [UnsafePointer<UInt8>?] = [
      f.data.0, f.data.1, f.data.2, f.data.3, f.data.4, f.data.5, f.data.6, f.data.7,
    ].map { $0.map { UnsafePointer($0) } }
    let linesize = [
      f.linesize.0, f.linesize.1, f.linesize.2, f.linesize.3, f.linesize.4, f.linesize.5,
      f.linesize.6, f.linesize.7,
    ]
    try scaler.scaleToRGB24(
      data: planes, linesize: linesize, format: AVPixelFormat(rawValue: f.format),
      srcWidth: Int(f.width), srcHeight: Int(f.height), dst: dst, dstWidth: width,
      dstHeight: height, dstStride: stride, path: path)
    withExtendedLifetime(cropped) {}
  }
}

/// A distinct swscale job for one frame: the source region and the output size.
private struct ScaleKey: Hashable {
  var source: PixelRect
  var width: Int
  var height: Int
}

/// RGB24 crop → planar Float32 through the lookup table (normalisation), optionally mirrored.
///
/// Reads `rect` of `src` (row stride `stride` bytes); writes channel `c`, row `y`, column `x`
/// at `dst[c · plane + y · rect.width + x]`.
@inline(__always)
func writePlanar(
  src: UnsafeBufferPointer<UInt8>, stride: Int, rect: PixelRect, flip: Bool, lut: [Float],
  dst: UnsafeMutablePointer<Float>, plane: Int
) {
  guard let s = src.baseAddress else { return }
  lut.withUnsafeBufferPointer { table in
    guard let l = table.baseAddress else { return }
    let W = rect.width
    for y in 0..<rect.height {
      let row = s + (rect.y + y) * stride + rect.x * 3
      let r = dst + y * W
      let g = r + plane
      let b = g + plane
      for x in 0..<W {
        let p = row + (flip ? W - 1 - x : x) * 3
        r[x] = l[Int(p[0])]
        g[x] = l[256 + Int(p[1])]
        b[x] = l[512 + Int(p[2])]
      }
    }
  }
}
