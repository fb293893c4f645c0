// LayerNorm rows for AVX-512 and AVX2/FMA (see include/CKernels.h and NN/Normalization.swift).
//
// Legend: R rows, C channels. Buffers: x, y, dy, dx [R, C]; w (γ), b (β), pg (dγ partial),
// pb (dβ partial) [C]; mean μ, rstd σ⁻¹ [R].
//
//   μ = (1/C) Σ_c x_c,  σ² = (1/C) Σ_c (x_c − μ)²,  x̂_c = (x_c − μ) / √(σ² + ε),
//   y_c = x̂_c γ_c + β_c;
//   backward with g_c = dy_c γ_c:  dx_c = σ⁻¹ (g_c − mean(g) − x̂_c mean(g x̂)),
//   dγ_c += dy_c x̂_c,  dβ_c += dy_c.
//
// Written as scalar loops over one row, compiled twice with target attributes so that the
// compiler vectorises them for 16 lanes (AVX-512) or 8 lanes (AVX2/FMA), one vector per trip
// (the model's C is a multiple of 16: no scalar remainder); the row sums are reassociated
// into vector partial sums (their order is fixed per instruction set, not by the thread
// count). The Swift targets compile for baseline x86-64, where the same loops ran on
// 4-lane SSE.
#include "CKernels.h"

#if defined(__x86_64__) && defined(__clang__)
#include <math.h>

#define INLINE static inline __attribute__((always_inline))

// Σ_c x_c.
INLINE float row_sum(const float *x, long c) {
#pragma clang fp reassociate(on)
  float s = 0;
#pragma clang loop interleave_count(1)
  for (long j = 0; j < c; j++) s += x[j];
  return s;
}

// Σ_c (x_c − μ)².
INLINE float row_squares(const float *x, float mu, long c) {
#pragma clang fp reassociate(on)
  float s = 0;
#pragma clang loop interleave_count(1)
  for (long j = 0; j < c; j++) s += (x[j] - mu) * (x[j] - mu);
  return s;
}

INLINE void forward_rows(float *y, float *mean, float *rstd, const float *x, const float *w,
                         const float *b, long rows, long c, float eps) {
  const float inv_c = 1.0f / (float)c;
  for (long r = 0; r < rows; r++) {
    const float *xr = x + r * c;
    float *yr = y + r * c;
    const float mu = row_sum(xr, c) * inv_c;
    const float rs = 1.0f / __builtin_elementwise_sqrt(row_squares(xr, mu, c) * inv_c + eps);
    if (mean) mean[r] = mu;
    if (rstd) rstd[r] = rs;
#pragma clang loop vectorize(assume_safety) interleave_count(1)
    for (long j = 0; j < c; j++) yr[j] = (xr[j] - mu) * rs * w[j] + b[j];
  }
}

INLINE void backward_rows(float *dx, float *pg, float *pb, const float *dy, const float *x,
                          const float *mean, const float *rstd, const float *w, long rows,
                          long c) {
  const float inv_c = 1.0f / (float)c;
  for (long r = 0; r < rows; r++) {
    const float *xr = x + r * c, *dyr = dy + r * c;
    float *dxr = dx + r * c;
    const float mu = mean[r], rs = rstd[r];
    float sum_g = 0, sum_gx = 0;
    {
#pragma clang fp reassociate(on)
#pragma clang loop vectorize(assume_safety) interleave_count(1)
      for (long j = 0; j < c; j++) {
        const float xh = (xr[j] - mu) * rs, d = dyr[j], g = d * w[j];
        sum_g += g;
        sum_gx += g * xh;
        pg[j] += d * xh;
        pb[j] += d;
      }
    }
    const float a = sum_g * inv_c, bb = sum_gx * inv_c;
    // dy may alias dx: each element is read before it is written.
#pragma clang loop vectorize(assume_safety) interleave_count(1)
    for (long j = 0; j < c; j++) {
      const float xh = (xr[j] - mu) * rs;
      dxr[j] = (dyr[j] * w[j] - a - xh * bb) * rs;
    }
  }
}

#define VCOSWIN_LAYERNORM(SUFFIX, TARGET)                                                     \
  __attribute__((target(TARGET))) void vcoswin_layernorm_forward_##SUFFIX(                    \
      float *y, float *mean, float *rstd, const float *x, const float *w, const float *b,     \
      long rows, long c, float eps) {                                                         \
    forward_rows(y, mean, rstd, x, w, b, rows, c, eps);                                       \
  }                                                                                           \
  __attribute__((target(TARGET))) void vcoswin_layernorm_backward_##SUFFIX(                   \
      float *dx, float *pg, float *pb, const float *dy, const float *x, const float *mean,    \
      const float *rstd, const float *w, long rows, long c) {                                 \
    backward_rows(dx, pg, pb, dy, x, mean, rstd, w, rows, c);                                 \
  }

VCOSWIN_LAYERNORM(avx512, "avx512f,avx512dq,avx2,fma")
VCOSWIN_LAYERNORM(avx2, "avx2,fma")

#else

#define VCOSWIN_LAYERNORM_STUB(SUFFIX)                                                        \
  void vcoswin_layernorm_forward_##SUFFIX(float *y, float *mean, float *rstd, const float *x, \
                                          const float *w, const float *b, long rows, long c,  \
                                          float eps) {                                        \
    (void)y; (void)mean; (void)rstd; (void)x; (void)w; (void)b; (void)rows; (void)c;          \
    (void)eps;                                                                                \
  }                                                                                           \
  void vcoswin_layernorm_backward_##SUFFIX(float *dx, float *pg, float *pb, const float *dy,  \
                                           const float *x, const float *mean,                 \
                                           const float *rstd, const float *w, long rows,      \
                                           long c) {                                          \
    (void)dx; (void)pg; (void)pb; (void)dy; (void)x; (void)mean; (void)rstd; (void)w;         \
    (void)rows; (void)c;                                                                      \
  }
VCOSWIN_LAYERNORM_STUB(avx512)
VCOSWIN_LAYERNORM_STUB(avx2)

#endif
