// The fused attention softmax row (bias, shift mask, cut-off) on every path the CPU has
// (AVX-512, AVX2, portable) against a Double reference, with no subnormal probabilities under
// the mask; and its backward row (with the bias-gradient sum) against the same in Double.

import Compute
import Foundation
@testable import NN
import XCTest

final class AttentionSoftmaxTests: XCTestCase {
  override func tearDown() {
    KernelSet.current = .best
    super.tearDown()
  }

  /// softmax(s + bias + mask) in Double, with probabilities below e^cut of the maximum's at 0.
  func reference(_ s: [Float], _ bias: [Float], _ labels: [Float]?, _ rowLabel: Float) -> [Double] {
    let v = s.indices.map { j -> Double in
      var x = Double(s[j] + bias[j])
      if let labels, labels[j] != rowLabel { x = Double(Float(x) - 100) }
      return x
    }
    let m = v.max() ?? 0
    let e = v.map { $0 - m < Double(attentionSoftmaxCut) ? 0 : Foundation.exp($0 - m) }
    let sum = e.reduce(0, +)
    return e.map { $0 / sum }
  }

  func testRowsMatchReferenceWithoutSubnormals() {
    var rng = SeededRandom(seed: 93)
    for isa in VectorISA.supported {
      KernelSet.current.vector = isa
      for n in [1, 7, 49, 64, 196, 203] {
        for masked in [false, true] {
          let s = (0..<n).map { _ in rng.normal() * 4 }
          let bias = (0..<n).map { _ in rng.normal() }
          let labels: [Float]? = masked ? (0..<n).map { Float($0 % 3) } : nil
          var row = s
          bias.withUnsafeBufferPointer { b in
            (labels ?? []).withUnsafeBufferPointer { l in
              // Masked rows also prefetch a row (the next head's, in the layer): same values.
              attentionSoftmaxRow(
                &row, bias: b.baseAddress!, labels: masked ? l.baseAddress : nil, rowLabel: 1,
                prefetching: masked ? b.baseAddress! : nil, count: n)
            }
          }
          let want = reference(s, bias, labels, 1)
          for j in 0..<n {
            XCTAssertEqual(
              Double(row[j]), want[j], accuracy: 1e-6 + 1e-5 * want[j],
              "\(isa) n \(n) masked \(masked) j \(j)")
            XCTAssertFalse(row[j].isSubnormal, "subnormal probability at \(j)")
          }
          if masked && n > 3 {
            XCTAssertEqual(row[0], 0, "a masked key (label 0 ≠ 1) gets exactly 0")
          }
        }
      }
    }
  }

  func testBackwardRowsMatchReferenceAndSumTheBiasGradient() {
    var rng = SeededRandom(seed: 94)
    for isa in VectorISA.supported {
      KernelSet.current.vector = isa
      for n in [1, 7, 15, 16, 17, 49, 64, 196, 203] {
        let logits = (0..<n).map { _ in Double(rng.normal() * 3) }
        let top = logits.max() ?? 0
        let e = logits.map { Foundation.exp($0 - top) }
        let p = e.map { Float($0 / e.reduce(0, +)) }
        let dp = (0..<n).map { _ in rng.normal() }
        let before = (0..<n).map { _ in rng.normal() }
        var ds = dp
        var partial = before
        p.withUnsafeBufferPointer { pp in
          // Half the rows also prefetch a row (the next head's, in the layer): same values.
          attentionSoftmaxBackwardRow(
            &ds, p: pp.baseAddress!, partial: &partial,
            prefetching: n % 2 == 0 ? pp.baseAddress! : nil, count: n)
        }
        let dot = (0..<n).reduce(0.0) { $0 + Double(dp[$1]) * Double(p[$1]) }
        for j in 0..<n {
          let want = Double(p[j]) * (Double(dp[j]) - dot)
          XCTAssertEqual(Double(ds[j]), want, accuracy: 1e-6, "\(isa) n \(n) dS \(j)")
          XCTAssertEqual(
            Double(partial[j]), Double(before[j]) + want, accuracy: 1e-5,
            "\(isa) n \(n) bias gradient \(j)")
        }
      }
    }
  }
}
