/* Winograd F(2x2,3x3), F(4x4,3x3) and F(6x6,3x3) with fused bias, ReLU and max-pool, neon. */
#include "kernels.h"
#include "vec-neon.h"
#include "neon-config.h"
#include <string.h>

#define MR VGG_NEON_CONV_MR
#define NV VGG_NEON_CONV_NV
#include "templates/f32-gemm-ukernel.c.inc"

#define TB VGG_NEON_WINO2_TB
#define WM 2
#include "templates/f32-winograd.c.inc"
#undef WM
#undef TB
#define TB VGG_NEON_WINO4_TB
#define WM 4
#include "templates/f32-winograd.c.inc"
#undef WM
#undef TB
#define TB VGG_NEON_WINO6_TB
#define WM 6
#include "templates/f32-winograd.c.inc"
