// AVX2/FMA row softmax of window attention (see include/CAttention.h).
//
// Legend: N keys per row. Buffers: s [N] logits, then probabilities; bias [N]; labels [N].
// The target attribute compiles only these functions for AVX2/FMA; the run-time check keeps
// the package working on CPUs without them.
#include "CAttention.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <math.h>

int vcoswin_attention_has_avx2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// e^x per lane for x <= 0 (after the row maximum is subtracted): Cephes expf, range reduction
// by ln 2 in two parts, degree-5 polynomial. x is clamped at -87.3 (about 1e-38).
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x) {
  const __m256 magic = _mm256_set1_ps(12582912.0f);  // 1.5 * 2^23
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.33654f));
  __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504f), magic);
  __m256 n = _mm256_sub_ps(t, magic);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 z = _mm256_mul_ps(r, r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(1.9875691500e-4f), r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, z, r), _mm256_set1_ps(1.0f));
  __m256i k = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000));
  __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(p, scale);
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
    float *s, const float *bias, const float *labels, float row_label, int n) {
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
  // probabilities); the tail goes through one padded vector.
  const __m256 mb = _mm256_set1_ps(m);
  const __m256 cut = _mm256_set1_ps(VCOSWIN_SOFTMAX_CUT);
  __m256 acc = _mm256_setzero_ps();
  for (j = 0; j < n8; j += 8) {
    __m256 x = _mm256_sub_ps(_mm256_loadu_ps(s + j), mb);
    __m256 e = _mm256_and_ps(exp8(x), _mm256_cmp_ps(x, cut, _CMP_GE_OQ));
    _mm256_storeu_ps(s + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = hsum8(acc);
  if (j < n) {
    float tail[8];
    int rest = n - j;
    for (int i = 0; i < 8; i++) tail[i] = i < rest ? s[j + i] - m : -INFINITY;
    __m256 x = _mm256_loadu_ps(tail);
    __m256 e = _mm256_and_ps(exp8(x), _mm256_cmp_ps(x, cut, _CMP_GE_OQ));
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

#else

int vcoswin_attention_has_avx2(void) { return 0; }

void vcoswin_attention_softmax_row_avx2(float *s, const float *bias, const float *labels,
                                        float row_label, int n) {
  (void)s; (void)bias; (void)labels; (void)row_label; (void)n;
}

#endif
