// The one error type of distributed runs: which collective failed, on which rank, and why.

/// A collective that failed or did not finish in time.
///
/// `description` is one line a person can act on, e.g.
/// `rank 1 of 2: allReduceSum (28288354 floats) did not finish within 300 s (VCOSWIN_MPI_TIMEOUT);
/// another rank has probably died`.
public struct DistributedError: Error, CustomStringConvertible, Sendable {
  /// Why the collective failed.
  public enum Reason: Sendable, Equatable {
    /// No completion within the communicator's timeout (seconds).
    case timeout(seconds: Double)
    /// MPI returned an error code; `message` is `MPI_Error_string`'s text.
    case mpi(code: Int32, message: String)
    /// The ranks disagree about the collective's shape (e.g. a broadcast size), or a size
    /// exceeds what MPI's `int` counts can carry.
    case mismatch(String)
  }

  /// The collective, with its size, e.g. `allReduceSum (1024 floats)`.
  public var operation: String
  /// The calling process's rank and the world size.
  public var rank: Int
  public var size: Int
  public var reason: Reason

  public init(operation: String, rank: Int, size: Int, reason: Reason) {
    self.operation = operation
    self.rank = rank
    self.size = size
    self.reason = reason
  }

  public var description: String {
    let head = "rank \(rank) of \(size): \(operation)"
    switch reason {
    case .timeout(let seconds):
      let shown = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
      return "\(head) did not finish within \(shown) s (\(Communicator.timeoutVariable)); "
        + "another rank has probably died or stalled"
    case .mpi(let code, let message):
      return "\(head) failed: MPI error \(code): \(message)"
    case .mismatch(let text):
      return "\(head) failed: \(text)"
    }
  }
}
