import Compute
import Foundation

/// An entry that could not be loaded: where it came from and why.
public struct SkippedEntry: Error, CustomStringConvertible, Sendable {
  /// Position of the entry in its list (0-based).
  public var index: Int
  /// The reason, naming the file (and line) of the entry.
  public var message: String
  public init(index: Int, message: String) {
    self.index = index
    self.message = message
  }
  public var description: String { message }
}

/// Loads samples on background threads, ahead of the consumer, in a fixed order.
///
/// `next()` returns batches in the order given to `init`, however the workers interleave:
/// each sample's randomness comes from `SeededRandom(seed: mix(seed, epoch, index))`, so a
/// run is deterministic for a seed whatever the thread timing. At most `depth` batches are
/// loaded ahead, bounding memory. An entry whose `load` throws is left out of its batch and
/// reported in `Batch.skipped`; the batch may then be smaller than `batchSize` (or empty).
public final class BatchLoader<Sample>: @unchecked Sendable {
  /// A batch: the samples that loaded, their list indices, and the entries that did not.
  public struct Batch {
    public var samples: [Sample]
    public var indices: [Int]
    public var skipped: [SkippedEntry]
  }

  private let order: [Int]
  private let batchSize: Int
  private let depth: Int
  private let load: (Int, inout SeededRandom) throws -> Sample
  private let seed: UInt64
  private let epoch: Int
  private var results: [Result<Sample, Error>?]
  private var nextPosition = 0  // next position in `order` a worker takes
  private var consumed = 0  // positions handed out through `next()`
  private var stopped = false
  private let cond = NSCondition()
  private var threads: [Thread] = []
  private let finished = DispatchGroup()

  /// - Parameters:
  ///   - order: list indices in the order to deliver them (e.g. a seeded permutation).
  ///   - workers: background threads (≥ 1).
  ///   - depth: batches that may be loaded ahead of the consumer (≥ 1).
  ///   - load: loads one entry; throws for a bad entry. Called concurrently.
  public init(
    order: [Int], batchSize: Int, workers: Int, depth: Int = 3, seed: UInt64, epoch: Int,
    load: @escaping (Int, inout SeededRandom) throws -> Sample
  ) {
    precondition(batchSize >= 1 && workers >= 1 && depth >= 1, "BatchLoader: bad sizes")
    self.order = order
    self.batchSize = batchSize
    self.depth = depth
    self.load = load
    self.seed = seed
    self.epoch = epoch
    self.results = Array(repeating: nil, count: order.count)
    for _ in 0..<workers {
      finished.enter()
      let t = Thread { [self] in self.work() }
      t.stackSize = 8 << 20
      threads.append(t)
      t.start()
    }
  }

  deinit { stop() }

  /// Number of batches an epoch yields.
  public var batchCount: Int { (order.count + batchSize - 1) / batchSize }

  /// Stops the workers (pending loads finish) and waits for them.
  public func stop() {
    cond.lock()
    stopped = true
    cond.broadcast()
    cond.unlock()
    finished.wait()
  }

  /// The seed of the sample at list index `index` in this epoch.
  public static func sampleSeed(seed: UInt64, epoch: Int, index: Int) -> UInt64 {
    var r = SeededRandom(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0x9E37_79B9_7F4A_7C15))
    var s = SeededRandom(seed: r.next() ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
    return s.next()
  }

  private func work() {
    defer { finished.leave() }
    while true {
      cond.lock()
      // Wait while the position to load is more than `depth` batches ahead of the consumer.
      while !stopped && nextPosition < order.count && nextPosition >= consumed + depth * batchSize {
        cond.wait()
      }
      if stopped || nextPosition >= order.count {
        cond.unlock()
        return
      }
      let position = nextPosition
      nextPosition += 1
      cond.unlock()

      let index = order[position]
      var rng = SeededRandom(seed: Self.sampleSeed(seed: seed, epoch: epoch, index: index))
      let result = Result { try load(index, &rng) }

      cond.lock()
      results[position] = result
      cond.broadcast()
      cond.unlock()
    }
  }

  /// The next batch, waiting for its samples; nil after the last one.
  public func next() -> Batch? {
    cond.lock()
    defer { cond.unlock() }
    let start = consumed
    if start >= order.count { return nil }
    let end = Swift.min(start + batchSize, order.count)
    while (start..<end).contains(where: { results[$0] == nil }) { cond.wait() }
    var batch = Batch(samples: [], indices: [], skipped: [])
    for position in start..<end {
      switch results[position] {
      case .success(let s)?:
        batch.samples.append(s)
        batch.indices.append(order[position])
      case .failure(let e)?:
        let message = (e as? SkippedEntry)?.message ?? String(describing: e)
        batch.skipped.append(SkippedEntry(index: order[position], message: message))
      case nil:
        break
      }
      results[position] = nil  // release the sample's memory
    }
    consumed = end
    cond.broadcast()
    return batch
  }
}

/// A seeded permutation of `0..<n` (Fisher–Yates).
public func seededPermutation(_ n: Int, seed: UInt64) -> [Int] {
  var rng = SeededRandom(seed: seed)
  var a = Array(0..<n)
  if n < 2 { return a }
  for i in stride(from: n - 1, to: 0, by: -1) {
    let j = Int(rng.next() % UInt64(i + 1))
    a.swapAt(i, j)
  }
  return a
}
