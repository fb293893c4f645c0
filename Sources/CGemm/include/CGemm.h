// The package's own single-precision GEMM (AVX-512), beside OpenBLAS's (see gemm.c).
#ifndef VCOSWIN_CGEMM_H
#define VCOSWIN_CGEMM_H

/// 1 when this CPU runs vcoswin_sgemm_avx512 (AVX-512F/DQ with AVX2 and FMA), else 0.
int vcoswin_sgemm_available(void);

/// A function applied to the rows of C once they are final: out[i, j] = f(C[i, j]) through
/// function(out + i·ldo + j0, c + i·ldc + j0, count) over pieces of every row, each piece
/// while it is still in cache. out may be c itself (ldo = ldc) or another [M, ldo] buffer.
struct vcoswin_sgemm_then {
  void (*function)(float *out, const float *in, long count);
  float *out;
  long ldo;
};

/// C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C (+ bias[N] on every row when bias is
/// not NULL), row-major, one thread; then `then`'s function over C's rows when it is not NULL.
///
/// op(A) is A stored [M, lda] (trans_a = 0) or Aᵀ with A stored [K, lda] (trans_a = 1); op(B)
/// is B stored [K, ldb] (trans_b = 0) or Bᵀ with B stored [N, ldb] (trans_b = 1). C is not read
/// when beta = 0. Each element's sum runs over k in increasing order, in blocks of
/// VCOSWIN_SGEMM_KC: the result does not depend on how a caller splits M or N between calls.
/// Returns 1, or 0 without writing when its packing buffer cannot be allocated.
/// Preconditions: vcoswin_sgemm_available() == 1; m, n, k >= 1.
int vcoswin_sgemm_avx512(int trans_a, int trans_b, long m, long n, long k, float alpha,
                         const float *a, long lda, const float *b, long ldb, float beta,
                         const float *bias, float *c, long ldc,
                         const struct vcoswin_sgemm_then *then);

/// dst[p·ldd + j] = src[j·lds + p] for j, p < 16, where rows j ≥ rows (1 ≤ rows ≤ 16) are
/// read as zero: one 16×16 block transposed in registers (GEMM packing, attention's kᵀ).
/// Precondition: vcoswin_sgemm_available() == 1.
void vcoswin_transpose16_avx512(const float *src, long lds, int rows, float *dst, long ldd);

/// Summed indices per packed block (the K blocking of vcoswin_sgemm_avx512).
#define VCOSWIN_SGEMM_KC 256

#endif
