/* int8 direct 3x3 conv, Advanced SIMD with the dotprod extension only (no
 * i8mm: e.g. Neoverse N1, Cortex-A76).  Its udot multiplies u8 by u8, so the
 * s8 weights are packed as w + 128 and each output takes 128 x (the sum of
 * its input window) back off (templates/i8-conv3x3-direct.c.inc, I_WOFF):
 * the same exact integer sum as the u8 x s8 kernels, so the same bytes.
 * Micro-tile 6 pixels x 4 vectors (16 channels), as the i8mm kernel.  Built
 * with +dotprod; dispatch uses it only when the CPU reports dotprod and the
 * i8mm kernel is not usable. */
#include "kernels.h"
#include "i8-neon.h"

#define IVEC uint32x4_t
#define IVL 4
#define I_ZERO() vdupq_n_u32(0)
#define I_BCAST4(p) vreinterpretq_u32_s32(vgg_bcast4((const uint8_t *)(p)))
#define I_LOADW(p) vreinterpretq_u32_u8(vld1q_u8((const uint8_t *)(p)))
#define I_DOT(acc, a, b) vdotq_u32((acc), vreinterpretq_u8_u32(a), vreinterpretq_u8_u32(b))
#define I_WOFF 1
static inline uint32_t vgg_chsum(const uint8_t *p, int n) {
  uint32x4_t s = vdupq_n_u32(0);
  const uint8x16_t ones = vdupq_n_u8(1);
  int i = 0;
  for (; i + 16 <= n; i += 16) s = vdotq_u32(s, vld1q_u8(p + i), ones);
  uint32_t t = vaddvq_u32(s);
  for (; i < n; i++) t += p[i];
  return t;
}
#define I_CHSUM(p, n) vgg_chsum((p), (n))
#define I_FIX(acc, s) vsubq_u32((acc), vdupq_n_u32((s) << 7))
#define I_HSUM(acc) ((int32_t)vaddvq_u32(acc))
#define I_STOREQ(dst, acc, scale, bias, n) vgg_storeq((dst), vreinterpretq_s32_u32(acc), (scale), (bias), (n))
#define SUFFIX(name) VGG_CAT(name, __neondotprod)
#define MR 6
#define NV 4
#include "templates/names.h"
#include "templates/i8-conv3x3-direct.c.inc"
#include "templates/i8-dense.c.inc"

const vgg_i8_kernels vgg_set_neondotprod = VGG_I8_ENTRY();
