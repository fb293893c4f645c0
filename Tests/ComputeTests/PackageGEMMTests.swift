import Compute
import Foundation
import XCTest

/// The package's AVX-512 GEMM kernel (`GEMMKernel.avx512`) beside OpenBLAS's, against the
/// naive reference, and its results under every split `gemm` makes of it.
final class PackageGEMMTests: XCTestCase {
  private var savedKernel = KernelSet.current.gemm
  private var savedThreads = ThreadBudget.threads

  override func setUp() {
    savedKernel = KernelSet.current.gemm
    savedThreads = ThreadBudget.threads
  }

  override func tearDown() {
    KernelSet.current.gemm = savedKernel
    ThreadBudget.threads = savedThreads
  }

  /// Every kernel this CPU runs (OpenBLAS always; the package's where the CPU has AVX-512).
  private var kernels: [GEMMKernel] { GEMMKernel.allCases.filter(\.isAvailable) }

  /// The package's kernel alone: on a CPU without AVX-512 it cannot run, and the test says so
  /// instead of passing silently.
  private func requireKernel() throws {
    try XCTSkipUnless(GEMMKernel.avx512.isAvailable, "this CPU has no AVX-512")
  }

  private func random(_ n: Int, _ rng: inout SeededRandom) -> [Float] {
    (0..<n).map { _ in 2 * rng.uniform() - 1 }
  }

  /// One product on `kernel`: C [m, ldc] starts as `c0`, and the result is returned.
  private func product(
    _ kernel: GEMMKernel, _ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int,
    alpha: Float, a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float, c0: [Float], ldc: Int
  ) -> [Float] {
    KernelSet.current.gemm = kernel
    var c = c0
    a.withUnsafeBufferPointer { ap in
      b.withUnsafeBufferPointer { bp in
        c.withUnsafeMutableBufferPointer { cp in
          gemm(
            ta, tb, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: lda,
            b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc)
        }
      }
    }
    return c
  }

  /// Shapes on both sides of every tile and block edge (14-row strips, 32-column panels,
  /// 256-deep K blocks, the L2 block of panels), every transpose pair, padded strides, alpha and
  /// beta; C is NaN where beta = 0 (never read) and a sentinel in the padding (never written).
  /// Tolerance: |c − ref| ≤ 1e-6·k + 1e-5·|ref| (Float32 sums of k products of values in ±1).
  /// Runs every kernel this CPU has (OpenBLAS alone on a CPU without AVX-512).
  func testKernelsAgainstNaive() throws {
    var rng = SeededRandom(seed: 21)
    let shapes = [
      (1, 1, 1), (13, 31, 255), (14, 32, 256), (15, 33, 257), (29, 65, 513), (100, 97, 96),
      (3, 200, 700), (40, 1100, 130),
    ]
    for (trial, (m, n, k)) in shapes.enumerated() {
      for ta in [Transpose.none, .transposed] {
        for tb in [Transpose.none, .transposed] {
          let (ar, ac) = ta == .none ? (m, k) : (k, m)
          let (br, bc) = tb == .none ? (k, n) : (n, k)
          let lda = ac + trial % 3, ldb = bc + 1, ldc = n + 2
          let a = random(ar * lda, &rng), b = random(br * ldb, &rng)
          let alpha: Float = trial % 2 == 0 ? 1 : -0.7
          let beta: Float = [0, 1, 0.5][trial % 3]
          var c0 = random(m * ldc, &rng)
          for i in 0..<m {
            for j in 0..<ldc {
              if j >= n { c0[i * ldc + j] = 42 } else if beta == 0 { c0[i * ldc + j] = .nan }
            }
          }
          var ref = c0
          a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
              ref.withUnsafeMutableBufferPointer { cp in
                naiveGemm(
                  ta, tb, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: lda,
                  b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc)
              }
            }
          }
          for kernel in kernels {
            let c = product(
              kernel, ta, tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
              beta: beta, c0: c0, ldc: ldc)
            let label = "\(kernel) \(ta) \(tb) \(m)×\(n)×\(k)"
            for i in 0..<m * ldc where !(abs(c[i] - ref[i]) <= 1e-6 * Float(k) + 1e-5 * abs(ref[i]))
            {
              XCTFail("\(label) [\(i / ldc), \(i % ldc)]: \(c[i]) vs \(ref[i])")
              break
            }
          }
        }
      }
    }
  }

  /// `gemm` splits a product by row strips (many rows), by column panels (a few hundred rows),
  /// or not at all (one thread): every split gives the same bits, so results do not depend on
  /// the thread count. Also within a parallel region (one thread, whatever the budget).
  func testSplitsGiveTheSameBits() throws {
    try requireKernel()
    var rng = SeededRandom(seed: 22)
    // (m, n, k): rows split (m ≥ 512 per thread), columns split, a transposed A (dW's form).
    let cases: [(Transpose, Transpose, Int, Int, Int)] = [
      (.none, .transposed, 1200, 96, 300), (.none, .none, 300, 512, 384),
      (.transposed, .none, 384, 200, 700), (.none, .transposed, 130, 1000, 97),
    ]
    for (ta, tb, m, n, k) in cases {
      let a = random(m * k, &rng), b = random(k * n, &rng)
      let (lda, ldb) = (ta == .none ? k : m, tb == .none ? n : k)
      let c0 = random(m * n, &rng)
      var results: [[Float]] = []
      for threads in [1, 2, 3] {
        ThreadBudget.threads = threads
        results.append(
          product(
            .avx512, ta, tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
            beta: 1, c0: c0, ldc: n))
      }
      ThreadBudget.threads = 2
      var inRegion: [Float] = []
      parallelFor(2) { w in
        guard w == 0 else { return }
        inRegion = self.product(
          .avx512, ta, tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
          beta: 1, c0: c0, ldc: n)
      }
      results.append(inRegion)
      for (i, r) in results.enumerated().dropFirst() {
        XCTAssertTrue(r == results[0], "\(ta) \(tb) \(m)×\(n)×\(k): split \(i) differs")
      }
    }
  }
}

extension PackageGEMMTests {
  /// `gemm`'s `bias` (added to every row) on both kernels and at beta 0 and 1, against the
  /// naive product plus the bias; on the package's kernel also split over threads.
  func testBiasAddedToEveryRow() throws {
    var rng = SeededRandom(seed: 23)
    for (m, n, k) in [(5, 7, 3), (300, 100, 270), (1100, 70, 40)] {
      let a = random(m * k, &rng), w = random(n * k, &rng), bias = random(n, &rng)
      let c0 = random(m * n, &rng)
      for beta: Float in [0, 1] {
        var ref = c0
        a.withUnsafeBufferPointer { ap in
          w.withUnsafeBufferPointer { wp in
            ref.withUnsafeMutableBufferPointer { cp in
              naiveGemm(
                .none, .transposed, m: m, n: n, k: k, a: ap.baseAddress!, lda: k,
                b: wp.baseAddress!, ldb: k, beta: beta, c: cp.baseAddress!, ldc: n)
            }
          }
        }
        for i in 0..<m * n { ref[i] += bias[i % n] }
        for kernel in kernels {
          for threads in [1, 2] {
            ThreadBudget.threads = threads
            KernelSet.current.gemm = kernel
            var c = c0
            a.withUnsafeBufferPointer { ap in
              w.withUnsafeBufferPointer { wp in
                bias.withUnsafeBufferPointer { bp in
                  c.withUnsafeMutableBufferPointer { cp in
                    gemm(
                      .none, .transposed, m: m, n: n, k: k, a: ap.baseAddress!, lda: k,
                      b: wp.baseAddress!, ldb: k, beta: beta, bias: bp.baseAddress!,
                      c: cp.baseAddress!, ldc: n)
                  }
                }
              }
            }
            for i in 0..<m * n where !(abs(c[i] - ref[i]) <= 1e-6 * Float(k) + 1e-5 * abs(ref[i])) {
              XCTFail("\(kernel) \(threads) threads beta \(beta) \(m)×\(n)×\(k) [\(i)]")
              break
            }
          }
        }
      }
    }
  }

  /// `gemm`'s `then`: the row function sees the final C (after every K block, across panel
  /// groups and splits), into another buffer with its own stride or in place; the bits equal
  /// the function applied after a plain `gemm`.
  func testThenRunsOnTheFinalRows() throws {
    let square: GemmThen.RowFunction = { out, x, count in
      guard let out, let x else { return }
      for j in 0..<count { out[j] = x[j] * x[j] + 1 }
    }
    var rng = SeededRandom(seed: 24)
    for (m, n, k) in [(9, 5, 3), (300, 600, 530), (1100, 70, 40)] {
      let a = random(m * k, &rng), w = random(n * k, &rng), bias = random(n, &rng)
      for kernel in kernels {
        for threads in [1, 2] {
          ThreadBudget.threads = threads
          KernelSet.current.gemm = kernel
          var plain = [Float](repeating: 0, count: m * n)
          var c = plain
          var out = [Float](repeating: .nan, count: m * (n + 3))  // [m, n + 3]
          var inPlace = plain
          a.withUnsafeBufferPointer { ap in
            w.withUnsafeBufferPointer { wp in
              bias.withUnsafeBufferPointer { bp in
                func run(_ c: UnsafeMutablePointer<Float>, _ then: GemmThen?) {
                  gemm(
                    .none, .transposed, m: m, n: n, k: k, a: ap.baseAddress!, lda: k,
                    b: wp.baseAddress!, ldb: k, bias: bp.baseAddress!, c: c, ldc: n, then: then)
                }
                plain.withUnsafeMutableBufferPointer { run($0.baseAddress!, nil) }
                c.withUnsafeMutableBufferPointer { cp in
                  out.withUnsafeMutableBufferPointer { op in
                    run(cp.baseAddress!, GemmThen(square, out: op.baseAddress!, ldo: n + 3))
                  }
                }
                inPlace.withUnsafeMutableBufferPointer { ip in
                  run(ip.baseAddress!, GemmThen(square, out: ip.baseAddress!, ldo: n))
                }
              }
            }
          }
          let what = "\(kernel) \(threads) threads \(m)×\(n)×\(k)"
          XCTAssertEqual(c, plain, "\(what): C itself unchanged")
          let want = plain.map { $0 * $0 + 1 }
          XCTAssertEqual(inPlace, want, "\(what): in place")
          for i in 0..<m {
            XCTAssertEqual(
              Array(out[(i * (n + 3))..<(i * (n + 3) + n)]), Array(want[(i * n)..<(i * n + n)]),
              "\(what): row \(i)")
            XCTAssertTrue(
              out[(i * (n + 3) + n)..<(i * (n + 3) + n + 3)].allSatisfy(\.isNaN), "\(what): padding"
            )
          }
        }
      }
    }
  }
}
