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

/// `out = a + b` element-wise over `count` floats (`Vec8.add`), in parallel chunks. `out` may
/// alias `a` or `b`.
public func addElementwise(
  _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
  count: Int
) {
  let profiled = Profile.begin(.residual)
  defer { Profile.end(profiled) }
  parallelChunks(count, grain: 1 << 15) { range in
    let i = range.lowerBound
    Vec8.add(out + i, a + i, b + i, range.count)
  }
}

/// `dst[c] += Σ_r src[r, c]`: `src [R, C]`, `dst [C]`.
///
/// Rows are split into a fixed number of chunks (so the result does not depend on the thread
/// count); each chunk streams its rows once, adding whole rows into a Float partial with 8-lane
/// vectors, folded into Double every 256 rows; the chunk totals are then added in order.
public func columnSumAccumulate(
  _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rows: Int, cols: Int
) {
  if rows == 0 || cols == 0 { return }
  let chunks = Swift.max(1, Swift.min(8, rows / 64))
  // totals: [chunks, C] in Double, then partial: [chunks, C] in Float.
  let doubles = UnsafeMutablePointer<Double>.allocate(capacity: chunks * cols)
  let floats = UnsafeMutablePointer<Float>.allocate(capacity: chunks * cols)
  defer {
    doubles.deallocate()
    floats.deallocate()
  }
  parallelChunks(chunks, grain: rows * cols >= 65536 ? 1 : chunks) { range in
    for k in range {
      let total = doubles + k * cols
      let partial = floats + k * cols
      total.initialize(repeating: 0, count: cols)
      var r = rows * k / chunks
      let end = rows * (k + 1) / chunks
      while r < end {
        let blockEnd = Swift.min(end, r + 256)
        partial.initialize(repeating: 0, count: cols)
        while r < blockEnd {
          Vec8.addInPlace(partial, src + r * cols, cols)
          r += 1
        }
        for j in 0..<cols { total[j] += Double(partial[j]) }
      }
    }
  }
  for j in 0..<cols {
    var acc = Double(dst[j])
    for k in 0..<chunks { acc += doubles[k * cols + j] }
    dst[j] = Float(acc)
  }
}
