import Compute
import Foundation
import Models
import SafeTensors
import XCTest

@testable import Inflation

/// `inflate --embed centre` and `--bias-time zero` against their rules (Docs/INFLATION.md).
extension InflateTests {
  /// A small CoSwin image config whose embedding has a temporal kernel of `kt` after inflation.
  func centreConfig() throws -> ModelConfig {
    try ModelConfig(
      variant: .coswin, dims: 2, embedDim: 8, depths: [2, 2], heads: [1, 2],
      windows: [[3, 3], [3, 3]], embedKernel: [7, 7], embedStride: [4, 4], embedPadding: [2, 2],
      mergeKernel: [3, 3], mergeStride: [2, 2], mergePadding: [1, 1], dropPath: 0, classes: 4)
  }

  /// The centre slice `⌊Kt/2⌋` of the embedding equals the 2D weight and every other slice is
  /// 0; the merges stay inflated (`W/Kt` per slice). Kt = 2 (centre 1) and Kt = 3 with
  /// replicate padding 1 (centre 1, edges padded with the edge frame).
  func testCentreEmbeddingHoldsTheImageWeightAtTheCentreSlice() throws {
    let c2 = try centreConfig()
    let source = try imageCheckpoint(c2, seed: 11)
    let image = try SafeTensorsFile.read(path: source)
    let w2 = try image.floats(c2.embedConvName + ".weight")  // [O, I, kh, kw]
    for (kt, pad) in [(2, 0), (3, 1)] {
      var o = InflationOptions()
      o.embed = .centre
      o.temporalKernel = kt
      o.temporalStride = 1
      o.temporalPadding = pad
      o.keepHead = true
      let target = dir.appendingPathComponent("centre-\(kt).safetensors").path
      let result = try Inflate.run(from: source, to: target, options: o)
      XCTAssertEqual(result.summary.first { $0.0 == .centred }?.1, 1)
      let video = try SafeTensorsFile.read(path: target)
      let c3 = try Inflate.config3D(from: c2, options: o, path: source)
      let w3 = try video.floats(c3.embedConvName + ".weight")  // [O, I, Kt, kh, kw]
      XCTAssertEqual(w3.shape, [w2.shape[0], w2.shape[1], kt, w2.shape[2], w2.shape[3]])
      let plane = w2.shape[2] * w2.shape[3]
      for oi in 0..<(w2.shape[0] * w2.shape[1]) {
        for t in 0..<kt {
          for p in 0..<plane {
            let got = w3.values[(oi * kt + t) * plane + p]
            XCTAssertEqual(got, t == kt / 2 ? w2.values[oi * plane + p] : 0, "Kt \(kt) slice \(t)")
          }
        }
      }
      // A merge convolution is inflated as before.
      let merge2 = try XCTUnwrap(
        c2.parameterSpecs.first { $0.shape.count == 4 && $0.name != c2.embedConvName + ".weight" })
      let merge3 = try XCTUnwrap(
        c3.parameterSpecs.first { $0.shape.count == 5 && $0.name != c3.embedConvName + ".weight" })
      let m2 = try image.floats(merge2.name)
      let m3 = try video.floats(merge3.name)
      XCTAssertEqual(m3.values[0], m2.values[0] / Float(merge3.shape[2]), accuracy: 1e-7)
    }
  }

  /// A static clip through the centre-initialised model gives the image model's features and
  /// logits: Kt = 2 without padding, and Kt = 3 with replicate padding 1 (a zero-padded edge
  /// would lose the centre frame's neighbours but not the centre, so both hold only if the
  /// padding replicates or the centre slice alone carries the weight).
  func testCentreEmbeddingKeepsTheStaticClipInvariant() throws {
    let c2 = try centreConfig()
    var o = InflationOptions()
    o.embed = .centre
    o.windows = [[2, 3, 3], [4, 3, 3]]
    try assertInvariance(
      c2, options: o, frames: 8, size: 48, expectStages: [[4, 12, 12], [4, 6, 6]])
    o.temporalKernel = 3
    o.temporalStride = 2
    o.temporalPadding = 1
    try assertInvariance(
      c2, options: o, frames: 8, size: 48, expectStages: [[4, 12, 12], [4, 6, 6]])
  }

  /// `--bias-time zero`: the block of offset dt = 0 holds the 2D table, every other block 0.
  func testZeroTimeOffsetsKeepOnlyTheSameFrameBias() throws {
    let c2 = try centreConfig()
    let source = try imageCheckpoint(c2, seed: 12)
    var o = InflationOptions()
    o.biasTime = .zero
    o.windows = [[2, 3, 3], [4, 3, 3]]
    let target = dir.appendingPathComponent("zero.safetensors").path
    _ = try Inflate.run(from: source, to: target, options: o)
    let image = try SafeTensorsFile.read(path: source)
    let video = try SafeTensorsFile.read(path: target)
    let c3 = try Inflate.config3D(from: c2, options: o, path: source)
    let names2 = c2.parameterSpecs.map(\.name).filter {
      $0.hasSuffix("relative_position_bias_table")
    }
    let names3 = c3.parameterSpecs.map(\.name).filter {
      $0.hasSuffix("relative_position_bias_table")
    }
    XCTAssertEqual(names2.count, 4)
    for (n2, n3) in zip(names2, names3) {
      let t2 = try image.floats(n2)  // [Sh·Sw, G]
      let t3 = try video.floats(n3)  // [St·Sh·Sw, G]
      let block = t2.values.count
      let st = t3.values.count / block
      XCTAssertGreaterThan(st, 1)
      for dt in 0..<st {
        let rows = Array(t3.values[(dt * block)..<((dt + 1) * block)])
        XCTAssertEqual(rows, dt == st / 2 ? t2.values : [Float](repeating: 0, count: block), n3)
      }
    }
  }
}
