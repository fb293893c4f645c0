// The collectives: each one a non-blocking MPI call completed by `complete(_:operation:)`,
// which polls `MPI_Test` and throws a `DistributedError` once `timeout` has passed.
//
// MPI counts are `int`: float buffers are cut into chunks of at most `maxChunk` elements, byte
// messages above 2^31 − 1 bytes are refused with an error naming the size.

import CMPI
import Foundation

extension Communicator {
  /// The most elements one MPI call carries (2^30, below `Int32.max`).
  static let maxChunk = 1 << 30

  /// Waits until every rank has called `barrier`.
  public func barrier() throws {
    guard let comm else { return }
    var request: MPI_Request? = vc_mpi_request_null()
    try check(MPI_Ibarrier(comm, &request), "barrier")
    var requests = [request]
    try complete(&requests, operation: "barrier")
  }

  /// `p[i] ← Σ_ranks p[i]` for i in 0..<count, on every rank.
  ///
  /// - Precondition: `count ≥ 0`, the same on every rank.
  public func allReduceSum(_ p: UnsafeMutablePointer<Float>, count: Int) throws {
    try startAllReduceSum(p, count: count).wait()
  }

  /// `values[i] ← Σ_ranks values[i]` on every rank (loss sums, counts).
  public func allReduceSum(_ values: inout [Double]) throws {
    try allReduce(&values, op: vc_mpi_sum(), name: "allReduceSum")
  }

  /// `values[i] ← max_ranks values[i]` on every rank.
  public func allReduceMax(_ values: inout [Double]) throws {
    try allReduce(&values, op: vc_mpi_max(), name: "allReduceMax")
  }

  private func allReduce(_ values: inout [Double], op: MPI_Op?, name: String) throws {
    guard let comm, !values.isEmpty else { return }
    let operation = "\(name) (\(values.count) doubles)"
    guard values.count <= Communicator.maxChunk else {
      throw failure(operation, .mismatch("more than \(Communicator.maxChunk) values"))
    }
    // A buffer MPI may still write after a timeout: freed only once the call has completed.
    let buffer = UnsafeMutablePointer<Double>.allocate(capacity: values.count)
    buffer.initialize(from: values, count: values.count)
    var request: MPI_Request? = vc_mpi_request_null()
    try check(
      MPI_Iallreduce(
        vc_mpi_in_place(), buffer, Int32(values.count), vc_mpi_double(), op, comm, &request),
      operation)
    var requests = [request]
    try complete(&requests, operation: operation)
    values = Array(UnsafeBufferPointer(start: buffer, count: values.count))
    buffer.deallocate()
  }

  /// Starts `p[i] ← Σ_ranks p[i]` (i in 0..<count) and returns at once; `wait()` completes it.
  /// Until then the caller must neither read nor write `p[0..<count]`, and must keep it alive.
  /// Without MPI the request is already complete.
  ///
  /// - Precondition: `count ≥ 0`, the same on every rank, and requests started in the same
  ///   order on every rank.
  public func startAllReduceSum(_ p: UnsafeMutablePointer<Float>, count: Int) throws
    -> AllReduceRequest
  {
    precondition(count >= 0, "allReduceSum: negative count \(count)")
    let operation = "allReduceSum (\(count) floats)"
    guard let comm, count > 0 else {
      return AllReduceRequest(communicator: self, requests: [], operation: operation)
    }
    let requests = try chunks(count, operation) { offset, n, request in
      MPI_Iallreduce(
        vc_mpi_in_place(), p + offset, n, vc_mpi_float(), vc_mpi_sum(), comm, &request)
    }
    return AllReduceRequest(communicator: self, requests: requests, operation: operation)
  }

  /// Copies `p[0..<count]` of rank `root` into every rank's `p`.
  ///
  /// - Precondition: `count ≥ 0`, the same on every rank; `root` in 0..<size.
  public func broadcast(_ p: UnsafeMutablePointer<Float>, count: Int, root: Int) throws {
    precondition(count >= 0 && (0..<size).contains(root), "broadcast: bad count or root")
    guard let comm, count > 0 else { return }
    let operation = "broadcast (\(count) floats from rank \(root))"
    var requests = try chunks(count, operation) { offset, n, request in
      MPI_Ibcast(p + offset, n, vc_mpi_float(), Int32(root), comm, &request)
    }
    try complete(&requests, operation: operation)
  }

  /// Starts one non-blocking call per chunk of at most `maxChunk` of `count` elements:
  /// `start(offset, n, &request)` returns the MPI code of starting `[offset, offset + n)`.
  private func chunks(
    _ count: Int, _ operation: String,
    _ start: (_ offset: Int, _ n: Int32, _ request: inout MPI_Request?) -> Int32
  ) throws -> [MPI_Request?] {
    var requests: [MPI_Request?] = []
    var offset = 0
    while offset < count {
      let n = min(Communicator.maxChunk, count - offset)
      var request: MPI_Request? = vc_mpi_request_null()
      try check(start(offset, Int32(n), &request), operation)
      requests.append(request)
      offset += n
    }
    return requests
  }

  /// Rank `root`'s `bytes`, on every rank (other ranks' `bytes` are ignored; pass `[]`).
  public func broadcast(bytes: [UInt8], root: Int) throws -> [UInt8] {
    precondition((0..<size).contains(root), "broadcast: root \(root) outside 0..<\(size)")
    guard let comm else { return bytes }
    let operation = "broadcast (bytes from rank \(root))"
    let count = try broadcastCount(Int64(bytes.count), root: root, comm: comm, operation)
    guard count <= Int64(Int32.max) else {
      throw failure(operation, .mismatch("\(count) bytes is more than one MPI call carries"))
    }
    let n = Int(count)
    let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(n, 1))
    if rank == root { buffer.initialize(from: bytes, count: n) }
    var request: MPI_Request? = vc_mpi_request_null()
    try check(MPI_Ibcast(buffer, Int32(n), vc_mpi_byte(), Int32(root), comm, &request), operation)
    var requests = [request]
    try complete(&requests, operation: "\(operation), \(n) bytes")
    let result = Array(UnsafeBufferPointer(start: buffer, count: n))
    buffer.deallocate()
    return result
  }

  private func broadcastCount(
    _ value: Int64, root: Int, comm: MPI_Comm, _ operation: String
  ) throws -> Int64 {
    let cell = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    cell.initialize(to: value)
    var request: MPI_Request? = vc_mpi_request_null()
    try check(MPI_Ibcast(cell, 1, vc_mpi_int64(), Int32(root), comm, &request), operation)
    var requests = [request]
    try complete(&requests, operation: "\(operation), size")
    let result = cell.pointee
    cell.deallocate()
    return result
  }

  /// Every rank's bytes, in rank order, on `root` (nil elsewhere). Ranks may send different
  /// lengths; the total must stay below 2^31 bytes.
  public func gather(bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
    precondition((0..<size).contains(root), "gather: root \(root) outside 0..<\(size)")
    guard let comm else { return [bytes] }
    let operation = "gather (\(bytes.count) bytes to rank \(root))"
    let isRoot = rank == root
    // 1. Every rank's length, on root.
    let mine = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    mine.initialize(to: Int64(bytes.count))
    let lengths = UnsafeMutablePointer<Int64>.allocate(capacity: size)
    lengths.initialize(repeating: 0, count: size)
    var request: MPI_Request? = vc_mpi_request_null()
    try check(
      MPI_Igather(
        mine, 1, vc_mpi_int64(), lengths, 1, vc_mpi_int64(), Int32(root), comm, &request),
      operation)
    var requests = [request]
    try complete(&requests, operation: "\(operation), lengths")
    let counts = (0..<size).map { Int(lengths[$0]) }
    mine.deallocate()
    lengths.deallocate()
    let total = isRoot ? counts.reduce(0, +) : 0
    guard bytes.count <= Int(Int32.max), total <= Int(Int32.max) else {
      throw failure(operation, .mismatch("more than 2^31 − 1 bytes in total"))
    }
    // 2. The bytes, concatenated in rank order on root.
    let send = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
    send.initialize(from: bytes, count: bytes.count)
    let receive = UnsafeMutablePointer<UInt8>.allocate(capacity: max(total, 1))
    var receiveCounts = counts.map { Int32($0) }
    var displacements = [Int32](repeating: 0, count: size)
    for r in 1..<size {
      displacements[r] = displacements[r - 1] + receiveCounts[r - 1]
    }
    request = vc_mpi_request_null()
    let code = receiveCounts.withUnsafeMutableBufferPointer { countsPointer in
      displacements.withUnsafeMutableBufferPointer { displacementsPointer in
        MPI_Igatherv(
          send, Int32(bytes.count), vc_mpi_byte(), receive, countsPointer.baseAddress,
          displacementsPointer.baseAddress, vc_mpi_byte(), Int32(root), comm, &request)
      }
    }
    try check(code, operation)
    requests = [request]
    // MPI reads the count arrays until completion: keep them alive across `complete`.
    try withExtendedLifetime((receiveCounts, displacements)) {
      try complete(&requests, operation: operation)
    }
    defer {
      send.deallocate()
      receive.deallocate()
    }
    guard isRoot else { return nil }
    return (0..<size).map { r in
      Array(UnsafeBufferPointer(start: receive + Int(displacements[r]), count: counts[r]))
    }
  }

  // MARK: Completion and errors

  /// Polls `MPI_Test` on `requests` until all complete or `timeout` seconds pass. Spins
  /// (yielding the core) for the first 10 ms, then sleeps 100 µs between polls so a waiting rank
  /// leaves the CPU to others.
  ///
  /// After a timeout the requests stay pending and their buffers are left allocated: the caller
  /// must stop the job (`abort(code:)`), the communicator is no longer usable.
  func complete(_ requests: inout [MPI_Request?], operation: String) throws {
    let start = DispatchTime.now().uptimeNanoseconds
    while true {
      if try testAll(&requests, operation: operation) { return }
      let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
      if elapsed > timeout { throw failure(operation, .timeout(seconds: timeout)) }
      if elapsed < 0.01 { sched_yield() } else { usleep(100) }
    }
  }

  /// One `MPI_Test` on each pending request (it also advances MPI's progress engine); true when
  /// every request has completed.
  func testAll(_ requests: inout [MPI_Request?], operation: String) throws -> Bool {
    var done = true
    for i in requests.indices {
      var flag: Int32 = 0
      try check(MPI_Test(&requests[i], &flag, vc_mpi_status_ignore()), operation)
      if flag == 0 { done = false }
    }
    return done
  }

  func check(_ code: Int32, _ operation: String) throws {
    try Communicator.check(code, operation, rank: rank, size: size)
  }

  func failure(_ operation: String, _ reason: DistributedError.Reason) -> DistributedError {
    DistributedError(operation: operation, rank: rank, size: size, reason: reason)
  }
}

/// A sum all-reduce in flight (`Communicator.startAllReduceSum`): `test()` advances it,
/// `wait()` completes it within the communicator's timeout.
public final class AllReduceRequest: @unchecked Sendable {
  private let communicator: Communicator
  private var requests: [MPI_Request?]
  /// The collective and its size, for errors.
  public let operation: String
  /// True once the sum is in the buffer.
  public private(set) var isComplete: Bool

  init(communicator: Communicator, requests: [MPI_Request?], operation: String) {
    self.communicator = communicator
    self.requests = requests
    self.operation = operation
    isComplete = requests.isEmpty
  }

  /// Advances the reduction without blocking (Open MPI progresses non-blocking collectives
  /// only inside MPI calls); true once it has completed.
  @discardableResult
  public func test() throws -> Bool {
    if isComplete { return true }
    isComplete = try communicator.testAll(&requests, operation: operation)
    return isComplete
  }

  /// Blocks until the sum is in the buffer, or throws a `DistributedError` after the
  /// communicator's timeout.
  public func wait() throws {
    if isComplete { return }
    try communicator.complete(&requests, operation: operation)
    isComplete = true
  }
}
