/* Winograd F(2x2) and F(4x4) with bf16 GEMMs, AVX-512 with AVX512-BF16:
 * V rounded by vcvtneps2bf16, GEMMs by vdpbf16ps (16 lanes x 2 bf16
 * products per instruction, twice the multiply-adds of an f32 FMA), the
 * transforms as the f32 kernels.  Built with -mavx512bf16; dispatch uses it
 * only when the CPU reports AVX512-BF16. */
#include "kernels.h"
#include "vec-avx512.h"
#include "avx512-config.h"
#include <string.h>

#undef SUFFIX
#define SUFFIX(name) VGG_CAT(name, __avx512bf16)
#define MR VGG_AVX512_CONV_MR
#define NV VGG_AVX512_CONV_NV
#define NR (NV * VL)
#define WBF16 1
#define BVEC __m512i
#define BF_BCAST2(p) _mm512_set1_epi32(vgg_load4(p))
#define BF_LOADW(p) _mm512_loadu_si512((const void *)(p))
#define BF_DOT(acc, x, w) _mm512_dpbf16_ps((acc), (__m512bh)(x), (__m512bh)(w))
static inline void vgg_store_bf16(uint16_t *dst, __m512 v, int n) {
  const __m256i h = (__m256i)_mm512_cvtneps_pbh(v);
  if (n == 16) _mm256_storeu_si256((__m256i *)dst, h);
  else _mm256_mask_storeu_epi16(dst, (__mmask16)((1u << n) - 1u), h);
}
#define V_STORE_BF16(p, v, n) vgg_store_bf16((p), (v), (n))
/* hi = v rounded; lo = v - hi (exact), rounded.  hi is never denormal (vcvtneps2bf16 flushes), so widening it
 * back is a shift. */
static inline void vgg_store_bf16_split(uint16_t *hi, uint16_t *lo, __m512 v, int n) {
  const __m256i h = (__m256i)_mm512_cvtneps_pbh(v);
  const __m512 hf = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  if (n == 16) _mm256_storeu_si256((__m256i *)hi, h);
  else _mm256_mask_storeu_epi16(hi, (__mmask16)((1u << n) - 1u), h);
  vgg_store_bf16(lo, _mm512_sub_ps(v, hf), n);
}
#define V_STORE_BF16_SPLIT(hi, lo, v, n) vgg_store_bf16_split((hi), (lo), (v), (n))

#define TB2 VGG_AVX512_WINO2_TB
#define TB4 VGG_AVX512_WINO4_TB
#include "templates/f32-winograd-sizes.c.inc"

/* 12 independent chains of vdpbf16ps: iters * 12 * 16 lanes * 2 products * 2 operations. */
static float dot_peak(int64_t iters) {
  const __m512i x = _mm512_set1_epi32(0x3f803f80); /* bf16 pairs (1.0, 1.0) */
  __m512 acc[12];
  for (int k = 0; k < 12; k++) acc[k] = _mm512_setzero_ps();
  for (int64_t i = 0; i < iters; i++)
    for (int k = 0; k < 12; k++) acc[k] = BF_DOT(acc[k], x, x);
  __m512 s = acc[0];
  for (int k = 1; k < 12; k++) s = _mm512_add_ps(s, acc[k]);
  return _mm512_reduce_add_ps(s);
}

const vgg_bf16_kernels vgg_set_avx512bf16 = VGG_BF16_ENTRY(dot_peak);
