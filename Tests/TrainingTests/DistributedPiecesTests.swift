import Compute
import Datasets
import Distributed
import Foundation
import Models
import XCTest

@testable import Training

/// The pieces of distributed training that one process can check: the backward hook that
/// starts gradient buckets, the buckets themselves, a rank's share of an epoch, and drop-path
/// draws that follow a sample's position in the global batch.
final class DistributedPiecesTests: XCTestCase {
  func config(dropPath: Double) throws -> ModelConfig {
    try ModelConfig(
      variant: .coswin, dims: 2, embedDim: 8, depths: [1, 2], heads: [1, 2],
      windows: [[4, 4], [2, 2]],
      embedKernel: [7, 7], embedStride: [4, 4], embedPadding: [2, 2], mergeKernel: [3, 3],
      mergeStride: [2, 2],
      mergePadding: [1, 1], dropPath: dropPath, classes: 5)
  }

  func input(batch: Int, seed: UInt64) -> Tensor {
    var rng = SeededRandom(seed: seed)
    let x = Tensor(zeros: [batch, 3, 32, 32])
    for i in 0..<x.count { x.pointer[i] = rng.normal() }
    return x
  }

  /// Each offset the hook reports ends a suffix of the gradient buffer that is already final
  /// (equal to the gradient after the whole backward), while the rest is not; offsets fall
  /// strictly and end at 0.
  func testBackwardReportsFinalGradientSuffixes() throws {
    let model = VCoSwinModel(config: try config(dropPath: 0), seed: 2)
    let grads = model.store.grads
    var reports: [(offset: Int, snapshot: [Float])] = []
    model.onGradientsFinal = { offset in
      reports.append((offset, Array(UnsafeBufferPointer(start: grads.pointer, count: grads.count))))
    }
    model.store.zeroGrads()
    let output = try model.forward(input(batch: 2, seed: 1), training: true)
    let dlogits = Tensor(zeros: output.logits.shape)
    for i in 0..<dlogits.count { dlogits.pointer[i] = Float(i % 3) - 1 }
    model.backward(dlogits)
    let final = Array(UnsafeBufferPointer(start: grads.pointer, count: grads.count))
    let offsets = reports.map(\.offset)
    XCTAssertGreaterThanOrEqual(offsets.count, 5, "\(offsets)")
    XCTAssertEqual(offsets.last, 0)
    XCTAssertEqual(offsets, offsets.sorted(by: >), "\(offsets)")
    XCTAssertEqual(Set(offsets).count, offsets.count, "\(offsets)")
    let starts = Set(model.store.parameters.map(\.offset))
    for (offset, snapshot) in reports {
      XCTAssertTrue(starts.contains(offset), "\(offset) is not where a parameter starts")
      XCTAssertEqual(
        Array(snapshot[offset...]), Array(final[offset...]), "suffix from \(offset) not final")
      if offset > 0 {
        XCTAssertNotEqual(
          Array(snapshot[..<offset]), Array(final[..<offset]), "nothing left before \(offset)")
      }
    }
  }

  /// Buckets tile the buffer from its end, in the order backward finishes gradients; one
  /// process sums nothing and leaves the gradients as they are.
  func testBucketsTileTheBufferFromItsEnd() throws {
    let model = VCoSwinModel(config: try config(dropPath: 0), seed: 2)
    let total = model.store.grads.count
    let buckets = GradientBuckets(
      communicator: Communicator(single: 1), store: model.store, bucketFloats: 1000)
    XCTAssertEqual(buckets.ranges.count, (total + 999) / 1000)
    XCTAssertEqual(buckets.ranges.first?.upperBound, total)
    XCTAssertEqual(buckets.ranges.last?.lowerBound, 0)
    for (a, b) in zip(buckets.ranges, buckets.ranges.dropFirst()) {
      XCTAssertEqual(a.lowerBound, b.upperBound)
    }
    for i in 0..<total { model.store.grads.pointer[i] = Float(i) }
    buckets.arm()
    buckets.gradientsFinal(from: total / 2)
    try buckets.finish()
    XCTAssertEqual(model.store.grads.pointer[total - 1], Float(total - 1))
  }

  /// Rank shares: each global batch of b·N positions gives rank r its slice of b; together, in
  /// batch-then-rank order, they are the permutation; the short last batch may leave ranks out.
  func testRankSharesSplitGlobalBatches() {
    let order = [9, 3, 7, 1, 0, 8, 2, 6, 5, 4, 10]
    XCTAssertEqual(rankShare(of: order, batchSize: 2, rank: 0, ranks: 3), [9, 3, 2, 6])
    XCTAssertEqual(rankShare(of: order, batchSize: 2, rank: 1, ranks: 3), [7, 1, 5, 4])
    XCTAssertEqual(rankShare(of: order, batchSize: 2, rank: 2, ranks: 3), [0, 8, 10])
    XCTAssertEqual(rankShare(of: order, batchSize: 4, rank: 1, ranks: 3), [0, 8, 2, 6])
    XCTAssertEqual(rankShare(of: order, batchSize: 4, rank: 2, ranks: 3), [5, 4, 10])
    XCTAssertEqual(rankShare(of: order, batchSize: 8, rank: 1, ranks: 2), [5, 4, 10])
    XCTAssertEqual(rankShare(of: order, batchSize: 3, rank: 0, ranks: 1), order)
    for ranks in 1...4 {
      for b in 1...5 {
        let shares = (0..<ranks).map { rankShare(of: order, batchSize: b, rank: $0, ranks: ranks) }
        var rebuilt: [Int] = []
        for k in 0..<((order.count + b * ranks - 1) / (b * ranks)) {
          for share in shares where k * b < share.count {
            rebuilt += share[(k * b)..<Swift.min(share.count, (k + 1) * b)]
          }
        }
        XCTAssertEqual(rebuilt, order, "b \(b), ranks \(ranks)")
      }
    }
  }

  /// A rank running samples 2 and 3 of a global batch draws drop path as one process running
  /// samples 0…3 draws for them (`skippingSamples: 2`); without skipping it draws otherwise.
  func testDropPathFollowsTheGlobalBatchPosition() throws {
    let model = VCoSwinModel(config: try config(dropPath: 0.5), seed: 4)
    let all = input(batch: 4, seed: 9)
    let per = all.count / 4
    let tail = Tensor(viewOf: all, offset: 2 * per, shape: [2, 3, 32, 32]).clone()
    model.reseedStochasticDepth(77)
    let whole = try model.forward(all, training: true).logits.clone()
    model.reseedStochasticDepth(77, skippingSamples: 2)
    let skipped = try model.forward(tail, training: true).logits.clone()
    model.reseedStochasticDepth(77)
    let unskipped = try model.forward(tail, training: true).logits.clone()
    let k = whole.shape[1]
    var same = 0.0
    var differ = 0.0
    for i in 0..<(2 * k) {
      same = Swift.max(same, Double(abs(whole.pointer[2 * k + i] - skipped.pointer[i])))
      differ = Swift.max(differ, Double(abs(whole.pointer[2 * k + i] - unskipped.pointer[i])))
    }
    // The branches of a fresh model are small: dropping one moves the logits by ~1e-4.
    XCTAssertLessThan(same, 1e-6, "differ \(differ)")
    XCTAssertGreaterThan(differ, 1e-5)
  }
}
