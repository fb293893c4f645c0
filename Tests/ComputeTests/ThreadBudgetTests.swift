import Foundation
import XCTest

@testable import Compute

/// `ThreadBudget`'s nesting depth belongs to a thread: a region's workers are inside it (their
/// nested loops run serially), other threads are not (they may start their own region).
final class ThreadBudgetTests: XCTestCase {
  /// What the workers of a region saw, written under a lock.
  private final class Seen: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Bool] = []
    func append(_ v: Bool) {
      lock.lock()
      values.append(v)
      lock.unlock()
    }
    var all: [Bool] {
      lock.lock()
      defer { lock.unlock() }
      return values
    }
  }

  func testDepthIsPerThread() {
    let saved = ThreadBudget.threads
    ThreadBudget.threads = 2
    defer { ThreadBudget.threads = saved }
    XCTAssertFalse(ThreadBudget.inParallelRegion)

    let seen = Seen()
    let entered = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)
    let other = Thread {
      parallelFor(2) { i in
        seen.append(ThreadBudget.inParallelRegion)
        if i == 0 {
          entered.signal()
          release.wait()
        }
      }
      seen.append(ThreadBudget.inParallelRegion)  // after the region: outside again
      finished.signal()
    }
    other.start()
    entered.wait()
    // Another thread's region is running; this thread is in none.
    XCTAssertFalse(ThreadBudget.inParallelRegion)
    parallelFor(2) { _ in }  // may start its own region, and ends it
    XCTAssertFalse(ThreadBudget.inParallelRegion)
    release.signal()
    finished.wait()

    // Both workers were inside the region, and the thread left it afterwards.
    XCTAssertEqual(seen.all, [true, true, false])
    // Inside a region, every worker sees it, so a nested loop runs serially on the worker.
    let inner = Seen()
    parallelFor(2) { _ in
      parallelFor(2) { _ in inner.append(ThreadBudget.inParallelRegion) }
    }
    XCTAssertEqual(inner.all, [true, true, true, true])
    XCTAssertFalse(ThreadBudget.inParallelRegion)
  }
}
