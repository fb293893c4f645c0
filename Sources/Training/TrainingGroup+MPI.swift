// The ranks of an `mpirun` job as a training group: every method one or two collectives of
// `Communicator` (each with a bounded wait), in the same order on every rank.
//
// Messages: the per-batch counts travel as doubles in one all-reduce (exact below 2^53);
// skipped entries, file bytes and validation rows as bytes (`ShardWriter`, the format of
// `eval`'s shards), gathered on or broadcast from rank 0.

import Compute
import Datasets
import Distributed
import Foundation
import Inference
import Models
import SafeTensors

/// Several processes of an `mpirun` job, rank 0 the owner.
public final class MPITrainingGroup: TrainingGroup {
  public let communicator: Communicator
  /// Floats per gradient all-reduce bucket (`GradientBuckets`).
  public let bucketFloats: Int

  /// - Precondition: `bucketFloats ≥ 1`.
  public init(communicator: Communicator, bucketFloats: Int = GradientBuckets.defaultBucketFloats) {
    precondition(bucketFloats >= 1, "bucket size must be positive")
    self.communicator = communicator
    self.bucketFloats = bucketFloats
  }

  public var size: Int { communicator.size }
  public var isOwner: Bool { communicator.isRoot }

  public func share(of order: [Int], batchSize: Int) -> [Int] {
    rankShare(of: order, batchSize: batchSize, rank: communicator.rank, ranks: communicator.size)
  }

  public func adoptOwnersWeights(_ store: ParameterStore) throws {
    try communicator.broadcast(store.values.pointer, count: store.values.count, root: 0)
  }

  public func ownersFile(at path: String) throws -> SafeTensorsFile? {
    var bytes: [UInt8] = []
    var checked: SafeTensorsFile?
    if communicator.isRoot, FileManager.default.fileExists(atPath: path) {
      // Read once and verified here first: a bad file is rank 0's error, before anything is
      // sent, and the bytes sent are the bytes verified.
      let data = try SafeTensorsFile.readWholeFile(path: path)
      checked = try SafeTensorsFile.parse(data, path: path)
      bytes = [UInt8](data)
    }
    bytes = try communicator.broadcast(bytes: bytes, root: 0)
    if let checked { return checked }
    return bytes.isEmpty ? nil : try SafeTensorsFile.parse(Data(bytes), path: path)
  }

  /// One all-reduce of the counts; the skipped entries are gathered on rank 0 only when some
  /// rank has any (every rank knows it from the counts).
  public func exchange(loaded: Int, skipped: [SkippedEntry]) throws -> BatchShare {
    let (rank, ranks) = (communicator.rank, communicator.size)
    // counts [ranks + 1]: samples loaded per rank, then entries skipped on all ranks.
    var counts = [Double](repeating: 0, count: ranks + 1)
    counts[rank] = Double(loaded)
    counts[ranks] = Double(skipped.count)
    try communicator.allReduceSum(&counts)
    var total = 0
    var offset = 0
    for r in 0..<ranks {
      if r < rank { offset += Int(counts[r]) }
      total += Int(counts[r])
    }
    var share = BatchShare(
      total: total, offset: offset, skippedCount: Int(counts[ranks]), skipped: [])
    guard share.skippedCount > 0 else { return share }
    // Rank order is position order in the global batch: the order one process meets them.
    if let parts = try gather(
      { skipped },
      encode: { entries in
        var w = ShardWriter()
        w.skippedEntries(entries)
        return w.bytes
      },
      decode: { bytes in
        var r = ShardReader(bytes)
        let entries = try r.skippedEntries()
        guard r.isAtEnd else {
          throw ShardDecodingError(
            description: "skipped entries: malformed message of \(bytes.count) bytes")
        }
        return entries
      })
    {
      share.skipped = parts.flatMap { $0 }
    }
    return share
  }

  public func gradientSync(for model: VCoSwinModel) -> any GradientSync {
    let buckets = GradientBuckets(
      communicator: communicator, store: model.store, bucketFloats: bucketFloats)
    model.onGradientsFinal = { buckets.gradientsFinal(from: $0) }
    return buckets
  }

  public func sum(_ values: inout [Double]) throws { try communicator.allReduceSum(&values) }

  public func maximum(_ values: inout [Double]) throws { try communicator.allReduceMax(&values) }

  /// Compares the sum of the weights across ranks, exactly.
  public func checkReplicasAgree(_ store: ParameterStore, epoch: Int) throws {
    let w = store.values
    var sum = 0.0
    for i in 0..<w.count { sum += Double(w.pointer[i]) }
    var extremes = [sum, -sum]
    try communicator.allReduceMax(&extremes)
    guard extremes[0] == -extremes[1] else {
      throw TrainingError(
        "epoch \(epoch): the ranks' weights differ (sums from \(-extremes[1]) to \(extremes[0])); "
          + "the processes must run the same build on the same kind of CPU, with the same --threads"
      )
    }
  }

  public func validationEntries(count: Int, granule: Int) -> Range<Int> {
    ShardedWork.block(count: count, granule: granule, on: communicator)
  }

  public func gather<Part>(
    _ work: () throws -> Part, encode: (Part) -> [UInt8], decode: ([UInt8]) throws -> Part
  ) throws -> [Part]? {
    try ShardedWork.gather(on: communicator) { encode(try work()) }?.map(decode)
  }
}
