import Foundation
import XCTest
import _TestSupport

/// The memory check counts every process `mpirun` started on this machine: each needs its own
/// share, so `need × OMPI_COMM_WORLD_LOCAL_SIZE` must fit. Run without `mpirun`, the variable
/// set in the child's environment.
final class LocalProcessesTests: TemporaryFolderTestCase {
  func run(_ arguments: [String], localSize: String) throws -> CLIRun {
    try runVCoSwin(
      arguments, bundleOf: Self.self, environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": localSize])
  }

  var finetune: [String] {
    [
      "finetune", "--train", clips("train.txt"), "--val", clips("val.txt"), "--init",
      clips("default-model.safetensors"), "--out", folder.appendingPathComponent("run").path,
      "--epochs", "1",
    ]
  }

  var classify: [String] {
    ["classify", clips("val/0000.mkv"), "--checkpoint", clips("default-model.safetensors")]
  }

  /// A step that fits one process (the tests' own runs train this model) is refused when a
  /// billion processes share the machine; the message says how many, and nothing is written.
  func testNeedTimesLocalProcessesMustFit() throws {
    for arguments in [finetune, classify] {
      let r = try run(arguments, localSize: "1000000000")
      XCTAssertFalse(r.crashed, r.stderr)
      XCTAssertEqual(r.status, 1, r.stderr)
      XCTAssertTrue(
        r.diagnostics.hasPrefix("error: ")
          && r.diagnostics.contains(
            "of memory in each of the 1000000000 processes sharing this machine, ")
          && r.diagnostics.contains(" in all; this machine has "), r.diagnostics)
      XCTAssertEqual(r.stdout, "", arguments[0])
    }
    XCTAssertFalse(
      FileManager.default.fileExists(atPath: folder.appendingPathComponent("run").path))
  }

  /// A value that is not a whole number ≥ 1 is an error naming the variable and the value.
  func testBadLocalSizeIsAnError() throws {
    for value in ["two", "0", "-3", "1.5", ""] {
      let r = try run(classify, localSize: value)
      XCTAssertFalse(r.crashed, r.stderr)
      XCTAssertEqual(r.status, 1, "\(value): \(r.stderr)")
      XCTAssertEqual(
        r.diagnostics,
        "error: OMPI_COMM_WORLD_LOCAL_SIZE='\(value)': not a whole number of processes ≥ 1 (mpirun sets it to the processes it started on this machine)\n",
        value)
    }
    let fine = try run(classify, localSize: "1")
    XCTAssertEqual(fine.status, 0, fine.stderr)
  }
}
