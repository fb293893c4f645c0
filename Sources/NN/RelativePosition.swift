// Relative position bias of window attention.
//
// Legend: A heads; N tokens per (used) window; R = (2Wt−1)(2Wh−1)(2Ww−1) table rows, with
//         [Wt, Wh, Ww] the window the layer was built with (Wt = 1 for 2D: R = (2Wh−1)(2Ww−1)).
//
// Index of the pair (query i, key j) with coordinates (t, h, w) inside the window, time
// outermost (torchvision `define_relative_position_index`):
//   index = (tᵢ−tⱼ + Wt−1)(2Wh−1)(2Ww−1) + (hᵢ−hⱼ + Wh−1)(2Ww−1) + (wᵢ−wⱼ + Ww−1).
// With Wt = 1 this is the 2D index (hᵢ−hⱼ + Wh−1)(2Ww−1) + (wᵢ−wⱼ + Ww−1). Because time is
// outermost, the 3D table is 2Wt−1 stacked copies of a 2D-shaped table, one per temporal
// offset — which is why inflation by replicating the 2D table is exact.
//
// Clamped 3D windows: torchvision uses the top-left `N×N` block of the configured window's
// index matrix (`relative_position_index[:N, :N]`), i.e. token k of the clamped window is given
// the coordinates of token k of the configured window. When only time is clamped (time is
// outermost) those are the true coordinates; when a spatial dimension is clamped they are not,
// and this code reproduces torchvision's behaviour anyway (checkpoints are trained with it).
// The CoSwin variant, which has no such checkpoints to honour, uses `.exact`: token k of the
// clamped window keeps its true coordinates in the clamped window. Only then does a spatially
// clamped window see the same biases in 2D and in 3D, which inflation's invariant needs.

/// How the tokens of a clamped window find their rows in the bias table.
public enum ClampedPositions: Sendable, Hashable {
  /// torchvision: the `N×N` top-left block of the configured window's index.
  case torchvision
  /// True coordinates inside the clamped window.
  case exact
}

import Compute

/// The relative position index `[N, N]` for a layer built with window `configured` `[Wt, Wh, Ww]`
/// used with window `used` (its clamp, same or smaller per dimension); entries index the rows
/// of the `[R, A]` bias table.
public func relativePositionIndex(
  configured: [Int], used: [Int], positions: ClampedPositions = .torchvision
) -> [Int32] {
  precondition(configured.count == 3 && used.count == 3, "windows are [t, h, w]")
  precondition((0..<3).allSatisfy { used[$0] >= 1 && used[$0] <= configured[$0] }, "bad clamp")
  let (wt, wh, ww) = (configured[0], configured[1], configured[2])
  let n = used.reduce(1, *)
  // coordinates (t, h, w) of the first N tokens of the configured window (torchvision) or of
  // the tokens of the used window (exact), flat order (t, h, w)
  let (ch, cw) = positions == .exact ? (used[1], used[2]) : (wh, ww)
  let coords = (0..<n).map { k in (k / (ch * cw), (k / cw) % ch, k % cw) }  // [N] of (t, h, w)
  var index = [Int32](repeating: 0, count: n * n)  // [N, N]
  for i in 0..<n {
    for j in 0..<n {
      let dt = coords[i].0 - coords[j].0 + wt - 1
      let dh = coords[i].1 - coords[j].1 + wh - 1
      let dw = coords[i].2 - coords[j].2 + ww - 1
      index[i * n + j] = Int32((dt * (2 * wh - 1) + dh) * (2 * ww - 1) + dw)
    }
  }
  return index
}

/// Rows of the bias table for a window `[Wt, Wh, Ww]`: `(2Wt−1)(2Wh−1)(2Ww−1)`.
public func relativePositionTableRows(window: [Int]) -> Int {
  window.reduce(1) { $0 * (2 * $1 - 1) }
}

/// Gathers the bias: `bias[a, i, j] = table[index[i·N + j], a]`.
///
/// - Parameters:
///   - bias: output `[A, N, N]` (overwritten).
///   - table: `[R, A]`.
///   - index: `[N, N]`, entries in `0..<R`.
public func relativePositionBiasForward(
  bias: UnsafeMutablePointer<Float>, table: UnsafePointer<Float>, index: UnsafePointer<Int32>,
  tokens: Int, heads: Int
) {
  let profiled = Profile.begin(.attentionCore)
  defer { Profile.end(profiled) }
  let nn = tokens * tokens
  for a in 0..<heads {
    let out = bias + a * nn  // [N, N]
    for p in 0..<nn { out[p] = table[Int(index[p]) * heads + a] }
  }
}

/// Backward of `relativePositionBiasForward`: `dTable[index[i·N + j], a] += dBias[a, i, j]`
/// (a scatter-add: pairs with the same offset share one table row).
///
/// - Parameters:
///   - dTable: `[R, A]` (accumulated).
///   - dBias: `[A, N, N]`.
///   - index: `[N, N]`.
public func relativePositionBiasBackward(
  dTable: UnsafeMutablePointer<Float>, dBias: UnsafePointer<Float>, index: UnsafePointer<Int32>,
  tokens: Int, heads: Int
) {
  let profiled = Profile.begin(.attentionCore)
  defer { Profile.end(profiled) }
  let nn = tokens * tokens
  for a in 0..<heads {
    let g = dBias + a * nn  // [N, N]
    for p in 0..<nn { dTable[Int(index[p]) * heads + a] += g[p] }
  }
}
