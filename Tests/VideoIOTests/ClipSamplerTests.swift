import VideoIO
import XCTest

/// The sampler against mmaction2's `SampleFrames` (expected values computed with its formulas
/// in numpy).
final class ClipSamplerTests: XCTestCase {
  private func test(_ F: Int, _ T: Int, _ I: Int, _ N: Int, _ oob: ClipSampler.OutOfBound = .loop)
    -> [[Int]]
  {
    ClipSampler(clipLength: T, frameInterval: I, numClips: N, mode: .test, outOfBound: oob)
      .sample(frameCount: F)
  }

  func testTestModeMatchesMMAction2() {
    XCTAssertEqual(
      test(50, 8, 2, 3),
      [
        [0, 2, 4, 6, 8, 10, 12, 14], [17, 19, 21, 23, 25, 27, 29, 31],
        [34, 36, 38, 40, 42, 44, 46, 48],
      ])
    XCTAssertEqual(
      test(100, 4, 4, 4), [[0, 4, 8, 12], [28, 32, 36, 40], [56, 60, 64, 68], [84, 88, 92, 96]])
    XCTAssertEqual(test(10, 8, 2, 1), [[0, 2, 4, 6, 8, 0, 2, 4]])
    XCTAssertEqual(test(10, 8, 2, 2), [[0, 2, 4, 6, 8, 0, 2, 4], [0, 2, 4, 6, 8, 0, 2, 4]])
    XCTAssertEqual(test(30, 1, 1, 4), [[3], [11], [18], [26]])
    XCTAssertEqual(test(7, 4, 3, 2, .repeatLast), [[0, 3, 6, 6], [0, 3, 6, 6]])
    XCTAssertEqual(
      test(20, 4, 2, 5),
      [[0, 2, 4, 6], [3, 5, 7, 9], [6, 8, 10, 12], [9, 11, 13, 15], [12, 14, 16, 18]])
    // Offsets 0, 2.5, 5 round half to even: 0, 2, 5.
    XCTAssertEqual(test(13, 4, 2, 3).map { $0[0] }, [0, 2, 5])
    XCTAssertEqual(test(1, 4, 2, 2), [[0, 0, 0, 0], [0, 0, 0, 0]])
  }

  func testTrainModeOffsetsStayInTheirSegments() {
    let sampler = ClipSampler(clipLength: 4, frameInterval: 2, numClips: 4, mode: .train)
    var starts = Set<Int>()
    for seed in 0..<50 {
      let clips = sampler.sample(frameCount: 100, seed: UInt64(seed))
      // a = (100 − 8 + 1) / 4 = 23: clip k starts in [23k, 23k + 23).
      for (k, clip) in clips.enumerated() {
        XCTAssertTrue((23 * k)..<(23 * k + 23) ~= clip[0], "seed \(seed) clip \(k)")
        XCTAssertEqual(clip, (0..<4).map { clip[0] + 2 * $0 })
        starts.insert(clip[0])
      }
      XCTAssertEqual(clips, sampler.sample(frameCount: 100, seed: UInt64(seed)), "deterministic")
    }
    XCTAssertGreaterThan(starts.count, 30, "offsets vary with the seed")
  }

  func testTrainModeShortVideos() {
    // F > max(N, L) but a = 0: sorted random offsets in 0…F−L.
    let a = ClipSampler(clipLength: 4, frameInterval: 2, numClips: 4, mode: .train)
    for seed in 0..<20 {
      let offsets = a.sample(frameCount: 10, seed: UInt64(seed)).map { $0[0] }
      XCTAssertEqual(offsets, offsets.sorted())
      XCTAssertTrue(offsets.allSatisfy { (0...2).contains($0) })
    }
    // a = 0 and F ≤ max(N, L): offsets round(k·(F − L + 1)/N).
    let b = ClipSampler(clipLength: 4, frameInterval: 2, numClips: 4, mode: .train)
    XCTAssertEqual(b.sample(frameCount: 8, seed: 1).map { $0[0] }, [0, 0, 0, 1])
    // a < 0 (Python's floor division): all offsets 0, wrapping.
    let c = ClipSampler(clipLength: 8, frameInterval: 2, numClips: 2, mode: .train)
    XCTAssertEqual(
      c.sample(frameCount: 5, seed: 3), [[0, 2, 4, 1, 3, 0, 2, 4], [0, 2, 4, 1, 3, 0, 2, 4]])
  }
}
