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

/// A count shared by threads (for tests: `liveLoaderWorkers`).
final class LiveCount: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0
  func add(_ delta: Int) {
    lock.lock()
    count += delta
    lock.unlock()
  }
  var value: Int {
    lock.lock()
    defer { lock.unlock() }
    return count
  }
}

/// Worker threads of every `BatchLoader` now running: 0 whenever no loader is alive.
let liveLoaderWorkers = LiveCount()

/// Loads samples on background threads, ahead of the consumer, in a fixed order.
///
/// `next()` returns batches in the order given to `init`, however the workers interleave:
/// each sample's randomness comes from `SeededRandom(seed: mix(seed, epoch, index))`, so a
/// run is deterministic for a seed whatever the thread timing. At most `depth` batches are
/// loaded ahead, bounding memory. An entry whose `load` throws is left out of its batch and
/// reported in `Batch.skipped`; the batch may then be smaller than `batchSize` (or empty).
///
/// The workers hold only the shared queue (`Queue`), never the loader itself, so dropping the
/// last reference to a loader frees it, and its `deinit` stops and joins the workers — also
/// when the consumer leaves early by an error. Callers still `defer { loader.stop() }` so the
/// threads end at a known point.
public final class BatchLoader<Sample>: @unchecked Sendable {
  /// A batch: the samples that loaded, their list indices, and the entries that did not.
  public struct Batch {
    public var samples: [Sample]
    public var indices: [Int]
    public var skipped: [SkippedEntry]
    public init(samples: [Sample], indices: [Int], skipped: [SkippedEntry]) {
      self.samples = samples
      self.indices = indices
      self.skipped = skipped
    }
  }

  /// What the workers share with the consumer, guarded by `cond`.
  private final class Queue: @unchecked Sendable {
    let order: [Int]
    let batchSize: Int
    let depth: Int
    let load: (Int, inout SeededRandom) throws -> Sample
    let seed: UInt64
    let epoch: Int
    var results: [Result<Sample, Error>?]
    var nextPosition = 0  // next position in `order` a worker takes
    var consumed = 0  // positions handed out through `next()`
    var stopped = false
    let cond = NSCondition()
    let finished = DispatchGroup()

    init(
      order: [Int], batchSize: Int, depth: Int, seed: UInt64, epoch: Int,
      load: @escaping (Int, inout SeededRandom) throws -> Sample
    ) {
      self.order = order
      self.batchSize = batchSize
      self.depth = depth
      self.load = load
      self.seed = seed
      self.epoch = epoch
      self.results = Array(repeating: nil, count: order.count)
    }

    func work() {
      defer {
        liveLoaderWorkers.add(-1)
        finished.leave()
      }
      while true {
        cond.lock()
        // Wait while the position to load is more than `depth` batches ahead of the consumer.
        while !stopped && nextPosition < order.count && nextPosition >= consumed + depth * batchSize
        {
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
        var rng = SeededRandom(seed: BatchLoader.sampleSeed(seed: seed, epoch: epoch, index: index))
        let result = Result { try load(index, &rng) }

        cond.lock()
        results[position] = result
        cond.broadcast()
        cond.unlock()
      }
    }
  }

  private let queue: Queue

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
    let queue = Queue(
      order: order, batchSize: batchSize, depth: depth, seed: seed, epoch: epoch, load: load)
    self.queue = queue
    for _ in 0..<workers {
      queue.finished.enter()
      liveLoaderWorkers.add(1)
      let t = Thread { queue.work() }
      t.stackSize = 8 << 20
      t.start()
    }
  }

  deinit { stop() }

  /// Number of batches an epoch yields.
  public var batchCount: Int { (queue.order.count + queue.batchSize - 1) / queue.batchSize }

  /// Stops the workers (pending loads finish) and waits for them. Safe to call again.
  public func stop() {
    queue.cond.lock()
    queue.stopped = true
    queue.cond.broadcast()
    queue.cond.unlock()
    queue.finished.wait()
  }

  /// The seed of the sample at list index `index` in this epoch.
  public static func sampleSeed(seed: UInt64, epoch: Int, index: Int) -> UInt64 {
    var r = SeededRandom(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0x9E37_79B9_7F4A_7C15))
    var s = SeededRandom(
      seed: r.next() ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
    return s.next()
  }

  /// The next batch, waiting for its samples; nil after the last one (or after `stop()`).
  public func next() -> Batch? {
    let q = queue
    q.cond.lock()
    defer { q.cond.unlock() }
    let start = q.consumed
    if start >= q.order.count || q.stopped { return nil }
    let end = Swift.min(start + q.batchSize, q.order.count)
    while (start..<end).contains(where: { q.results[$0] == nil }) { q.cond.wait() }
    var batch = Batch(samples: [], indices: [], skipped: [])
    for position in start..<end {
      switch q.results[position] {
      case .success(let s)?:
        batch.samples.append(s)
        batch.indices.append(q.order[position])
      case .failure(let e)?:
        let message = (e as? SkippedEntry)?.message ?? String(describing: e)
        batch.skipped.append(SkippedEntry(index: q.order[position], message: message))
      case nil:
        break
      }
      q.results[position] = nil  // release the sample's memory
    }
    q.consumed = end
    q.cond.broadcast()
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

/// The positions of `order` that rank `rank` of `ranks` trains on: from each global batch of
/// `batchSize · ranks` consecutive positions, the rank's slice of `batchSize`
/// (`[k·B + rank·b, k·B + (rank+1)·b)` with B = b·ranks, cut at the end of `order`).
///
/// Batches of `batchSize` over the result are the rank's parts of the global batches, in
/// order: only the epoch's last global batch may be short, so a rank's last part may be short
/// or missing (then the rank runs no samples in that batch, but still takes part in it).
/// With one rank the result is `order`. Preconditions: `batchSize ≥ 1`, `0 ≤ rank < ranks`.
public func rankShare(of order: [Int], batchSize b: Int, rank: Int, ranks: Int) -> [Int] {
  precondition(b >= 1 && ranks >= 1 && (0..<ranks).contains(rank), "rankShare: bad sizes")
  if ranks == 1 { return order }
  var share: [Int] = []
  share.reserveCapacity(order.count / ranks + b)
  var start = rank * b
  while start < order.count {
    share += order[start..<Swift.min(start + b, order.count)]
    start += b * ranks
  }
  return share
}
