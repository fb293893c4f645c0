// The C element-wise kernels (AVX-512, AVX2) against the naive references and the portable
// Swift code: GELU forward and backward, the AdamW update. Each instruction set the CPU runs
// is tested; on other CPUs only the portable path runs.

import Compute
import Foundation
@testable import NN
import XCTest
import _TestSupport

final class VectorISATests: XCTestCase {
  override func tearDown() {
    KernelSet.current = .best
    super.tearDown()
  }

  func testGELUOfEveryInstructionSetMatchesReference() {
    var rng = SeededRandom(seed: 91)
    for isa in VectorISA.supported {
      KernelSet.current.vector = isa
      for n in [1, 15, 16, 17, 100_003] {
        let x = randomTensor([n], &rng, scale: 6)
        x.pointer[0] = -30  // beyond erf's clamp and exp's underflow
        if n > 1 { x.pointer[1] = 30 }
        let dy = randomTensor([n], &rng)
        let y = Tensor(zeros: [n]), yRef = Tensor(zeros: [n])
        geluForward(y: y.pointer, x: x.pointer, count: n)
        naiveGeluForward(y: yRef.pointer, x: x.pointer, count: n)
        assertClose(y, yRef, atol: 1e-6, rtol: 1e-6, "gelu \(isa) \(n)")
        let dx = Tensor(zeros: [n]), dxRef = Tensor(zeros: [n])
        geluBackward(dx: dx.pointer, dy: dy.pointer, x: x.pointer, count: n)
        naiveGeluBackward(dx: dxRef.pointer, dy: dy.pointer, x: x.pointer, count: n)
        assertClose(dx, dxRef, atol: 1e-6, rtol: 1e-6, "gelu' \(isa) \(n)")
        // In place (y = x, dx = dy) gives the same answers.
        let xi = x.clone()
        geluForward(y: xi.pointer, x: xi.pointer, count: n)
        assertClose(xi, y, atol: 0, rtol: 0, "gelu in place \(isa)")
        let dyi = dy.clone()
        geluBackward(dx: dyi.pointer, dy: dyi.pointer, x: x.pointer, count: n)
        assertClose(dyi, dx, atol: 0, rtol: 0, "gelu' in place \(isa)")
      }
    }
  }

  /// Three AdamW steps over a store whose segments differ in decay and lrScale: every
  /// instruction set gives the portable code's parameters and moments (to rounding).
  func testAdamWOfEveryInstructionSetMatchesPortable() {
    func run(_ isa: VectorISA) -> [Float] {
      KernelSet.current.vector = isa
      var rng = SeededRandom(seed: 92)
      let store = ParameterStore()
      for (i, n) in [70_001, 33, 1, 65_536].enumerated() {
        let p = store.register("p\(i)", randomTensor([n], &rng), decay: i % 2 == 0)
        p.lrScale = i == 1 ? 0.1 : 1
      }
      store.finalize()
      let opt = AdamW(store: store, weightDecay: 0.05)
      for _ in 0..<3 {
        for i in 0..<store.count { store.grads.pointer[i] = rng.normal() }
        opt.update(lr: 1e-2)
      }
      return store.values.array + opt.m.array + opt.v.array
    }
    let reference = run(.portable)
    for isa in VectorISA.supported where isa != .portable {
      let got = run(isa)
      // Contracted multiply-adds round differently: |Δ| ≤ 1e-6 + 1e-4·|reference|.
      var worst: Float = 0
      for i in reference.indices {
        worst = max(worst, abs(got[i] - reference[i]) / (1e-6 + 1e-4 * abs(reference[i])))
      }
      XCTAssertLessThan(worst, 1, "AdamW \(isa) vs portable")
    }
  }

  /// `update(lr:zeroingGradients: true)` on every instruction set: the same parameters and
  /// moments as an update followed by `zeroGrads`, and every gradient 0 afterwards.
  func testAdamWZeroingGradientsEqualsUpdateThenZero() {
    for isa in VectorISA.supported {
      KernelSet.current.vector = isa
      var results: [[Float]] = []
      for fused in [false, true] {
        var rng = SeededRandom(seed: 95)
        let store = ParameterStore()
        for (i, n) in [1_001, 17].enumerated() {
          _ = store.register("p\(i)", randomTensor([n], &rng), decay: i == 0)
        }
        store.finalize()
        let opt = AdamW(store: store, weightDecay: 0.05)
        for _ in 0..<2 {
          for i in 0..<store.count { store.grads.pointer[i] = rng.normal() }
          opt.update(lr: 1e-2, zeroingGradients: fused)
          if !fused { store.zeroGrads() }
          XCTAssertTrue(store.grads.array.allSatisfy { $0 == 0 }, "\(isa) fused \(fused)")
        }
        results.append(store.values.array + opt.m.array + opt.v.array)
      }
      XCTAssertEqual(results[0], results[1], "\(isa)")
    }
  }
}
