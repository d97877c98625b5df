/* int8 direct 3x3 conv, Advanced SIMD with the i8mm extension's usdot (4
 * lanes x 4 u8*s8 products per instruction; the plain dotprod instructions
 * take u8*u8 or s8*s8 only).  Micro-tile 6 pixels x 4 vectors (16 channels):
 * 24 accumulators, 4 weight vectors and a broadcast in the 32 registers.
 * Built with +i8mm; dispatch uses it only when the CPU reports i8mm. */
#include "kernels.h"
#include <arm_neon.h>
#include <string.h>

#define IVEC int32x4_t
#define IVL 4
#define I_ZERO() vdupq_n_s32(0)
static inline int32x4_t vgg_bcast4(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return vdupq_n_s32(v);
}
#define I_BCAST4(p) vgg_bcast4(p)
#define I_LOADW(p) vreinterpretq_s32_s8(vld1q_s8(p))
#define I_DOT(acc, a, b) vusdotq_s32((acc), vreinterpretq_u8_s32(a), vreinterpretq_s8_s32(b))
static inline void vgg_storeq(uint8_t *dst, int32x4_t acc, const float *scale, const float *bias, int n) {
  float32x4_t s, b;
  if (n == 4) s = vld1q_f32(scale), b = vld1q_f32(bias);
  else {
    float ts[4] = {0}, tb[4] = {0};
    memcpy(ts, scale, sizeof(float) * (size_t)n);
    memcpy(tb, bias, sizeof(float) * (size_t)n);
    s = vld1q_f32(ts), b = vld1q_f32(tb);
  }
  float32x4_t y = vfmaq_f32(b, vcvtq_f32_s32(acc), s);
  y = vminq_f32(vmaxnmq_f32(y, vdupq_n_f32(0.0f)), vdupq_n_f32(255.0f)); /* maxnm: NaN -> 0 */
  const uint16x4_t h = vmovn_u32(vreinterpretq_u32_s32(vcvtnq_s32_f32(y)));
  const uint8x8_t q = vmovn_u16(vcombine_u16(h, h));
  if (n == 4) vst1_lane_u32((uint32_t *)(void *)dst, vreinterpret_u32_u8(q), 0);
  else {
    uint8_t tmp[8];
    vst1_u8(tmp, q);
    memcpy(dst, tmp, (size_t)n);
  }
}
#define I_STOREQ(dst, acc, scale, bias, n) vgg_storeq((dst), (acc), (scale), (bias), (n))
#define SUFFIX(name) VGG_CAT(name, __neoni8mm)
#define MR 6
#define NV 4
#include "templates/names.h"
#include "templates/i8-conv3x3-direct.c.inc"

const vgg_i8_kernels vgg_i8_kernels_neoni8mm = VGG_I8_ENTRY(VGG_NEEDS(I8MM));
