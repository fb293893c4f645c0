// Naive reference of window attention: plain loops on arrays, Double accumulation, straight
// from the definition and independent of the partition, mask and GEMM code.
//
// Legend: B batch; T, H, W input sizes (T = 1 in 2D); C channels; A heads; D = C/A;
//         P padded size, w window, s shift (per dimension); R bias-table rows.

import Foundation

/// `y [B, T, H, W, C]` of window attention for `x [B, T, H, W, C]` (2D: T = 1, window and
/// shift `[1, h, w]` and `[0, h, w]`).
///
/// For every query token: its position in the rolled, padded grid is `(t − s) mod P` per
/// dimension; its window's keys are the window's positions, each holding the token at
/// `(position + s) mod P` (a zero padding token when that lies outside the input);
/// `logit = (q·D^−½)·k + table[index, a] − 100·[regions differ]`; softmax; `Σ p·v`; proj.
///
/// - Parameters:
///   - qkvWeight: `[3C, C]`, qkvBias `[3C]`, projWeight `[C, C]`, projBias `[C]`.
///   - table: `[R, A]` for the configured `window` `[t, h, w]`.
public func naiveWindowAttentionForward(
  x: [Float], batch: Int, size: [Int], channels: Int, heads: Int, window: [Int], shift: [Int],
  semantics: WindowSemantics, qkvWeight: [Float], qkvBias: [Float], projWeight: [Float],
  projBias: [Float], table: [Float]
) -> [Float] {
  let c = channels
  let d = c / heads
  let l = size.reduce(1, *)
  // Clamp (torchvision: 3D clamps the window to the input; 2D only drops the shift).
  var win = window
  var sh = shift
  var pad = [0, 0, 0]
  for k in 0..<3 {
    if semantics == .video3D && size[k] <= win[k] {
      win[k] = size[k]
      sh[k] = 0
    }
    pad[k] = (size[k] + win[k] - 1) / win[k] * win[k]
    if semantics == .image2D && win[k] >= pad[k] { sh[k] = 0 }
  }
  let shifted = sh.contains { $0 > 0 }
  let n = win.reduce(1, *)
  // qkv of every token [B, L, 3C]; a padding token's qkv is the bias.
  var qkv = [Double](repeating: 0, count: batch * l * 3 * c)
  for r in 0..<(batch * l) {
    for o in 0..<(3 * c) {
      var acc = Double(qkvBias[o])
      for i in 0..<c { acc += Double(qkvWeight[o * c + i]) * Double(x[r * c + i]) }
      qkv[r * 3 * c + o] = acc
    }
  }
  func region(_ k: Int, _ p: Int) -> Int {
    if sh[k] == 0 { return 0 }
    return p < pad[k] - win[k] ? 0 : (p < pad[k] - sh[k] ? 1 : 2)
  }
  let scale = 1 / Double(d).squareRoot()
  var y = [Float](repeating: 0, count: batch * l * c)  // [B, L, C]
  var att = [Double](repeating: 0, count: c)  // one query's attention output [C]
  var logits = [Double](repeating: 0, count: n)  // [N] one query's logits, then weights
  var keyToken = [Int](repeating: -1, count: n)  // token of each key position, −1 = padding
  var keyRegion = [Int](repeating: 0, count: n)  // [N] mask region of each key position
  for b in 0..<batch {
    for t in 0..<size[0] {
      for h in 0..<size[1] {
        for w in 0..<size[2] {
          let coord = [t, h, w]
          let rolled = (0..<3).map { (coord[$0] - sh[$0] + pad[$0]) % pad[$0] }
          let origin = (0..<3).map { rolled[$0] / win[$0] * win[$0] }
          let local = (0..<3).map { rolled[$0] - origin[$0] }
          let qi = (local[0] * win[1] + local[1]) * win[2] + local[2]
          let qRegion = 9 * region(0, rolled[0]) + 3 * region(1, rolled[1]) + region(2, rolled[2])
          for kt in 0..<win[0] {
            for kh in 0..<win[1] {
              for kw in 0..<win[2] {
                let kj = (kt * win[1] + kh) * win[2] + kw
                let p = [origin[0] + kt, origin[1] + kh, origin[2] + kw]
                let s = (0..<3).map { (p[$0] + sh[$0]) % pad[$0] }
                keyToken[kj] =
                  (s[0] < size[0] && s[1] < size[1] && s[2] < size[2])
                  ? (s[0] * size[1] + s[1]) * size[2] + s[2] : -1
                keyRegion[kj] = 9 * region(0, p[0]) + 3 * region(1, p[1]) + region(2, p[2])
              }
            }
          }
          let qRow = (b * l + (t * size[1] + h) * size[2] + w) * 3 * c
          for a in 0..<heads {
            for kj in 0..<n {
              var dot = 0.0
              for e in 0..<d {
                let kv =
                  keyToken[kj] < 0
                  ? Double(qkvBias[c + a * d + e])
                  : qkv[(b * l + keyToken[kj]) * 3 * c + c + a * d + e]
                dot += qkv[qRow + a * d + e] * scale * kv
              }
              // Index of the pair, with token k of the used window given the coordinates of
              // token k of the configured window (torchvision's `index[:N, :N]`).
              let ci = [qi / (window[1] * window[2]), qi / window[2] % window[1], qi % window[2]]
              let cj = [kj / (window[1] * window[2]), kj / window[2] % window[1], kj % window[2]]
              let row =
                ((ci[0] - cj[0] + window[0] - 1) * (2 * window[1] - 1)
                  + (ci[1] - cj[1] + window[1] - 1)) * (2 * window[2] - 1)
                + (ci[2] - cj[2] + window[2] - 1)
              var logit = dot + Double(table[row * heads + a])
              if shifted && keyRegion[kj] != qRegion { logit -= 100 }
              logits[kj] = logit
            }
            let m = logits.max() ?? 0
            var sum = 0.0
            for kj in 0..<n {
              logits[kj] = exp(logits[kj] - m)
              sum += logits[kj]
            }
            for e in 0..<d {
              var acc = 0.0
              for kj in 0..<n {
                let vv =
                  keyToken[kj] < 0
                  ? Double(qkvBias[2 * c + a * d + e])
                  : qkv[(b * l + keyToken[kj]) * 3 * c + 2 * c + a * d + e]
                acc += logits[kj] / sum * vv
              }
              att[a * d + e] = acc
            }
          }
          let yRow = (b * l + (t * size[1] + h) * size[2] + w) * c
          for o in 0..<c {
            var acc = Double(projBias[o])
            for i in 0..<c { acc += Double(projWeight[o * c + i]) * att[i] }
            y[yRow + o] = Float(acc)
          }
        }
      }
    }
  }
  return y
}
