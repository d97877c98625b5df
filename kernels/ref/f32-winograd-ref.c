/* Reference Winograd F(2x2,3x3), F(4x4,3x3) and
 * F(6x6,3x3) in plain C: the same
 * algorithm and layouts as the SIMD levels, one lane wide, so each stage can
 * be compared with them and with float64. */
#include "kernels.h"
#include "vec-scalar.h"
#include "ref-config.h"
#include <string.h>

#define MR VGG_REF_WINO_MR
#define NV VGG_REF_WINO_NV
#include "templates/f32-gemm-ukernel.c.inc"

#define TB 64
#define WM 2
#include "templates/f32-winograd.c.inc"
#undef WM
#undef TB
#define TB 32
#define WM 4
#include "templates/f32-winograd.c.inc"
#undef WM
#undef TB
#define TB 16
#define WM 6
#include "templates/f32-winograd.c.inc"
