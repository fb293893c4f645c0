import Compute
import NN
import XCTest
import _TestSupport

final class ConvolutionTests: XCTestCase {
  typealias T3 = (t: Int, h: Int, w: Int)

  /// The geometries the tests sweep: odd sizes, stride > 1, padding, patchify, pointwise,
  /// temporal replicate padding.
  static let cases:
    [(input: T3, kernel: T3, stride: T3, padding: T3, mode: TemporalPadding, i: Int, o: Int)] = [
      ((1, 5, 6), (1, 3, 3), (1, 1, 1), (0, 1, 1), .zeros, 3, 4),
      ((1, 7, 5), (1, 3, 3), (1, 2, 2), (0, 1, 1), .zeros, 2, 3),
      ((1, 8, 8), (1, 4, 4), (1, 4, 4), (0, 0, 0), .zeros, 3, 5),  // patchify
      ((4, 8, 8), (2, 4, 4), (2, 4, 4), (0, 0, 0), .zeros, 3, 6),  // video patch embed
      ((3, 5, 7), (3, 3, 3), (1, 2, 2), (1, 1, 1), .zeros, 4, 5),  // CoSwin merge
      ((3, 5, 7), (3, 3, 3), (1, 2, 2), (1, 1, 1), .replicate, 4, 5),
      ((5, 4, 4), (3, 1, 1), (2, 1, 1), (2, 0, 0), .replicate, 2, 3),  // pad > kernel/2
      ((2, 3, 3), (1, 1, 1), (1, 1, 1), (0, 0, 0), .zeros, 5, 4),  // pointwise
      ((3, 9, 9), (3, 7, 7), (2, 4, 4), (1, 2, 2), .replicate, 3, 4),  // k7 s4 p2 embed
    ]

  func geometry(
    _ c: (input: T3, kernel: T3, stride: T3, padding: T3, mode: TemporalPadding, i: Int, o: Int),
    batch: Int
  ) -> ConvGeometry {
    ConvGeometry(
      batch: batch, inChannels: c.i, outChannels: c.o, input: c.input, kernel: c.kernel,
      stride: c.stride, padding: c.padding, temporalPadding: c.mode)
  }

  func testKernelsMatchDirectConvolution() {
    var rng = SeededRandom(seed: 71)
    for (index, c) in Self.cases.enumerated() {
      let g = geometry(c, batch: 2)
      // Alternate between the serial path (scratch for one worker) and samples over workers.
      let workers = index % 2 == 0 ? 1 : 2
      let x = randomTensor([g.inputCount], &rng)
      let w = randomTensor([c.o, c.i, c.kernel.t, c.kernel.h, c.kernel.w], &rng)
      let b = randomTensor([c.o], &rng)
      let y = Tensor(zeros: [g.outputCount]), yRef = Tensor(zeros: [g.outputCount])
      let packed = Tensor(zeros: [g.packedWeightCount])
      let packedGrad = Tensor(zeros: [g.packedGradScratchCount(workers: workers)])
      let col = Tensor(zeros: [g.columnScratchCount(workers: workers)])
      convForward(
        y: y.pointer, x: x.pointer, weight: w.pointer, bias: b.pointer, g,
        packedWeight: packed.pointer, col: col.pointer, colCapacity: col.count)
      naiveConvForward(y: yRef.pointer, x: x.pointer, weight: w.pointer, bias: b.pointer, g)
      assertClose(y, yRef, atol: 1e-5, rtol: 1e-5, "conv forward \(c)")

      let dy = randomTensor([g.outputCount], &rng)
      let dx = Tensor(zeros: [g.inputCount]), dxRef = Tensor(zeros: [g.inputCount])
      let dw = randomTensor(w.shape, &rng), dwRef = dw.clone()
      let db = randomTensor([c.o], &rng), dbRef = db.clone()
      convBackward(
        dx: dx.pointer, dWeight: dw.pointer, dBias: db.pointer, dy: dy.pointer, x: x.pointer,
        weight: w.pointer, g, packedWeight: packed.pointer, packedGrad: packedGrad.pointer,
        packedGradCapacity: packedGrad.count, col: col.pointer, colCapacity: col.count)
      naiveConvBackward(
        dx: dxRef.pointer, dWeight: dwRef.pointer, dBias: dbRef.pointer, dy: dy.pointer,
        x: x.pointer, weight: w.pointer, g)
      assertClose(dx, dxRef, atol: 1e-4, rtol: 1e-4, "conv dx \(c)")
      assertClose(dw, dwRef, atol: 1e-4, rtol: 1e-4, "conv dw \(c)")
      assertClose(db, dbRef, atol: 1e-4, rtol: 1e-4, "conv db \(c)")
    }
  }

  /// Many tiles, and samples spread over two workers: the tiled paths agree with the direct
  /// convolution when P spans tiles.
  func testManyTiles() {
    var rng = SeededRandom(seed: 72)
    let g = ConvGeometry(
      batch: 3, inChannels: 40, outChannels: 3, input: (3, 20, 20), kernel: (3, 3, 3),
      stride: (1, 1, 1), padding: (1, 1, 1), temporalPadding: .replicate)
    XCTAssertLessThan(g.tileRows, g.positions)
    let x = randomTensor([g.inputCount], &rng)
    let w = randomTensor([3, 40, 3, 3, 3], &rng)
    let y = Tensor(zeros: [g.outputCount]), yRef = Tensor(zeros: [g.outputCount])
    let packed = Tensor(zeros: [g.packedWeightCount])
    let packedGrad = Tensor(zeros: [g.packedGradScratchCount(workers: 2)])
    let col = Tensor(zeros: [g.columnScratchCount(workers: 2)])
    convForward(
      y: y.pointer, x: x.pointer, weight: w.pointer, bias: nil, g, packedWeight: packed.pointer,
      col: col.pointer, colCapacity: col.count)
    naiveConvForward(y: yRef.pointer, x: x.pointer, weight: w.pointer, bias: nil, g)
    assertClose(y, yRef, atol: 1e-4, rtol: 1e-4, "tiled conv forward")
    let dy = randomTensor([g.outputCount], &rng)
    let dx = Tensor(zeros: [g.inputCount]), dxRef = Tensor(zeros: [g.inputCount])
    let dw = Tensor(zeros: w.shape), dwRef = Tensor(zeros: w.shape)
    convBackward(
      dx: dx.pointer, dWeight: dw.pointer, dBias: nil, dy: dy.pointer, x: x.pointer,
      weight: w.pointer, g, packedWeight: packed.pointer, packedGrad: packedGrad.pointer,
      packedGradCapacity: packedGrad.count, col: col.pointer, colCapacity: col.count)
    naiveConvBackward(
      dx: dxRef.pointer, dWeight: dwRef.pointer, dBias: nil, dy: dy.pointer, x: x.pointer,
      weight: w.pointer, g)
    assertClose(dx, dxRef, atol: 1e-4, rtol: 1e-4, "tiled conv dx")
    assertClose(dw, dwRef, atol: 1e-3, rtol: 1e-4, "tiled conv dw")
  }

  func testConv3dGradients() {
    var rng = SeededRandom(seed: 73)
    for c in Self.cases where c.input.t > 1 {
      let store = ParameterStore()
      let conv = Conv3d(
        store: store, name: "proj", inChannels: c.i, outChannels: c.o, kernel: c.kernel,
        stride: c.stride, padding: c.padding, temporalPadding: c.mode, rng: &rng)
      XCTAssertEqual(store["proj.weight"]?.shape, [c.o, c.i, c.kernel.t, c.kernel.h, c.kernel.w])
      let x = randomTensor([2, c.input.t, c.input.h, c.input.w, c.i], &rng)
      checkGradients(
        "conv3d \(c)", inputs: [x], parameters: store.parameters, maxChecks: 24,
        forward: { conv.forward(x, training: true) }, backward: { [conv.backward($0)] })
    }
  }

  func testConv2dGradientsAndShapes() {
    var rng = SeededRandom(seed: 74)
    let store = ParameterStore()
    let conv = Conv2d(
      store: store, name: "features.0.0", inChannels: 3, outChannels: 4, kernel: (3, 3),
      stride: (2, 2), padding: (1, 1), rng: &rng)
    XCTAssertEqual(store["features.0.0.weight"]?.shape, [4, 3, 3, 3])
    let x = randomTensor([2, 7, 6, 3], &rng)
    XCTAssertEqual(conv.forward(x, training: false).shape, [2, 4, 3, 4])
    checkGradients(
      "conv2d", inputs: [x], parameters: store.parameters,
      forward: { conv.forward(x, training: true) }, backward: { [conv.backward($0)] })
    // Without an input gradient the parameter gradients are unchanged.
    let dy = randomTensor([2, 4, 3, 4], &rng)
    _ = conv.forward(x, training: true)
    store.zeroGrads()
    _ = conv.backward(dy)
    let withDx = conv.weight.grad.clone()
    conv.needsInputGradient = false
    store.zeroGrads()
    XCTAssertEqual(conv.backward(dy).count, 0)
    assertClose(conv.weight.grad, withDx, atol: 0, rtol: 0, "dW without dx")
  }

  /// Replicate padding keeps a static clip static: every output frame is equal.
  func testReplicatePaddingKeepsStaticClipStatic() {
    var rng = SeededRandom(seed: 75)
    let store = ParameterStore()
    let conv = Conv3d(
      store: store, name: "c", inChannels: 2, outChannels: 3, kernel: (3, 3, 3), stride: (1, 2, 2),
      padding: (1, 1, 1), temporalPadding: .replicate, rng: &rng)
    let frame = randomTensor([5, 5, 2], &rng)
    let x = Tensor(zeros: [1, 4, 5, 5, 2])
    for t in 0..<4 { (x.pointer + t * 50).update(from: frame.pointer, count: 50) }
    let y = conv.forward(x, training: false)
    let per = y.count / 4
    for t in 1..<4 {
      for j in 0..<per { XCTAssertEqual(y[flat: t * per + j], y[flat: j], accuracy: 1e-6) }
    }
  }

  func testNoAllocationInSteadyState() {
    var rng = SeededRandom(seed: 76)
    let store = ParameterStore()
    let conv = Conv3d(
      store: store, name: "c", inChannels: 3, outChannels: 4, kernel: (2, 2, 2), stride: (2, 2, 2),
      rng: &rng)
    store.finalize()
    let x = randomTensor([1, 4, 4, 4, 3], &rng)
    let dy = randomTensor([1, 2, 2, 2, 4], &rng)
    let p1 = (conv.forward(x, training: true).pointer, conv.backward(dy).pointer)
    let p2 = (conv.forward(x, training: true).pointer, conv.backward(dy).pointer)
    XCTAssertEqual(p1.0, p2.0)
    XCTAssertEqual(p1.1, p2.1)
  }
}

final class PatchMergingTests: XCTestCase {
  func testGatherMatchesSliceDefinition() {
    var rng = SeededRandom(seed: 81)
    for (f, h, w, c) in [(1, 2, 2, 1), (2, 5, 7, 3), (3, 4, 3, 8)] {
      let x = randomTensor([f, h, w, c], &rng)
      let n = f * ((h + 1) / 2) * ((w + 1) / 2) * 4 * c
      let m = Tensor(zeros: [n]), ref = Tensor(zeros: [n])
      patchMergeGather(merged: m.pointer, x: x.pointer, frames: f, height: h, width: w, channels: c)
      naivePatchMergeGather(
        merged: ref.pointer, x: x.pointer, frames: f, height: h, width: w, channels: c)
      assertClose(m, ref, atol: 0, rtol: 0, "gather \(f)x\(h)x\(w)x\(c)")
    }
    // x1 is the (1, 0) neighbour: row +1, same column.
    // (0,0)=10 (0,1)=20 (1,0)=30 (1,1)=40
    let x = Tensor(shape: [1, 2, 2, 1], values: [10, 20, 30, 40])
    let m = Tensor(zeros: [4])
    patchMergeGather(merged: m.pointer, x: x.pointer, frames: 1, height: 2, width: 2, channels: 1)
    XCTAssertEqual(m.array, [10, 30, 20, 40])
  }

  func testGradientsOddSizes2DAnd3D() {
    var rng = SeededRandom(seed: 82)
    for shape in [[2, 5, 3, 4], [1, 2, 3, 5, 4]] {
      let store = ParameterStore()
      let merge = PatchMerging(
        store: store, name: "features.1", channels: 4, initializer: .pytorchDefault, rng: &rng)
      XCTAssertEqual(
        store.parameters.map(\.name),
        ["features.1.reduction.weight", "features.1.norm.weight", "features.1.norm.bias"])
      let x = randomTensor(shape, &rng)
      var out = shape
      out[shape.count - 3] = (shape[shape.count - 3] + 1) / 2
      out[shape.count - 2] = (shape[shape.count - 2] + 1) / 2
      out[shape.count - 1] = 8
      XCTAssertEqual(merge.forward(x, training: false).shape, out)
      checkGradients(
        "patch merging \(shape)", inputs: [x], parameters: store.parameters, maxChecks: 32,
        forward: { merge.forward(x, training: true) }, backward: { [merge.backward($0)] })
    }
  }
}
