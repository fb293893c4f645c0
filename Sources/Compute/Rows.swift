// Row helpers shared by the layers: broadcast a row, sum columns, spread work by grain.
//
// Legend: R rows, C columns; matrices are row-major `[R, C]` with row stride C.

/// Like `parallelChunks`, but uses no more workers than `n / grain` (at least one), so that
/// small problems run serially instead of paying for a parallel region.
public func parallelChunks(_ n: Int, grain: Int, _ body: (Range<Int>) -> Void) {
  if n <= 0 { return }
  if n < 2 * Swift.max(grain, 1) || ThreadBudget.threads <= 1 || ThreadBudget.inParallelRegion {
    body(0..<n)
    return
  }
  let workers = Swift.min(ThreadBudget.threads, n / Swift.max(grain, 1))
  parallelFor(workers) { w in body((n * w / workers)..<(n * (w + 1) / workers)) }
}

/// `dst[r, :] = row[:]` for every r: `dst [R, C]`, `row [C]`.
public func broadcastRows(
  _ dst: UnsafeMutablePointer<Float>, row: UnsafePointer<Float>, rows: Int, cols: Int
) {
  parallelChunks(rows, grain: Swift.max(1, 16384 / Swift.max(cols, 1))) { range in
    for r in range { (dst + r * cols).update(from: row, count: cols) }
  }
}

/// `dst[c] += Σ_r src[r, c]`: `src [R, C]`, `dst [C]`.
///
/// Columns are split between workers; each strip of up to 64 columns is summed in one pass
/// over the rows, in Float over blocks of 256 rows and in Double across blocks (so long
/// columns keep their precision).
public func columnSumAccumulate(
  _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rows: Int, cols: Int
) {
  if rows == 0 || cols == 0 { return }
  let blocks = (cols + 7) / 8
  let grain = Swift.max(1, 65536 / Swift.max(rows * 8, 1))
  parallelChunks(blocks, grain: grain) { range in
    var c = range.lowerBound * 8
    let end = Swift.min(range.upperBound * 8, cols)
    while c < end {
      let width = Swift.min(64, end - c)
      columnSumStrip(dst + c, src + c, rows: rows, ld: cols, width: width)
      c += width
    }
  }
}

/// One strip of `columnSumAccumulate`: `dst[j] += Σ_r src[r·ld + j]` for `j < width ≤ 64`.
private func columnSumStrip(
  _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rows: Int, ld: Int,
  width: Int
) {
  withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { partial in
    withUnsafeTemporaryAllocation(of: Double.self, capacity: 64) { total in
      guard let p = partial.baseAddress, let t = total.baseAddress else { return }
      t.initialize(repeating: 0, count: width)
      var r0 = 0
      while r0 < rows {
        let r1 = Swift.min(rows, r0 + 256)
        p.initialize(repeating: 0, count: width)
        for r in r0..<r1 {
          let s = src + r * ld
          for j in 0..<width { p[j] += s[j] }
        }
        for j in 0..<width { t[j] += Double(p[j]) }
        r0 = r1
      }
      for j in 0..<width { dst[j] = Float(Double(dst[j]) + t[j]) }
    }
  }
}
