/* Vector layer of the NEON kernels (aarch64 Advanced SIMD, 4 lanes).  NEON has
 * no masked loads or stores: tails go through a small stack buffer. */
#ifndef VGG_VEC_NEON_H
#define VGG_VEC_NEON_H
#include <arm_neon.h>
#include <sleef.h>

static inline float32x4_t vgg_loadn4(const float *p, int n) {
  float t[4] = {0, 0, 0, 0};
  for (int i = 0; i < n; i++) t[i] = p[i];
  return vld1q_f32(t);
}

static inline void vgg_storen4(float *p, float32x4_t v, int n) {
  float t[4];
  vst1q_f32(t, v);
  for (int i = 0; i < n; i++) p[i] = t[i];
}

/* 4 bf16 values widened exactly to float32, and n < 4 of them. */
static inline float32x4_t vgg_bf16_load4(const uint16_t *p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
static inline float32x4_t vgg_bf16_loadn4(const uint16_t *p, int n) {
  uint16_t t[4] = {0, 0, 0, 0};
  for (int i = 0; i < n; i++) t[i] = p[i];
  return vgg_bf16_load4(t);
}

#define VEC float32x4_t
#define VL 4
#define V_ZERO() vdupq_n_f32(0.0f)
#define V_SET1(x) vdupq_n_f32(x)
#define V_LOADU(p) vld1q_f32(p)
#define V_LOADN(p, n) vgg_loadn4((p), (n))
#define V_STOREU(p, v) vst1q_f32((p), (v))
#define V_STOREN(p, v, n) vgg_storen4((p), (v), (n))
#define V_FMA(a, b, c) vfmaq_f32((c), (a), (b))
#define V_FNMA(a, b, c) vfmsq_f32((c), (a), (b))
#define V_ADD(a, b) vaddq_f32((a), (b))
#define V_SUB(a, b) vsubq_f32((a), (b))
#define V_MUL(a, b) vmulq_f32((a), (b))
#define V_MAX(a, b) vmaxq_f32((a), (b))
#define V_RELU(v) vmaxq_f32((v), vdupq_n_f32(0.0f))
#define V_HSUM(v) vaddvq_f32(v)
#define V_EXP(v) Sleef_expf4_u10advsimd(v)
#define V_LOADU_BF16(p) vgg_bf16_load4(p)
#define V_LOADN_BF16(p, n) vgg_bf16_loadn4((p), (n))
#define SUFFIX(name) VGG_CAT(name, __neon)

#endif
