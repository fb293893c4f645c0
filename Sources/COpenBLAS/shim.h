// OpenBLAS's CBLAS interface and its thread-count controls.
#ifndef VCOSWIN_COPENBLAS_SHIM_H
#define VCOSWIN_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
