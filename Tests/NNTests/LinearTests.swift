import Compute
import NN
import XCTest
import _TestSupport

final class LinearTests: XCTestCase {
  /// Fast forward and backward against the naive references on odd shapes.
  func testKernelsMatchReference() {
    var rng = SeededRandom(seed: 1)
    for (rows, i, o) in [(1, 1, 1), (7, 5, 3), (33, 17, 29), (130, 64, 96)] {
      let x = randomTensor([rows, i], &rng)
      let w = randomTensor([o, i], &rng)
      let b = randomTensor([o], &rng)
      let dy = randomTensor([rows, o], &rng)
      let y = Tensor(zeros: [rows, o]), yRef = Tensor(zeros: [rows, o])
      linearForward(
        y: y.pointer, x: x.pointer, weight: w.pointer, bias: b.pointer, rows: rows, inFeatures: i,
        outFeatures: o)
      naiveLinearForward(
        y: yRef.pointer, x: x.pointer, weight: w.pointer, bias: b.pointer, rows: rows,
        inFeatures: i, outFeatures: o)
      assertClose(y, yRef, atol: 1e-5, rtol: 1e-5, "linear forward \(rows)x\(i)→\(o)")

      // Backward adds into existing gradients: start both from the same non-zero values.
      let dW = randomTensor([o, i], &rng), dWRef = dW.clone()
      let db = randomTensor([o], &rng), dbRef = db.clone()
      let dx = Tensor(zeros: [rows, i]), dxRef = Tensor(zeros: [rows, i])
      linearBackward(
        dx: dx.pointer, dWeight: dW.pointer, dBias: db.pointer, dy: dy.pointer, x: x.pointer,
        weight: w.pointer, rows: rows, inFeatures: i, outFeatures: o)
      naiveLinearBackward(
        dx: dxRef.pointer, dWeight: dWRef.pointer, dBias: dbRef.pointer, dy: dy.pointer,
        x: x.pointer, weight: w.pointer, rows: rows, inFeatures: i, outFeatures: o)
      assertClose(dx, dxRef, atol: 1e-4, rtol: 1e-4, "linear dx")
      assertClose(dW, dWRef, atol: 1e-4, rtol: 1e-4, "linear dW")
      assertClose(db, dbRef, atol: 1e-4, rtol: 1e-4, "linear db")
    }
  }

  func testGradientsWithAndWithoutBias() {
    for hasBias in [true, false] {
      var rng = SeededRandom(seed: 2)
      let store = ParameterStore()
      let layer = Linear(
        store: store, name: "fc", inFeatures: 5, outFeatures: 3, bias: hasBias, rng: &rng)
      XCTAssertEqual(store["fc.weight"]?.shape, [3, 5])
      XCTAssertEqual(store["fc.bias"]?.shape, hasBias ? [3] : nil)
      XCTAssertEqual(store["fc.bias"]?.decay, hasBias ? false : nil)
      let x = randomTensor([2, 3, 5], &rng)
      checkGradients(
        "linear bias=\(hasBias)", inputs: [x], parameters: store.parameters,
        forward: { layer.forward(x, training: true) }, backward: { [layer.backward($0)] })
      XCTAssertEqual(layer.forward(x, training: false).shape, [2, 3, 3])
    }
  }

  func testInitialisers() {
    var rng = SeededRandom(seed: 3)
    let store = ParameterStore()
    let a = Linear(
      store: store, name: "a", inFeatures: 400, outFeatures: 50,
      initializer: .truncatedNormal(std: 0.02), rng: &rng)
    let w = a.weight.value.array
    let std = (w.map { $0 * $0 }.reduce(0, +) / Float(w.count)).squareRoot()
    XCTAssertEqual(std, 0.02, accuracy: 0.001)  // bounds ±2 are ±100σ: the full normal
    XCTAssertGreaterThan(w.map(abs).max() ?? 0, 0.05)  // tails beyond 2.5σ exist in 20000 draws
    // Wide enough to reach the bounds: nothing outside [−2, 2].
    let wide = Linear(
      store: store, name: "wide", inFeatures: 100, outFeatures: 50,
      initializer: .truncatedNormal(std: 1.5), rng: &rng)
    XCTAssertLessThanOrEqual(wide.weight.value.array.map(abs).max() ?? 3, 2)
    XCTAssertEqual(a.bias?.value.array.allSatisfy { $0 == 0 }, true)
    let b = Linear(store: store, name: "b", inFeatures: 400, outFeatures: 50, rng: &rng)
    let bound: Float = 1 / 20
    XCTAssertLessThanOrEqual(b.weight.value.array.map(abs).max() ?? 1, bound)
    XCTAssertGreaterThan(b.weight.value.array.map(abs).max() ?? 0, 0.9 * bound)
  }

  /// A steady-state step reuses every buffer: the pointers of two identical steps match.
  func testNoAllocationInSteadyState() {
    var rng = SeededRandom(seed: 4)
    let store = ParameterStore()
    let layer = Linear(store: store, name: "fc", inFeatures: 8, outFeatures: 4, rng: &rng)
    store.finalize()
    let x = randomTensor([3, 8], &rng)
    let dy = randomTensor([3, 4], &rng)
    let y1 = layer.forward(x, training: true).pointer
    let d1 = layer.backward(dy).pointer
    let y2 = layer.forward(x, training: true).pointer
    let d2 = layer.backward(dy).pointer
    XCTAssertEqual(y1, y2)
    XCTAssertEqual(d1, d2)
  }
}

/// The gradient check itself must catch wrong gradients.
final class GradientCheckTests: XCTestCase {
  func testDetectsWrongGradients() {
    var rng = SeededRandom(seed: 5)
    let store = ParameterStore()
    let layer = Linear(store: store, name: "fc", inFeatures: 4, outFeatures: 3, rng: &rng)
    let x = randomTensor([2, 4], &rng)
    // Input gradient scaled by 1.1: caught.
    let scaled = gradientMismatches(
      "scaled", inputs: [x], forward: { layer.forward(x, training: true) },
      backward: { dy in
        let dx = layer.backward(dy).clone()
        for i in 0..<dx.count { dx.pointer[i] *= 1.1 }
        return [dx]
      })
    XCTAssertFalse(scaled.isEmpty)
    // Parameter gradient left out (bias never accumulated): caught.
    let missing = gradientMismatches(
      "missing", inputs: [x], parameters: store.parameters,
      forward: { layer.forward(x, training: true) },
      backward: { dy in
        let dx = layer.backward(dy)
        layer.bias?.grad.zero()
        return [dx]
      })
    XCTAssertTrue(missing.contains { $0.contains("fc.bias") })
    // The correct backward passes.
    XCTAssertEqual(
      gradientMismatches(
        "right", inputs: [x], parameters: store.parameters,
        forward: { layer.forward(x, training: true) }, backward: { [layer.backward($0)] }), [])
  }
}

final class LinearSplitTests: XCTestCase {
  /// The row-split weight gradient (scratch given) equals the single-GEMM one.
  func testSplitWeightGradientMatchesReference() {
    var rng = SeededRandom(seed: 6)
    let (rows, i, o) = (5000, 24, 10)
    let x = randomTensor([rows, i], &rng), w = randomTensor([o, i], &rng)
    let dy = randomTensor([rows, o], &rng)
    let dW = randomTensor([o, i], &rng), dWRef = dW.clone()
    let scratch = Tensor(zeros: [
      linearWeightGradientScratchCount(inFeatures: i, outFeatures: o, threads: 4)
    ])
    linearBackward(
      dx: nil, dWeight: dW.pointer, dBias: nil, dy: dy.pointer, x: x.pointer, weight: w.pointer,
      rows: rows, inFeatures: i, outFeatures: o, scratch: scratch.pointer,
      scratchCount: scratch.count)
    naiveLinearBackward(
      dx: nil, dWeight: dWRef.pointer, dBias: nil, dy: dy.pointer, x: x.pointer, weight: w.pointer,
      rows: rows, inFeatures: i, outFeatures: o)
    assertClose(dW, dWRef, atol: 1e-3, rtol: 1e-4, "split dW")
  }
}
