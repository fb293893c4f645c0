import Compute
import Foundation
import NN
import XCTest

final class OptimizerTests: XCTestCase {
  /// A store with a decayed weight [2, 2] (lrScale 0.5) and a non-decayed bias [2].
  func makeStore() -> ParameterStore {
    let store = ParameterStore()
    let w = store.register("w", Tensor(shape: [2, 2], values: [1, -2, 3, 0.5]), decay: true)
    w.lrScale = 0.5
    store.register("b", Tensor(shape: [2], values: [0.25, -1]), decay: false)
    store.finalize()
    return store
  }

  func setGrads(_ store: ParameterStore, _ g: [Float]) {
    for i in 0..<g.count { store.grads[flat: i] = g[i] }
  }

  /// Two AdamW steps against the formulas evaluated by hand in Double.
  func testAdamWStepsMatchHandComputation() {
    let store = makeStore()
    let opt = AdamW(store: store, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1)
    var theta: [Double] = [1, -2, 3, 0.5, 0.25, -1]
    var m = [Double](repeating: 0, count: 6), v = m
    let grads: [[Float]] = [[0.1, -0.2, 0.3, 0, 1, -0.5], [-0.3, 0.1, 0.2, 0.05, 0.5, 0.5]]
    let lr = 0.01
    for (t, g) in grads.enumerated() {
      setGrads(store, g)
      opt.update(lr: Float(lr))
      for i in 0..<6 {
        let lrI = i < 4 ? lr * 0.5 : lr
        if i < 4 { theta[i] *= 1 - lrI * 0.1 }
        m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
        v[i] = 0.99 * v[i] + 0.01 * Double(g[i]) * Double(g[i])
        let mh = m[i] / (1 - pow(0.9, Double(t + 1)))
        let vh = v[i] / (1 - pow(0.99, Double(t + 1)))
        theta[i] -= lrI * mh / (vh.squareRoot() + 1e-8)
      }
    }
    for i in 0..<6 {
      XCTAssertEqual(Double(store.values[flat: i]), theta[i], accuracy: 1e-6, "θ[\(i)]")
    }
    XCTAssertEqual(opt.step, 2)
  }

  /// `lrScale` and `decay` changed after the optimizer was made are the ones it uses.
  func testOptimizersReadScaleAndDecayLive() {
    let store = makeStore()
    let opt = AdamW(store: store, weightDecay: 0.5)
    store["w"]?.lrScale = 0  // frozen from now on
    store["b"]?.decay = true
    let before = store.values.array
    setGrads(store, [1, 1, 1, 1, 0, 0])
    opt.update(lr: 0.1)
    for i in 0..<4 { XCTAssertEqual(store.values[flat: i], before[i], "w is frozen") }
    for i in 4..<6 {
      XCTAssertEqual(store.values[flat: i], before[i] * (1 - 0.1 * 0.5), accuracy: 1e-7, "b decays")
    }

    let s = makeStore()
    let sgd = SGD(store: s, momentum: 0.9)
    s["w"]?.lrScale = 0
    let start = s.values.array
    setGrads(s, [1, 1, 1, 1, 1, 1])
    sgd.update(lr: 0.1)
    XCTAssertEqual(Array(s.values.array[0..<4]), Array(start[0..<4]))
    XCTAssertNotEqual(s.values[flat: 4], start[4])
  }

  /// A NaN gradient makes the norm NaN and nothing is scaled: the caller skips the step.
  func testClippingLeavesNonFiniteGradientsToTheCaller() {
    let store = makeStore()
    setGrads(store, [30, 40, .nan, 0, 0, 0])
    XCTAssertTrue(clipGradientNorm(store, maxNorm: 1).isNaN)
    XCTAssertEqual(store.grads[flat: 0], 30)
    XCTAssertTrue(gradientNorm(store).isNaN)
    setGrads(store, [30, 40, 0, 0, 0, 0])
    XCTAssertEqual(gradientNorm(store), 50)
  }

  /// A zero gradient moves only decayed parameters (decoupled weight decay).
  func testDecayGroups() {
    let store = makeStore()
    let opt = AdamW(store: store, weightDecay: 0.5)
    let before = store.values.array
    setGrads(store, [Float](repeating: 0, count: 6))
    opt.update(lr: 0.1)
    for i in 0..<4 {
      XCTAssertEqual(store.values[flat: i], before[i] * (1 - 0.1 * 0.5 * 0.5), accuracy: 1e-7)
    }
    for i in 4..<6 { XCTAssertEqual(store.values[flat: i], before[i]) }
  }

  /// Saving after step 1 and resuming in a fresh optimizer gives the same step 2.
  func testStateRoundTripResumesExactly() throws {
    let a = makeStore(), b = makeStore()
    let optA = AdamW(store: a)
    setGrads(a, [0.1, 0.2, -0.3, 0.4, 0.5, -0.6])
    optA.update(lr: 0.01)
    let state = optA.stateTensors().mapValues { $0.clone() }
    b.values.copy(from: a.values)
    let optB = AdamW(store: b)
    try optB.loadState(state)
    XCTAssertEqual(optB.step, 1)
    for s in [a, b] { setGrads(s, [-0.2, 0.1, 0.3, 0.3, -0.1, 0.2]) }
    optA.update(lr: 0.01)
    optB.update(lr: 0.01)
    XCTAssertEqual(a.values.array, b.values.array)

    var bad = state
    bad["v"] = Tensor(zeros: [5])
    XCTAssertThrowsError(try optB.loadState(bad)) { error in
      XCTAssertTrue("\(error)".contains("'v'") && "\(error)".contains("[5]"), "\(error)")
    }
    bad["v"] = nil
    XCTAssertThrowsError(try optB.loadState(bad))
  }

  func testSGDMomentum() throws {
    let store = makeStore()
    let opt = SGD(store: store, momentum: 0.9, weightDecay: 0.1)
    setGrads(store, [1, 1, 1, 1, 1, 1])
    opt.update(lr: 0.1)
    // First step: u = g + λθ (decayed only); θ −= lr·lrScale·u.
    XCTAssertEqual(store.values[flat: 0], 1 - 0.05 * (1 + 0.1 * 1), accuracy: 1e-6)
    XCTAssertEqual(store.values[flat: 4], 0.25 - 0.1 * 1, accuracy: 1e-6)
    opt.update(lr: 0.1)
    // Bias: u₂ = 0.9·1 + 1 = 1.9.
    XCTAssertEqual(store.values[flat: 4], 0.25 - 0.1 - 0.19, accuracy: 1e-6)
    let state = opt.stateTensors()
    XCTAssertEqual(state["step"]?[flat: 0], 2)
    try opt.loadState(state)
  }

  func testCosineScheduleValues() {
    let s = CosineSchedule(base: 1, minimum: 0.1, warmupSteps: 4, totalSteps: 14)
    XCTAssertEqual(s.learningRate(at: 0), 0.25)
    XCTAssertEqual(s.learningRate(at: 3), 1)
    XCTAssertEqual(s.learningRate(at: 4), 1, accuracy: 1e-7)
    XCTAssertEqual(s.learningRate(at: 9), 0.55, accuracy: 1e-6)  // halfway: min + (base−min)/2
    XCTAssertEqual(s.learningRate(at: 14), 0.1, accuracy: 1e-7)
    XCTAssertEqual(s.learningRate(at: 100), 0.1, accuracy: 1e-7)
    let noWarmup = CosineSchedule(base: 2, warmupSteps: 0, totalSteps: 4)
    XCTAssertEqual(noWarmup.learningRate(at: 0), 2)
    XCTAssertEqual(noWarmup.learningRate(at: 1), Float(1 + cos(Double.pi / 4)), accuracy: 1e-6)
  }

  func testClipByGlobalNorm() {
    let store = makeStore()
    setGrads(store, [3, 0, 0, 0, 0, 4])
    let norm = clipGradientNorm(store, maxNorm: 1)
    XCTAssertEqual(norm, 5, accuracy: 1e-6)
    XCTAssertEqual(store.grads[flat: 0], 0.6, accuracy: 1e-6)
    XCTAssertEqual(store.grads[flat: 5], 0.8, accuracy: 1e-6)
    // Below the threshold nothing changes.
    let again = clipGradientNorm(store, maxNorm: 10)
    XCTAssertEqual(again, 1, accuracy: 1e-5)
    XCTAssertEqual(store.grads[flat: 0], 0.6, accuracy: 1e-6)
    // A large buffer (parallel path) against a Double sum.
    let big = ParameterStore()
    var rng = SeededRandom(seed: 9)
    big.register("x", randomTensor([300_001], &rng), decay: true)
    big.finalize()
    var ref = 0.0
    for i in 0..<big.count {
      big.grads[flat: i] = big.values[flat: i]
      ref += Double(big.values[flat: i]) * Double(big.values[flat: i])
    }
    XCTAssertEqual(Double(clipGradientNorm(big, maxNorm: 1e9)), ref.squareRoot(), accuracy: 1e-3)
  }
}
