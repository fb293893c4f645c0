import Compute
import NN
import XCTest

/// The `Layer` contract: sequences, buffer binding, timing.
final class LayerContractTests: XCTestCase {
  func makeMLP(_ store: ParameterStore, _ rng: inout SeededRandom) -> (Linear, GELU, Linear) {
    (
      Linear(store: store, name: "fc1", inFeatures: 6, outFeatures: 10, rng: &rng), GELU(),
      Linear(store: store, name: "fc2", inFeatures: 10, outFeatures: 4, rng: &rng)
    )
  }

  /// A `Sequential` is the hand-chained forward and backward, bit for bit.
  func testSequentialIsTheHandChainedPass() {
    var rng = SeededRandom(seed: 1)
    let x = randomTensor([5, 6], &rng)
    let dy = randomTensor([5, 4], &rng)
    var rngA = SeededRandom(seed: 2)
    var rngB = SeededRandom(seed: 2)
    let storeA = ParameterStore()
    let storeB = ParameterStore()
    let (a1, a2, a3) = makeMLP(storeA, &rngA)
    let (b1, b2, b3) = makeMLP(storeB, &rngB)
    storeA.finalize()
    storeB.finalize()
    let sequence = Sequential([b1, b2, b3])
    XCTAssertEqual(
      sequence.parameters.map(\.name), ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])

    let h = a2.forward(a1.forward(x, training: true), training: true)
    let yHand = a3.forward(h, training: true)
    let y = sequence.forward(x, training: true)
    XCTAssertEqual(y.array, yHand.array)
    let dxHand = a1.backward(a2.backward(a3.backward(dy)))
    let dx = sequence.backward(dy)
    XCTAssertEqual(dx.array, dxHand.array)
    XCTAssertEqual(storeB.grads.array, storeA.grads.array)
    XCTAssertTrue(storeA.grads.array.contains { $0 != 0 })
  }

  /// Layers bound to one scope share their buffers; their own scopes keep them apart.
  func testBindingSharesBuffersByScope() {
    let store = ParameterStore()
    let n1 = LayerNorm(store: store, name: "a", channels: 8)
    let n2 = LayerNorm(store: store, name: "b", channels: 8)
    var rng = SeededRandom(seed: 3)
    let x = randomTensor([3, 8], &rng)
    XCTAssertFalse(n1.forward(x, training: false) === n2.forward(x, training: false))

    let pool = BufferPool()
    let shared = Buffers(pool: pool, path: "shared")
    n1.bind(shared)
    n2.bind(shared)
    let y1 = n1.forward(x, training: false)
    XCTAssertTrue(y1 === n2.forward(x, training: false))
    XCTAssertTrue(y1 === pool.tensor("shared/y"))
    XCTAssertEqual(pool.floats, 3 * (8 + 2))  // y [3, 8], mean and rstd [3]

    // A bigger user grows the shared buffer; the pool counts it once.
    _ = n2.forward(randomTensor([10, 8], &rng), training: false)
    XCTAssertEqual(pool.floats, 10 * (8 + 2))
    n2.bind(Buffers(pool: pool, path: "b"))
    XCTAssertFalse(n1.forward(x, training: false) === n2.forward(x, training: false))
  }

  /// With a timer active, each layer's time lands under its kind and phase; composites are
  /// not timed themselves; without a timer nothing is recorded.
  func testTimerAccumulatesPerKind() {
    var rng = SeededRandom(seed: 4)
    let store = ParameterStore()
    let (l1, g, l2) = makeMLP(store, &rng)
    store.finalize()
    let sequence = Sequential([l1, g, l2])
    let x = randomTensor([5, 6], &rng)
    let timer = LayerTimer()
    _ = sequence.run(x, training: true)
    XCTAssertTrue(timer.seconds.isEmpty)
    LayerTimer.$active.withValue(timer) {
      _ = sequence.run(x, training: true)
      _ = sequence.runBackward(randomTensor([5, 4], &rng))
      _ = sequence.runInference(x)
    }
    XCTAssertEqual(
      Set(timer.seconds.keys),
      [
        "Linear forward", "GELU forward", "Linear backward", "GELU backward", "Linear inference",
        "GELU inference",
      ])
    XCTAssertTrue(timer.seconds.values.allSatisfy { $0 > 0 })
    timer.reset()
    XCTAssertTrue(timer.seconds.isEmpty)
  }
}
