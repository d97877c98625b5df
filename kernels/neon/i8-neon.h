/* What the NEON int8 kernels share: a 4-byte broadcast and the requantising
 * store of kernels.h (y = fmaf(sum, scale, bias), clamp to [0, 255], round to
 * nearest even) for n <= 4 channels. */
#ifndef VGG_I8_NEON_H
#define VGG_I8_NEON_H
#include <arm_neon.h>
#include <string.h>

static inline int32x4_t vgg_bcast4(const uint8_t *p) { return vdupq_n_s32(vgg_load4(p)); }
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
#endif
