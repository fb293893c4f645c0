import Compute
import Foundation
import XCTest

@testable import Datasets

final class BatchLoaderTests: XCTestCase {
  struct Bad: Error {}

  /// Batches come in the given order, bad entries are skipped and reported, and each sample's
  /// randomness depends only on (seed, epoch, index), not on thread timing.
  func testOrderSkipsAndDeterminism() {
    let order = seededPermutation(37, seed: 3)
    XCTAssertEqual(order.sorted(), Array(0..<37))
    func run(workers: Int) -> (indices: [Int], values: [UInt64], skipped: [Int]) {
      let loader = BatchLoader<UInt64>(
        order: order, batchSize: 5, workers: workers, depth: 2,
        seed: 11, epoch: 2
      ) { index, rng in
        if index % 10 == 7 {
          throw SkippedEntry(index: index, message: "list.txt:\(index + 1): bad")
        }
        usleep(UInt32((index * 37) % 5) * 200)
        return rng.next()
      }
      var indices: [Int] = [], values: [UInt64] = [], skipped: [Int] = []
      var batches = 0
      while let b = loader.next() {
        batches += 1
        indices += b.indices
        values += b.samples
        skipped += b.skipped.map(\.index)
        XCTAssertTrue(b.skipped.allSatisfy { $0.message.hasPrefix("list.txt:") })
      }
      XCTAssertEqual(batches, 8)
      return (indices, values, skipped)
    }
    let one = run(workers: 1)
    let three = run(workers: 3)
    XCTAssertEqual(one.indices, order.filter { $0 % 10 != 7 })
    XCTAssertEqual(Set(one.skipped), [7, 17, 27])
    XCTAssertEqual(one.indices, three.indices)
    XCTAssertEqual(one.values, three.values)
    XCTAssertEqual(Set(one.values).count, one.values.count)
  }

  /// Threads of this process now (Linux: /proc/self/task).
  func liveThreads() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
  }

  /// A loader dropped before its last batch is freed, and its threads end.
  func testDroppedLoaderIsFreedAndItsThreadsEnd() {
    let threadsBefore = liveThreads()
    weak var dropped: BatchLoader<Int>?
    do {
      let loader = BatchLoader<Int>(
        order: Array(0..<100), batchSize: 4, workers: 3, depth: 1,
        seed: 1, epoch: 0
      ) { i, _ in i }
      dropped = loader
      XCTAssertEqual(liveLoaderWorkers.value, 3)
      XCTAssertEqual(loader.next()?.samples, [0, 1, 2, 3])
    }
    XCTAssertNil(dropped, "the workers keep the loader alive")
    XCTAssertEqual(liveLoaderWorkers.value, 0)
    var threads = liveThreads()
    let deadline = Date().addingTimeInterval(2)
    while threads > threadsBefore && Date() < deadline {
      usleep(10_000)
      threads = liveThreads()
    }
    XCTAssertLessThanOrEqual(threads, threadsBefore)
  }

  /// Stopping early does not hang or leak the workers.
  func testStopEarly() {
    let loader = BatchLoader<Int>(
      order: Array(0..<100), batchSize: 4, workers: 2, depth: 1,
      seed: 1, epoch: 0
    ) { i, _ in i }
    XCTAssertEqual(loader.next()?.samples, [0, 1, 2, 3])
    loader.stop()
  }
}
