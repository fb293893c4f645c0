// Vectorised Float32 math for the elementwise kernels: 8-lane loads/stores, e^x, erf(x),
// and row reductions. Written with `SIMD8<Float>` so the compiler maps it to vector registers.

/// 8-lane helpers on raw Float pointers (unaligned access).
public enum Vec8 {
  /// `p[0..<8]` as a vector.
  @inlinable @inline(__always)
  public static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
  }

  /// `p[0..<8] = v`.
  @inlinable @inline(__always)
  public static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
  }

  /// `p[0..<n]` in the first `n ≤ 8` lanes, `fill` in the others.
  @inlinable @inline(__always)
  public static func load(_ p: UnsafePointer<Float>, count n: Int, fill: Float = 0) -> SIMD8<Float>
  {
    if n >= 8 { return load(p) }
    var v = SIMD8<Float>(repeating: fill)
    for l in 0..<n { v[l] = p[l] }
    return v
  }

  /// `p[0..<n] = v[0..<n]` for `n ≤ 8`.
  @inlinable @inline(__always)
  public static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, count n: Int) {
    if n >= 8 {
      store(v, p)
      return
    }
    for l in 0..<n { p[l] = v[l] }
  }

  /// `e^x` per lane: Cephes `expf` (range reduction by ln 2 in two parts, degree-5 polynomial;
  /// relative error about 2 ulp). Inputs are clamped to [−88, 88]; from −88 down the result is
  /// exactly 0 (the power-of-two scale's exponent field becomes 0), and results below the
  /// smallest normal number (x < −87.3) are approximate.
  ///
  /// Written with scalar operands and `replace(with:where:)` (not `pointwiseMin`/`Max` or
  /// vector constants) and no masking of the result, which keeps it inlinable into callers'
  /// vector loops.
  @inlinable @inline(__always)
  public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    var v0 = x
    v0.replace(with: -88, where: x .< -88)
    v0.replace(with: 88, where: x .> 88)
    // 1.5·2²³: adding it rounds to the nearest integer, held in the low mantissa bits.
    let magic: Float = 12_582_912
    let t = v0 * 1.442_695_04 + magic
    let n = t - magic
    var v = v0 - n * 0.693_359_375
    v = v + n * 2.121_944_40e-4
    let z = v * v
    var p = v * 1.987_569_150_0e-4 + 1.398_199_950_7e-3
    p = p * v + 8.333_451_907_3e-3
    p = p * v + 4.166_579_589_4e-2
    p = p * v + 1.666_666_545_9e-1
    p = p * v + 5.000_000_120_1e-1
    p = p * z + v + 1
    // 2ⁿ from its exponent field n + 127 (0 at n = −127: the scale, and the result, are 0).
    let k = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000  // bits of `magic`
    let scale = unsafeBitCast((k &+ 127) &<< 23, to: SIMD8<Float>.self)
    return p * scale
  }

  /// `erf(x)` per lane: an odd/even rational minimax approximation on [−4, 4] (beyond it erf
  /// is ±1 in Float32). Approximation error 7e-8; with Float32 evaluation the absolute error
  /// stays below 5e-7 over the whole line.
  @inlinable @inline(__always)
  public static func erf(_ x0: SIMD8<Float>) -> SIMD8<Float> {
    var x = x0
    x.replace(with: -4, where: x0 .< -4)
    x.replace(with: 4, where: x0 .> 4)
    let x2 = x * x
    var p = x2 * -2.726_142_258_013_06e-10 + 2.770_681_424_959_02e-08
    p = p * x2 - 2.101_024_020_825_08e-06
    p = p * x2 - 5.692_506_394_623_46e-05
    p = p * x2 - 7.349_906_303_268_55e-04
    p = p * x2 - 2.954_599_808_540_25e-03
    p = p * x2 - 1.609_603_332_624_15e-02
    p = p * x
    var q = x2 * -1.456_607_184_649_96e-05 - 2.133_740_552_789_05e-04
    q = q * x2 - 1.682_826_974_382_03e-03
    q = q * x2 - 7.373_329_167_204_68e-03
    q = q * x2 - 1.426_473_905_141_89e-02
    return p / q
  }

  /// `out[0..<n] = a[0..<n] + b[0..<n]`, 8 lanes at a time: the package's one elementwise add.
  /// `out` may alias `a` or `b` (each lane is read before it is written).
  @inlinable @inline(__always)
  public static func add(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ n: Int
  ) {
    var j = 0
    while j + 8 <= n {
      store(load(a + j) + load(b + j), out + j)
      j += 8
    }
    while j < n {
      out[j] = a[j] + b[j]
      j += 1
    }
  }

  /// `acc[0..<n] += src[0..<n]` (`add` into `acc`).
  @inlinable @inline(__always)
  public static func addInPlace(
    _ acc: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int
  ) {
    add(acc, acc, src, n)
  }

  /// `Σ p[0..<n]` (Float lanes, summed across lanes at the end).
  @inlinable @inline(__always)
  public static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    var j = 0
    while j + 8 <= n {
      acc += load(p + j)
      j += 8
    }
    var s = acc.sum()
    while j < n {
      s += p[j]
      j += 1
    }
    return s
  }

  /// `max p[0..<n]`. Precondition: n ≥ 1.
  @inlinable @inline(__always)
  public static func max(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: -.infinity)
    var j = 0
    while j + 8 <= n {
      let v = load(p + j)
      acc.replace(with: v, where: v .> acc)
      j += 8
    }
    var m = acc[0]
    for l in 1..<8 { m = Swift.max(m, acc[l]) }
    while j < n {
      m = Swift.max(m, p[j])
      j += 1
    }
    return m
  }

  /// `Σ a[j]·b[j]` for `j < n`.
  @inlinable @inline(__always)
  public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    var j = 0
    while j + 8 <= n {
      acc += load(a + j) * load(b + j)
      j += 8
    }
    var s = acc.sum()
    while j < n {
      s += a[j] * b[j]
      j += 1
    }
    return s
  }
}
