import Models
import XCTest

/// The memory estimates that commands check before they start: floors that refuse only what
/// cannot fit, so each stays below the peak measured for the same step
/// (`Docs/BENCHMARKS.md`, "Activation recompute": `swin3d_t`, 2×3×16×224², 4850 MB keeping
/// activations and 1718 MB with recompute).
final class MemoryEstimateTests: XCTestCase {
  func testTrainingEstimatesAreFloorsOfTheMeasuredPeaks() throws {
    let config = try ModelConfig.preset("swin3d_t", dims: 3)
    let sizes = [16, 224, 224]
    let kept = config.trainingBytes(batch: 2, input: sizes)
    let recomputed = config.trainingBytes(batch: 2, input: sizes, recompute: true)
    let inference = config.inferenceBytes(batch: 2, input: sizes)
    XCTAssertLessThanOrEqual(kept, 4_850_000_000)
    XCTAssertLessThanOrEqual(recomputed, 1_718_000_000)
    // Recompute keeps block inputs and one block's intermediates: far less than every block's.
    XCTAssertLessThan(Double(recomputed), 0.6 * Double(kept))
    XCTAssertGreaterThan(recomputed, inference)
    // Saturates instead of overflowing.
    XCTAssertEqual(
      config.trainingBytes(batch: Int.max / 2, input: sizes, recompute: true), Int.max)
  }
}
