import Compute
import Foundation
import XCTest
import _TestSupport

private func random(_ n: Int, _ rng: inout SeededRandom) -> [Float] {
  (0..<n).map { _ in 2 * rng.uniform() - 1 }
}

final class GEMMTests: XCTestCase {
  /// Every transpose combination, with padded leading dimensions, alpha and beta, against
  /// the naive reference on random (odd) shapes.
  func testAllTransposeCombinations() {
    var rng = SeededRandom(seed: 11)
    for trial in 0..<12 {
      let m = 1 + Int(rng.next() % 37)
      let n = 1 + Int(rng.next() % 41)
      let k = 1 + Int(rng.next() % 29)
      for ta in [Transpose.none, .transposed] {
        for tb in [Transpose.none, .transposed] {
          let (ar, ac) = ta == .none ? (m, k) : (k, m)
          let (br, bc) = tb == .none ? (k, n) : (n, k)
          let lda = ac + trial % 3, ldb = bc + 1, ldc = n + 2
          let a = random(ar * lda, &rng), b = random(br * ldb, &rng)
          let c0 = random(m * ldc, &rng)
          var c = c0, ref = c0
          let alpha: Float = trial % 2 == 0 ? 1 : -0.7
          let beta: Float = [0, 1, 0.5][trial % 3]
          a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
              c.withUnsafeMutableBufferPointer { cp in
                gemm(
                  ta, tb, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: lda,
                  b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc)
              }
              ref.withUnsafeMutableBufferPointer { cp in
                naiveGemm(
                  ta, tb, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: lda,
                  b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc)
              }
            }
          }
          assertClose(c, ref, atol: 1e-5, rtol: 1e-5, "gemm \(ta) \(tb) \(m)x\(n)x\(k)")
        }
      }
    }
  }

  /// Strided batches (with gaps between matrices) against one naive GEMM per batch entry.
  func testStridedBatches() {
    var rng = SeededRandom(seed: 12)
    for (batch, m, n, k) in [(1, 5, 7, 3), (9, 13, 6, 11), (40, 7, 7, 16)] {
      for ta in [Transpose.none, .transposed] {
        for tb in [Transpose.none, .transposed] {
          let lda = ta == .none ? k : m, ldb = tb == .none ? n : k, ldc = n
          let sa = (ta == .none ? m : k) * lda + 3
          let sb = (tb == .none ? k : n) * ldb + 1
          let sc = m * ldc + 2
          let a = random(batch * sa, &rng), b = random(batch * sb, &rng)
          let c0 = random(batch * sc, &rng)
          var c = c0, ref = c0
          a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
              c.withUnsafeMutableBufferPointer { cp in
                batchedGemm(
                  ta, tb, batch: batch, m: m, n: n, k: k, alpha: 0.5,
                  a: ap.baseAddress!, lda: lda, strideA: sa, b: bp.baseAddress!, ldb: ldb,
                  strideB: sb, beta: 1, c: cp.baseAddress!, ldc: ldc, strideC: sc)
              }
              ref.withUnsafeMutableBufferPointer { cp in
                for g in 0..<batch {
                  naiveGemm(
                    ta, tb, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress! + g * sa,
                    lda: lda, b: bp.baseAddress! + g * sb, ldb: ldb, beta: 1,
                    c: cp.baseAddress! + g * sc, ldc: ldc)
                }
              }
            }
          }
          assertClose(c, ref, atol: 1e-5, rtol: 1e-5, "batched \(batch) \(ta) \(tb)")
        }
      }
    }
  }

  func testZeroInnerDimensionScalesC() {
    var c: [Float] = [1, 2, 3, 4]
    let a: [Float] = [0], b: [Float] = [0]
    a.withUnsafeBufferPointer { ap in
      b.withUnsafeBufferPointer { bp in
        c.withUnsafeMutableBufferPointer { cp in
          gemm(
            .none, .none, m: 2, n: 2, k: 0, a: ap.baseAddress!, lda: 1, b: bp.baseAddress!,
            ldb: 2, beta: 0.5, c: cp.baseAddress!, ldc: 2)
        }
      }
    }
    XCTAssertEqual(c, [0.5, 1, 1.5, 2])
  }
}

final class VectorMathTests: XCTestCase {
  func testExpAndErfAccuracy() {
    func exp1(_ x: Float) -> Float { Vec8.exp(SIMD8(repeating: x))[0] }
    func erf1(_ x: Float) -> Float { Vec8.erf(SIMD8(repeating: x))[0] }
    var worstExp: Double = 0
    var worstErf: Double = 0
    var x: Float = -20
    while x <= 20 {
      let e = Double(exp1(x))
      worstExp = max(worstExp, abs(e - Foundation.exp(Double(x))) / Foundation.exp(Double(x)))
      worstErf = max(worstErf, abs(Double(erf1(x)) - Foundation.erf(Double(x))))
      x += 0.001
    }
    XCTAssertLessThan(worstExp, 3e-7, "exp relative error")
    XCTAssertLessThan(worstErf, 5e-7, "erf absolute error")
    XCTAssertEqual(exp1(-100), 0)
    XCTAssertEqual(erf1(10), 1)
    XCTAssertEqual(erf1(-10), -1)
  }

  func testReductions() {
    var rng = SeededRandom(seed: 3)
    let v = random(37, &rng), u = random(37, &rng)
    v.withUnsafeBufferPointer { vp in
      u.withUnsafeBufferPointer { up in
        XCTAssertEqual(Vec8.sum(vp.baseAddress!, 37), v.reduce(0, +), accuracy: 1e-5)
        XCTAssertEqual(Vec8.max(vp.baseAddress!, 37), v.max()!)
        XCTAssertEqual(
          Vec8.dot(vp.baseAddress!, up.baseAddress!, 37), zip(u, v).map(*).reduce(0, +),
          accuracy: 1e-5)
      }
    }
  }

  /// Column sums against a Double loop, on a shape whose strips and row blocks are uneven.
  func testColumnSumAccumulate() {
    var rng = SeededRandom(seed: 4)
    let rows = 1000, cols = 77
    let src = random(rows * cols, &rng)
    var dst = [Float](repeating: 1, count: cols)
    src.withUnsafeBufferPointer { s in
      dst.withUnsafeMutableBufferPointer { d in
        columnSumAccumulate(d.baseAddress!, s.baseAddress!, rows: rows, cols: cols)
      }
    }
    for c in 0..<cols {
      var acc = 1.0
      for r in 0..<rows { acc += Double(src[r * cols + c]) }
      XCTAssertEqual(Double(dst[c]), acc, accuracy: 1e-4)
    }
  }

  func testParallelChunksCoversRangeOnce() {
    for n in [0, 1, 5, 1000, 100_000] {
      var hits = [Int32](repeating: 0, count: n)
      hits.withUnsafeMutableBufferPointer { h in
        let p = h.baseAddress
        parallelChunks(n, grain: 100) { range in for i in range { p?[i] += 1 } }
      }
      XCTAssertTrue(hits.allSatisfy { $0 == 1 }, "n = \(n)")
    }
  }
}
