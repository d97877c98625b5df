/* Winograd F(2x2,3x3), F(4x4,3x3) and F(6x6,3x3) with fused bias, ReLU and max-pool, avx512. */
#include "kernels.h"
#include "vec-avx512.h"
#include "avx512-config.h"
#include <string.h>

#define MR VGG_AVX512_CONV_MR
#define NV VGG_AVX512_CONV_NV
#include "templates/f32-gemm-ukernel.c.inc"

#define TB2 VGG_AVX512_WINO2_TB
#define TB4 VGG_AVX512_WINO4_TB
#define TB6 VGG_AVX512_WINO6_TB
#include "templates/f32-winograd-sizes.c.inc"
