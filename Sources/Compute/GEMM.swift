import CKernels
import COpenBLAS

/// The kernel behind `gemm` (`KernelSet.current.gemm`).
public enum GEMMKernel: String, Sendable, CaseIterable {
  /// OpenBLAS's `cblas_sgemm`, threaded by OpenBLAS outside parallel regions.
  case openBLAS = "openblas"
  /// The package's AVX-512 kernel (`CKernels/gemm.c`), split over the thread budget by `gemm`
  /// itself, by whole 14-row strips or 32-column panels. Each element's sum runs over k in the same order
  /// however the work is split, so its results do not depend on the thread count. Products of
  /// fewer than `packageGemmMinimumRows` rows still go to OpenBLAS.
  case avx512

  /// What the CPU needs to run it.
  public var requires: CPUFeatures {
    switch self {
    case .openBLAS: return []
    case .avx512: return .avx512
    }
  }

  /// Whether this CPU runs the kernel.
  public var isAvailable: Bool { CPUFeatures.current.contains(requires) }
}

/// Matrix transposition flag for `gemm`.
public enum Transpose: Sendable {
  case none, transposed
  var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// A row function `gemm` applies to C once C is final: `out[i, j] = function(C[i, j])` for
/// `i < M`, `j < N`, called on pieces of rows (`function(out + i·ldo + j0, C + i·ldc + j0,
/// count)`). On the package's kernel each piece is done while it is still in cache, which
/// saves a pass over C (GELU after an MLP's first linear). `out` may be C itself.
public struct GemmThen {
  /// `function(out, in, count)`: `out[j] = f(in[j])` for `j < count` (out may equal in).
  public typealias RowFunction =
    @convention(c) (UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, Int) -> Void
  public var function: RowFunction
  /// `[M, ldo]`.
  public var out: UnsafeMutablePointer<Float>
  public var ldo: Int

  public init(_ function: RowFunction, out: UnsafeMutablePointer<Float>, ldo: Int) {
    self.function = function
    self.out = out
    self.ldo = ldo
  }

  /// The same function for the part of C from row `row`, column `column` on.
  func offset(row: Int, column: Int) -> GemmThen {
    GemmThen(function, out: out + row * ldo + column, ldo: ldo)
  }

  /// Applies the function to every row of a finished `C[m, n]`.
  func apply(_ c: UnsafePointer<Float>, m: Int, n: Int, ldc: Int) {
    for i in 0..<m { function(out + i * ldo, c + i * ldc, n) }
  }
}

/// `C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C`, row-major, through the kernel
/// `KernelSet.current.gemm` names.
///
/// `op(A)` is `A` (stored `[M, lda]`) or `Aᵀ` (A stored `[K, lda]`); likewise `B`.
/// `lda`, `ldb`, `ldc` are row strides in elements. `beta = 1` accumulates (backward passes);
/// C is not read when `beta = 0`. With `bias` (`[N]`), `bias` is added to every row of C (a
/// linear layer's `y = x·Wᵀ + b` in one pass on the package's kernel). With `then`, its row
/// function runs over the final C. Outside a parallel region the product runs on the whole
/// thread budget; inside one, on the calling thread.
public func gemm(
  _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  beta: Float = 0, bias: UnsafePointer<Float>? = nil, c: UnsafeMutablePointer<Float>, ldc: Int,
  then: GemmThen? = nil
) {
  if m == 0 || n == 0 { return }
  if KernelSet.current.gemm == .avx512 && m >= packageGemmMinimumRows && k > 0 && alpha != 0 {
    packageGemm(
      transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
      beta: beta, bias: bias, c: c, ldc: ldc, then: then)
    return
  }
  blasGemm(
    transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
    beta: beta, bias: bias, c: c, ldc: ldc)
  then?.apply(c, m: m, n: n, ldc: ldc)
}

/// `gemm` without `then` on OpenBLAS (and the degenerate k = 0 or alpha = 0).
private func blasGemm(
  _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
  alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  beta: Float, bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  if k == 0 || alpha == 0 {
    scaleInPlace(c, m: m, n: n, ldc: ldc, beta: beta)
    if let bias { addRows(c, bias, m: m, n: n, ldc: ldc) }
  } else if let bias, beta == 0 {
    // C ← bias on every row, then C += op(A)·op(B).
    for i in 0..<m { (c + i * ldc).update(from: bias, count: n) }
    openBLASGemm(
      transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
      beta: 1, c: c, ldc: ldc)
  } else {
    openBLASGemm(
      transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
      beta: beta, c: c, ldc: ldc)
    if let bias { addRows(c, bias, m: m, n: n, ldc: ldc) }
  }
}

/// `c[i, j] += bias[j]` for `i < m`, `j < n` (row stride `ldc`).
private func addRows(
  _ c: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, m: Int, n: Int, ldc: Int
) {
  for i in 0..<m {
    for j in 0..<n { c[i * ldc + j] += bias[j] }
  }
}

private func openBLASGemm(
  _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
  alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  cblas_sgemm(
    CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k), alpha,
    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Products with fewer rows run on OpenBLAS even when the package's kernel is current: packing
/// all of B for a handful of rows (a classifier head on a small batch) costs more than the
/// product (`vcoswin-bench gemm --only train`: 2×768·768×400 took 0.07 ms against 0.02 ms).
let packageGemmMinimumRows = 8

/// `gemm` on the package's kernel, split over the thread budget outside parallel regions:
/// by rows when there are many (each part packs all of B) or too few columns to share, else
/// by columns (each part packs only its columns of B, which pays at a few hundred rows).
/// Products under about a million multiply-adds per thread run as one call.
private func packageGemm(
  _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
  alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  beta: Float, bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int,
  then: GemmThen?
) {
  let (ta, tb) = (transA == .transposed, transB == .transposed)
  /// C[rows, cols] of this call; falls back to OpenBLAS when the kernel's packing buffer
  /// cannot be allocated.
  func run(_ rows: Range<Int>, _ cols: Range<Int>) {
    if rows.isEmpty || cols.isEmpty { return }
    let ap = a + (ta ? rows.lowerBound : rows.lowerBound * lda)
    let bp = b + (tb ? cols.lowerBound * ldb : cols.lowerBound)
    let cp = c + rows.lowerBound * ldc + cols.lowerBound
    let biasPart = bias.map { $0 + cols.lowerBound }
    let thenPart = then?.offset(row: rows.lowerBound, column: cols.lowerBound)
    var after =
      thenPart.map { vcoswin_sgemm_then(function: $0.function, out: $0.out, ldo: $0.ldo) }
      ?? vcoswin_sgemm_then()
    let done = withUnsafePointer(to: &after) { pointer in
      vcoswin_sgemm_avx512(
        ta ? 1 : 0, tb ? 1 : 0, rows.count, cols.count, k, alpha, ap, lda, bp, ldb, beta,
        biasPart, cp, ldc, thenPart == nil ? nil : pointer)
    }
    if done == 0 {
      blasGemm(
        transA, transB, m: rows.count, n: cols.count, k: k, alpha: alpha, a: ap, lda: lda,
        b: bp, ldb: ldb, beta: beta, bias: biasPart, c: cp, ldc: ldc)
      thenPart?.apply(cp, m: rows.count, n: cols.count, ldc: ldc)
    }
  }
  let parts = ThreadBudget.inParallelRegion ? 1 : ThreadBudget.threads
  let (strip, panel) = (14, 32)
  let strips = (m + strip - 1) / strip
  let panels = (n + panel - 1) / panel
  if parts <= 1 || m * n * k < parts << 20 || (strips < parts && panels < 2 * parts) {
    run(0..<m, 0..<n)
  } else if m >= 512 * parts || panels < 2 * parts {
    parallelFor(parts) { w in
      run(
        Swift.min(m, strips * w / parts * strip)..<Swift.min(m, strips * (w + 1) / parts * strip),
        0..<n)
    }
  } else {
    parallelFor(parts) { w in
      run(
        0..<m,
        Swift.min(n, panels * w / parts * panel)..<Swift.min(n, panels * (w + 1) / parts * panel))
    }
  }
}

func scaleInPlace(_ c: UnsafeMutablePointer<Float>, m: Int, n: Int, ldc: Int, beta: Float) {
  for i in 0..<m {
    for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
  }
}

/// The naive reference for `gemm`: the same contract, three loops, Double accumulation.
public func naiveGemm(
  _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  for i in 0..<m {
    for j in 0..<n {
      var acc = 0.0
      for p in 0..<k {
        let av = transA == .none ? a[i * lda + p] : a[p * lda + i]
        let bv = transB == .none ? b[p * ldb + j] : b[j * ldb + p]
        acc += Double(av) * Double(bv)
      }
      let prior = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
      c[i * ldc + j] = Float(Double(alpha) * acc + prior)
    }
  }
}

/// Strided batched GEMM: for `g` in `0..<batch`,
/// `C_g = alpha · op(A_g) · op(B_g) + beta · C_g`, with `X_g = X + g · strideX`.
///
/// Small products (window attention) run in parallel over the batch, each single-threaded;
/// a batch of one runs as one (possibly multi-threaded) GEMM.
public func batchedGemm(
  _ transA: Transpose, _ transB: Transpose, batch: Int, m: Int, n: Int, k: Int,
  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, strideA: Int,
  b: UnsafePointer<Float>, ldb: Int, strideB: Int,
  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int
) {
  if batch == 1 {
    gemm(
      transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
      beta: beta, c: c, ldc: ldc)
    return
  }
  parallelFor(batch) { g in
    gemm(
      transA, transB, m: m, n: n, k: k, alpha: alpha, a: a + g * strideA, lda: lda,
      b: b + g * strideB, ldb: ldb, beta: beta, c: c + g * strideC, ldc: ldc)
  }
}
