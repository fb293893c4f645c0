// The one CPU-feature check of the package (see include/CKernels.h): which instruction sets
// the kernels may use, read once by Swift (`CPUFeatures.current`).
#include "CKernels.h"

#if defined(__x86_64__) && defined(__clang__)

unsigned vcoswin_cpu_features(void) {
  __builtin_cpu_init();
  unsigned f = 0;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= VCOSWIN_CPU_AVX2_FMA;
  if ((f & VCOSWIN_CPU_AVX2_FMA) && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512dq"))
    f |= VCOSWIN_CPU_AVX512;
  if ((f & VCOSWIN_CPU_AVX512) && __builtin_cpu_supports("avx512bf16"))
    f |= VCOSWIN_CPU_AVX512_BF16;
  return f;
}

#else

unsigned vcoswin_cpu_features(void) { return 0; }

#endif
