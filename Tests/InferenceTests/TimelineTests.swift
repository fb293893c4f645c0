import Compute
import Datasets
import Foundation
import Models
import SafeTensors
import Synth
import VideoIO
import XCTest
import _TestSupport

@testable import Inference

/// Timelines: window placement, the streaming pass, segments, and the shipped default model on
/// a synthetic concatenation of motion segments.
final class TimelineTests: TemporaryFolderTestCase {
  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// A classifier that needs no model: class 0's probability is the mean of the input, K = 2.
  static func meanClassifier(_ x: Tensor) -> Tensor {
    let b = x.shape[0]
    let per = x.count / b
    let out = Tensor(zeros: [b, 2])
    for i in 0..<b {
      var s: Float = 0
      for j in 0..<per { s += x.pointer[i * per + j] }
      out.pointer[2 * i] = s / Float(per)
      out.pointer[2 * i + 1] = 1 - s / Float(per)
    }
    return out
  }

  // MARK: Plan

  func testTimelinePlanWindowsAndWantedFrames() {
    let plan = TimelinePlan(clipLength: 8, frameInterval: 2, strideFrames: 5, frameCount: 50)
    XCTAssertEqual(plan.span, 16)
    XCTAssertEqual(plan.windowCount, 7)  // starts 0, 5, …, 30 (30 + 16 ≤ 50 < 35 + 16)
    XCTAssertEqual(plan.frames(of: 1), [5, 7, 9, 11, 13, 15, 17, 19])
    XCTAssertEqual(plan.lastFrame(of: 6), 44)
    var wanted = Set<Int>()
    for k in 0..<plan.windowCount { wanted.formUnion(plan.frames(of: k)) }
    XCTAssertEqual((0..<50).filter(plan.isWanted), wanted.sorted())

    // Shorter than one window: one window, frames wrap modulo F as the clip sampler's loop.
    let short = TimelinePlan(clipLength: 8, frameInterval: 2, strideFrames: 8, frameCount: 5)
    XCTAssertEqual(short.windowCount, 1)
    XCTAssertEqual(short.frames(of: 0), [0, 2, 4, 1, 3, 0, 2, 4])
    XCTAssertEqual(
      short.frames(of: 0), ClipSampler(clipLength: 8, frameInterval: 2).sample(frameCount: 5)[0])
    XCTAssertEqual((0..<5).filter(short.isWanted), [0, 1, 2, 3, 4])
    XCTAssertEqual(short.ringSlots, 5)
    XCTAssertEqual(short.lastFrame(of: 0), 4)
    // The window completes on its largest frame even when the last frames are not sampled.
    let sparse = TimelinePlan(clipLength: 8, frameInterval: 4, strideFrames: 8, frameCount: 16)
    XCTAssertEqual(sparse.frames(of: 0), [0, 4, 8, 12, 0, 4, 8, 12])
    XCTAssertEqual(sparse.lastFrame(of: 0), 12)
  }

  // MARK: Segments

  func testTimelineSmoothingAndSegments() {
    let a: [Float] = [0.9, 0.1]
    let b: [Float] = [0.2, 0.8]
    let probs = [a, a, a, b, a, a, b, b, b, b]
    let centres = (0..<10).map { Double($0) + 0.5 }
    let names = ["a", "b"]
    let raw = TimelineSegments.segments(
      centres: centres, probabilities: probs, names: names, duration: 10)
    XCTAssertEqual(raw.map(\.name), ["a", "b", "a", "b"])
    XCTAssertEqual(raw.map(\.start), [0, 3, 4, 6])
    XCTAssertEqual(raw.map(\.end), [3, 4, 6, 10])
    XCTAssertEqual(raw[0].prob, 0.9, accuracy: 1e-6)
    // A moving average over 3 windows removes the one-window blip.
    let smoothed = TimelineSegments.smooth(probs, over: 3)
    XCTAssertEqual(smoothed[3][0], (0.9 + 0.2 + 0.9) / 3, accuracy: 1e-6)
    XCTAssertEqual(smoothed[0][0], 0.9, accuracy: 1e-6)  // fewer windows at the ends
    let s = TimelineSegments.segments(
      centres: centres, probabilities: smoothed, names: names, duration: 10)
    XCTAssertEqual(s.map(\.name), ["a", "b"])
    // --min-segment: the 1 s segment joins its longer neighbour, and the neighbours merge.
    let m = TimelineSegments.segments(
      centres: centres, probabilities: probs, names: names, duration: 10, minSegment: 1.5)
    XCTAssertEqual(m.map(\.name), ["a", "b"])
    XCTAssertEqual(m.map(\.end), [6, 10])
    XCTAssertEqual(m[0].windows, 0..<6)
    // Agreement: time with the truth's label over the labelled time.
    let truth = [
      TruthSegment(start: 0, end: 5, label: 0), TruthSegment(start: 5, end: 10, label: 1),
    ]
    XCTAssertEqual(TimelineSegments.agreement(m, truth: truth), 0.9, accuracy: 1e-9)
  }

  func testTimelineTruthFileErrorsNameFileAndLine() throws {
    let names = ["move_left", "grow"]
    let ok = try TruthSegment.parse("# t\n0 1.5 grow\n\n1.5 3 0\n", path: "t.txt", names: names)
    XCTAssertEqual(
      ok, [TruthSegment(start: 0, end: 1.5, label: 1), TruthSegment(start: 1.5, end: 3, label: 0)])
    for (text, needle) in [
      ("0 1 jump\n", "t.txt:1: unknown label 'jump'"), ("0 1\n", "t.txt:1: expected"),
      ("0 1 grow\n2 1 grow\n", "t.txt:2: times"), ("nan 1 grow\n", "t.txt:1: times"),
      ("0 1 7\n", "unknown label '7'"),
    ] {
      XCTAssertThrowsError(try TruthSegment.parse(text, path: "t.txt", names: names)) { error in
        XCTAssertTrue(String(describing: error).contains(needle), "\(error)")
      }
    }
  }

  // MARK: The streaming pass

  /// Window times are the frames' presentation times on a variable-frame-rate file.
  func testTimelineWindowTimesFollowPresentationTimestamps() throws {
    let gaps: [Int64] = [40, 10, 30, 20, 40, 10, 10, 30]
    var times: [Int64] = [0]
    for i in 1..<40 { times.append(times[i - 1] + gaps[i % gaps.count]) }
    let file = path("vfr.mkv")
    let writer = try VideoWriter(
      path: file, width: 32, height: 32, fps: 25, codec: .ffv1, timeBase: 1000, keyframeInterval: 4)
    for i in 0..<40 {
      try writer.append(RGBImage(width: 32, height: 32, fill: (UInt8(i * 6), 0, 0)), pts: times[i])
    }
    try writer.finish()
    let reader = try VideoReader(path: file)
    let plan = TimelinePlan(
      clipLength: 4, frameInterval: 2, strideFrames: 3, frameCount: reader.frameCount)
    let runner = TimelineRunner(plan: plan, transform: .test(size: 16, normalize: false), batch: 3)
    var streamed: [Int] = []
    let result = try runner.run(reader: reader, classify: Self.meanClassifier) {
      streamed.append($0.index)
    }
    XCTAssertEqual(result.windows.count, 11)  // starts 0, 3, …, 30 (30 + 8 ≤ 40)
    XCTAssertEqual(streamed, Array(0..<11))
    for w in result.windows {
      let s = 3 * w.index
      XCTAssertEqual(w.firstFrame, s)
      XCTAssertEqual(w.lastFrame, s + 6)
      XCTAssertEqual(w.start, Double(times[s]) / 1000, accuracy: 1e-9)
      XCTAssertEqual(w.start, reader.time(ofFrame: s), accuracy: 1e-12)
      XCTAssertEqual(w.end, Double(times[s + 8]) / 1000, accuracy: 1e-9)
      // The red level of the window's frames (i·6/255 for frame i), through the classifier.
      let levels: [Double] = plan.frames(of: w.index).map { Double($0 * 6) / 255 }
      let mean: Double = levels.reduce(0, +) / 12
      XCTAssertEqual(Double(w.probabilities[0]), mean, accuracy: 2e-3)
    }
    XCTAssertEqual(result.decodedFrames, 40)
  }

  /// A video shorter than one window is one window of wrapped frames, not refused.
  func testTimelineShortVideoIsOneWrappedWindow() throws {
    let file = path("short.mkv")
    let writer = try VideoWriter(path: file, width: 32, height: 32, fps: 25, codec: .ffv1)
    for i in 0..<5 {
      try writer.append(RGBImage(width: 32, height: 32, fill: (UInt8(i * 50), 0, 0)))
    }
    try writer.finish()
    let reader = try VideoReader(path: file)
    let plan = TimelinePlan(
      clipLength: 8, frameInterval: 2, strideFrames: 8, frameCount: reader.frameCount)
    let result = try TimelineRunner(
      plan: plan, transform: .test(size: 16, normalize: false), batch: 4
    )
    .run(reader: reader, classify: Self.meanClassifier)
    XCTAssertEqual(result.windows.count, 1)
    XCTAssertEqual(result.windows[0].start, 0)
    XCTAssertEqual(result.windows[0].end, reader.info.duration, accuracy: 1e-9)
    let levels: [Double] = [0, 2, 4, 1, 3, 0, 2, 4].map { Double($0 * 50) / 255 }
    let mean: Double = levels.reduce(0, +) / 24
    XCTAssertEqual(Double(result.windows[0].probabilities[0]), mean, accuracy: 2e-3)
    XCTAssertEqual(result.decodedFrames, 5)
  }

  /// The shipped default model on five motion segments of 3 clips each: the merged segments
  /// match the true boundaries within one stride and the labels agree for most of the time.
  func testTimelineOfDefaultModelOnSyntheticConcatenation() throws {
    let checkpoint = Self.packageRoot.appendingPathComponent("Clips/default-model.safetensors").path
    let opened = try Checkpoint.open(path: checkpoint)
    let data = try XCTUnwrap(try DataOptions.recorded(in: opened.file))
    XCTAssertEqual([data.clipLength, data.frameInterval, data.size], [8, 2, 32])
    let model = try VCoSwinModel.loaded(opened)
    let motions: [MotionClass] = [.moveLeft, .grow, .rotateClockwise, .moveUp, .shrink]
    var video = SynthLongVideo(motions: motions, clipsPerSegment: [3, 3, 3, 3, 3])
    video.seed = 11
    let file = path("long.mkv")
    try video.render(to: file)
    let reader = try VideoReader(path: file)
    XCTAssertEqual(reader.frameCount, 240)
    let stride = 8  // half a window
    let plan = TimelinePlan(
      clipLength: 8, frameInterval: 2, strideFrames: stride, frameCount: reader.frameCount)
    let runner = TimelineRunner(
      plan: plan, transform: .test(size: 32, normalize: data.normalize), batch: 8)
    let result = try runner.run(reader: reader) {
      try model.averagedProbabilities($0, views: 1, batch: 8)
    }
    XCTAssertEqual(result.windows.count, 29)
    XCTAssertEqual(result.decodedFrames, 240, "each frame decoded exactly once")
    XCTAssertEqual(reader.decodedFrameCount, 240)
    // On a constant-rate file the times are frame / fps (probe's frame rate, 25).
    XCTAssertEqual(reader.info.fps, 25)
    for w in result.windows {
      XCTAssertEqual(w.start, Double(stride * w.index) / 25, accuracy: 1e-9)
      XCTAssertEqual(w.end, Double(stride * w.index + 16) / 25, accuracy: 1e-9)
    }

    let truth = video.truth.map {
      TruthSegment(start: $0.start, end: $0.end, label: $0.motion.rawValue)
    }
    let probs = TimelineSegments.smooth(result.windows.map(\.probabilities), over: 3)
    let segments = TimelineSegments.segments(
      centres: result.windows.map(\.centre), probabilities: probs, names: opened.info.labels,
      duration: result.duration, minSegment: 0.5)
    let raw = TimelineSegments.segments(
      centres: result.windows.map(\.centre), probabilities: result.windows.map(\.probabilities),
      names: opened.info.labels, duration: result.duration)
    let agreement = TimelineSegments.agreement(segments, truth: truth)
    let rawAgreement = TimelineSegments.agreement(raw, truth: truth)
    print(
      String(
        format:
          "timeline agreement with the truth: %.3f (smooth 3, min-segment 0.5 s), %.3f raw; %d segments (truth %d)",
        agreement, rawAgreement, segments.count, truth.count))
    XCTAssertEqual(segments.map(\.label), motions.map(\.rawValue))
    let strideSeconds = Double(stride) / 25
    for (s, t) in zip(segments.dropLast(), truth.dropLast()) {
      XCTAssertEqual(s.end, t.end, accuracy: strideSeconds + 1e-9, "boundary after \(t.label)")
    }
    XCTAssertGreaterThanOrEqual(agreement, 0.85)
    XCTAssertGreaterThanOrEqual(rawAgreement, 0.7)
  }
}
