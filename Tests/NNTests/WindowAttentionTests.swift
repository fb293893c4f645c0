// Window attention: geometry rules, partition and mask against their naive references, the
// relative position index, the fast layer against the naive reference, finite-difference
// gradients, and parity with torchvision fixtures (Tools/make_attention_fixtures.py).
//
// Legend: B batch; T, H, W sizes; C channels; A heads; N tokens per window; nW windows.

import Compute
import Foundation
@testable import NN
import SafeTensors
import XCTest
import _TestSupport

/// A layer with larger-than-default random parameters (normal·0.3, table normal·1), so that
/// every parameter and the bias visibly matter.
private func makeAttention(
  dim: Int, heads: Int, window: [Int], shift: [Int], seed: UInt64
) -> (WindowAttention, ParameterStore) {
  var rng = SeededRandom(seed: seed)
  let store = ParameterStore()
  let layer = WindowAttention(
    store: store, name: "attn", dim: dim, heads: heads, window: window, shift: shift, rng: &rng)
  for p in store.parameters {
    let s: Float = p.name.hasSuffix("relative_position_bias_table") ? 1 : 0.3
    for i in 0..<p.count { p.value.pointer[i] = rng.normal() * s }
  }
  return (layer, store)
}

/// The naive reference on the layer's current parameters. `x` is `[B, (T,) H, W, C]`.
private func naiveForward(_ layer: WindowAttention, _ store: ParameterStore, _ x: Tensor) -> [Float]
{
  let is2D = layer.window.count == 2
  let dims = Array(x.shape[1..<(x.rank - 1)])
  func values(_ key: String) -> [Float] { store["attn." + key]?.value.array ?? [] }
  return naiveWindowAttentionForward(
    x: x.array, batch: x.shape[0], size: is2D ? [1] + dims : dims, channels: layer.dim,
    heads: layer.heads, window: is2D ? [1] + layer.window : layer.window,
    shift: is2D ? [0] + layer.shift : layer.shift, semantics: is2D ? .image2D : .video3D,
    qkvWeight: values("qkv.weight"), qkvBias: values("qkv.bias"),
    projWeight: values("proj.weight"), projBias: values("proj.bias"),
    table: values("relative_position_bias_table"))
}

/// Shifted geometries needing padding and clamping, 3D and 2D.
private let sampleGeometries: [WindowGeometry] = [
  .video(time: 3, height: 5, width: 7, window: [2, 3, 3], shift: [1, 1, 1]),
  .video(time: 2, height: 2, width: 5, window: [4, 3, 3], shift: [2, 1, 1]),
  .image(height: 5, width: 7, window: [3, 3], shift: [1, 1]),
  .image(height: 3, width: 6, window: [4, 4], shift: [2, 2]),
]

final class WindowAttentionTests: XCTestCase {

  // MARK: Geometry

  func testGeometryClampsLikeTorchvision() {
    // 3D: size ≤ window clamps the window to the size and drops the shift, from the input size.
    let g3 = WindowGeometry.video(
      time: 2, height: 7, width: 9, window: [4, 7, 7], shift: [2, 3, 3])
    XCTAssertEqual(g3.window, [2, 7, 7])
    XCTAssertEqual(g3.shift, [0, 0, 3])
    XCTAssertEqual(g3.padded, [2, 7, 14])
    XCTAssertEqual(g3.windowsPerSample, 2)
    XCTAssertEqual(g3.tokensPerWindow, 98)
    // 3D, one more than the window: not clamped, padded to twice the window.
    let g3b = WindowGeometry.video(
      time: 3, height: 5, width: 7, window: [2, 3, 3], shift: [1, 1, 1])
    XCTAssertEqual(g3b.window, [2, 3, 3])
    XCTAssertEqual(g3b.shift, [1, 1, 1])
    XCTAssertEqual(g3b.padded, [4, 6, 9])
    // 2D: never clamps the window; pads up to it and drops the shift there.
    let g2 = WindowGeometry.image(height: 5, width: 9, window: [7, 7], shift: [3, 3])
    XCTAssertEqual(g2.window, [1, 7, 7])
    XCTAssertEqual(g2.shift, [0, 0, 3])
    XCTAssertEqual(g2.padded, [1, 7, 14])
    XCTAssertEqual(g2.tokensPerWindow, 49)
    let g2b = WindowGeometry.image(height: 7, width: 7, window: [7, 7], shift: [3, 3])
    XCTAssertFalse(g2b.isShifted)
  }

  func testPartitionMatchesNaiveAndReverseInverts() {
    var rng = SeededRandom(seed: 1)
    let unshifted = WindowGeometry.video(
      time: 4, height: 6, width: 6, window: [2, 3, 3], shift: [0, 0, 0])
    for g in sampleGeometries + [unshifted] {
      let (b, c) = (2, 3)
      let x = randomTensor([b, g.tokensPerSample, c], &rng)  // [B, L, C]
      let expected = naiveWindowPartition(x.array, batch: b, channels: c, geometry: g)
      let positions = g.windowsPerSample * g.tokensPerWindow
      let windows = Tensor(zeros: [b, positions, c])  // [B, nW·N, C]
      let back = Tensor(zeros: [b, g.tokensPerSample, c])  // [B, L, C]
      g.sourceMap().withUnsafeBufferPointer { src in
        guard let s = src.baseAddress else { return XCTFail("empty map") }
        windowPartition(
          windows: windows.pointer, x: x.pointer, source: s, positions: positions,
          tokens: g.tokensPerSample, batch: b, channels: c)
        windowReverse(
          y: back.pointer, windows: windows.pointer, source: s, positions: positions,
          tokens: g.tokensPerSample, batch: b, channels: c)
      }
      XCTAssertEqual(windows.array, expected, "partition \(g)")
      XCTAssertEqual(back.array, x.array, "reverse ∘ partition \(g)")
    }
  }

  func testShiftMaskMatchesNaive() {
    let larger: [WindowGeometry] = [
      .video(time: 8, height: 14, width: 14, window: [4, 7, 7], shift: [0, 3, 3]),
      .image(height: 14, width: 14, window: [7, 7], shift: [3, 3]),
    ]
    for g in sampleGeometries + larger {
      let expected = naiveShiftMask(geometry: g)
      let m = ShiftMask(geometry: g)
      let n = g.tokensPerWindow
      var fast = [Float](repeating: 0, count: expected.count)
      var anyMasked = false
      for w in 0..<g.windowsPerSample {
        var mixed = false
        for i in 0..<n {
          for j in 0..<n where m.labels[w * n + i] != m.labels[w * n + j] {
            fast[(w * n + i) * n + j] = -100
            mixed = true
          }
        }
        XCTAssertEqual(m.mixed[w], mixed, "mixed flag of window \(w), \(g)")
        anyMasked = anyMasked || mixed
      }
      XCTAssertEqual(fast, expected, "mask \(g)")
      XCTAssertTrue(anyMasked, "a shifted geometry masks something: \(g)")
    }
  }

  // MARK: Relative position

  func testRelativePositionIndexFormulaAndTimeOutermost() {
    // 2D window 7: index = (dh + 6)·13 + (dw + 6).
    let i2 = relativePositionIndex(configured: [1, 7, 7], used: [1, 7, 7])
    XCTAssertEqual(i2.count, 49 * 49)
    XCTAssertEqual(i2[0], 6 * 13 + 6)  // same token
    XCTAssertEqual(i2[0 * 49 + 48], 0)  // query (0,0), key (6,6): dh = dw = −6
    XCTAssertEqual(i2[48 * 49 + 0], 12 * 13 + 12)
    XCTAssertEqual(i2[1 * 49 + 7], 5 * 13 + 7)  // query (0,1), key (1,0)
    XCTAssertEqual(relativePositionTableRows(window: [7, 7]), 169)
    XCTAssertEqual(relativePositionTableRows(window: [2, 7, 7]), 3 * 169)
    // 3D (2,7,7): the block of temporal offset dt is the 2D index plus (dt + 1)·169.
    let i3 = relativePositionIndex(configured: [2, 7, 7], used: [2, 7, 7])
    for ti in 0..<2 {
      for tj in 0..<2 {
        for i in 0..<49 {
          for j in 0..<49 {
            let v = i3[(ti * 49 + i) * 98 + tj * 49 + j]
            XCTAssertEqual(v, i2[i * 49 + j] + Int32((ti - tj + 1) * 169))
          }
        }
      }
    }
    // Clamped in time: the first N tokens keep their true coordinates (dt = 0 block).
    let c = relativePositionIndex(configured: [4, 7, 7], used: [1, 7, 7])
    XCTAssertEqual(c, i2.map { $0 + 3 * 169 })
  }

  // MARK: Fast against naive

  func testFusedSoftmaxRow() {
    // Softmax rows sum to 1 and follow the definition, with and without the mask.
    var rng = SeededRandom(seed: 5)
    let n = 37
    let logits = (0..<n).map { _ in rng.normal() * 3 }
    let bias = (0..<n).map { _ in rng.normal() }
    let labels = (0..<n).map { Float($0 % 3) }
    for (masked, fast) in [(false, false), (true, false), (false, true), (true, true)] {
      for count in [n, 8, 5] {
        var row = Array(logits[0..<count])
        row.withUnsafeMutableBufferPointer { r in
          bias.withUnsafeBufferPointer { b in
            labels.withUnsafeBufferPointer { l in
              guard let rp = r.baseAddress, let bp = b.baseAddress else { return }
              let lp = masked ? l.baseAddress : nil
              if fast {
                attentionSoftmaxRow(rp, bias: bp, labels: lp, rowLabel: 1, count: count)
              } else {
                portableAttentionSoftmaxRow(rp, bias: bp, labels: lp, rowLabel: 1, count: count)
              }
            }
          }
        }
        let z = (0..<count).map {
          Double(logits[$0] + bias[$0]) - (masked && labels[$0] != 1 ? 100 : 0)
        }
        let m = z.max() ?? 0
        let total = z.reduce(0) { $0 + Foundation.exp($1 - m) }
        for j in 0..<count {
          XCTAssertEqual(
            Double(row[j]), Foundation.exp(z[j] - m) / total, accuracy: 1e-6,
            "masked \(masked) fast \(fast) n \(count)")
        }
      }
    }
  }

  func testForwardMatchesNaiveReferenceOnRandomShapes() {
    var rng = SeededRandom(seed: 7)
    for trial in 0..<10 {
      let is3D = trial % 2 == 0
      let heads = 1 + Int(rng.next() % 3)
      let dim = heads * (2 + Int(rng.next() % 3))
      let window =
        is3D
        ? [1 + Int(rng.next() % 3), 2 + Int(rng.next() % 3), 2 + Int(rng.next() % 3)]
        : [2 + Int(rng.next() % 3), 2 + Int(rng.next() % 3)]
      let shift = window.map { rng.next() % 2 == 0 ? $0 / 2 : 0 }
      let spatial = window.map { 1 + Int(rng.next() % UInt64(2 * $0 + 2)) }
      let shape = [1 + Int(rng.next() % 2)] + spatial + [dim]
      let (layer, store) = makeAttention(
        dim: dim, heads: heads, window: window, shift: shift, seed: 100 + UInt64(trial))
      let x = randomTensor(shape, &rng)
      let expected = Tensor(shape: shape, values: naiveForward(layer, store, x))
      let label = "x \(shape) window \(window) shift \(shift) heads \(heads)"
      assertClose(
        layer.forward(x, training: false), expected, atol: 2e-5, rtol: 1e-4, "eval " + label)
      assertClose(
        layer.forward(x, training: true), expected, atol: 2e-5, rtol: 1e-4, "train " + label)
    }
  }

  // MARK: Gradients

  private func gradientCheck(
    _ label: String, shape: [Int], heads: Int, window: [Int], shift: [Int],
    file: StaticString = #filePath, line: UInt = #line
  ) {
    var rng = SeededRandom(seed: 11)
    let (layer, store) = makeAttention(
      dim: shape[shape.count - 1], heads: heads, window: window, shift: shift, seed: 12)
    let x = randomTensor(shape, &rng)
    checkGradients(
      label, inputs: [x], parameters: store.parameters, step: 1e-2, tolerance: 2e-2,
      maxChecks: 64, forward: { layer.forward(x, training: true) },
      backward: { [layer.backward($0)] }, file: file, line: line)
    // The backward pass must have reached the bias table through the index.
    let table = store["attn.relative_position_bias_table"]?.grad.array ?? []
    XCTAssertTrue(
      table.contains { $0 != 0 }, "\(label): bias table gradient", file: file, line: line)
  }

  func testGradients2D() {
    gradientCheck("2D unshifted", shape: [2, 6, 6, 8], heads: 2, window: [3, 3], shift: [0, 0])
    gradientCheck(
      "2D shifted, padded", shape: [1, 5, 7, 8], heads: 2, window: [3, 3], shift: [1, 1])
    gradientCheck(
      "2D smaller than window", shape: [1, 3, 6, 6], heads: 3, window: [4, 4], shift: [2, 2])
  }

  func testGradients3D() {
    gradientCheck(
      "3D unshifted", shape: [1, 2, 4, 4, 8], heads: 2, window: [2, 2, 2], shift: [0, 0, 0])
    gradientCheck(
      "3D shifted, odd sizes", shape: [1, 3, 5, 7, 8], heads: 2, window: [2, 3, 3],
      shift: [1, 1, 1])
    gradientCheck(
      "3D clamped", shape: [2, 2, 2, 5, 6], heads: 2, window: [4, 3, 3], shift: [2, 1, 1])
  }

  // MARK: Inflation

  /// A 3D layer whose table is the 2D table repeated 2Wt − 1 times along its rows (time
  /// outermost), with the 2D linears, gives every frame of a static clip the 2D output —
  /// with temporal and spatial shifts and spatial padding.
  func testReplicatedTableMakesStaticClipMatch2D() {
    let (dim, heads) = (8, 2)
    let (layer2, store2) = makeAttention(
      dim: dim, heads: heads, window: [3, 3], shift: [1, 1], seed: 21)
    var rng = SeededRandom(seed: 22)
    let store3 = ParameterStore()
    let layer3 = WindowAttention(
      store: store3, name: "attn", dim: dim, heads: heads, window: [2, 3, 3], shift: [1, 1, 1],
      rng: &rng)
    for p2 in store2.parameters {
      guard let p3 = store3[p2.name] else { return XCTFail("no \(p2.name) in the 3D layer") }
      XCTAssertEqual(p3.count % p2.count, 0, p2.name)
      for i in 0..<p3.count { p3.value.pointer[i] = p2.value.pointer[i % p2.count] }
    }
    let (h, w, frames) = (5, 7, 4)
    let x2 = randomTensor([1, h, w, dim], &rng)  // [B, H, W, C]
    let x3 = Tensor(zeros: [1, frames, h, w, dim])  // [B, T, H, W, C], every frame x2
    for t in 0..<frames { (x3.pointer + t * x2.count).update(from: x2.pointer, count: x2.count) }
    let y2 = layer2.forward(x2, training: false).clone()
    let y3 = layer3.forward(x3, training: false)
    for t in 0..<frames {
      assertClose(
        y3.pointer + t * y2.count, y2.pointer, count: y2.count, atol: 1e-5, rtol: 1e-4,
        "frame \(t)")
    }
    // Not trivially equal: a table that is not replicated changes the result.
    guard let table3 = store3["attn.relative_position_bias_table"] else { return XCTFail("table") }
    table3.value.pointer[0] += 3
    let changed = layer3.forward(x3, training: false)
    var differs = false
    for i in 0..<changed.count where abs(changed.pointer[i] - y2.pointer[i % y2.count]) > 1e-4 {
      differs = true
    }
    XCTAssertTrue(differs, "the temporal-offset blocks of the table matter")
  }

  // MARK: PyTorch parity

  /// A missing attention fixture fails the test; it is never a skip.
  func testMissingAttentionFixtureIsAFailure() {
    XCTAssertThrowsError(try fixture("no_such_fixture")) { XCTAssertFalse($0 is XCTSkip, "\($0)") }
  }

  private func fixture(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile.read(
      path: try TestFixture.path(
        name + ".safetensors", in: .module, writtenBy: "Tools/make_attention_fixtures.py"))
  }

  /// Metadata `key` as a list of integers (a JSON list or a single JSON number).
  private func ints(_ f: SafeTensorsFile, _ key: String) throws -> [Int] {
    var text = f.metadata[key] ?? ""
    if !text.hasPrefix("[") { text = "[" + text + "]" }
    return try JSONDecoder().decode([Int].self, from: Data(text.utf8))
  }

  func testTorchvisionParity() throws {
    // Every softmax path the CPU has (AVX-512, AVX2/FMA, portable) through the whole layer.
    defer { KernelSet.current = .best }
    for isa in VectorISA.supported {
      KernelSet.current.vector = isa
      try torchvisionParity()
    }
  }

  private func torchvisionParity() throws {
    let names = [
      "attention_2d_shifted", "attention_2d_small", "attention_3d_shifted",
      "attention_3d_clamped", "attention_3d_plain",
    ]
    for name in names {
      let f = try fixture(name)
      let dim = try ints(f, "dim")
      let heads = try ints(f, "heads")
      let window = try ints(f, "window")
      let shift = try ints(f, "shift")
      var rng = SeededRandom(seed: 0)
      let store = ParameterStore()
      let layer = WindowAttention(
        store: store, name: "attn", dim: dim[0], heads: heads[0], window: window, shift: shift,
        rng: &rng)
      let keys = [
        "qkv.weight", "qkv.bias", "proj.weight", "proj.bias", "relative_position_bias_table",
      ]
      for key in keys {
        guard let p = store["attn." + key] else { return XCTFail("\(name): no parameter \(key)") }
        let (shape, values) = try f.floats(key)
        XCTAssertEqual(shape, p.shape, "\(name) \(key) shape")
        guard values.count == p.count else { continue }
        p.value.copy(from: Tensor(shape: p.shape, values: values))
      }
      // The index over the used window equals torchvision's buffer (top-left N×N block in 3D).
      let (ishape, index) = try f.int64s("relative_position_index")
      let x = Tensor(shape: try f.floats("input").shape, values: try f.floats("input").values)
      let geometry = layer.geometry(for: x.shape)
      let ours = relativePositionIndex(configured: geometry.configuredWindow, used: geometry.window)
      let n = geometry.tokensPerWindow
      let full = ishape.count == 2 ? ishape[1] : Int(Double(ishape[0]).squareRoot())
      var theirs = [Int32]()
      for i in 0..<n { for j in 0..<n { theirs.append(Int32(index[i * full + j])) } }
      XCTAssertEqual(ours, theirs, "\(name): relative position index")

      let y = layer.forward(x, training: true)
      let (yshape, yvalues) = try f.floats("output")
      // The naive reference agrees with PyTorch too.
      assertClose(
        Tensor(shape: yshape, values: naiveForward(layer, store, x)),
        Tensor(shape: yshape, values: yvalues), atol: 1e-5, rtol: 1e-4, "\(name) naive output")
      XCTAssertEqual(y.shape, yshape, name)
      assertClose(
        y, Tensor(shape: yshape, values: yvalues), atol: 1e-5, rtol: 1e-4, "\(name) output")
      let (rshape, rvalues) = try f.floats("proj_r")
      let dx = layer.backward(Tensor(shape: rshape, values: rvalues))
      let (gshape, gvalues) = try f.floats("input_grad")
      assertClose(
        dx, Tensor(shape: gshape, values: gvalues), atol: 1e-4, rtol: 1e-3, "\(name) input grad")
      for key in keys {
        guard let p = store["attn." + key] else { continue }
        let (pshape, pvalues) = try f.floats(key + ".grad")
        assertClose(
          p.grad, Tensor(shape: pshape, values: pvalues), atol: 1e-4, rtol: 1e-3,
          "\(name) \(key) grad")
      }
      // Inference gives the same output as training.
      assertClose(
        layer.forward(x, training: false), Tensor(shape: yshape, values: yvalues),
        atol: 1e-5, rtol: 1e-4, "\(name) eval output")
    }
  }
}
