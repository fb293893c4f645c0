// The per-head attention products, AVX-512 kernels and BLAS path alike, against `naiveGemm`
// (strided operands as the layer passes them), and the whole layer with the kernels off.

import Compute
import Foundation
@testable import NN
import XCTest
import _TestSupport

final class AttentionProductsTests: XCTestCase {
  override func tearDown() {
    KernelSet.current = .best
    super.tearDown()
  }

  func testProductsMatchNaiveGemm() {
    var rng = SeededRandom(seed: 94)
    let paths = VectorISA.best == .avx512 ? [true, false] : [false]
    for avx512 in paths {
      KernelSet.current.vector = avx512 ? .avx512 : .portable
      // d = 24 and n = 600 (scratch too small) take the BLAS path on every CPU.
      for (n, d) in [
        (1, 32), (7, 16), (49, 32), (64, 64), (196, 32), (203, 48), (49, 24),
        (600, 32),
      ] {
        let ld = 3 * d + 5  // strided rows, as q, k, v inside the qkv rows
        let a = randomTensor([n, ld], &rng), b = randomTensor([n, ld], &rng)
        let p = randomTensor([n, n], &rng)
        let c = Tensor(zeros: [n, n + 3]), cRef = Tensor(zeros: [n, n + 3])
        attentionProductABt(
          m: n, n: n, d: d, alpha: 0.5, a: a.pointer, lda: ld, b: b.pointer, ldb: ld,
          c: c.pointer, ldc: n + 3)
        naiveGemm(
          .none, .transposed, m: n, n: n, k: d, alpha: 0.5, a: a.pointer, lda: ld, b: b.pointer,
          ldb: ld, c: cRef.pointer, ldc: n + 3)
        assertClose(c, cRef, atol: 1e-5, rtol: 1e-5, "abt avx512 \(avx512) n \(n) d \(d)")
        let o = Tensor(zeros: [n, ld]), oRef = Tensor(zeros: [n, ld])
        attentionProductAB(
          m: n, d: d, k: n, alpha: 0.25, a: p.pointer, lda: n, b: b.pointer, ldb: ld,
          c: o.pointer, ldc: ld)
        naiveGemm(
          .none, .none, m: n, n: d, k: n, alpha: 0.25, a: p.pointer, lda: n, b: b.pointer,
          ldb: ld, c: oRef.pointer, ldc: ld)
        assertClose(o, oRef, atol: 1e-5, rtol: 1e-5, "ab avx512 \(avx512) n \(n) d \(d)")
        attentionProductAtB(
          m: n, d: d, k: n, alpha: 0.25, a: p.pointer, lda: n, b: b.pointer, ldb: ld,
          c: o.pointer, ldc: ld)
        naiveGemm(
          .transposed, .none, m: n, n: d, k: n, alpha: 0.25, a: p.pointer, lda: n,
          b: b.pointer, ldb: ld, c: oRef.pointer, ldc: ld)
        assertClose(o, oRef, atol: 1e-5, rtol: 1e-5, "atb avx512 \(avx512) n \(n) d \(d)")
      }
    }
  }

  /// The layer gives the same output and gradients with the kernels on and off.
  func testLayerAgreesWithBLASPath() throws {
    try XCTSkipUnless(VectorISA.best == .avx512, "no AVX-512 on this CPU")
    func run(_ avx512: Bool) -> [Float] {
      KernelSet.current.vector = avx512 ? .avx512 : .portable
      var rng = SeededRandom(seed: 95)
      let store = ParameterStore()
      let layer = WindowAttention(
        store: store, name: "attn", dim: 64, heads: 2, window: [2, 7, 7], shift: [1, 3, 3],
        rng: &rng)
      store.finalize()
      let x = randomTensor([1, 4, 14, 14, 64], &rng)
      let y = layer.forward(x, training: true).array
      let dx = layer.backward(randomTensor(x.shape, &rng)).array
      return y + dx + store.grads.array
    }
    let fast = run(true), blas = run(false)
    var worst: Float = 0
    for i in fast.indices { worst = max(worst, abs(fast[i] - blas[i]) / (1e-5 + abs(blas[i]))) }
    XCTAssertLessThan(worst, 1e-2, "relative difference of output and gradients")
  }
}
