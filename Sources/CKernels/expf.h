// The Cephes expf polynomial, written once for every width of the package's C kernels: the
// scalar loops compiled for AVX-512 or AVX2/FMA (elementwise.c) and the 8- and 16-lane
// softmax rows (softmax.c). Internal to CKernels (not in include/).
//
//   e^x = 2^n · e^r,  n = round(x / ln 2),  r = x − n·ln 2 (ln 2 in two parts, Cody–Waite),
//   e^r ≈ 1 + r + r²·P(r),  P of degree 5 (Cephes' minimax coefficients);
//   2^n built in the exponent field: bits (n + 127) << 23, n read from the rounding's low bits.
#ifndef VCOSWIN_EXPF_H
#define VCOSWIN_EXPF_H

/// e^x for x in [−87.33, 88.7] (callers clamp; at −88 the result is 0), as an expression of
/// type F: float (I = int), or a vector of floats with I the int vector of the same size
/// (e.g. __m256 with a vector_size(32) int). The multiply-adds fuse where the function's
/// target has FMA, as the intrinsics this replaces did (same instructions, same values).
#define VCOSWIN_EXPF(F, I, x)                                                                \
  ({                                                                                         \
    const F x_ = (x);                                                                        \
    const F magic_ = (F){0} + 12582912.0f; /* 1.5·2²³: adding it rounds to an integer */     \
    const F t_ = x_ * 1.44269504f + magic_;                                                  \
    const F n_ = t_ - magic_;                                                                \
    F r_ = x_ - n_ * 0.693359375f;                                                           \
    r_ = r_ + n_ * 2.12194440e-4f;                                                           \
    const F z_ = r_ * r_;                                                                    \
    F p_ = r_ * 1.9875691500e-4f + 1.3981999507e-3f;                                         \
    p_ = p_ * r_ + 8.3334519073e-3f;                                                         \
    p_ = p_ * r_ + 4.1665795894e-2f;                                                         \
    p_ = p_ * r_ + 1.6666665459e-1f;                                                         \
    p_ = p_ * r_ + 5.0000001201e-1f;                                                         \
    p_ = p_ * z_ + r_ + 1.0f;                                                                \
    const I k_ = __builtin_bit_cast(I, t_) - 0x4B400000;                                     \
    p_ * __builtin_bit_cast(F, (k_ + 127) << 23);                                            \
  })

#endif
