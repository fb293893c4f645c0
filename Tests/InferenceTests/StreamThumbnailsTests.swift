import VideoIO
import XCTest

@testable import Inference

/// Thumbnails of a stream of unknown length: bounded memory, spread over the whole stream, the
/// same frames as a file's timeline takes when the stream is short.
final class StreamThumbnailsTests: XCTestCase {
  let layout = ThumbnailLayout(videoWidth: 64, videoHeight: 48, height: 48, across: 700)

  func testLayoutIsTheAspectAndTheCountThatFits() {
    XCTAssertEqual(layout.width, 64)
    XCTAssertEqual(layout.count, 10)  // 700 / (64 + 4)
    let tall = ThumbnailLayout(videoWidth: 1, videoHeight: 100, height: 48, across: 100)
    XCTAssertEqual(tall.width, 8)
    let wide = ThumbnailLayout(videoWidth: 1000, videoHeight: 1, height: 10, across: 30)
    XCTAssertEqual(wide.width, 40)
    XCTAssertEqual(wide.count, 1)
  }

  /// `frames` frames at 25 fps offered in order; the images made and the sampler.
  func offer(frames: Int) -> (made: Int, sampler: StreamThumbnails) {
    var sampler = StreamThumbnails(layout: layout, frameSeconds: 0.04)
    var made = 0
    for n in 0..<frames {
      sampler.offer(number: n, time: Double(n) * 0.04) {
        made += 1
        return RGBImage(width: layout.width, height: layout.height)
      }
      XCTAssertLessThanOrEqual(sampler.kept.count, 2 * layout.count)
    }
    return (made, sampler)
  }

  func testAnHourHoldsAtMostTwiceTheStripAndSpreadsOverIt() {
    let frames = 25 * 3600
    let (made, sampler) = offer(frames: frames)
    // 2N + 1 images before the first doubling, at most N more before each next one.
    let doublings = Int(log2(sampler.step / 0.04).rounded())
    XCTAssertGreaterThan(doublings, 10)
    XCTAssertLessThanOrEqual(made, 2 * layout.count + 1 + doublings * layout.count)
    let duration = Double(frames) * 0.04
    XCTAssertLessThanOrEqual(sampler.step, duration / Double(layout.count))
    let strip = sampler.strip(duration: duration)
    XCTAssertEqual(strip.count, layout.count)
    for (thumbnail, t) in zip(strip, layout.times(duration: duration)) {
      XCTAssertLessThanOrEqual(thumbnail.time, t)
      XCTAssertGreaterThan(thumbnail.time, t - sampler.step - 0.04, "\(thumbnail.time) for \(t)")
    }
  }

  /// Shorter than `2N` frames: every frame is kept, so the strip is the file's: the last
  /// frame at or before each sample time.
  func testAShortStreamTakesTheFilesFrames() {
    let frames = 15
    let (_, sampler) = offer(frames: frames)
    let duration = Double(frames) * 0.04
    let expected = layout.times(duration: duration).map { t in
      (0..<frames).last { Double($0) * 0.04 <= t } ?? 0
    }
    var unique: [Int] = []
    for f in expected where unique.last != f { unique.append(f) }
    XCTAssertEqual(sampler.strip(duration: duration).map(\.frame), unique)
  }
}
