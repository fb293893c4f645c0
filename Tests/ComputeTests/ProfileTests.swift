// The step profiler's accumulator: off by default, outermost scopes only, splits shared out in
// proportion to what their workers report, passes kept apart. A fake clock makes it exact.

import Compute
import XCTest

final class ProfileTests: XCTestCase {
  /// A clock that advances only when told to.
  nonisolated(unsafe) static var fakeNow = 0.0

  override func setUp() {
    super.setUp()
    Profile.reset()
    Profile.clock = { ProfileTests.fakeNow }
    Profile.pass = .forward
  }

  override func tearDown() {
    Profile.isEnabled = false
    Profile.clock = Profile.now
    Profile.reset()
    super.tearDown()
  }

  func testScopesRecordOnlyWhenEnabledAndOutermost() {
    func kernel(_ seconds: Double) {
      let scope = Profile.begin(.gelu)
      defer { Profile.end(scope) }
      ProfileTests.fakeNow += seconds
    }
    kernel(1)
    XCTAssertEqual(Profile.seconds(.gelu, .forward), 0, "off by default")
    Profile.isEnabled = true
    kernel(2)
    // A kernel calling another is charged to the outer one.
    let outer = Profile.begin(.linear)
    ProfileTests.fakeNow += 3
    kernel(4)
    Profile.end(outer)
    Profile.pass = .backward
    kernel(5)
    XCTAssertEqual(Profile.seconds(.gelu, .forward), 2)
    XCTAssertEqual(Profile.seconds(.linear, .forward), 7)
    XCTAssertEqual(Profile.seconds(.gelu, .backward), 5)
    Profile.reset()
    XCTAssertEqual(Profile.seconds(.gelu, .backward), 0)
  }

  func testSplitSharesElapsedTimeByReportedProportions() {
    Profile.isEnabled = true
    let scope = Profile.begin(.attentionCore)
    ProfileTests.fakeNow += 1  // the scope's own time
    Profile.split { split in
      XCTAssertNotNil(split)
      split?.add(.windowCopies, 1)
      split?.add(.attentionLinears, 3)
      ProfileTests.fakeNow += 8  // the section's elapsed time
    }
    Profile.end(scope)
    XCTAssertEqual(Profile.seconds(.attentionCore, .forward), 1)
    XCTAssertEqual(Profile.seconds(.windowCopies, .forward), 2)
    XCTAssertEqual(Profile.seconds(.attentionLinears, .forward), 6)
    // Without an open scope a split gets no accumulator.
    Profile.split { XCTAssertNil($0) }
  }

  func testLapChargesTimeSinceThePreviousLap() {
    let split: ProfileSplit? = nil
    var lap = ProfileLap(split)
    lap.lap(.gelu)  // no split: nothing to do, no crash
    Profile.isEnabled = true
    let scope = Profile.begin(.attentionCore)
    Profile.split { split in
      var lap = ProfileLap(split)
      Thread.sleep(forTimeInterval: 0.002)
      lap.lap(.windowCopies)
      ProfileTests.fakeNow += 1
    }
    Profile.end(scope)
    XCTAssertEqual(Profile.seconds(.windowCopies, .forward), 1, accuracy: 1e-12)
  }
}
