// The attention mask of shifted windows.
//
// Legend: Tp, Hp, Wp padded sizes; Wt, Wh, Ww window; St, Sh, Sw shift; N tokens per window;
//         nW windows per sample.
//
// After the roll by −shift, the last window along a shifted dimension holds tokens that were
// not neighbours. torchvision labels the padded grid with 3 regions per shifted dimension,
// slices `[0, P−window)`, `[P−window, P−shift)`, `[P−shift, P)`, and a query/key pair in one
// window whose labels differ gets −100 added to its logit (softmax then gives it ~e⁻¹⁰⁰).
//
// With shift 0 in one dimension (while another is shifted), torchvision's slices there are
// `[0, P−window)`, an empty one, and `[0, P)` assigned last — so that dimension is one region.
// The fast labels below encode that directly; the naive reference replays the slice
// assignments.

/// Region labels of the shifted windows, one per window position, for the fused softmax.
public struct ShiftMask: Sendable {
  /// Region label `[nW, N]` of each window position: `9·r_t + 3·r_h + r_w`, `r ∈ {0, 1, 2}`
  /// (as Float, so the softmax compares them in the lanes of its logits).
  public let labels: [Float]
  /// Per window `[nW]`: whether its labels differ (only then does the mask change logits).
  public let mixed: [Bool]

  /// The mask of `geometry` (all labels 0 and nothing mixed when it is not shifted).
  public init(geometry g: WindowGeometry) {
    let grid = g.windowGrid
    let n = g.tokensPerWindow
    let nW = g.windowsPerSample
    // Region of a padded coordinate x in dimension d.
    func region(_ d: Int, _ x: Int) -> Int {
      if g.shift[d] == 0 { return 0 }
      if x < g.padded[d] - g.window[d] { return 0 }
      return x < g.padded[d] - g.shift[d] ? 1 : 2
    }
    var labels = [Float](repeating: 0, count: nW * n)
    var mixed = [Bool](repeating: false, count: nW)
    var q = 0
    for gt in 0..<grid[0] {
      for gh in 0..<grid[1] {
        for gw in 0..<grid[2] {
          let first = q
          for it in 0..<g.window[0] {
            for ih in 0..<g.window[1] {
              for iw in 0..<g.window[2] {
                let rt = region(0, gt * g.window[0] + it)
                let rh = region(1, gh * g.window[1] + ih)
                let rw = region(2, gw * g.window[2] + iw)
                labels[q] = Float(9 * rt + 3 * rh + rw)
                if labels[q] != labels[first] { mixed[first / n] = true }
                q += 1
              }
            }
          }
        }
      }
    }
    self.labels = labels
    self.mixed = mixed
  }
}

/// Naive reference of the mask, replaying torchvision `_compute_attention_mask_3d` (and the 2D
/// mask inline in `shifted_window_attention`): slice assignments of a running count over the
/// padded grid, window partition, pairwise difference, −100 where nonzero.
///
/// Returns `[nW, N, N]` (all zeros when the geometry is not shifted — torchvision adds no mask).
public func naiveShiftMask(geometry g: WindowGeometry) -> [Float] {
  let n = g.tokensPerWindow
  let nW = g.windowsPerSample
  if !g.isShifted { return [Float](repeating: 0, count: nW * n * n) }
  let p = g.padded
  // Python slice bounds (start, stop) with negative values counted from the end, nil = end.
  func bounds(_ d: Int, _ start: Int, _ stop: Int?) -> Range<Int> {
    func resolve(_ v: Int) -> Int { v < 0 ? Swift.max(0, p[d] + v) : Swift.min(v, p[d]) }
    let lo = resolve(start)
    let hi = stop.map(resolve) ?? p[d]
    return lo..<Swift.max(lo, hi)
  }
  func slices(_ d: Int) -> [Range<Int>] {
    let (w, s) = (g.window[d], g.shift[d])
    // (0, -w), (-w, -s), (-s, None); note -0 == 0.
    return [bounds(d, 0, -w), bounds(d, -w, -s), bounds(d, -s, nil)]
  }
  // img [Tp, Hp, Wp]
  var img = [Float](repeating: 0, count: p[0] * p[1] * p[2])
  var count: Float = 0
  for rt in slices(0) {
    for rh in slices(1) {
      for rw in slices(2) {
        for a in rt { for b in rh { for c in rw { img[(a * p[1] + b) * p[2] + c] = count } } }
        count += 1
      }
    }
  }
  // partition [nW, N]
  var part = [Float]()
  part.reserveCapacity(nW * n)
  let grid = g.windowGrid
  for gt in 0..<grid[0] {
    for gh in 0..<grid[1] {
      for gw in 0..<grid[2] {
        for it in 0..<g.window[0] {
          for ih in 0..<g.window[1] {
            for iw in 0..<g.window[2] {
              let (a, b, c) = (gt * g.window[0] + it, gh * g.window[1] + ih, gw * g.window[2] + iw)
              part.append(img[(a * p[1] + b) * p[2] + c])
            }
          }
        }
      }
    }
  }
  var mask = [Float](repeating: 0, count: nW * n * n)
  for w in 0..<nW {
    for i in 0..<n {
      for j in 0..<n where part[w * n + i] != part[w * n + j] {
        mask[(w * n + i) * n + j] = -100
      }
    }
  }
  return mask
}
