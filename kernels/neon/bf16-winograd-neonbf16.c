/* Winograd F(2x2) and F(4x4) with bf16 GEMMs, Advanced SIMD with the bf16
 * extension (FEAT_BF16).  Built with +bf16; dispatch uses it only when the
 * CPU reports bf16.
 *
 * The 2-way dot product is BFMLALT then BFMLALB: acc += a.hi * b.hi, then
 * acc += a.lo * b.lo, each a float32 fused multiply-add of a product that is
 * exact in float32, rounded to nearest even.  With FPCR.FZ set around the
 * GEMMs (denormal inputs read as zero, denormal results flushed) that is
 * VDPBF16PS to the bit, so this level gives the reference's results and
 * AVX512-BF16's.  BFDOT would do twice the products per instruction, but
 * it rounds its intermediate sum to odd and flushes regardless of FPCR
 * (and rounds differently again where FEAT_EBF16 is enabled): a third
 * arithmetic that no other level computes.
 *
 * V is rounded to bf16 with integer operations (the reference's rule: round
 * to nearest even, NaN quieted, denormals to signed zero), not BFCVTN, whose
 * denormal handling follows FPCR. */
#include "kernels.h"
#include "vec-neon.h"
#include "neon-config.h"
#include <arm_bf16.h>
#include <string.h>

#undef SUFFIX
#define SUFFIX(name) VGG_CAT(name, __neonbf16)
#define MR VGG_NEON_CONV_MR
#define NV VGG_NEON_CONV_NV
#define NR (NV * VL)
#define WBF16 1
#define BVEC bfloat16x8_t
#define BF_BCAST2(p) vreinterpretq_bf16_s32(vdupq_n_s32(vgg_load4(p)))
#define BF_LOADW(p) vreinterpretq_bf16_u16(vld1q_u16(p))
#define BF_DOT(acc, x, w) vbfmlalbq_f32(vbfmlaltq_f32((acc), (x), (w)), (x), (w))

/* FPCR.FZ (bit 24) on for the GEMMs of one channel block; the "memory" clobber keeps their loads and
 * stores, and so their arithmetic, between the two writes. */
static inline uint64_t vgg_fz_on(void) {
  uint64_t old;
  __asm__ volatile("mrs %0, fpcr" : "=r"(old)::"memory");
  __asm__ volatile("msr fpcr, %0" ::"r"(old | (1ull << 24)) : "memory");
  return old;
}
static inline void vgg_fz_restore(uint64_t old) { __asm__ volatile("msr fpcr, %0" ::"r"(old) : "memory"); }
#define BF_GEMMS_BEGIN() const uint64_t vgg_fpcr = vgg_fz_on()
#define BF_GEMMS_END() vgg_fz_restore(vgg_fpcr)

/* v rounded to bf16 as the reference rounds (vgg_bf16_from_f32), in the low halves of 32-bit lanes. */
static inline uint32x4_t vgg_round_bf16(float32x4_t v) {
  const uint32x4_t b = vreinterpretq_u32_f32(v), hi = vshrq_n_u32(b, 16);
  const uint32x4_t rne = vshrq_n_u32(vaddq_u32(b, vaddq_u32(vdupq_n_u32(0x7fffu), vandq_u32(hi, vdupq_n_u32(1u)))), 16);
  const uint32x4_t nan = vcgtq_u32(vandq_u32(b, vdupq_n_u32(0x7fffffffu)), vdupq_n_u32(0x7f800000u));
  const uint32x4_t tiny = vceqq_u32(vandq_u32(b, vdupq_n_u32(0x7f800000u)), vdupq_n_u32(0));
  const uint32x4_t r = vbslq_u32(tiny, vandq_u32(hi, vdupq_n_u32(0x8000u)), rne);
  return vbslq_u32(nan, vorrq_u32(hi, vdupq_n_u32(0x40u)), r);
}
static inline void vgg_store_u16x4(uint16_t *dst, uint16x4_t h, int n) {
  if (n == 4) vst1_u16(dst, h);
  else {
    uint16_t t[4];
    vst1_u16(t, h);
    memcpy(dst, t, sizeof(uint16_t) * (size_t)n);
  }
}
static inline void vgg_store_bf16(uint16_t *dst, float32x4_t v, int n) {
  vgg_store_u16x4(dst, vmovn_u32(vgg_round_bf16(v)), n);
}
/* hi = v rounded; lo = v - hi (exact), rounded.  hi is never denormal (flushed), so widening it back is a
 * shift. */
static inline void vgg_store_bf16_split(uint16_t *hi, uint16_t *lo, float32x4_t v, int n) {
  const uint32x4_t h = vgg_round_bf16(v);
  vgg_store_u16x4(hi, vmovn_u32(h), n);
  vgg_store_bf16(lo, vsubq_f32(v, vreinterpretq_f32_u32(vshlq_n_u32(h, 16))), n);
}
#define V_STORE_BF16(p, v, n) vgg_store_bf16((p), (v), (n))
#define V_STORE_BF16_SPLIT(hi, lo, v, n) vgg_store_bf16_split((hi), (lo), (v), (n))

#define TB2 VGG_NEON_WINO2_TB
#define TB4 VGG_NEON_WINO4_TB
#include "templates/f32-winograd-sizes.c.inc"

/* 12 independent chains of 2-way dots (a BFMLALT and a BFMLALB each): iters * 12 * 4 lanes * 2 products *
 * 2 operations. */
static float dot_peak(int64_t iters) {
  /* bf16 pairs (1.0, 1.0), read at run time: as a constant GCC 12 emits an FMOV of a half-precision
   * immediate, which needs the fp16 extension. */
  volatile uint32_t one = 0x3f803f80u;
  const bfloat16x8_t x = vreinterpretq_bf16_u32(vdupq_n_u32(one));
  float32x4_t acc[12];
  for (int k = 0; k < 12; k++) acc[k] = vdupq_n_f32(0.0f);
  for (int64_t i = 0; i < iters; i++)
    for (int k = 0; k < 12; k++) acc[k] = BF_DOT(acc[k], x, x);
  float32x4_t s = acc[0];
  for (int k = 1; k < 12; k++) s = vaddq_f32(s, acc[k]);
  return vaddvq_f32(s);
}

const vgg_bf16_kernels vgg_set_neonbf16 = VGG_BF16_ENTRY(dot_peak);
