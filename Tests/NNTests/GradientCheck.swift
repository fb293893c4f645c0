// Test support: random tensors, tolerance assertions and a finite-difference gradient check.

import Compute
import NN
import XCTest
import _TestSupport

/// A tensor of the given shape with values uniform in [-scale, scale).
func randomTensor(_ shape: [Int], _ rng: inout SeededRandom, scale: Float = 1) -> Tensor {
  let t = Tensor(zeros: shape)
  for i in 0..<t.count { t.pointer[i] = (2 * rng.uniform() - 1) * scale }
  return t
}

/// Tensor form of `_TestSupport`'s `assertClose` (`|a − e| ≤ atol + rtol·|e|` element-wise).
/// Precondition-free: a count mismatch is a failure.
func assertClose(
  _ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float, _ label: String,
  file: StaticString = #filePath, line: UInt = #line
) {
  guard actual.count == expected.count else {
    XCTFail("\(label): \(actual.shape) vs \(expected.shape)", file: file, line: line)
    return
  }
  assertClose(
    actual.pointer, expected.pointer, count: actual.count, atol: atol, rtol: rtol, label,
    file: file, line: line)
}

/// Finite-difference check of a layer's backward pass.
///
/// The loss is a fixed random projection `L = Σ r·y` (r uniform in [-1, 1)), so `dL/dy = r`.
/// `backward(r)` must return the input gradients (one per tensor of `inputs`, in order) and
/// add into the parameters' `grad`. Each checked element `e` of an input or parameter is
/// compared with the central difference `(L(e+h) − L(e−h)) / 2h`, the loss summed in Double:
/// `|analytic − numeric| ≤ tolerance · max(|analytic|, |numeric|, floor)` where `floor` is
/// 10% of the largest analytic gradient of that tensor (absolute error for tiny entries).
/// At most `maxChecks` elements of each tensor are checked (chosen at random).
func checkGradients(
  _ label: String, inputs: [Tensor], parameters: [Parameter] = [], step: Float = 1e-2,
  tolerance: Double = 1e-2, maxChecks: Int = 48, seed: UInt64 = 99,
  forward: () -> Tensor, backward: (Tensor) -> [Tensor],
  file: StaticString = #filePath, line: UInt = #line
) {
  let problems = gradientMismatches(
    label, inputs: inputs, parameters: parameters, step: step, tolerance: tolerance,
    maxChecks: maxChecks, seed: seed, forward: forward, backward: backward)
  for p in problems.prefix(4) { XCTFail(p, file: file, line: line) }
}

/// The check behind `checkGradients`: returns one message per mismatching element.
func gradientMismatches(
  _ label: String, inputs: [Tensor], parameters: [Parameter] = [], step: Float = 1e-2,
  tolerance: Double = 1e-2, maxChecks: Int = 48, seed: UInt64 = 99,
  forward: () -> Tensor, backward: (Tensor) -> [Tensor]
) -> [String] {
  var problems: [String] = []
  var rng = SeededRandom(seed: seed)
  let y0 = forward()
  let r = randomTensor(y0.shape, &rng)
  for p in parameters { p.grad.zero() }
  let grads = backward(r).map { $0.clone() }
  if grads.count != inputs.count {
    problems.append("\(label): \(grads.count) gradients for \(inputs.count) inputs")
  }
  let paramGrads = parameters.map { $0.grad.clone() }

  func loss() -> Double {
    let y = forward()
    var acc = 0.0
    for i in 0..<y.count { acc += Double(r.pointer[i]) * Double(y.pointer[i]) }
    return acc
  }

  func check(_ name: String, value: Tensor, analytic: Tensor) {
    guard analytic.count == value.count else {
      problems.append("\(label) \(name): gradient \(analytic.shape) for \(value.shape)")
      return
    }
    var largest = 0.0
    for i in 0..<analytic.count { largest = max(largest, Double(abs(analytic.pointer[i]))) }
    let floor = max(0.1 * largest, 1e-3)
    var indices = Array(0..<value.count)
    if indices.count > maxChecks {
      for i in 0..<maxChecks { indices.swapAt(i, i + Int(rng.next() % UInt64(indices.count - i))) }
      indices = Array(indices[0..<maxChecks])
    }
    for i in indices {
      let saved = value.pointer[i]
      value.pointer[i] = saved + step
      let plus = loss()
      value.pointer[i] = saved - step
      let minus = loss()
      value.pointer[i] = saved
      let numeric = (plus - minus) / (2 * Double(step))
      let a = Double(analytic.pointer[i])
      let scale = max(abs(a), abs(numeric), floor)
      if !(abs(a - numeric) <= tolerance * scale) {
        problems.append(
          "\(label) \(name)[\(i)]: analytic \(a), numeric \(numeric) (tolerance \(tolerance))")
      }
    }
  }
  for (k, x) in inputs.enumerated() where k < grads.count {
    check("input \(k)", value: x, analytic: grads[k])
  }
  for (p, g) in zip(parameters, paramGrads) { check(p.name, value: p.value, analytic: g) }
  return problems
}
