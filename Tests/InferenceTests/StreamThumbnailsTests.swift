import VideoIO
import XCTest

@testable import Inference

/// Thumbnails of a stream of unknown length: bounded memory, spread over the whole stream, each
/// standing at its sample time with a frame near it.
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
      XCTAssertLessThanOrEqual(sampler.kept.count, 8 * layout.count)
    }
    return (made, sampler)
  }

  func testAnHourHoldsAtMostEightTimesTheStripAndSpreadsOverIt() {
    let frames = 25 * 3600
    let (made, sampler) = offer(frames: frames)
    // 8N + 1 images before the first doubling, at most 4N more before each next one.
    let doublings = Int(log2(sampler.step / 0.04).rounded())
    XCTAssertGreaterThan(doublings, 7)
    XCTAssertLessThanOrEqual(made, 8 * layout.count + 1 + doublings * 4 * layout.count)
    let duration = Double(frames) * 0.04
    XCTAssertLessThanOrEqual(sampler.step, duration / Double(4 * layout.count))
    let strip = sampler.strip(duration: duration)
    XCTAssertEqual(strip.map(\.time), layout.times(duration: duration))
    for thumbnail in strip {
      // The frame shown is within half a step of the time it stands at.
      let frameTime = Double(thumbnail.frame) * 0.04
      XCTAssertLessThanOrEqual(abs(frameTime - thumbnail.time), sampler.step / 2 + 0.04)
    }
  }

  /// At most `8N` frames: every frame is kept, and each sample time takes the nearest frame.
  func testAShortStreamTakesTheNearestFrames() {
    let frames = 15
    let (made, sampler) = offer(frames: frames)
    XCTAssertEqual(made, frames)
    let duration = Double(frames) * 0.04
    var expected: [Int] = []
    for t in layout.times(duration: duration) {
      // The nearest frame, the earlier on a tie.
      let f = (0..<frames).min { abs(Double($0) * 0.04 - t) < abs(Double($1) * 0.04 - t) } ?? 0
      if expected.last != f { expected.append(f) }
    }
    XCTAssertEqual(sampler.strip(duration: duration).map(\.frame), expected)
  }
}
