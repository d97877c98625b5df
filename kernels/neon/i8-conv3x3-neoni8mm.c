/* int8 direct 3x3 conv, Advanced SIMD with the i8mm extension's usdot (4
 * lanes x 4 u8*s8 products per instruction; the plain dotprod instructions
 * take u8*u8 or s8*s8 only).  Micro-tile 6 pixels x 4 vectors (16 channels):
 * 24 accumulators, 4 weight vectors and a broadcast in the 32 registers.
 * Built with +i8mm; dispatch uses it only when the CPU reports i8mm. */
#include "kernels.h"
#include "i8-neon.h"

#define IVEC int32x4_t
#define IVL 4
#define I_ZERO() vdupq_n_s32(0)
#define I_BCAST4(p) vgg_bcast4(p)
#define I_LOADW(p) vreinterpretq_s32_s8(vld1q_s8((const int8_t *)(const void *)(p)))
#define I_DOT(acc, a, b) vusdotq_s32((acc), vreinterpretq_u8_s32(a), vreinterpretq_s8_s32(b))
#define I_HSUM(acc) vaddvq_s32(acc)
#define I_STOREQ(dst, acc, scale, bias, n) vgg_storeq((dst), (acc), (scale), (bias), (n))
#define SUFFIX(name) VGG_CAT(name, __neoni8mm)
#define MR 6
#define NV 4
#include "templates/names.h"
#include "templates/i8-conv3x3-direct.c.inc"
#include "templates/i8-dense.c.inc"

const vgg_i8_kernels vgg_set_neoni8mm = VGG_I8_ENTRY();
