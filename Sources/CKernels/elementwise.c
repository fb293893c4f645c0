// AVX-512 and AVX2/FMA element-wise kernels of the training step: GELU forward and backward,
// and the AdamW update (see include/CKernels.h).
//
// Legend: E elements. Buffers: x, y, dy, dx [E] (GELU); theta, grad, m, v [E] (AdamW).
//
//   gelu(x)  = ½ x (1 + erf(x/√2)),  gelu'(x) = Φ(x) + x φ(x),  φ(x) = e^{−x²/2} / √(2π)
//   AdamW:   m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²,
//            θ ← θ·shrink − lr · (m / c₁) / (√v / √c₂ + ε)
//
// Each kernel is one scalar loop over the same inline math as the portable Swift code (`Vec8`:
// the rational erf on [−4, 4], Cephes expf), compiled twice with target attributes so that
// the compiler vectorises it for 16 lanes (AVX-512) or 8 lanes (AVX2/FMA); callers pick one at
// run time. Inputs may alias outputs element for element (each element is read before it is
// written), which `vectorize(assume_safety)` states.
#include "CKernels.h"
#include "expf.h"

#if defined(__x86_64__) && defined(__clang__)
#include <math.h>

// erf on [−4, 4] (±1 beyond in Float32): odd/even rational minimax, error 7e-8.
static inline __attribute__((always_inline)) float erf1(float x0) {
  float x = x0 < -4.0f ? -4.0f : (x0 > 4.0f ? 4.0f : x0);
  float x2 = x * x;
  float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  p = p * x;
  float q = x2 * -1.45660718464996e-05f - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  return p / q;
}

// e^x (Cephes expf, expf.h): x clamped to [−88, 88]; from −88 down the result is 0.
static inline __attribute__((always_inline)) float exp1(float x0) {
  float x = x0 < -88.0f ? -88.0f : (x0 > 88.0f ? 88.0f : x0);
  return VCOSWIN_EXPF(float, int, x);
}

static inline __attribute__((always_inline)) float gelu1(float x) {
  return 0.5f * x * (1.0f + erf1(x * 0.70710678118654752f));
}

static inline __attribute__((always_inline)) float gelu_grad1(float x) {
  float cdf = 0.5f * (1.0f + erf1(x * 0.70710678118654752f));
  float pdf = exp1(-0.5f * x * x) * 0.39894228040143268f;
  return cdf + x * pdf;
}

#define VCOSWIN_ELEMENTWISE(SUFFIX, TARGET)                                                   \
  __attribute__((target(TARGET))) void vcoswin_gelu_forward_##SUFFIX(float *y, const float *x, \
                                                                     long n) {                \
    _Pragma("clang loop vectorize(assume_safety)") for (long i = 0; i < n; i++) y[i] =         \
        gelu1(x[i]);                                                                          \
  }                                                                                           \
  __attribute__((target(TARGET))) void vcoswin_gelu_backward_##SUFFIX(                        \
      float *dx, const float *dy, const float *x, long n) {                                   \
    _Pragma("clang loop vectorize(assume_safety)") for (long i = 0; i < n; i++) dx[i] =        \
        dy[i] * gelu_grad1(x[i]);                                                             \
  }                                                                                           \
  __attribute__((target(TARGET))) void vcoswin_adamw_##SUFFIX(                                \
      float *theta, float *m, float *v, float *grad, long n,                                  \
      const struct vcoswin_adamw_step *s) {                                                   \
    const float b1 = s->beta1, b2 = s->beta2, lr = s->lr, shrink = s->shrink;                 \
    const float inv_c1 = s->inv_c1, inv_sqrt_c2 = s->inv_sqrt_c2, eps = s->eps;               \
    const int zero = s->zero_grad;                                                            \
    _Pragma("clang loop vectorize(assume_safety)") for (long i = 0; i < n; i++) {             \
      float g = grad[i];                                                                      \
      if (zero) grad[i] = 0;                                                                  \
      float mi = b1 * m[i] + (1.0f - b1) * g;                                                 \
      float vi = b2 * v[i] + (1.0f - b2) * g * g;                                             \
      m[i] = mi;                                                                              \
      v[i] = vi;                                                                              \
      float denom = __builtin_elementwise_sqrt(vi) * inv_sqrt_c2 + eps;                       \
      theta[i] = theta[i] * shrink - lr * (mi * inv_c1) / denom;                              \
    }                                                                                         \
  }

VCOSWIN_ELEMENTWISE(avx512, "avx512f,avx512dq,avx2,fma")
VCOSWIN_ELEMENTWISE(avx2, "avx2,fma")

#else

#define VCOSWIN_ELEMENTWISE_STUB(SUFFIX)                                                      \
  void vcoswin_gelu_forward_##SUFFIX(float *y, const float *x, long n) {                      \
    (void)y; (void)x; (void)n;                                                                \
  }                                                                                           \
  void vcoswin_gelu_backward_##SUFFIX(float *dx, const float *dy, const float *x, long n) {   \
    (void)dx; (void)dy; (void)x; (void)n;                                                     \
  }                                                                                           \
  void vcoswin_adamw_##SUFFIX(float *theta, float *m, float *v, float *grad, long n,          \
                              const struct vcoswin_adamw_step *s) {                           \
    (void)theta; (void)m; (void)v; (void)grad; (void)n; (void)s;                              \
  }
VCOSWIN_ELEMENTWISE_STUB(avx512)
VCOSWIN_ELEMENTWISE_STUB(avx2)

#endif
