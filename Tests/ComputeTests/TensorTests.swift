import XCTest

@testable import Compute

/// Tensor storage: small zero tensors on the heap, large ones as lazily zeroed mappings; both
/// read as zeros, take writes, grow and are freed alike.
final class TensorTests: XCTestCase {
  func testZeroStorageSmallAndLarge() {
    let floats = Tensor.lazyZeroBytes / MemoryLayout<Float>.stride
    for (count, lazy) in [(floats - 1, false), (floats, true), (3 * floats + 5, true)] {
      let t = Tensor(zeros: [count])  // [count]
      XCTAssertEqual(t.isLazilyZeroed, lazy, "\(count)")
      XCTAssertEqual(Int(bitPattern: t.pointer) % 64, 0, "aligned to 64 bytes")
      XCTAssertTrue(t.buffer.allSatisfy { $0 == 0 })
      for i in stride(from: 0, to: count, by: 997) { t.pointer[i] = Float(i) }
      XCTAssertEqual(t.pointer[997], 997)
      let view = Tensor(viewOf: t, offset: 997, shape: [2])
      XCTAssertEqual(view.array, [997, 0])
      t.reshape(to: [2 * count])  // grows: new storage, contents undefined
      t.fill(1)
      XCTAssertFalse(t.isLazilyZeroed)
      XCTAssertEqual(t.buffer.reduce(0, +), Float(2 * count))
    }
  }
}
