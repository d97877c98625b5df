/* Winograd F(2x2,3x3), F(4x4,3x3) and F(6x6,3x3) with fused bias, ReLU and max-pool, avx512. */
#include "kernels.h"
#include "vec-avx512.h"
#include "avx512-config.h"
#include <string.h>

#define MR VGG_AVX512_CONV_MR
#define NV VGG_AVX512_CONV_NV
#include "templates/f32-gemm-ukernel.c.inc"

#define TB VGG_AVX512_WINO2_TB
#define WM 2
#include "templates/f32-winograd.c.inc"
#undef WM
#undef TB
#define TB VGG_AVX512_WINO4_TB
#define WM 4
#include "templates/f32-winograd.c.inc"
#undef WM
#undef TB
#define TB VGG_AVX512_WINO6_TB
#define WM 6
#include "templates/f32-winograd.c.inc"
