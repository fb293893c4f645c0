// AVX-512 products of window attention, one window and head at a time (see
// include/CKernels.h). Small enough (N ≤ 512 tokens, D ≤ 64) that a BLAS call's fixed cost
// (argument checks, buffer set-up, packing) is a large part of its time; these kernels keep
// the operands in L1/L2 and the accumulators in registers.
//
// Legend: M rows of the left operand, N columns of the result (keys), K the summed dimension,
//         D head dimension (a multiple of 16, at most 64), Z = D/16 vectors per row.
// Buffers: a [M, K] (row stride lda, or read transposed), b [N, D] or [K, D] (row stride ldb),
//          c [M, N] or [M, D] (row stride ldc), bt [D, Np] scratch (Np = N rounded up to 16).
#include "CKernels.h"

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

// Rows [r0, r0+R) × vectors [j0, j0+16·NZ) of c = alpha · a · btᵀ-panel, summed over K = d.
// bt holds b transposed [D, np], zero beyond n; stores are masked beyond n.
AVX512 INLINE void abt_tile(const int R, const int NZ, int d, float alpha, const float *a,
                            long lda, const float *bt, long np, float *c, long ldc, int n,
                            int j0) {
  __m512 acc[4][4];
  for (int r = 0; r < R; r++)
    for (int t = 0; t < NZ; t++) acc[r][t] = _mm512_setzero_ps();
  for (int p = 0; p < d; p++) {
    __m512 bv[4];
    for (int t = 0; t < NZ; t++) bv[t] = _mm512_loadu_ps(bt + p * np + j0 + 16 * t);
    for (int r = 0; r < R; r++) {
      __m512 av = _mm512_set1_ps(a[r * lda + p]);
      for (int t = 0; t < NZ; t++) acc[r][t] = _mm512_fmadd_ps(av, bv[t], acc[r][t]);
    }
  }
  const __m512 al = _mm512_set1_ps(alpha);
  for (int t = 0; t < NZ; t++) {
    int j = j0 + 16 * t;
    int left = n - j;
    __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
    for (int r = 0; r < R; r++)
      _mm512_mask_storeu_ps(c + r * ldc + j, mask, _mm512_mul_ps(acc[r][t], al));
  }
}

AVX512 INLINE void abt_rows(const int R, int d, float alpha, const float *a, long lda,
                            const float *bt, long np, float *c, long ldc, int n) {
  int j = 0;
  for (; j + 64 <= np; j += 64) abt_tile(R, 4, d, alpha, a, lda, bt, np, c, ldc, n, j);
  for (; j < np; j += 16) abt_tile(R, 1, d, alpha, a, lda, bt, np, c, ldc, n, j);
}

AVX512 int vcoswin_gemm_abt_avx512(int m, int n, int d, float alpha, const float *a, long lda,
                                   const float *b, long ldb, float *c, long ldc) {
  const long np = (n + 15) & ~15L;
  if (d * np > VCOSWIN_GEMM_SCRATCH_FLOATS) return 0;
  float bt[VCOSWIN_GEMM_SCRATCH_FLOATS] __attribute__((aligned(64)));
  if (d % 16 == 0) {
    // 16×16 blocks in registers: the scalar transpose below made the product 12–28 % slower
    // at N = 49 (C harness, two runs).
    for (long j0 = 0; j0 < np; j0 += 16)
      for (int p0 = 0; p0 < d; p0 += 16)
        vcoswin_transpose16_avx512(b + j0 * ldb + p0, ldb, n - j0 < 16 ? (int)(n - j0) : 16,
                                   bt + p0 * np + j0, np);
  } else {
    for (int p = 0; p < d; p++) {
      float *row = bt + p * np;
      for (int j = 0; j < n; j++) row[j] = b[j * ldb + p];
      for (long j = n; j < np; j++) row[j] = 0;
    }
  }
  int i = 0;
  for (; i + 4 <= m; i += 4) abt_rows(4, d, alpha, a + i * lda, lda, bt, np, c + i * ldc, ldc, n);
  for (; i < m; i++) abt_rows(1, d, alpha, a + i * lda, lda, bt, np, c + i * ldc, ldc, n);
  return 1;
}

// Rows [0, R) of c[R, D] = alpha · a[R, K] · b[K, D], a's element (r, p) at a[r·rs + p·ps].
AVX512 INLINE void ab_tile(const int R, const int Z, int k, float alpha, const float *a, long rs,
                           long ps, const float *b, long ldb, float *c, long ldc) {
  __m512 acc[8][4];
  for (int r = 0; r < R; r++)
    for (int t = 0; t < Z; t++) acc[r][t] = _mm512_setzero_ps();
  for (int p = 0; p < k; p++) {
    __m512 bv[4];
    for (int t = 0; t < Z; t++) bv[t] = _mm512_loadu_ps(b + p * ldb + 16 * t);
    for (int r = 0; r < R; r++) {
      __m512 av = _mm512_set1_ps(a[r * rs + p * ps]);
      for (int t = 0; t < Z; t++) acc[r][t] = _mm512_fmadd_ps(av, bv[t], acc[r][t]);
    }
  }
  const __m512 al = _mm512_set1_ps(alpha);
  for (int r = 0; r < R; r++)
    for (int t = 0; t < Z; t++)
      _mm512_storeu_ps(c + r * ldc + 16 * t, _mm512_mul_ps(acc[r][t], al));
}

AVX512 INLINE void ab_all(const int Z, int m, int k, float alpha, const float *a, long rs, long ps,
                          const float *b, long ldb, float *c, long ldc) {
  // 8 rows × Z vectors of accumulators (Z ≤ 2), 4 rows for Z > 2: at most 16 registers.
  int i = 0;
  if (Z <= 2) {
    for (; i + 8 <= m; i += 8)
      ab_tile(8, Z, k, alpha, a + i * rs, rs, ps, b, ldb, c + i * ldc, ldc);
  }
  for (; i + 4 <= m; i += 4) ab_tile(4, Z, k, alpha, a + i * rs, rs, ps, b, ldb, c + i * ldc, ldc);
  for (; i < m; i++) ab_tile(1, Z, k, alpha, a + i * rs, rs, ps, b, ldb, c + i * ldc, ldc);
}

AVX512 static int ab_dispatch(int m, int d, int k, float alpha, const float *a, long rs, long ps,
                              const float *b, long ldb, float *c, long ldc) {
  switch (d) {
  case 16: ab_all(1, m, k, alpha, a, rs, ps, b, ldb, c, ldc); return 1;
  case 32: ab_all(2, m, k, alpha, a, rs, ps, b, ldb, c, ldc); return 1;
  case 48: ab_all(3, m, k, alpha, a, rs, ps, b, ldb, c, ldc); return 1;
  case 64: ab_all(4, m, k, alpha, a, rs, ps, b, ldb, c, ldc); return 1;
  default: return 0;
  }
}

AVX512 int vcoswin_gemm_ab_avx512(int m, int d, int k, float alpha, const float *a, long lda,
                                  const float *b, long ldb, float *c, long ldc) {
  return ab_dispatch(m, d, k, alpha, a, lda, 1, b, ldb, c, ldc);
}

AVX512 int vcoswin_gemm_atb_avx512(int m, int d, int k, float alpha, const float *a, long lda,
                                   const float *b, long ldb, float *c, long ldc) {
  return ab_dispatch(m, d, k, alpha, a, 1, lda, b, ldb, c, ldc);
}

#else

int vcoswin_gemm_abt_avx512(int m, int n, int d, float alpha, const float *a, long lda,
                            const float *b, long ldb, float *c, long ldc) {
  (void)m; (void)n; (void)d; (void)alpha; (void)a; (void)lda; (void)b; (void)ldb; (void)c;
  (void)ldc;
  return 0;
}
int vcoswin_gemm_ab_avx512(int m, int d, int k, float alpha, const float *a, long lda,
                           const float *b, long ldb, float *c, long ldc) {
  (void)m; (void)d; (void)k; (void)alpha; (void)a; (void)lda; (void)b; (void)ldb; (void)c;
  (void)ldc;
  return 0;
}
int vcoswin_gemm_atb_avx512(int m, int d, int k, float alpha, const float *a, long lda,
                            const float *b, long ldb, float *c, long ldc) {
  (void)m; (void)d; (void)k; (void)alpha; (void)a; (void)lda; (void)b; (void)ldb; (void)c;
  (void)ldc;
  return 0;
}

#endif
