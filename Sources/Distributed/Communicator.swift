// The processes of a run and the collectives between them: the only type that calls MPI.
//
// Launched by `mpirun`, every process holds `Communicator.world` over MPI_COMM_WORLD; launched
// alone, `world` is a one-process communicator that never loads MPI's state (no `MPI_Init`), so
// a plain run costs nothing extra. Every blocking collective is a non-blocking MPI call polled
// with `MPI_Test` until it completes or a deadline passes (`timeout`): a dead or stalled rank
// turns into a `DistributedError` on the others, never a hang.

import CMPI
import Foundation
import TerminalText

/// The processes of a job (MPI's world communicator, or this process alone).
///
/// Calls are made from one thread at a time (MPI is initialised `MPI_THREAD_SERIALIZED`); a
/// command calls them from its own thread. Collectives must be called by every rank in the
/// same order with matching sizes, as MPI requires.
public final class Communicator: @unchecked Sendable {
  /// The environment variable holding the collective timeout in seconds.
  public static let timeoutVariable = "VCOSWIN_MPI_TIMEOUT"
  /// The collective timeout when `VCOSWIN_MPI_TIMEOUT` is unset: 300 s, well above the longest
  /// legitimate wait (rank 0 writing a checkpoint while the others wait at the next collective).
  public static let defaultTimeout: Double = 300
  /// The timeouts `VCOSWIN_MPI_TIMEOUT` may set: 0.1 s (below it every collective, even one
  /// between idle ranks, would time out at once) to one week, 604 800 s (a wait longer than
  /// any run's longest step; beyond it the deadline arithmetic is pointless).
  public static let timeoutRange: ClosedRange<Double> = 0.1...604_800

  /// This process's communicator: over MPI when launched by `mpirun` (Open MPI's
  /// `OMPI_COMM_WORLD_SIZE` or PMIx's `PMIX_RANK` is set), else a one-process communicator.
  ///
  /// A bad `VCOSWIN_MPI_TIMEOUT`, or an `MPI_Init` that fails, prints `error: …` and exits
  /// with status 1 (there is no caller to throw to).
  public static let world: Communicator = {
    let environment = ProcessInfo.processInfo.environment
    let timeout: Double
    switch parseTimeout(environment[timeoutVariable]) {
    case .success(let value): timeout = value
    case .failure(let failure): exitWithError(failure.message)
    }
    let launched = environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    guard launched else { return Communicator(single: timeout) }
    do {
      return try Communicator(mpiWorld: timeout)
    } catch {
      exitWithError("MPI start-up: \(error)")
    }
  }()

  /// This process's rank, 0..<size.
  public let rank: Int
  /// How many processes the job has.
  public let size: Int
  /// The longest a collective waits for the other ranks, in seconds.
  public let timeout: Double
  /// Whether the collectives go through MPI (false for a one-process communicator made without
  /// `mpirun`; a job of one MPI process still uses MPI).
  public let usesMPI: Bool
  /// Several processes: the collectives exchange data.
  public var isDistributed: Bool { size > 1 }
  /// The rank that owns files and console output.
  public var isRoot: Bool { rank == 0 }

  /// MPI_COMM_WORLD, or nil for a one-process communicator.
  let comm: MPI_Comm?
  private var finalized = false

  /// A one-process communicator: every collective is the identity, nothing calls MPI.
  public init(single timeout: Double = Communicator.defaultTimeout) {
    rank = 0
    size = 1
    self.timeout = timeout
    usesMPI = false
    comm = nil
  }

  /// Initialises MPI (`MPI_THREAD_SERIALIZED`) and wraps MPI_COMM_WORLD, with errors returned as
  /// codes (`MPI_ERRORS_RETURN`) rather than aborting the job.
  private init(mpiWorld timeout: Double) throws {
    var initialized: Int32 = 0
    MPI_Initialized(&initialized)
    if initialized == 0 {
      var provided: Int32 = 0
      let code = MPI_Init_thread(nil, nil, vc_mpi_thread_serialized(), &provided)
      try Communicator.check(code, "MPI_Init_thread", rank: 0, size: 0)
    }
    let world = vc_mpi_comm_world()
    try Communicator.check(
      MPI_Comm_set_errhandler(world, vc_mpi_errors_return()), "MPI_Comm_set_errhandler",
      rank: 0, size: 0)
    var rank: Int32 = 0
    var size: Int32 = 0
    try Communicator.check(MPI_Comm_rank(world, &rank), "MPI_Comm_rank", rank: 0, size: 0)
    try Communicator.check(MPI_Comm_size(world, &size), "MPI_Comm_size", rank: 0, size: 0)
    self.rank = Int(rank)
    self.size = Int(size)
    self.timeout = timeout
    usesMPI = true
    comm = world
  }

  /// Ends MPI (`MPI_Finalize`) after the last collective; a no-op without MPI or when called
  /// again. Call on every rank before a normal exit.
  public func finalize() {
    guard comm != nil, !finalized else { return }
    finalized = true
    var done: Int32 = 0
    MPI_Finalized(&done)
    if done == 0 { MPI_Finalize() }
  }

  /// Stops every process of the job (`MPI_Abort`) with exit status `code`; without MPI, exits
  /// this process. For errors after which the other ranks cannot go on (a failed collective,
  /// a failure on one rank only).
  public func abort(code: Int32) -> Never {
    if let comm, !finalized {
      MPI_Abort(comm, code)
    }
    exit(code)
  }

  /// Reads `VCOSWIN_MPI_TIMEOUT`: unset → `defaultTimeout`; otherwise a number of seconds in
  /// `timeoutRange` (0.1 s … 1 week).
  static func parseTimeout(_ text: String?) -> Result<Double, TimeoutSettingError> {
    guard let text else { return .success(defaultTimeout) }
    guard let value = Double(text.trimmingCharacters(in: .whitespaces)),
      timeoutRange.contains(value)
    else {
      return .failure(
        TimeoutSettingError(
          message:
            "\(timeoutVariable) must be a number of seconds from 0.1 to 604800 (one week) (got '\(text)')"
        ))
    }
    return .success(value)
  }

  struct TimeoutSettingError: Error { var message: String }

  private static func exitWithError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message.escapedForTerminal)\n".utf8))
    exit(1)
  }

  /// Throws a `DistributedError` naming `operation` when `code` is not `MPI_SUCCESS`.
  static func check(_ code: Int32, _ operation: String, rank: Int, size: Int) throws {
    guard code != vc_mpi_success() else { return }
    throw DistributedError(
      operation: operation, rank: rank, size: size,
      reason: .mpi(code: code, message: errorString(code)))
  }

  /// `MPI_Error_string` of `code`.
  static func errorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: Int(vc_mpi_max_error_string()) + 1)
    var length: Int32 = 0
    guard MPI_Error_string(code, &buffer, &length) == vc_mpi_success() else {
      return "unknown error"
    }
    let bytes = buffer[..<Int(max(0, min(length, Int32(buffer.count))))]
    return String(decoding: bytes.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
