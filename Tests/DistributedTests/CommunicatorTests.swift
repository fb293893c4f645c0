import XCTest

@testable import Distributed

/// The one-process communicator (no MPI) and the timeout setting. Collectives between real
/// processes are tested through `mpirun` in `CLITests/DistributedTrainingTests`.
final class CommunicatorTests: XCTestCase {
  func testSingleProcessCollectivesAreTheIdentity() throws {
    let c = Communicator(single: 5)
    XCTAssertEqual(c.rank, 0)
    XCTAssertEqual(c.size, 1)
    XCTAssertFalse(c.isDistributed)
    XCTAssertTrue(c.isRoot)
    XCTAssertFalse(c.usesMPI)
    try c.barrier()
    var floats: [Float] = [1, -2, 3.5]
    try floats.withUnsafeMutableBufferPointer { p in
      try c.allReduceSum(p.baseAddress!, count: p.count)
      let request = try c.startAllReduceSum(p.baseAddress!, count: p.count)
      XCTAssertTrue(request.isComplete)
      try request.wait()
      try c.broadcast(p.baseAddress!, count: p.count, root: 0)
    }
    XCTAssertEqual(floats, [1, -2, 3.5])
    var doubles = [2.0, 7.0]
    try c.allReduceSum(&doubles)
    try c.allReduceMax(&doubles)
    XCTAssertEqual(doubles, [2, 7])
    XCTAssertEqual(try c.broadcast(bytes: [9, 8], root: 0), [9, 8])
    XCTAssertEqual(try c.gather(bytes: [1, 2, 3], root: 0), [[1, 2, 3]])
    c.finalize()
  }

  func testWorldWithoutLauncherIsOneProcess() {
    // The test process is not started by mpirun: `world` must not initialise MPI.
    XCTAssertNil(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"])
    XCTAssertEqual(Communicator.world.size, 1)
    XCTAssertFalse(Communicator.world.usesMPI)
  }

  func testTimeoutSetting() throws {
    XCTAssertEqual(try Communicator.parseTimeout(nil).get(), Communicator.defaultTimeout)
    XCTAssertEqual(try Communicator.parseTimeout("2.5").get(), 2.5)
    XCTAssertEqual(try Communicator.parseTimeout("0.1").get(), 0.1)
    XCTAssertEqual(try Communicator.parseTimeout("604800").get(), 604_800)
    for bad in ["0", "-1", "abc", "inf", "", "nan", "1e-320", "0.09", "604801", "1e300"] {
      guard case .failure(let error) = Communicator.parseTimeout(bad) else {
        return XCTFail("accepted VCOSWIN_MPI_TIMEOUT=\(bad)")
      }
      XCTAssertTrue(error.message.contains("VCOSWIN_MPI_TIMEOUT"), error.message)
      XCTAssertTrue(error.message.contains("'\(bad)'"), error.message)
    }
  }

  func testErrorNamesCollectiveRankAndTimeout() {
    let error = DistributedError(
      operation: "allReduceSum (12 floats)", rank: 1, size: 2, reason: .timeout(seconds: 30))
    XCTAssertEqual(
      error.description,
      "rank 1 of 2: allReduceSum (12 floats) did not finish within 30 s (VCOSWIN_MPI_TIMEOUT); "
        + "another rank has probably died or stalled")
  }
}
