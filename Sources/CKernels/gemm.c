// Single-precision GEMM with AVX-512 register tiles, for the model's linear layers.
//
// At the model's shapes (K = C or 4C from 96 to 3072, a few hundred to tens of thousands of
// rows) OpenBLAS's kernel loses most where K is small: every C element gets only K
// multiply-adds, so the stores of C and the set-up per call weigh more. This kernel prefetches
// C while it computes, packs only B, and reads A in place.
//
// Legend: M rows of C, N columns of C, K summed dimension; MR = 14 rows × NR = 32 columns per
//         register tile (28 accumulators), KC summed indices per block, NCP column panels per
//         packed block (the block fits in L2).
// Buffers: op(A) [M, K] read in place (A stored [M, lda], or [K, lda] read transposed and
//          copied per tile to ap [KC, MR]); op(B) [K, N] packed per block to bp [NCP, KC, NR]
//          (columns beyond N are zero); C [M, N] (row stride ldc).
//
// Loops: for each K block (KC), for each block of NCP panels (pack B), for each MR-row strip of
// A (kept in L1 across the panels), for each NR-column panel: one tile
//   acc[r][j] = Σ_{p in block} op(A)[i+r, p] · op(B)[p, j0+j],
//   C = alpha·acc + beta·C + bias (first block, C not read when beta = 0) or C += alpha·acc
//   (others); after the last block, an optional row function (`then`, e.g. GELU) on the
//   strip's finished rows while they are in cache.
#include "CKernels.h"

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

enum { MR = 14, NR = 32, KC = VCOSWIN_SGEMM_KC, PACK_FLOATS = 128 * 1024 };

// One R×32 tile over kc summed indices. a: element (r, p) at a[r·lda + p] (AT = 0) or
// a[p·lda + r] (AT = 1); bp [kc, NR]; c [R, ≤ 32] with `cols` valid columns.
AVX512 INLINE void tile(const int R, const int AT, long kc, const float *a, long lda,
                        const float *bp, float *c, long ldc, long cols, float alpha, int first,
                        float beta, const float *bias) {
  // Every loop over r is unrolled (R is a constant in each specialisation), so that acc stays
  // in registers.
  __m512 acc[MR][2];
#pragma clang loop unroll(full)
  for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  // The tile's C lines, for writing (they arrive while the products run).
#pragma clang loop unroll(full)
  for (int r = 0; r < R; r++) {
    _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_ET0);
    _mm_prefetch((const char *)(c + r * ldc + 16), _MM_HINT_ET0);
  }
  // Four summed indices per trip: 5–20 % faster on the model's shapes than one per trip (the
  // loop's own instructions and the row addresses leave the FMA ports' way), most at N = 96.
#pragma clang loop unroll_count(4)
  for (long p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_load_ps(bp + p * NR), b1 = _mm512_load_ps(bp + p * NR + 16);
#pragma clang loop unroll(full)
    for (int r = 0; r < R; r++) {
      const __m512 av = _mm512_set1_ps(AT ? a[p * lda + r] : a[r * lda + p]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  const __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
  const __mmask16 m1 =
      cols >= 32 ? 0xFFFF : (cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0);
  const __m512 al = _mm512_set1_ps(alpha), be = _mm512_set1_ps(beta);
  const int add_bias = first && bias;
  const __m512 bias0 = add_bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
  const __m512 bias1 = add_bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma clang loop unroll(full)
  for (int r = 0; r < R; r++) {
    float *cr = c + r * ldc;
    __m512 v0 = _mm512_mul_ps(acc[r][0], al), v1 = _mm512_mul_ps(acc[r][1], al);
    if (!first) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), v1);
    } else if (beta != 0) {
      v0 = _mm512_fmadd_ps(be, _mm512_maskz_loadu_ps(m0, cr), v0);
      v1 = _mm512_fmadd_ps(be, _mm512_maskz_loadu_ps(m1, cr + 16), v1);
    }
    if (add_bias) {
      v0 = _mm512_add_ps(v0, bias0);
      v1 = _mm512_add_ps(v1, bias1);
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

// A tile of R rows, R a run-time value: one specialised loop per row count.
#define VCOSWIN_TILE_ROWS(AT)                                                                      \
  switch (R) {                                                                                     \
  case 14: tile(14, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;            \
  case 13: tile(13, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;            \
  case 12: tile(12, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;            \
  case 11: tile(11, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;            \
  case 10: tile(10, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;            \
  case 9: tile(9, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;              \
  case 8: tile(8, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;              \
  case 7: tile(7, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;              \
  case 6: tile(6, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;              \
  case 5: tile(5, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;              \
  case 4: tile(4, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;              \
  case 3: tile(3, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;              \
  case 2: tile(2, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;              \
  default: tile(1, AT, kc, a, lda, bp, c, ldc, cols, alpha, first, beta, bias); break;             \
  }

AVX512 static void tile_rows(int R, int AT, long kc, const float *a, long lda, const float *bp,
                             float *c, long ldc, long cols, float alpha, int first, float beta,
                             const float *bias) {
  if (AT) {
    VCOSWIN_TILE_ROWS(1)
  } else {
    VCOSWIN_TILE_ROWS(0)
  }
}

// dst[p·ldd + j] = src[j·lds + p] for j, p < 16, rows j ≥ rows read as zero: one 16×16 block
// transposed in registers.
AVX512 INLINE void transpose16(const float *src, long lds, int rows, float *dst, long ldd) {
  __m512 r[16], t[16];
#pragma clang loop unroll(full)
  for (int i = 0; i < 16; i++)
    r[i] = i < rows ? _mm512_loadu_ps(src + i * lds) : _mm512_setzero_ps();
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    const __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]);
    const __m512d t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
  }
  for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * ldd, r[i]);
}

AVX512 void vcoswin_transpose16_avx512(const float *src, long lds, int rows, float *dst,
                                       long ldd) {
  transpose16(src, lds, rows, dst, ldd);
}

// Panel q of a block: bp [kc, NR] = op(B)[p0 .. p0+kc, j0 .. j0+NR], zero beyond n.
AVX512 static void pack_panel(int trans_b, const float *b, long ldb, long p0, long kc, long j0,
                              long n, float *bp) {
  const long nj = n - j0 < NR ? n - j0 : NR;
  if (!trans_b) {
    // Row by row through masked vectors, zero beyond n (a memcpy call per 128-byte row cost
    // 5 % of a training step).
    const __mmask16 m0 = nj >= 16 ? 0xFFFF : (__mmask16)((1u << nj) - 1);
    const __mmask16 m1 = nj >= 32 ? 0xFFFF : (nj > 16 ? (__mmask16)((1u << (nj - 16)) - 1) : 0);
    for (long q = 0; q < kc; q++) {
      const float *src = b + (p0 + q) * ldb + j0;
      _mm512_store_ps(bp + q * NR, _mm512_maskz_loadu_ps(m0, src));
      _mm512_store_ps(bp + q * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
    }
    return;
  }
  long p = 0;
  if (nj == NR) {
    for (; p + 16 <= kc; p += 16) {
      transpose16(b + j0 * ldb + p0 + p, ldb, 16, bp + p * NR, NR);
      transpose16(b + (j0 + 16) * ldb + p0 + p, ldb, 16, bp + p * NR + 16, NR);
    }
  }
  for (long j = 0; j < nj; j++) {
    const float *src = b + (j0 + j) * ldb + p0;
    for (long q = p; q < kc; q++) bp[q * NR + j] = src[q];
  }
  if (nj < NR)
    for (long q = 0; q < kc; q++) memset(bp + q * NR + nj, 0, (NR - nj) * sizeof(float));
}

// The packing buffer of the calling thread ([PACK_FLOATS], 64-byte aligned), freed when the
// thread ends; NULL when it cannot be allocated.
static pthread_key_t pack_key;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;
static void pack_key_create(void) { pthread_key_create(&pack_key, free); }
static float *pack_buffer(void) {
  pthread_once(&pack_once, pack_key_create);
  float *buffer = pthread_getspecific(pack_key);
  if (!buffer) {
    buffer = aligned_alloc(64, PACK_FLOATS * sizeof(float));
    if (buffer && pthread_setspecific(pack_key, buffer) != 0) {
      free(buffer);
      buffer = NULL;
    }
  }
  return buffer;
}

AVX512 int vcoswin_sgemm_avx512(int trans_a, int trans_b, long m, long n, long k, float alpha,
                                const float *a, long lda, const float *b, long ldb, float beta,
                                const float *bias, float *c, long ldc,
                                const struct vcoswin_sgemm_then *then) {
  float *bp = pack_buffer();
  if (!bp) return 0;
  float ap[KC * MR] __attribute__((aligned(64)));  // [KC, MR]: one strip of Aᵀ
  const long panels = (n + NR - 1) / NR;
  const long kcmax = k < KC ? k : KC;
  long ncp = PACK_FLOATS / (kcmax * NR);
  if (ncp > panels) ncp = panels;
  for (long p0 = 0; p0 < k; p0 += KC) {
    const long kc = k - p0 < KC ? k - p0 : KC;
    const int first = p0 == 0;
    for (long q0 = 0; q0 < panels; q0 += ncp) {
      const long nq = panels - q0 < ncp ? panels - q0 : ncp;
      for (long q = 0; q < nq; q++)
        pack_panel(trans_b, b, ldb, p0, kc, (q0 + q) * NR, n, bp + q * kc * NR);
      for (long i = 0; i < m; i += MR) {
        const int rows = m - i < MR ? (int)(m - i) : MR;
        const float *as = a + i * lda + p0;
        long las = lda;
        if (trans_a) {
          // Rows i … i+rows of op(A) are contiguous per p in A: copy them to one stream.
          const __mmask16 mask = (__mmask16)((1u << rows) - 1);
          for (long p = 0; p < kc; p++)
            _mm512_mask_storeu_ps(ap + p * MR, mask,
                                  _mm512_maskz_loadu_ps(mask, a + (p0 + p) * lda + i));
          as = ap;
          las = MR;
        }
        for (long q = 0; q < nq; q++) {
          const long j0 = (q0 + q) * NR;
          tile_rows(rows, trans_a, kc, as, las, bp + q * kc * NR, c + i * ldc + j0, ldc, n - j0,
                    alpha, first, beta, bias ? bias + j0 : NULL);
        }
        if (then && p0 + kc == k) {
          // These rows' columns of this block are final and still in L1/L2.
          const long j0 = q0 * NR, j1 = (q0 + nq) * NR < n ? (q0 + nq) * NR : n;
          for (long r = i; r < i + rows; r++)
            then->function(then->out + r * then->ldo + j0, c + r * ldc + j0, j1 - j0);
        }
      }
    }
  }
  return 1;
}

#else

void vcoswin_transpose16_avx512(const float *src, long lds, int rows, float *dst, long ldd) {
  (void)src; (void)lds; (void)rows; (void)dst; (void)ldd;
}

int vcoswin_sgemm_avx512(int trans_a, int trans_b, long m, long n, long k, float alpha,
                         const float *a, long lda, const float *b, long ldb, float beta,
                         const float *bias, float *c, long ldc,
                         const struct vcoswin_sgemm_then *then) {
  (void)trans_a; (void)trans_b; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda;
  (void)b; (void)ldb; (void)beta; (void)bias; (void)c; (void)ldc; (void)then;
  return 0;
}

#endif
