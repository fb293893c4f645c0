// Gradient averaging of a distributed run: the flat gradient buffer all-reduced in buckets,
// each started as soon as backward has finished its gradients (as PyTorch's DDP does), so that
// communication overlaps the rest of backward.
//
// Legend: P parameters (floats) of the model; S bucket size (floats).
// Buffer: store.grads [P], cut from its end into buckets of S floats:
//   bucket k = [max(0, P − (k+1)·S), P − k·S),  k = 0, 1, …
// Backward finishes gradients from the end of the buffer towards its start (the head first,
// the embedding last; `VCoSwinModel.onGradientsFinal` reports the boundary), so the buckets are
// started in order k = 0, 1, … — the same order on every rank, as MPI requires.

import Compute
import Distributed

/// The all-reduce of one optimizer step's gradients, bucket by bucket.
///
/// Per step: `arm()` before the group's last backward, which then starts buckets through
/// `gradientsFinal(from:)`; `finish()` starts what is left (all of it when this rank ran no
/// backward in the last micro-batch) and waits for every bucket. Sums, not means: the caller
/// weights each rank's loss so that the sum is the global batch mean.
public final class GradientBuckets {
  public let communicator: Communicator
  public let store: ParameterStore
  /// Bucket ranges of `store.grads`, in the order they are started (from the end).
  public let ranges: [Range<Int>]
  private var requests: [AllReduceRequest] = []
  private var armed = false
  /// The first error of a bucket started from the backward hook (which cannot throw).
  private var failure: Error?

  /// The default bucket size: 25 MB of floats, DDP's default.
  public static let defaultBucketFloats = 25 * (1 << 20) / 4

  /// - Precondition: `bucketFloats ≥ 1`; `store` finalized.
  public init(communicator: Communicator, store: ParameterStore, bucketFloats: Int) {
    precondition(bucketFloats >= 1, "bucket size must be positive")
    self.communicator = communicator
    self.store = store
    let total = store.grads.count
    var ranges: [Range<Int>] = []
    var end = total
    while end > 0 {
      ranges.append(Swift.max(0, end - bucketFloats)..<end)
      end -= bucketFloats
    }
    self.ranges = ranges
  }

  /// The next backward's final gradients start their buckets at once.
  public func arm() { armed = true }

  /// From the backward hook: every gradient at or after `offset` is final. Starts the buckets
  /// lying wholly there, and advances those in flight (Open MPI progresses non-blocking
  /// collectives only inside MPI calls).
  public func gradientsFinal(from offset: Int) {
    guard armed, failure == nil else { return }
    do {
      try start(while: { $0.lowerBound >= offset })
      for request in requests { try request.test() }
    } catch {
      failure = error
    }
  }

  /// Starts the buckets not yet started, waits for all, and disarms.
  public func finish() throws {
    defer {
      armed = false
      requests = []
    }
    if let failure { throw failure }
    try start(while: { _ in true })
    for request in requests { try request.wait() }
  }

  private func start(while ready: (Range<Int>) -> Bool) throws {
    while requests.count < ranges.count, ready(ranges[requests.count]) {
      let range = ranges[requests.count]
      requests.append(
        try communicator.startAllReduceSum(
          store.grads.pointer + range.lowerBound, count: range.count))
    }
  }
}
