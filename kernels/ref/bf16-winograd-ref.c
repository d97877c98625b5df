/* Reference bf16 Winograd F(2x2) and F(4x4): the template of the SIMD
 * levels one lane wide, with the rounding and the 2-way dot product of
 * kernels.h (as AVX512-BF16 defines them), so it gives the same bits. */
#include "kernels.h"
#include "vec-scalar.h"
#include "ref-config.h"
#include <math.h>
#include <string.h>

/* The transforms' multiply-adds fused, as the SIMD levels compute them: V must round to the same bf16. */
#undef V_FMA
#define V_FMA(a, b, c) fmaf((a), (b), (c))

#define MR VGG_REF_WINO_MR
#define NV VGG_REF_WINO_NV
#define NR (NV * VL)
#define WBF16 1
#define BVEC uint32_t
#define BF_BCAST2(p) ((uint32_t)vgg_load4(p))
#define BF_LOADW(p) ((uint32_t)vgg_load4(p))
#define BF_DOT(acc, x, w) vgg_bf16_dot2((acc), (x), (w))
#define V_STORE_BF16(p, v, n) (*(p) = vgg_bf16_from_f32(v))

#define TB2 64
#define TB4 32
#include "templates/f32-winograd-sizes.c.inc"

const vgg_bf16_kernels vgg_bf16_kernels_ref = {.wino = {VGG_BF16_WINO_ENTRY(2, NR), VGG_BF16_WINO_ENTRY(4, NR)}};
