import VideoIO
import XCTest
import _TestSupport

/// Every frame number read back is the frame that was written, after seeks, in every
/// container, codec and sampling mode.
final class FrameAccuracyTests: TemporaryFolderTestCase {
  /// Reads `numbers` one call at a time and all at once, and checks each frame's pattern.
  private func assertFrames(_ file: String, _ numbers: [Int], line: UInt = #line) throws {
    let reader = try VideoReader(path: file, threads: 2)
    let together = try reader.readFrames(numbers).map(Pattern.number)
    XCTAssertEqual(together, numbers, "all at once", line: line)
    var oneByOne: [Int] = []
    for n in numbers { oneByOne += try reader.readFrames([n]).map(Pattern.number) }
    XCTAssertEqual(oneByOne, numbers, "one at a time (seeking back and forth)", line: line)
  }

  func testLosslessMatroskaEveryFrameAndSeeks() throws {
    let file = try writePatternVideo("a.mkv", frames: 60, codec: .ffv1)
    let info = try VideoReader(path: file).info
    XCTAssertEqual(info.frames, 60)
    XCTAssertEqual(info.fps, 25, accuracy: 1e-9)
    XCTAssertEqual(info.duration, 2.4, accuracy: 1e-6)
    XCTAssertEqual(info.codec, "ffv1")
    XCTAssertEqual(info.width, 64)
    XCTAssertEqual(info.height, 48)
    try assertFrames(file, Array(0..<60))
    try assertFrames(file, [59, 0, 31, 30, 7, 7, 45, 12, 58, 1])
  }

  func testLosslessPixelsAreExact() throws {
    let file = path("exact.mkv")
    let writer = try VideoWriter(path: file, width: 17, height: 9, codec: .ffv1)
    var written: [RGBImage] = []
    var random = SplitMix64(seed: 7)
    for _ in 0..<3 {
      let image = RGBImage(
        width: 17, height: 9, pixels: (0..<(17 * 9 * 3)).map { _ in UInt8(random.below(256)) })
      written.append(image)
      try writer.append(image)
    }
    try writer.finish()
    XCTAssertEqual(
      try VideoReader(path: file).readFrames([2, 0, 1]), [written[2], written[0], written[1]])
  }

  func testMPEG4InAVIAndMP4() throws {
    for name in ["b.avi", "b.mp4"] {
      let file = try writePatternVideo(name, frames: 40, codec: .mpeg4, keyframeInterval: 8)
      XCTAssertEqual(try VideoReader(path: file).info.frames, 40, name)
      try assertFrames(file, [0, 39, 17, 16, 8, 9, 33, 2])
    }
  }

  func testH264WhenAvailable() throws {
    try XCTSkipUnless(VideoWriter.Codec.h264.isAvailable, "no H.264 encoder in this FFmpeg build")
    let file = try writePatternVideo("c.mp4", frames: 40, codec: .h264, keyframeInterval: 10)
    try assertFrames(file, [0, 39, 21, 20, 5, 11, 30])
  }

  func testBFramesDecodeOrderDiffersFromPresentationOrder() throws {
    var cases: [(String, VideoWriter.Codec)] = [
      ("bf.mp4", .mpeg4), ("bf.mkv", .mpeg4), ("bf.avi", .mpeg4),
    ]
    if VideoWriter.Codec.h264.isAvailable {
      cases += [
        ("bf264.mp4", .h264), ("bf264.mkv", .h264), ("bf264.ts", .h264), ("bf.h264", .h264),
      ]
    }
    for (name, codec) in cases {
      let file = try writePatternVideo(
        name, frames: 45, codec: codec, keyframeInterval: 15, bFrames: 2)
      XCTAssertEqual(try VideoReader(path: file).frameCount, 45, name)
      try assertFrames(file, [44, 0, 16, 15, 14, 29, 30, 1, 2, 43])
      for threads in [1, 2] {
        let reader = try VideoReader(path: file, threads: threads)
        let batch = try reader.sampleClips(
          sampler: ClipSampler(clipLength: 6, frameInterval: 3, numClips: 3, mode: .train),
          transform: ClipTransform(), seed: 9)
        for v in 0..<3 {
          XCTAssertEqual(
            (0..<6).map { Pattern.number(batch, view: v, t: $0) }, batch.indices[v], name)
        }
      }
    }
  }

  func testOtherCodecsAndContainers() throws {
    let cases: [(String, VideoWriter.Codec)] = [
      ("m.avi", .mjpeg), ("ms.avi", .msmpeg4), ("cp.avi", .cinepak), ("v.webm", .vp9),
      ("m4.mkv", .mpeg4),
      ("q.mov", .mpeg4), ("t.ts", .mpeg4), ("t264.ts", .h264), ("f.flv", .h264),
      ("raw.h264", .h264),
      ("raw.m4v", .mpeg4),
    ]
    for (name, codec) in cases where codec.isAvailable {
      let file = try writePatternVideo(name, frames: 24, codec: codec, keyframeInterval: 6)
      XCTAssertEqual(try VideoReader(path: file).frameCount, 24, name)
      try assertFrames(file, [23, 0, 12, 11, 5])
    }
  }

  func testVariableFrameRate() throws {
    // Irregular gaps (1…4 ms steps of 10 ms): frame n is still the n-th written frame.
    let gaps = [40, 10, 30, 20, 40, 10, 10, 30]
    var times: [Int64] = [0]
    for i in 1..<30 { times.append(times[i - 1] + Int64(gaps[i % gaps.count])) }
    let file = try writePatternVideo(
      "vfr.mkv", frames: 30, codec: .ffv1, keyframeInterval: 4, timeBase: 1000,
      pts: { times[$0] })
    let reader = try VideoReader(path: file)
    XCTAssertEqual(reader.frameCount, 30)
    XCTAssertEqual(reader.time(ofFrame: 29), Double(times[29]) / 1000, accuracy: 1e-6)
    XCTAssertEqual(reader.time(ofFrame: 5), Double(times[5]) / 1000, accuracy: 1e-6)
    // Mean rate from the timestamps (the header's 25 fps does not hold), duration to the end
    // of the last frame.
    XCTAssertEqual(reader.info.fps, 29 / (Double(times[29]) / 1000), accuracy: 1e-9)
    XCTAssertGreaterThan(reader.info.duration, Double(times[29]) / 1000)
    XCTAssertLessThan(reader.info.duration, Double(times[29]) / 1000 + 0.05)
    try assertFrames(file, [29, 3, 17, 0, 16, 28])
  }

  func testOddSize() throws {
    let file = try writePatternVideo("odd.mkv", frames: 12, width: 175, height: 143, codec: .ffv1)
    let info = try VideoReader(path: file).info
    XCTAssertEqual([info.width, info.height], [175, 143])
    try assertFrames(file, [11, 0, 6])
    let avi = try writePatternVideo("odd.avi", frames: 12, width: 175, height: 143, codec: .mpeg4)
    try assertFrames(avi, [11, 0, 6])
  }

  func testOneFrameFileAndImages() throws {
    let one = try writePatternVideo("one.mkv", frames: 1, codec: .ffv1)
    try assertFrames(one, [0, 0])
    for name in ["p.png", "p.jpg"] {
      try ImageFile.write(Pattern.image(9, width: 40, height: 32), to: path(name))
      let reader = try VideoReader(path: path(name))
      XCTAssertEqual(reader.frameCount, 1, name)
      XCTAssertEqual([reader.info.width, reader.info.height], [40, 32])
      XCTAssertEqual(try reader.readFrames([0, 0]).map(Pattern.number), [9, 9], name)
    }
    XCTAssertEqual(try VideoReader(path: path("p.png")).info.codec, "png")
  }

  func testEverySamplingModeReturnsTheSampledFrames() throws {
    let file = try writePatternVideo("s.mkv", frames: 50, codec: .ffv1, keyframeInterval: 7)
    let reader = try VideoReader(path: file, threads: 2)
    let samplers = [
      ClipSampler(clipLength: 8, frameInterval: 2, numClips: 3, mode: .test),
      ClipSampler(clipLength: 8, frameInterval: 4, numClips: 2, mode: .train),
      ClipSampler(clipLength: 16, frameInterval: 4, numClips: 1, mode: .test),  // wraps
      ClipSampler(
        clipLength: 16, frameInterval: 4, numClips: 2, mode: .train, outOfBound: .repeatLast),
      ClipSampler(clipLength: 1, frameInterval: 1, numClips: 5, mode: .test),
    ]
    for (k, sampler) in samplers.enumerated() {
      for transform in [
        ClipTransform(), ClipTransform(shortSide: 32),
        ClipTransform.test(size: 48, threeCrop: false, normalize: false),
      ] {
        let batch = try reader.sampleClips(sampler: sampler, transform: transform, seed: UInt64(k))
        XCTAssertEqual(batch.indices, sampler.sample(frameCount: 50, seed: UInt64(k)))
        XCTAssertEqual(batch.shape[0], sampler.numClips)
        XCTAssertEqual(batch.shape[2], sampler.clipLength)
        for v in 0..<batch.count {
          let seen = (0..<batch.frames).map { Pattern.number(batch, view: v, t: $0) }
          XCTAssertEqual(seen, batch.indices[v], "sampler \(k) view \(v)")
        }
      }
    }
  }
}
