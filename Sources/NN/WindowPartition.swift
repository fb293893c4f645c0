// Window geometry, (shifted) window partition and its reverse, for 2D and 3D window attention.
//
// Legend: B batch; T, H, W input frames, height, width (T = 1 for images);
//         Tp, Hp, Wp padded sizes (multiples of the window); Wt, Wh, Ww window sizes;
//         N = Wt·Wh·Ww tokens per window; nW windows per sample = (Tp/Wt)(Hp/Wh)(Wp/Ww);
//         G = B·nW windows in the batch; C channels; L = T·H·W tokens per sample.
//
// Partition (torchvision `shifted_window_attention[_3d]`): pad at the end with zeros to
// `[Tp, Hp, Wp]`, roll by `-shift` (`rolled[p] = padded[(p + shift) mod P]` per dimension), cut
// into windows ordered (window t, window h, window w) and, inside a window, tokens ordered
// (t, h, w). Reverse: the inverse permutation, roll by `+shift`, crop to `[T, H, W]`.
//
// Both directions are one map `source[q]` from a window position q (of nW·N) to the token it
// holds (or −1 for padding): partition gathers rows through it, the reverse scatters rows
// through it. Since the map is a bijection between non-padding positions and tokens, the
// backward pass of the partition is the reverse (the padding gradient is dropped), and the
// backward pass of the reverse is the partition.

import Compute

/// Which library rule decides windows and shifts for small inputs.
public enum WindowSemantics: Sendable, Hashable {
  /// torchvision `shifted_window_attention` (2D): the window is never clamped. The input is
  /// padded to a multiple of the window; in a dimension where the window covers the whole padded
  /// input (`window ≥ padded`, i.e. `size ≤ window`) the shift becomes 0. Padding tokens then
  /// take part in attention as keys (they are not masked).
  case image2D
  /// torchvision `_get_window_and_shift_size` (3D): in a dimension where `size ≤ window`, the
  /// window becomes `size` and the shift 0. Then the input is padded to a multiple of the window.
  case video3D
}

/// The windows of one attention call: sizes after clamping, padding and shift, per dimension
/// (time, height, width). 2D inputs are described with `T = 1`, window 1 and shift 0 in time.
public struct WindowGeometry: Sendable, Hashable {
  public let semantics: WindowSemantics
  /// Input sizes `[T, H, W]`.
  public let size: [Int]
  /// The window the layer was built with `[Wt, Wh, Ww]` (sizes its bias table and index).
  public let configuredWindow: [Int]
  /// The window actually used `[Wt, Wh, Ww]` (clamped for `video3D`).
  public let window: [Int]
  /// The shift actually used `[St, Sh, Sw]` (0 where the window covers the input).
  public let shift: [Int]
  /// Padded sizes `[Tp, Hp, Wp]`, multiples of `window`.
  public let padded: [Int]

  /// Computes the geometry of an input of `size` `[T, H, W]` for a layer built with window
  /// `window` and shift `shift` (both `[t, h, w]`).
  ///
  /// Preconditions: sizes and windows positive; `0 ≤ shift < window` per dimension;
  /// for `image2D`, `T = 1`, window 1 and shift 0 in time.
  public init(size: [Int], window: [Int], shift: [Int], semantics: WindowSemantics) {
    precondition(size.count == 3 && window.count == 3 && shift.count == 3, "need [t, h, w]")
    precondition(size.allSatisfy { $0 > 0 } && window.allSatisfy { $0 > 0 }, "empty window/input")
    for d in 0..<3 {
      precondition(
        shift[d] >= 0 && shift[d] < window[d], "shift \(shift) must be in [0, \(window))")
    }
    if semantics == .image2D {
      precondition(size[0] == 1 && window[0] == 1 && shift[0] == 0, "2D geometry has T = 1")
    }
    self.semantics = semantics
    self.size = size
    self.configuredWindow = window
    var win = window
    var sh = shift
    var pad = [0, 0, 0]
    for d in 0..<3 {
      if semantics == .video3D && size[d] <= win[d] {
        win[d] = size[d]
        sh[d] = 0
      }
      pad[d] = (size[d] + win[d] - 1) / win[d] * win[d]
      // 2D: the shift is dropped when the window covers the padded input (torchvision tests
      // `window >= padded`, which for padded multiples of the window means equality).
      if semantics == .image2D && win[d] >= pad[d] { sh[d] = 0 }
    }
    self.window = win
    self.shift = sh
    self.padded = pad
  }

  /// 2D geometry for an input `[H, W]` and a layer window/shift `[h, w]`.
  public static func image(height: Int, width: Int, window: [Int], shift: [Int]) -> WindowGeometry {
    precondition(window.count == 2 && shift.count == 2, "2D window and shift are [h, w]")
    return WindowGeometry(
      size: [1, height, width], window: [1] + window, shift: [0] + shift, semantics: .image2D)
  }

  /// 3D geometry for an input `[T, H, W]` and a layer window/shift `[t, h, w]`.
  public static func video(
    time: Int, height: Int, width: Int, window: [Int], shift: [Int]
  ) -> WindowGeometry {
    WindowGeometry(size: [time, height, width], window: window, shift: shift, semantics: .video3D)
  }

  /// Windows per dimension `[Tp/Wt, Hp/Wh, Wp/Ww]`.
  public var windowGrid: [Int] { (0..<3).map { padded[$0] / window[$0] } }
  /// Windows per sample, nW.
  public var windowsPerSample: Int { windowGrid.reduce(1, *) }
  /// Tokens per window, N = Wt·Wh·Ww.
  public var tokensPerWindow: Int { window.reduce(1, *) }
  /// Tokens per sample of the unpadded input, L = T·H·W.
  public var tokensPerSample: Int { size.reduce(1, *) }
  /// Whether any dimension is shifted (then the shift mask applies).
  public var isShifted: Bool { shift.contains { $0 > 0 } }

  /// The partition map `source [nW·N]`: for window position q = window·N + token, the flat token
  /// `(t·H + h)·W + w` of the unpadded input it holds after the roll, or −1 for padding.
  public func sourceMap() -> [Int32] {
    let grid = windowGrid
    let (wt, wh, ww) = (window[0], window[1], window[2])
    let n = tokensPerWindow
    var map = [Int32](repeating: -1, count: windowsPerSample * n)  // [nW·N]
    var q = 0
    for gt in 0..<grid[0] {
      for gh in 0..<grid[1] {
        for gw in 0..<grid[2] {
          for it in 0..<wt {
            for ih in 0..<wh {
              for iw in 0..<ww {
                let st = (gt * wt + it + shift[0]) % padded[0]
                let sh = (gh * wh + ih + shift[1]) % padded[1]
                let sw = (gw * ww + iw + shift[2]) % padded[2]
                if st < size[0] && sh < size[1] && sw < size[2] {
                  map[q] = Int32((st * size[1] + sh) * size[2] + sw)
                }
                q += 1
              }
            }
          }
        }
      }
    }
    precondition(q == map.count)
    return map
  }
}

// MARK: - Kernels

/// Gathers the rows `rowRange` of window positions from the tokens: `rows[r] = x[b, source[q]]`
/// (zero for padding), with `r = b·nW·N + q`.
///
/// `rows [B, nW·N, C]`, `x [B, L, C]`, `source [nW·N]`.
@inline(__always)
func gatherWindowRows(
  rows: UnsafeMutablePointer<Float>, tokens x: UnsafePointer<Float>,
  source: UnsafePointer<Int32>, rowRange: Range<Int>, positions: Int, tokens count: Int,
  channels c: Int
) {
  for r in rowRange {
    let b = r / positions
    let src = Int(source[r - b * positions])
    let row = rows + r * c
    if src < 0 {
      row.update(repeating: 0, count: c)
    } else {
      row.update(from: x + (b * count + src) * c, count: c)
    }
  }
}

/// Scatters the rows `rowRange` of window positions into the tokens: `x[b, source[q]] = rows[r]`,
/// or `x[b, source[q]] += rows[r]` when `accumulate` (padding dropped), with `r = b·nW·N + q`.
///
/// `x [B, L, C]`, `rows [B, nW·N, C]`, `source [nW·N]`.
@inline(__always)
func scatterWindowRows(
  tokens x: UnsafeMutablePointer<Float>, rows: UnsafePointer<Float>,
  source: UnsafePointer<Int32>, rowRange: Range<Int>, positions: Int, tokens count: Int,
  channels c: Int, accumulate: Bool = false
) {
  for r in rowRange {
    let b = r / positions
    let src = Int(source[r - b * positions])
    if src >= 0 {
      let token = x + (b * count + src) * c
      if accumulate {
        Vec8.addInPlace(token, rows + r * c, c)
      } else {
        token.update(from: rows + r * c, count: c)
      }
    }
  }
}

/// Partition (pad, roll by −shift, cut into windows): `windows[b, q, :] = x[b, source[q], :]`,
/// zero where `source[q] = −1`. Also the backward pass of `windowReverse`.
///
/// - Parameters:
///   - windows: output `[B, nW·N, C]` = `[G, N, C]` (overwritten).
///   - x: input tokens `[B, L, C]`.
///   - source: the map `[nW·N]` from `WindowGeometry.sourceMap()`.
///   - positions: nW·N; tokens: L, tokens per sample of `x`.
public func windowPartition(
  windows: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, source: UnsafePointer<Int32>,
  positions: Int, tokens: Int, batch: Int, channels: Int
) {
  parallelChunks(batch * positions, grain: windowRowGrain(channels)) { range in
    gatherWindowRows(
      rows: windows, tokens: x, source: source, rowRange: range, positions: positions,
      tokens: tokens, channels: channels)
  }
}

/// Reverse (merge windows, roll by +shift, crop): `y[b, source[q], :] = windows[b, q, :]` for
/// every non-padding position q; padding positions are dropped. Every token of `y` is written
/// exactly once. Also the backward pass of `windowPartition`.
///
/// - Parameters:
///   - y: output tokens `[B, L, C]` (overwritten).
///   - windows: input `[B, nW·N, C]`.
///   - source: the map `[nW·N]` from `WindowGeometry.sourceMap()`.
public func windowReverse(
  y: UnsafeMutablePointer<Float>, windows: UnsafePointer<Float>, source: UnsafePointer<Int32>,
  positions: Int, tokens: Int, batch: Int, channels: Int
) {
  parallelChunks(batch * positions, grain: windowRowGrain(channels)) { range in
    scatterWindowRows(
      tokens: y, rows: windows, source: source, rowRange: range, positions: positions,
      tokens: tokens, channels: channels)
  }
}

/// Rows per worker of a whole-tensor gather or scatter (about 8192 floats).
private func windowRowGrain(_ channels: Int) -> Int { Swift.max(1, 8192 / Swift.max(channels, 1)) }

// MARK: - Naive references

/// Naive reference of the partition, straight from torchvision's steps on plain arrays:
/// `F.pad` at the end → `torch.roll(-shift)` → `view`/`permute` into windows.
///
/// `x [B, T, H, W, C]` → windows `[B, nW, N, C]` (flattened).
public func naiveWindowPartition(
  _ x: [Float], batch: Int, channels: Int, geometry g: WindowGeometry
) -> [Float] {
  let (t, h, w) = (g.size[0], g.size[1], g.size[2])
  let (tp, hp, wp) = (g.padded[0], g.padded[1], g.padded[2])
  let c = channels
  // padded [B, Tp, Hp, Wp, C]
  var padded = [Float](repeating: 0, count: batch * tp * hp * wp * c)
  for b in 0..<batch {
    for i in 0..<t {
      for j in 0..<h {
        for k in 0..<w {
          for ch in 0..<c {
            padded[(((b * tp + i) * hp + j) * wp + k) * c + ch] =
              x[(((b * t + i) * h + j) * w + k) * c + ch]
          }
        }
      }
    }
  }
  // rolled [B, Tp, Hp, Wp, C]: torch.roll(x, -s)[p] = x[(p + s) mod P]
  var rolled = padded
  for b in 0..<batch {
    for i in 0..<tp {
      for j in 0..<hp {
        for k in 0..<wp {
          let si = (i + g.shift[0]) % tp
          let sj = (j + g.shift[1]) % hp
          let sk = (k + g.shift[2]) % wp
          for ch in 0..<c {
            rolled[(((b * tp + i) * hp + j) * wp + k) * c + ch] =
              padded[(((b * tp + si) * hp + sj) * wp + sk) * c + ch]
          }
        }
      }
    }
  }
  // view [B, Tp/Wt, Wt, Hp/Wh, Wh, Wp/Ww, Ww, C], permute (0,1,3,5,2,4,6,7)
  let (wt, wh, ww) = (g.window[0], g.window[1], g.window[2])
  let (nt, nh, nw) = (tp / wt, hp / wh, wp / ww)
  var out = [Float](repeating: 0, count: rolled.count)  // [B, nW, N, C]
  var o = 0
  for b in 0..<batch {
    for a in 0..<nt {
      for e in 0..<nh {
        for f in 0..<nw {
          for i in 0..<wt {
            for j in 0..<wh {
              for k in 0..<ww {
                let (pi, pj, pk) = (a * wt + i, e * wh + j, f * ww + k)
                for ch in 0..<c {
                  out[o] = rolled[(((b * tp + pi) * hp + pj) * wp + pk) * c + ch]
                  o += 1
                }
              }
            }
          }
        }
      }
    }
  }
  return out
}
