// The one CPU check and the one dispatch value: the features read through CPUID agree with the
// kernel's view of the CPU (`/proc/cpuinfo` on Linux), each family picks the widest kernel the
// features allow, and the best set is one this CPU runs.

import Compute
import Foundation
import XCTest

final class KernelSetTests: XCTestCase {
  func testFeaturesAgreeWithTheOperatingSystem() throws {
    // The package runs on Linux, which always has /proc/cpuinfo: missing, the test fails.
    let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
    let line = try XCTUnwrap(
      text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
      "/proc/cpuinfo has no flags line")
    let flags = Set(line.split(separator: ":").last?.split(separator: " ").map(String.init) ?? [])
    let cpu = CPUFeatures.current
    XCTAssertEqual(cpu.contains(.avx2), flags.contains("avx2") && flags.contains("fma"))
    XCTAssertEqual(
      cpu.contains(.avx512),
      flags.isSuperset(of: ["avx2", "fma", "avx512f", "avx512dq"]))
    XCTAssertEqual(
      cpu.contains(.avx512bf16), cpu.contains(.avx512) && flags.contains("avx512_bf16"))
  }

  func testEachFamilyTakesTheWidestKernelTheFeaturesAllow() {
    XCTAssertEqual(KernelSet(cpu: []), KernelSet(gemm: .openBLAS, vector: .portable))
    XCTAssertEqual(KernelSet(cpu: .avx2), KernelSet(gemm: .openBLAS, vector: .avx2))
    XCTAssertEqual(KernelSet(cpu: [.avx2, .avx512]), KernelSet(gemm: .avx512, vector: .avx512))
    XCTAssertEqual(KernelSet.best, KernelSet(cpu: .current))
    XCTAssertTrue(KernelSet.best.isAvailable)
    XCTAssertEqual(VectorISA.supported.first, KernelSet.best.vector)
    XCTAssertEqual(VectorISA.supported.last, .portable)
    XCTAssertTrue(VectorISA.supported.allSatisfy(\.isAvailable))
  }
}
