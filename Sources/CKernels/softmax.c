// Row softmax of window attention, forward and backward, for AVX-512 and AVX2/FMA (see
// include/CKernels.h).
//
// Legend: N keys per row. Buffers: s [N] logits, then probabilities; bias [N]; labels [N];
// ds [N] dP, then dS; p [N] probabilities; partial [N] a running sum of dS rows.
// The target attributes compile only these functions for AVX-512 or AVX2/FMA; the run-time
// checks keep the package working on CPUs without them. Both widths evaluate the same
// exponential per lane (the Cephes expf below); only the order of the row sums differs.
#include "CKernels.h"
#include "expf.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <math.h>

// The n floats at next into L2, a cache line at a time (NULL: nothing).
static inline __attribute__((always_inline)) void prefetch_row(const float *next, int n) {
  if (!next) return;
  for (int j = 0; j < n; j += 16) _mm_prefetch((const char *)(next + j), _MM_HINT_T1);
}

typedef int vcoswin_int8 __attribute__((vector_size(32)));
typedef int vcoswin_int16 __attribute__((vector_size(64)));

// e^x per lane for x <= 0 (after the row maximum is subtracted): the Cephes expf of expf.h.
// x is clamped at -87.3 (about 1e-38).
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.33654f));
  return VCOSWIN_EXPF(__m256, vcoswin_int8, x);
}

__attribute__((target("avx2,fma"))) static inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

__attribute__((target("avx2,fma"))) static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) void vcoswin_attention_softmax_row_avx2(
    float *s, const float *bias, const float *labels, float row_label, const float *next,
    int n) {
  prefetch_row(next, n);
  const int n8 = n & ~7;
  __m256 mv = _mm256_set1_ps(-INFINITY);
  float m = -INFINITY;
  int j = 0;
  // (s + bias) + mask, as PyTorch adds them; track the maximum.
  if (labels) {
    const __m256 lb = _mm256_set1_ps(row_label);
    const __m256 minus100 = _mm256_set1_ps(-100.0f);
    for (; j < n8; j += 8) {
      __m256 v = _mm256_add_ps(_mm256_loadu_ps(s + j), _mm256_loadu_ps(bias + j));
      __m256 differ = _mm256_cmp_ps(_mm256_loadu_ps(labels + j), lb, _CMP_NEQ_UQ);
      v = _mm256_add_ps(v, _mm256_and_ps(differ, minus100));
      _mm256_storeu_ps(s + j, v);
      mv = _mm256_max_ps(mv, v);
    }
    for (; j < n; j++) {
      float v = s[j] + bias[j];
      if (labels[j] != row_label) v += -100.0f;
      s[j] = v;
      m = v > m ? v : m;
    }
  } else {
    for (; j < n8; j += 8) {
      __m256 v = _mm256_add_ps(_mm256_loadu_ps(s + j), _mm256_loadu_ps(bias + j));
      _mm256_storeu_ps(s + j, v);
      mv = _mm256_max_ps(mv, v);
    }
    for (; j < n; j++) {
      float v = s[j] + bias[j];
      s[j] = v;
      m = v > m ? v : m;
    }
  }
  if (n8 > 0) {
    float vm = hmax8(mv);
    m = vm > m ? vm : m;
  }
  // e^(v - max) and the row sum, 0 where v - max < VCOSWIN_SOFTMAX_CUT (no subnormal
  // probabilities); the tail goes through one padded vector. The exponential never sees an
  // argument below the cut: at the mask's -100 its last multiply would make a subnormal, which
  // costs a microcode assist per lane (three times the row's time when most keys are masked).
  const __m256 mb = _mm256_set1_ps(m);
  const __m256 cut = _mm256_set1_ps(VCOSWIN_SOFTMAX_CUT);
  __m256 acc = _mm256_setzero_ps();
  for (j = 0; j < n8; j += 8) {
    __m256 x = _mm256_sub_ps(_mm256_loadu_ps(s + j), mb);
    __m256 e = _mm256_and_ps(exp8(_mm256_max_ps(x, cut)), _mm256_cmp_ps(x, cut, _CMP_GE_OQ));
    _mm256_storeu_ps(s + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = hsum8(acc);
  if (j < n) {
    float tail[8];
    int rest = n - j;
    for (int i = 0; i < 8; i++) tail[i] = i < rest ? s[j + i] - m : -INFINITY;
    __m256 x = _mm256_loadu_ps(tail);
    __m256 e = _mm256_and_ps(exp8(_mm256_max_ps(x, cut)), _mm256_cmp_ps(x, cut, _CMP_GE_OQ));
    _mm256_storeu_ps(tail, e);
    for (int i = 0; i < rest; i++) {
      s[j + i] = tail[i];
      sum += tail[i];
    }
  }
  const __m256 inv = _mm256_set1_ps(1.0f / sum);
  for (j = 0; j < n8; j += 8) _mm256_storeu_ps(s + j, _mm256_mul_ps(_mm256_loadu_ps(s + j), inv));
  for (; j < n; j++) s[j] *= 1.0f / sum;
}

#define AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma")))

// exp8 on 16 lanes (the same polynomial and clamp per lane).
AVX512 static inline __m512 exp16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.33654f));
  return VCOSWIN_EXPF(__m512, vcoswin_int16, x);
}

// Lanes j … j+15 that lie below n.
AVX512 static inline __mmask16 lanes16(int j, int n) {
  return n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
}

AVX512 void vcoswin_attention_softmax_row_avx512(float *s, const float *bias, const float *labels,
                                                 float row_label, const float *next, int n) {
  prefetch_row(next, n);
  const __m512 minus_inf = _mm512_set1_ps(-INFINITY);
  __m512 mv = minus_inf;
  // (s + bias) + mask, as PyTorch adds them; track the maximum (the tail through masks).
  const __m512 lb = _mm512_set1_ps(row_label), minus100 = _mm512_set1_ps(-100.0f);
  for (int j = 0; j < n; j += 16) {
    const __mmask16 k = lanes16(j, n);
    __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, s + j), _mm512_maskz_loadu_ps(k, bias + j));
    if (labels) {
      const __mmask16 differ =
          _mm512_mask_cmp_ps_mask(k, _mm512_maskz_loadu_ps(k, labels + j), lb, _CMP_NEQ_UQ);
      v = _mm512_mask_add_ps(v, differ, v, minus100);
    }
    _mm512_mask_storeu_ps(s + j, k, v);
    mv = _mm512_mask_max_ps(mv, k, mv, v);
  }
  const __m512 mb = _mm512_set1_ps(_mm512_reduce_max_ps(mv));
  // e^(v - max) and the row sum, 0 where v - max < VCOSWIN_SOFTMAX_CUT (no subnormals, not
  // even inside the exponential: see the AVX2 row).
  const __m512 cut = _mm512_set1_ps(VCOSWIN_SOFTMAX_CUT);
  __m512 acc = _mm512_setzero_ps();
  for (int j = 0; j < n; j += 16) {
    const __mmask16 k = lanes16(j, n);
    const __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), mb);
    const __m512 e = _mm512_maskz_mov_ps(
        _mm512_mask_cmp_ps_mask(k, x, cut, _CMP_GE_OQ), exp16(_mm512_max_ps(x, cut)));
    _mm512_mask_storeu_ps(s + j, k, e);
    acc = _mm512_add_ps(acc, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(acc));
  for (int j = 0; j < n; j += 16) {
    const __mmask16 k = lanes16(j, n);
    _mm512_mask_storeu_ps(s + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, s + j), inv));
  }
}

AVX512 void vcoswin_attention_softmax_backward_row_avx512(float *ds, const float *p,
                                                          float *partial, const float *next,
                                                          int n) {
  prefetch_row(next, n);
  __m512 acc = _mm512_setzero_ps();
  for (int j = 0; j < n; j += 16) {
    const __mmask16 k = lanes16(j, n);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, ds + j), _mm512_maskz_loadu_ps(k, p + j), acc);
  }
  const __m512 dot = _mm512_set1_ps(_mm512_reduce_add_ps(acc));
  for (int j = 0; j < n; j += 16) {
    const __mmask16 k = lanes16(j, n);
    const __m512 d = _mm512_mul_ps(
        _mm512_maskz_loadu_ps(k, p + j), _mm512_sub_ps(_mm512_maskz_loadu_ps(k, ds + j), dot));
    _mm512_mask_storeu_ps(ds + j, k, d);
    _mm512_mask_storeu_ps(partial + j, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, partial + j), d));
  }
}

__attribute__((target("avx2,fma"))) void vcoswin_attention_softmax_backward_row_avx2(
    float *ds, const float *p, float *partial, const float *next, int n) {
  prefetch_row(next, n);
  const int n8 = n & ~7;
  __m256 acc = _mm256_setzero_ps();
  int j = 0;
  for (; j < n8; j += 8)
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(ds + j), _mm256_loadu_ps(p + j), acc);
  float dot = hsum8(acc);
  for (; j < n; j++) dot += ds[j] * p[j];
  const __m256 dv = _mm256_set1_ps(dot);
  for (j = 0; j < n8; j += 8) {
    const __m256 d =
        _mm256_mul_ps(_mm256_loadu_ps(p + j), _mm256_sub_ps(_mm256_loadu_ps(ds + j), dv));
    _mm256_storeu_ps(ds + j, d);
    _mm256_storeu_ps(partial + j, _mm256_add_ps(_mm256_loadu_ps(partial + j), d));
  }
  for (; j < n; j++) {
    ds[j] = p[j] * (ds[j] - dot);
    partial[j] += ds[j];
  }
}

#else

void vcoswin_attention_softmax_row_avx512(float *s, const float *bias, const float *labels,
                                          float row_label, const float *next, int n) {
  (void)s; (void)bias; (void)labels; (void)row_label; (void)next; (void)n;
}

void vcoswin_attention_softmax_backward_row_avx512(float *ds, const float *p, float *partial,
                                                   const float *next, int n) {
  (void)ds; (void)p; (void)partial; (void)next; (void)n;
}

void vcoswin_attention_softmax_backward_row_avx2(float *ds, const float *p, float *partial,
                                                 const float *next, int n) {
  (void)ds; (void)p; (void)partial; (void)next; (void)n;
}

void vcoswin_attention_softmax_row_avx2(float *s, const float *bias, const float *labels,
                                        float row_label, const float *next, int n) {
  (void)s; (void)bias; (void)labels; (void)row_label; (void)next; (void)n;
}

#endif
