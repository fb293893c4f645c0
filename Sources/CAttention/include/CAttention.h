// Vector kernels of window attention that need AVX2/FMA code generation (chosen at run time).
#ifndef VCOSWIN_CATTENTION_H
#define VCOSWIN_CATTENTION_H

/// 1 when this CPU runs the AVX2/FMA kernels below, else 0 (then callers use portable code).
int vcoswin_attention_has_avx2(void);

/// One attention row, in place: s[j] <- softmax_j(s[j] + bias[j] + m_j), m_j = -100 when
/// labels != 0 and labels[j] != row_label, else 0. Float32; exp by the Cephes expf polynomial
/// with FMA. Precondition: vcoswin_attention_has_avx2() == 1, n >= 1.
void vcoswin_attention_softmax_row_avx2(float *s, const float *bias, const float *labels,
                                        float row_label, int n);

#endif
