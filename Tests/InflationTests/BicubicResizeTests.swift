import XCTest

@testable import Inflation

final class BicubicResizeTests: XCTestCase {
  /// Same size in and out is the identity.
  func testIdentity() {
    let v = (0..<(3 * 5 * 5)).map { Float($0) * 0.1 }
    XCTAssertEqual(bicubicResize(v, planes: 3, height: 5, width: 5, toHeight: 5, toWidth: 5), v)
  }

  /// Bicubic weights sum to one, so a constant image stays constant at any size.
  func testConstantStaysConstant() {
    let v = [Float](repeating: 0.7, count: 2 * 13 * 13)
    let r = bicubicResize(v, planes: 2, height: 13, width: 13, toHeight: 9, toWidth: 17)
    XCTAssertEqual(r.count, 2 * 9 * 17)
    for x in r { XCTAssertEqual(x, 0.7, accuracy: 1e-6) }
  }

  /// Inflating a table repeats the 2D table along the outermost (time-offset) axis.
  func testBiasTableIsRepeatedAlongTime() {
    let g = 2
    let table = (0..<(5 * 5 * g)).map { Float($0) }  // window (3,3): [25, 2]
    let (shape, out) = inflateBiasTable(
      values: table, heads: g, window2D: (3, 3), window3D: (4, 3, 3))
    XCTAssertEqual(shape, [7 * 25, g])
    for t in 0..<7 { XCTAssertEqual(Array(out[(t * 25 * g)..<((t + 1) * 25 * g)]), table) }
  }

  /// Conv inflation: every temporal slice is W / Kt, so slices sum back to W.
  func testConvWeightSlicesSumToTheOriginal() {
    let w = (0..<(4 * 3 * 3 * 3)).map { Float($0) - 50 }
    let (shape, out) = inflateConvWeight(shape: [4, 3, 3, 3], values: w, temporalKernel: 3)
    XCTAssertEqual(shape, [4, 3, 3, 3, 3])
    for oi in 0..<12 {
      for p in 0..<9 {
        let s = (0..<3).reduce(Float(0)) { $0 + out[(oi * 3 + $1) * 9 + p] }
        XCTAssertEqual(s, w[oi * 9 + p], accuracy: 1e-4)
      }
    }
  }
}
