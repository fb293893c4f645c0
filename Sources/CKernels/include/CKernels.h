// The package's own C kernels, each picked at run time by Swift (`KernelSet.current` in
// `Compute`) from the one CPU check below: the AVX-512 GEMM of linear layers and convolutions
// (gemm.c), window attention's per-head products (attention_products.c) and softmax rows
// (softmax.c), LayerNorm rows (layernorm.c), GELU and AdamW (elementwise.c). Each kernel
// carries its own target attributes; the Swift targets compile for baseline x86-64.
#ifndef VCOSWIN_CKERNELS_H
#define VCOSWIN_CKERNELS_H

// MARK: - CPU features (cpu.c)

/// AVX2 with FMA.
#define VCOSWIN_CPU_AVX2_FMA 1u
/// AVX-512 F and DQ, with AVX2 and FMA: what every `_avx512` kernel needs.
#define VCOSWIN_CPU_AVX512 2u
/// AVX512_BF16 (with VCOSWIN_CPU_AVX512), for bf16 kernels.
#define VCOSWIN_CPU_AVX512_BF16 4u

/// The instruction sets of this CPU, as VCOSWIN_CPU_* bits (0 off x86-64 or without clang).
/// `_avx2` kernels need VCOSWIN_CPU_AVX2_FMA, `_avx512` ones VCOSWIN_CPU_AVX512.
unsigned vcoswin_cpu_features(void);

// MARK: - GEMM (gemm.c)

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
/// Preconditions: the CPU has VCOSWIN_CPU_AVX512; m, n, k >= 1.
int vcoswin_sgemm_avx512(int trans_a, int trans_b, long m, long n, long k, float alpha,
                         const float *a, long lda, const float *b, long ldb, float beta,
                         const float *bias, float *c, long ldc,
                         const struct vcoswin_sgemm_then *then);

/// dst[p·ldd + j] = src[j·lds + p] for j, p < 16, where rows j ≥ rows (1 ≤ rows ≤ 16) are
/// read as zero: one 16×16 block transposed in registers (GEMM packing, attention's kᵀ).
/// Precondition: the CPU has VCOSWIN_CPU_AVX512.
void vcoswin_transpose16_avx512(const float *src, long lds, int rows, float *dst, long ldd);

/// Summed indices per packed block (the K blocking of vcoswin_sgemm_avx512).
#define VCOSWIN_SGEMM_KC 256

// MARK: - Window attention (softmax.c, attention_products.c)

/// Logits this far or further below their row's maximum get probability exactly 0. Their
/// true probability (at most e^-40 ≈ 4e-18) is below Float32 resolution of any row sum, but
/// at the shift mask's -100 it would be subnormal (e^-100 ≈ 4e-44), and subnormal operands
/// make every later product with them (P·v, dS·k) tens of times slower on Intel cores.
#define VCOSWIN_SOFTMAX_CUT (-40.0f)

/// One attention row, in place: s[j] <- softmax_j(s[j] + bias[j] + m_j), m_j = -100 when
/// labels != 0 and labels[j] != row_label, else 0; 0 where the biased, masked logit is
/// VCOSWIN_SOFTMAX_CUT or more below the row maximum. Float32; exp by the Cephes expf
/// polynomial with FMA. When next is not NULL, its n floats (the same row of the next head's
/// probabilities, which a training forward writes to cold memory) are prefetched into L2.
/// Precondition: the CPU has VCOSWIN_CPU_AVX2_FMA, n >= 1.
void vcoswin_attention_softmax_row_avx2(float *s, const float *bias, const float *labels,
                                        float row_label, const float *next, int n);

/// vcoswin_attention_softmax_row_avx2 on 16 lanes: the same result per element up to the order
/// of the row sum. Precondition: the CPU has VCOSWIN_CPU_AVX512, n >= 1.
void vcoswin_attention_softmax_row_avx512(float *s, const float *bias, const float *labels,
                                          float row_label, const float *next, int n);

/// Softmax backward of one attention row, in place, and the row's share of the bias gradient:
/// ds[j] <- p[j] (ds[j] - Σ_i ds[i] p[i]) (dP in, dS out), then partial[j] += ds[j]. When next
/// is not NULL, its n floats (the same row of the next head's probabilities, which the
/// backward reads cold from memory) are prefetched into L2.
/// Preconditions: n >= 1 and the CPU has VCOSWIN_CPU_AVX512 (`_avx512`) or
/// the CPU has VCOSWIN_CPU_AVX2_FMA (`_avx2`).
void vcoswin_attention_softmax_backward_row_avx512(float *ds, const float *p, float *partial,
                                                   const float *next, int n);
void vcoswin_attention_softmax_backward_row_avx2(float *ds, const float *p, float *partial,
                                                 const float *next, int n);

/// Floats of the on-stack scratch of vcoswin_gemm_abt_avx512 (b transposed, [D, N rounded up
/// to 16]); larger products are refused.
#define VCOSWIN_GEMM_SCRATCH_FLOATS 16384

/// c[M, N] = alpha · a[M, D] · b[N, D]ᵀ (row strides lda, ldb, ldc), overwriting c. AVX-512;
/// returns 0 without writing when D · (N rounded up to 16) > VCOSWIN_GEMM_SCRATCH_FLOATS,
/// else 1. Precondition: VCOSWIN_CPU_AVX512.
int vcoswin_gemm_abt_avx512(int m, int n, int d, float alpha, const float *a, long lda,
                            const float *b, long ldb, float *c, long ldc);

/// c[M, D] = alpha · a[M, K] · b[K, D], overwriting c. AVX-512; returns 0 without writing
/// unless D is 16, 32, 48 or 64, else 1. Precondition: VCOSWIN_CPU_AVX512.
int vcoswin_gemm_ab_avx512(int m, int d, int k, float alpha, const float *a, long lda,
                           const float *b, long ldb, float *c, long ldc);

/// c[M, D] = alpha · a[K, M]ᵀ · b[K, D] (a read transposed), overwriting c. Same conditions.
int vcoswin_gemm_atb_avx512(int m, int d, int k, float alpha, const float *a, long lda,
                            const float *b, long ldb, float *c, long ldc);

// MARK: - Rows and elements (layernorm.c, elementwise.c)

/// y[i] = gelu(x[i]) = x Φ(x) (exact erf form) for i < n; y may equal x. `_avx512` needs
/// VCOSWIN_CPU_AVX512, `_avx2` VCOSWIN_CPU_AVX2_FMA.
void vcoswin_gelu_forward_avx512(float *y, const float *x, long n);
void vcoswin_gelu_forward_avx2(float *y, const float *x, long n);

/// dx[i] = dy[i] · gelu'(x[i]) for i < n; dx may equal dy. Same CPU requirements.
void vcoswin_gelu_backward_avx512(float *dx, const float *dy, const float *x, long n);
void vcoswin_gelu_backward_avx2(float *dx, const float *dy, const float *x, long n);

/// LayerNorm of `rows` rows of c channels (formulas in layernorm.c): y = x̂·w + b, and the
/// row's μ and σ⁻¹ into mean[r], rstd[r] when those are not NULL. y must not alias x.
/// `_avx512` needs VCOSWIN_CPU_AVX512, `_avx2` VCOSWIN_CPU_AVX2_FMA.
void vcoswin_layernorm_forward_avx512(float *y, float *mean, float *rstd, const float *x,
                                      const float *w, const float *b, long rows, long c,
                                      float eps);
void vcoswin_layernorm_forward_avx2(float *y, float *mean, float *rstd, const float *x,
                                    const float *w, const float *b, long rows, long c, float eps);

/// Backward of `rows` LayerNorm rows: dx (may alias dy) from dy, x and the forward's mean and
/// rstd; pg[c] += Σ_r dy·x̂ and pb[c] += Σ_r dy, row after row. Same CPU requirements.
void vcoswin_layernorm_backward_avx512(float *dx, float *pg, float *pb, const float *dy,
                                       const float *x, const float *mean, const float *rstd,
                                       const float *w, long rows, long c);
void vcoswin_layernorm_backward_avx2(float *dx, float *pg, float *pb, const float *dy,
                                     const float *x, const float *mean, const float *rstd,
                                     const float *w, long rows, long c);

/// The scalars of one AdamW step over a run of parameters sharing lr and decay.
struct vcoswin_adamw_step {
  float beta1, beta2, eps;
  /// lr · lrScale of these parameters.
  float lr;
  /// 1 − lr·λ for decayed parameters, else 1.
  float shrink;
  /// 1/(1 − β₁ᵗ) and 1/√(1 − β₂ᵗ).
  float inv_c1, inv_sqrt_c2;
  /// Non-zero: each gradient is set to 0 once read (the next step's zeroing, in this pass).
  int zero_grad;
};

/// One AdamW update of n parameters in place (formula in elementwise.c), grad zeroed when
/// s->zero_grad. Same CPU requirements.
void vcoswin_adamw_avx512(float *theta, float *m, float *v, float *grad, long n,
                          const struct vcoswin_adamw_step *s);
void vcoswin_adamw_avx2(float *theta, float *m, float *v, float *grad, long n,
                        const struct vcoswin_adamw_step *s);

#endif
