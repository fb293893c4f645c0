import Foundation
import Compute
@testable import NN
import XCTest
import _TestSupport

final class LayerNormTests: XCTestCase {
  override func tearDown() {
    KernelSet.current = .best
    super.tearDown()
  }

  /// Every instruction set the CPU runs (the C rows and the portable Swift rows).
  func testKernelsMatchReference() {
    for isa in VectorISA.supported {
      KernelSet.current.vector = isa
      kernelsMatchReference(isa)
    }
  }

  private func kernelsMatchReference(_ isa: VectorISA) {
    var rng = SeededRandom(seed: 21)
    for (rows, c) in [(1, 1), (3, 7), (40, 96), (257, 13), (300, 384), (5, 17)] {
      let x = randomTensor([rows, c], &rng, scale: 3)
      for i in 0..<x.count { x.pointer[i] += 2 }  // a non-zero mean
      let w = randomTensor([c], &rng), b = randomTensor([c], &rng)
      let dy = randomTensor([rows, c], &rng)
      let y = Tensor(zeros: [rows, c]), yRef = Tensor(zeros: [rows, c])
      let mean = Tensor(zeros: [rows]), rstd = Tensor(zeros: [rows])
      let meanRef = Tensor(zeros: [rows]), rstdRef = Tensor(zeros: [rows])
      layerNormForward(
        y: y.pointer, mean: mean.pointer, rstd: rstd.pointer, x: x.pointer, weight: w.pointer,
        bias: b.pointer, rows: rows, channels: c)
      naiveLayerNormForward(
        y: yRef.pointer, mean: meanRef.pointer, rstd: rstdRef.pointer, x: x.pointer,
        weight: w.pointer, bias: b.pointer, rows: rows, channels: c)
      assertClose(y, yRef, atol: 1e-5, rtol: 1e-5, "layernorm \(isa) y \(rows)x\(c)")
      assertClose(rstd, rstdRef, atol: 1e-5, rtol: 1e-5, "layernorm rstd")
      let dx = Tensor(zeros: [rows, c]), dxRef = Tensor(zeros: [rows, c])
      let dw = randomTensor([c], &rng), dwRef = dw.clone()
      let db = randomTensor([c], &rng), dbRef = db.clone()
      let scratch = Tensor(zeros: [layerNormBackwardScratchCount(channels: c)])
      layerNormBackward(
        dx: dx.pointer, dWeight: dw.pointer, dBias: db.pointer, dy: dy.pointer, x: x.pointer,
        mean: mean.pointer, rstd: rstd.pointer, weight: w.pointer, rows: rows, channels: c,
        scratch: scratch.pointer)
      naiveLayerNormBackward(
        dx: dxRef.pointer, dWeight: dwRef.pointer, dBias: dbRef.pointer, dy: dy.pointer,
        x: x.pointer, weight: w.pointer, rows: rows, channels: c)
      // c = 1 normalises to exactly 0: dx is 0 up to rounding of a 1/√ε scale.
      assertClose(
        dx, dxRef, atol: c == 1 ? 1e-2 : 1e-4, rtol: 1e-4, "layernorm \(isa) dx \(rows)x\(c)")
      assertClose(dw, dwRef, atol: 1e-4, rtol: 1e-4, "layernorm \(isa) dw")
      assertClose(db, dbRef, atol: 1e-4, rtol: 1e-4, "layernorm \(isa) db")
      // dx may alias dy: the same values in place.
      let inPlace = dy.clone()
      layerNormBackward(
        dx: inPlace.pointer, dWeight: dw.pointer, dBias: db.pointer, dy: inPlace.pointer,
        x: x.pointer, mean: mean.pointer, rstd: rstd.pointer, weight: w.pointer, rows: rows,
        channels: c, scratch: scratch.pointer)
      XCTAssertEqual(inPlace.array, dx.array, "layernorm \(isa) dx in place")
    }
  }

  func testGradients() {
    var rng = SeededRandom(seed: 22)
    let store = ParameterStore()
    let ln = LayerNorm(store: store, name: "norm", channels: 11)
    XCTAssertEqual(store["norm.weight"]?.value.array, [Float](repeating: 1, count: 11))
    XCTAssertEqual(store["norm.bias"]?.value.array, [Float](repeating: 0, count: 11))
    for p in store.parameters { p.value.copy(from: randomTensor(p.shape, &rng)) }
    let x = randomTensor([2, 3, 11], &rng)
    checkGradients(
      "layernorm", inputs: [x], parameters: store.parameters, step: 1e-2,
      forward: { ln.forward(x, training: true) }, backward: { [ln.backward($0)] })
    XCTAssertEqual(store["norm.weight"]?.decay, false)
  }
}

final class GELUTests: XCTestCase {
  func testKernelsMatchReference() {
    var rng = SeededRandom(seed: 31)
    for n in [1, 7, 8, 9, 1000, 100_003] {
      let x = randomTensor([n], &rng, scale: 6)
      let dy = randomTensor([n], &rng)
      let y = Tensor(zeros: [n]), yRef = Tensor(zeros: [n])
      geluForward(y: y.pointer, x: x.pointer, count: n)
      naiveGeluForward(y: yRef.pointer, x: x.pointer, count: n)
      assertClose(y, yRef, atol: 1e-6, rtol: 1e-6, "gelu \(n)")
      let dx = Tensor(zeros: [n]), dxRef = Tensor(zeros: [n])
      geluBackward(dx: dx.pointer, dy: dy.pointer, x: x.pointer, count: n)
      naiveGeluBackward(dx: dxRef.pointer, dy: dy.pointer, x: x.pointer, count: n)
      assertClose(dx, dxRef, atol: 1e-6, rtol: 1e-6, "gelu' \(n)")
    }
  }

  func testGradients() {
    var rng = SeededRandom(seed: 32)
    let gelu = GELU()
    let x = randomTensor([3, 13], &rng, scale: 3)
    checkGradients(
      "gelu", inputs: [x], step: 1e-2, forward: { gelu.forward(x, training: true) },
      backward: { [gelu.backward($0)] })
  }
}

final class SoftmaxTests: XCTestCase {
  func testKernelsMatchReference() {
    var rng = SeededRandom(seed: 41)
    for (rows, n) in [(1, 1), (5, 7), (64, 49), (3, 392), (2000, 16)] {
      let x = randomTensor([rows, n], &rng, scale: 20)
      let dy = randomTensor([rows, n], &rng)
      let y = Tensor(zeros: [rows, n]), yRef = Tensor(zeros: [rows, n])
      softmaxForward(y: y.pointer, x: x.pointer, rows: rows, cols: n)
      naiveSoftmaxForward(y: yRef.pointer, x: x.pointer, rows: rows, cols: n)
      assertClose(y, yRef, atol: 1e-7, rtol: 1e-5, "softmax \(rows)x\(n)")
      let dx = Tensor(zeros: [rows, n]), dxRef = Tensor(zeros: [rows, n])
      softmaxBackward(dx: dx.pointer, dy: dy.pointer, y: y.pointer, rows: rows, cols: n)
      naiveSoftmaxBackward(dx: dxRef.pointer, dy: dy.pointer, y: yRef.pointer, rows: rows, cols: n)
      assertClose(dx, dxRef, atol: 1e-6, rtol: 1e-4, "softmax backward \(rows)x\(n)")
      // In place gives the same answer.
      softmaxForward(y: x.pointer, x: x.pointer, rows: rows, cols: n)
      assertClose(x, y, atol: 0, rtol: 0, "softmax in place")
    }
  }

  func testLargeLogitsStayFinite() {
    let x = Tensor(shape: [1, 3], values: [1000, 999, -1000])
    softmaxForward(y: x.pointer, x: x.pointer, rows: 1, cols: 3)
    XCTAssertEqual(x[flat: 0], 1 / (1 + Float(Foundation.exp(-1.0))), accuracy: 1e-6)
    XCTAssertEqual(x[flat: 2], 0)
  }

  func testGradients() {
    var rng = SeededRandom(seed: 42)
    let x = randomTensor([4, 9], &rng, scale: 2)
    let y = Tensor(zeros: [4, 9]), dx = Tensor(zeros: [4, 9])
    checkGradients(
      "softmax", inputs: [x], step: 1e-2,
      forward: {
        softmaxForward(y: y.pointer, x: x.pointer, rows: 4, cols: 9)
        return y
      },
      backward: { dy in
        softmaxBackward(dx: dx.pointer, dy: dy.pointer, y: y.pointer, rows: 4, cols: 9)
        return [dx]
      })
  }
}

final class DropoutTests: XCTestCase {
  func testDropoutMaskStatisticsAndGradient() {
    var rng = SeededRandom(seed: 51)
    let drop = Dropout(p: 0.25, rng: &rng)
    let x = Tensor(shape: [100, 100], repeating: 1)
    let y = drop.forward(x, training: true)
    let zeros = y.array.filter { $0 == 0 }.count
    XCTAssertEqual(Double(zeros) / 10_000, 0.25, accuracy: 0.02)
    XCTAssertTrue(y.array.allSatisfy { $0 == 0 || abs($0 - 4.0 / 3.0) < 1e-6 })
    // dx = dy · mask: the same zeros and scale.
    let dx = drop.backward(x)
    XCTAssertEqual(dx.array, y.array)
    // Inference is the identity (the input itself).
    XCTAssertTrue(drop.forward(x, training: false) === x)
    // The same seed gives the same mask.
    var r1 = SeededRandom(seed: 5), r2 = SeededRandom(seed: 5)
    let a = Dropout(p: 0.5, rng: &r1), b = Dropout(p: 0.5, rng: &r2)
    XCTAssertEqual(a.forward(x, training: true).array, b.forward(x, training: true).array)
  }

  func testDropPathDropsWholeSamples() {
    var rng = SeededRandom(seed: 52)
    let dp = DropPath(p: 0.5, rng: &rng)
    let x = randomTensor([64, 3, 5], &rng)
    let y = dp.forward(x, training: true)
    var dropped = 0
    for b in 0..<64 {
      let s = dp.scale[flat: b]
      XCTAssertTrue(s == 0 || s == 2)
      if s == 0 { dropped += 1 }
      for j in 0..<15 { XCTAssertEqual(y[flat: b * 15 + j], x[flat: b * 15 + j] * s) }
    }
    XCTAssertGreaterThan(dropped, 16)
    XCTAssertLessThan(dropped, 48)
    checkDropGradient("droppath", dp, x, seed: 77)
    XCTAssertTrue(dp.forward(x, training: false) === x)
  }
}

/// Finite-difference check of a dropout-like layer with the same draws at every evaluation.
private func checkDropGradient(
  _ label: String, _ layer: StochasticDrop, _ x: Tensor, seed: UInt64,
  file: StaticString = #filePath, line: UInt = #line
) {
  let saved = SeededRandom(seed: seed)
  checkGradients(
    label, inputs: [x],
    forward: {
      layer.rng = saved
      return layer.forward(x, training: true)
    }, backward: { [layer.backward($0)] }, file: file, line: line)
}

final class PoolingAndLossTests: XCTestCase {
  func testMeanPool() {
    var rng = SeededRandom(seed: 61)
    let pool = MeanPool()
    let x = randomTensor([3, 2, 5, 7, 6], &rng)
    let y = pool.forward(x, training: true)
    XCTAssertEqual(y.shape, [3, 6])
    let ref = Tensor(zeros: [3, 6])
    naiveMeanPoolForward(y: ref.pointer, x: x.pointer, batch: 3, tokens: 70, channels: 6)
    assertClose(y, ref, atol: 1e-6, rtol: 1e-5, "mean pool")
    checkGradients(
      "mean pool", inputs: [x], forward: { pool.forward(x, training: true) },
      backward: { [pool.backward($0)] })
  }

  /// Loss and gradient against a hand computation, and a finite-difference check.
  func testCrossEntropyWithSmoothing() {
    let loss = CrossEntropyLoss(smoothing: 0.1)
    let logits = Tensor(shape: [2, 3], values: [1, 2, 3, 0, 0, 0])
    let value = loss.forward(logits, labels: [2, 0])
    // Row 0: log-softmax of [1,2,3]; row 1: log(1/3) everywhere.
    let lse0 = Foundation.log(Foundation.exp(1.0) + Foundation.exp(2.0) + Foundation.exp(3.0))
    let lp0 = [1 - lse0, 2 - lse0, 3 - lse0]
    let q0 = [0.1 / 3, 0.1 / 3, 0.9 + 0.1 / 3]
    let l0 = -zip(q0, lp0).map(*).reduce(0, +)
    let l1 = Foundation.log(3.0)
    XCTAssertEqual(Double(value), (l0 + l1) / 2, accuracy: 1e-6)
    let d = loss.backward()
    let p0 = lp0.map { Foundation.exp($0) }
    for j in 0..<3 { XCTAssertEqual(Double(d[flat: j]), (p0[j] - q0[j]) / 2, accuracy: 1e-6) }
    XCTAssertEqual(Double(d[flat: 3]), (1.0 / 3 - (0.9 + 0.1 / 3)) / 2, accuracy: 1e-6)

    var rng = SeededRandom(seed: 62)
    let z = randomTensor([4, 5], &rng, scale: 3)
    let labels = [0, 4, 2, 2]
    let holder = Tensor(zeros: [1])
    checkGradients(
      "cross-entropy", inputs: [z], step: 1e-2,
      forward: {
        holder[flat: 0] = loss.forward(z, labels: labels)
        return holder
      },
      backward: { dl in
        let g = loss.backward().clone()
        for i in 0..<g.count { g.pointer[i] *= dl[flat: 0] }
        return [g]
      })
  }
}

final class DropoutGradientTests: XCTestCase {
  func testDropoutGradient() {
    var rng = SeededRandom(seed: 53)
    let drop = Dropout(p: 0.3, rng: &rng)
    let x = randomTensor([5, 7], &rng)
    checkDropGradient("dropout", drop, x, seed: 78)
    XCTAssertTrue(drop.mask.array.contains(0))
  }
}

/// Two identical training steps return the same buffers: no layer reallocates in steady state.
final class SteadyStateTests: XCTestCase {
  func testBuffersAreReused() {
    var rng = SeededRandom(seed: 91)
    let store = ParameterStore()
    let ln = LayerNorm(store: store, name: "norm", channels: 8)
    let merge = PatchMerging(store: store, name: "merge", channels: 8, rng: &rng)
    let gelu = GELU()
    let pool = MeanPool()
    let drop = DropPath(p: 0.2, rng: &rng)
    store.finalize()
    let x = randomTensor([2, 3, 5, 5, 8], &rng)
    func step() -> [UnsafeMutablePointer<Float>] {
      let a = ln.forward(x, training: true)
      let b = gelu.forward(a, training: true)
      let c = drop.forward(b, training: true)
      let d = merge.forward(c, training: true)
      let e = pool.forward(d, training: true)
      let de = pool.backward(e)
      let dd = merge.backward(de)
      let dc = drop.backward(dd)
      let db = gelu.backward(dc)
      let da = ln.backward(db)
      return [a, b, c, d, e, de, dd, dc, db, da].map(\.pointer)
    }
    XCTAssertEqual(step(), step())
  }
}
