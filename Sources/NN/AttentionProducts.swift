// The per-window, per-head products of window attention: AVX-512 kernels (`CKernels`) when
// `KernelSet.current.vector` is `.avx512` and the shape fits, `gemm` otherwise.
//
// Legend: M rows of the result, N its columns (keys), K the summed dimension, D head dimension.
// Operands are row-major with the given row strides (q, k, v are column slices of the qkv rows).

import CKernels
import Compute

/// `c[M, N] = alpha · a[M, D] · b[N, D]ᵀ` (q·kᵀ, dO·vᵀ).
@inline(__always)
func attentionProductABt(
  m: Int, n: Int, d: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
  isa: VectorISA = KernelSet.current.vector
) {
  if isa == .avx512,
    vcoswin_gemm_abt_avx512(
      Int32(m), Int32(n), Int32(d), alpha, a, lda, b, ldb, c, ldc) != 0
  {
    return
  }
  gemm(
    .none, .transposed, m: m, n: n, k: d, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
    c: c, ldc: ldc)
}

/// `c[M, D] = alpha · a[M, K] · b[K, D]` (P·v, dS·k).
@inline(__always)
func attentionProductAB(
  m: Int, d: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
  isa: VectorISA = KernelSet.current.vector
) {
  if isa == .avx512,
    vcoswin_gemm_ab_avx512(Int32(m), Int32(d), Int32(k), alpha, a, lda, b, ldb, c, ldc) != 0
  {
    return
  }
  gemm(
    .none, .none, m: m, n: d, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c,
    ldc: ldc)
}

/// `c[M, D] = alpha · a[K, M]ᵀ · b[K, D]` (Pᵀ·dO, dSᵀ·q).
@inline(__always)
func attentionProductAtB(
  m: Int, d: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
  b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
  isa: VectorISA = KernelSet.current.vector
) {
  if isa == .avx512,
    vcoswin_gemm_atb_avx512(Int32(m), Int32(d), Int32(k), alpha, a, lda, b, ldb, c, ldc) != 0
  {
    return
  }
  gemm(
    .transposed, .none, m: m, n: d, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
    c: c, ldc: ldc)
}
