/* The int8 reference: the definition of every int8 kernel's result (see
 * kernels.h), the blocked weight layout of the SIMD kernels, and the u8
 * pool and (de)quantisation, which are exact or memory-bound and serve every
 * level as they are. */
#include "kernels.h"
#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif

static inline uint8_t requant(int32_t sum, float scale, float bias) {
  float y = fmaf((float)sum, scale, bias);
  y = y > 0.0f ? y : 0.0f; /* also maps NaN to 0, as the SIMD max does */
  y = y < 255.0f ? y : 255.0f;
  return (uint8_t)nearbyintf(y);
}

/* The reference keeps the weights as given: s8 [3][3][cin][cout]. */
static size_t packed_size_ref(int cin, int cout) { return (size_t)9 * cin * cout; }
static void pack_ref(const int8_t *hwio, int cin, int cout, int8_t *packed) {
  memcpy(packed, hwio, (size_t)9 * cin * cout);
}

/* Output channels summed at a time: one pixel's int32 sums for them stay in L1. */
#define REF_OC 256

/* Each output pixel's sums for a run of output channels, one input channel of one tap at a time, so the
 * weights are read along their rows (hwio: output channels contiguous).  Integer sums are exact, so the order
 * of the terms does not change a result (|sum| <= 255 * 128 * 9 * cin < 2^31 for cin <= VGG_I8_MAX_CIN). */
static void vgg_i8_conv3x3_relu_ref(const vgg_i8_conv3x3_args *a, int y0, int y1, int oc0, int oc1) {
  const int H = a->h, W = a->w, CI = a->cin, CO = a->cout;
  int32_t sum[REF_OC];
  for (int y = y0; y < y1; y++)
    for (int x = 0; x < W; x++)
      for (int c0 = oc0; c0 < oc1; c0 += REF_OC) {
        const int n = oc1 - c0 < REF_OC ? oc1 - c0 : REF_OC;
        memset(sum, 0, sizeof(int32_t) * (size_t)n);
        for (int ky = 0; ky < 3; ky++)
          for (int kx = 0; kx < 3; kx++) {
            const int iy = y + ky - 1, ix = x + kx - 1;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const uint8_t *in = a->in + ((size_t)iy * W + ix) * CI;
            const int8_t *w = a->weights + (size_t)(ky * 3 + kx) * CI * CO + c0;
            for (int ci = 0; ci < CI; ci++) {
              const int32_t v = in[ci];
              const int8_t *wr = w + (size_t)ci * CO;
              for (int j = 0; j < n; j++) sum[j] += v * wr[j];
            }
          }
        uint8_t *out = a->out + ((size_t)y * W + x) * CO + c0;
        for (int j = 0; j < n; j++) out[j] = requant(sum[j], a->scale[c0 + j], a->bias[c0 + j]);
      }
}

const vgg_i8_kernels vgg_i8_kernels_ref = {
    .oc_block = 1, .packed_size = packed_size_ref, .pack = pack_ref, .conv = vgg_i8_conv3x3_relu_ref,
    .name = "vgg_i8_conv3x3_relu_ref", .dot_peak = NULL, .dot_peak_ops = 0, .dense_pack = vgg_i8_dense_pack_ref,
    .dense = vgg_i8_dense_ref, .dense_name = "vgg_i8_dense_ref"};

size_t vgg_i8_packed_size_blocked(int cin, int cout, int nr) {
  return (size_t)((cout + nr - 1) / nr) * 9 * ((cin + 3) / 4) * nr * 4;
}

void vgg_i8_pack_blocked(const int8_t *hwio, int cin, int cout, int nr, int8_t *packed) {
  const int nb = (cout + nr - 1) / nr, nq = (cin + 3) / 4;
  /* Four rows of hwio at a time (four input channels of one tap, cout weights each), read along the output
   * channels and written as their 4-byte groups; output channels and input channels past the ends are zeros. */
  for (int b = 0; b < nb; b++) {
    const int oc0 = b * nr, jn = cout - oc0 < nr ? cout - oc0 : nr;
    for (int k = 0; k < 9; k++)
      for (int q = 0; q < nq; q++) {
        int8_t *dst = packed + (((size_t)b * 9 + k) * nq + q) * nr * 4;
        const int ni = cin - q * 4 < 4 ? cin - q * 4 : 4;
        const int8_t *src = hwio + ((size_t)k * cin + q * 4) * cout + oc0;
        int j = 0;
        if (ni == 4) /* the whole groups on their own: with the test inside, this loop took twice the time */
          for (; j < jn; j++)
            for (int i = 0; i < 4; i++) dst[j * 4 + i] = src[(size_t)i * cout + j];
        else
          for (; j < jn; j++)
            for (int i = 0; i < 4; i++) dst[j * 4 + i] = i < ni ? src[(size_t)i * cout + j] : 0;
        memset(dst + j * 4, 0, (size_t)(nr - j) * 4);
      }
  }
}

void vgg_u8_maxpool2x2(const uint8_t *in, uint8_t *out, int h, int w, int c, int y0, int y1) {
  const int ow = w / 2;
  (void)h;
  for (int y = y0; y < y1; y++)
    for (int x = 0; x < ow; x++) {
      const uint8_t *p0 = in + ((size_t)(2 * y) * w + 2 * x) * c, *p1 = p0 + (size_t)w * c;
      uint8_t *o = out + ((size_t)y * ow + x) * c;
      for (int k = 0; k < c; k++) {
        uint8_t m0 = p0[k] > p0[c + k] ? p0[k] : p0[c + k], m1 = p1[k] > p1[c + k] ? p1[k] : p1[c + k];
        o[k] = m0 > m1 ? m0 : m1;
      }
    }
}

static inline uint8_t quantize1(float x, float inv_scale) {
  float y = x * inv_scale;
  y = y > 0.0f ? y : 0.0f; /* NaN -> 0 */
  y = y < 255.0f ? y : 255.0f;
  return (uint8_t)nearbyintf(y);
}

/* The same operations 16 at a time with the baseline vector instructions
 * (SSE2 on x86-64, Advanced SIMD on aarch64); the compiler leaves the
 * scalar loop unvectorised (the float to integer rounding). */
void vgg_u8_quantize(const float *x, uint8_t *q, size_t n, float inv_scale) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128 s = _mm_set1_ps(inv_scale), lo = _mm_setzero_ps(), hi = _mm_set1_ps(255.0f);
  for (; i + 16 <= n; i += 16) {
    __m128i v[4];
    for (int k = 0; k < 4; k++) /* max(y, 0) returns 0 for NaN; cvtps rounds half to even */
      v[k] = _mm_cvtps_epi32(_mm_min_ps(_mm_max_ps(_mm_mul_ps(_mm_loadu_ps(x + i + 4 * k), s), lo), hi));
    _mm_storeu_si128((__m128i *)(q + i), _mm_packus_epi16(_mm_packs_epi32(v[0], v[1]), _mm_packs_epi32(v[2], v[3])));
  }
#elif defined(__ARM_NEON)
  const float32x4_t s = vdupq_n_f32(inv_scale), lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(255.0f);
  for (; i + 16 <= n; i += 16) {
    uint16x8_t h[2];
    for (int k = 0; k < 2; k++) {
      uint32x4_t a = vreinterpretq_u32_s32(vcvtnq_s32_f32(vminq_f32(vmaxnmq_f32(vmulq_f32(vld1q_f32(x + i + 8 * k), s), lo), hi)));
      uint32x4_t b = vreinterpretq_u32_s32(vcvtnq_s32_f32(vminq_f32(vmaxnmq_f32(vmulq_f32(vld1q_f32(x + i + 8 * k + 4), s), lo), hi)));
      h[k] = vcombine_u16(vmovn_u32(a), vmovn_u32(b));
    }
    vst1q_u8(q + i, vcombine_u8(vmovn_u16(h[0]), vmovn_u16(h[1])));
  }
#endif
  for (; i < n; i++) q[i] = quantize1(x[i], inv_scale);
}

void vgg_u8_dequantize(const uint8_t *q, float *x, size_t n, float scale) {
  for (size_t i = 0; i < n; i++) x[i] = (float)q[i] * scale;
}

int vgg_i8_w4_exact(const int8_t *hwio, int cin, int cout) {
  enum { OB = 512 }; /* output channels at a time, read along hwio's rows (VGG16's layers: one pass) */
  for (int o0 = 0; o0 < cout; o0 += OB) {
    const int nb = cout - o0 < OB ? cout - o0 : OB;
    int32_t pos[OB] = {0}, neg[OB] = {0}; /* at most 9 VGG_I8_MAX_CIN 128 < 2^31 */
    for (int64_t k = 0; k < 9 * (int64_t)cin; k++) {
      const int8_t *restrict r = hwio + k * cout + o0; /* restrict: pos and neg are not read through r */
      for (int j = 0; j < nb; j++) { /* without branches, so the loop vectorizes */
        const int v = r[j], m = v >> 31, a = (v ^ m) - m;
        pos[j] += (a + v) >> 1;
        neg[j] += (a - v) >> 1;
      }
    }
    for (int j = 0; j < nb; j++)
      if (255 * (int64_t)(pos[j] > neg[j] ? pos[j] : neg[j]) >= ((int64_t)1 << 25)) return 0;
  }
  return 1;
}
