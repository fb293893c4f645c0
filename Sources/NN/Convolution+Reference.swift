// Naive references of the convolution kernels (Convolution.swift): the direct sum, term by
// term, in Double. Tests compare `convForward` / `convBackward` with them.
//
// Legend: B batch; T, H, W input sizes; T', H', W' output sizes; I, O channels;
//         kt, kh, kw kernel. Buffers: x [B, T, H, W, I]; y [B, T', H', W', O];
//         weight [O, I, kt, kh, kw] (PyTorch); packed [O, K] (K = kt·kh·kw·I, tap-major).
//
//   y[b,t',h',w',o] = bias[o] + Σ_{a,p,q,i} W[o,i,a,p,q] · x[b, t'st−pt+a, h'sh−ph+p, w'sw−pw+q, i]

import Compute

/// Walks every term of the direct convolution sum, in output order: `body(yIndex, o,
/// weightIndex, xIndex)` for each output element `y[b,t',h',w',o]` (flat `yIndex`) and each
/// kernel element `W[o,i,a,p,q]` (flat `weightIndex`) that reads an input element (flat
/// `xIndex`, after padding rules; zero-padding terms are skipped). `body(yIndex, o, nil, nil)`
/// opens each output element.
private func forEachConvTerm(_ g: ConvGeometry, _ body: (Int, Int, Int?, Int?) -> Void) {
  let ci = g.inChannels
  var yIndex = 0
  for b in 0..<g.batch {
    for to in 0..<g.outT {
      for ho in 0..<g.outH {
        for wo in 0..<g.outW {
          for o in 0..<g.outChannels {
            body(yIndex, o, nil, nil)
            for i in 0..<ci {
              for a in 0..<g.kt {
                for p in 0..<g.kh {
                  for q in 0..<g.kw {
                    var ti = to * g.st - g.pt + a
                    let hi = ho * g.sh - g.ph + p
                    let wi = wo * g.sw - g.pw + q
                    if ti < 0 || ti >= g.t {
                      guard g.temporalPadding == .replicate else { continue }
                      ti = Swift.min(Swift.max(ti, 0), g.t - 1)
                    }
                    if hi < 0 || hi >= g.h || wi < 0 || wi >= g.w { continue }
                    let xIndex = (((b * g.t + ti) * g.h + hi) * g.w + wi) * ci + i
                    let wIndex = (((o * ci + i) * g.kt + a) * g.kh + p) * g.kw + q
                    body(yIndex, o, wIndex, xIndex)
                  }
                }
              }
            }
            yIndex += 1
          }
        }
      }
    }
  }
}

/// Naive reference for `convForward`: direct convolution, Double accumulation, PyTorch weight.
public func naiveConvForward(
  y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
  bias: UnsafePointer<Float>?, _ g: ConvGeometry
) {
  var acc = [Double](repeating: 0, count: g.outputCount)
  forEachConvTerm(g) { yi, o, wi, xi in
    if let wi, let xi {
      acc[yi] += Double(weight[wi]) * Double(x[xi])
    } else {
      acc[yi] = Double(bias?[o] ?? 0)
    }
  }
  for j in 0..<acc.count { y[j] = Float(acc[j]) }
}

/// Naive reference for `convBackward` (same contract: dx overwritten, dWeight/dBias added).
public func naiveConvBackward(
  dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
  dBias: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
  weight: UnsafePointer<Float>, _ g: ConvGeometry
) {
  var dxAcc = [Double](repeating: 0, count: g.inputCount)
  var dwAcc = [Double](repeating: 0, count: g.packedWeightCount)
  var dbAcc = [Double](repeating: 0, count: g.outChannels)
  forEachConvTerm(g) { yi, o, wi, xi in
    let d = Double(dy[yi])
    if let wi, let xi {
      dwAcc[wi] += d * Double(x[xi])
      dxAcc[xi] += d * Double(weight[wi])
    } else {
      dbAcc[o] += d
    }
  }
  for j in 0..<dwAcc.count { dWeight[j] += Float(dwAcc[j]) }
  if let dBias { for o in 0..<dbAcc.count { dBias[o] += Float(dbAcc[o]) } }
  if let dx { for j in 0..<dxAcc.count { dx[j] = Float(dxAcc[j]) } }
}
