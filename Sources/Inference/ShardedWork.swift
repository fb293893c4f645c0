// Work on a list shared between the ranks of a distributed run: each rank runs a contiguous
// block, rank 0 gathers the parts in rank order (list order) and alone reports.

import Datasets
import Distributed

/// An error another rank met in its part of the work, as rank 0 reports it.
public struct RemoteRankError: Error, CustomStringConvertible, Sendable {
  /// The error's text, as the failing rank described it (naming its file).
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Runs a rank's part of a list and gathers the parts on rank 0.
public enum ShardedWork {
  /// The block of `0..<count` this rank of `world` takes: whole groups of `granule` entries
  /// (`shardRange`), everything in one process.
  public static func block(count: Int, granule: Int = 1, on world: Communicator) -> Range<Int> {
    shardRange(count: count, rank: world.rank, size: world.size, granule: granule)
  }

  /// Runs `work` (this rank's part, as bytes) and gathers every rank's part on rank 0, in rank
  /// order; nil on the other ranks. Without several ranks: `[work()]`, and `work`'s error as is.
  ///
  /// An error in `work` travels to rank 0, which throws the first in rank order (the one a
  /// single process meets first, for contiguous blocks) as a `RemoteRankError` carrying its
  /// text; the other ranks then return nil quietly.
  /// - Throws: that error; `DistributedError` when a rank dies or stalls.
  public static func gather(on world: Communicator, _ work: () throws -> [UInt8]) throws
    -> [[UInt8]]?
  {
    guard world.isDistributed else { return [try work()] }
    // Payload: 0 and the part, or 1 and the error's text.
    var payload: [UInt8]
    do {
      payload = [0] + (try work())
    } catch {
      payload = [1] + Array(String(describing: error).utf8)
    }
    guard let parts = try world.gather(bytes: payload, root: 0) else { return nil }
    if let failed = parts.first(where: { $0.first != 0 }) {
      throw RemoteRankError(String(decoding: failed.dropFirst(), as: UTF8.self))
    }
    return parts.map { Array($0.dropFirst()) }
  }
}
