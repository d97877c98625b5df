/* Winograd F(2x2,3x3), F(4x4,3x3) and F(6x6,3x3) with fused bias, ReLU and max-pool, neon. */
#include "kernels.h"
#include "vec-neon.h"
#include "neon-config.h"
#include <string.h>

#define MR VGG_NEON_CONV_MR
#define NV VGG_NEON_CONV_NV
#include "templates/f32-gemm-ukernel.c.inc"

#define TB2 VGG_NEON_WINO2_TB
#define TB4 VGG_NEON_WINO4_TB
#define TB6 VGG_NEON_WINO6_TB
#include "templates/f32-winograd-sizes.c.inc"
