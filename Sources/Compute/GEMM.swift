import COpenBLAS

/// Matrix transposition flag for `gemm`.
public enum Transpose: Sendable {
  case none, transposed
  var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// `C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C`, row-major, through `cblas_sgemm`.
///
/// `op(A)` is `A` (stored `[M, lda]`) or `Aᵀ` (A stored `[K, lda]`); likewise `B`.
/// `lda`, `ldb`, `ldc` are row strides in elements. `beta = 1` accumulates (backward passes).
public func gemm(
  _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  if m == 0 || n == 0 { return }
  if k == 0 {
    scaleInPlace(c, m: m, n: n, ldc: ldc, beta: beta)
    return
  }
  cblas_sgemm(
    CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k), alpha,
    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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
