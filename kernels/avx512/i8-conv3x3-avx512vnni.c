/* int8 direct 3x3 conv, AVX-512 with VNNI (vpdpbusd: 16 lanes x 4 u8*s8
 * products per instruction, 4x the multiply-adds of an f32 FMA).  Micro-tile
 * 6 pixels x 4 vectors (64 channels): 24 accumulators, 4 weight vectors and a
 * broadcast in the 32 zmm registers.  Built with -mavx512vnni; dispatch uses
 * it only when the CPU reports AVX512-VNNI. */
#include "kernels.h"
#include <immintrin.h>
#include <string.h>

#define IVEC __m512i
#define IVL 16
#define I_ZERO() _mm512_setzero_si512()
static inline __m512i vgg_bcast4(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
#define I_BCAST4(p) vgg_bcast4(p)
#define I_LOADW(p) _mm512_loadu_si512((const void *)(p))
#define I_DOT(acc, a, b) _mm512_dpbusd_epi32((acc), (a), (b))
/* y = fma(float(sum), scale, bias), clamped to [0, 255] (max first: NaN -> 0), rounded to nearest even. */
static inline void vgg_storeq(uint8_t *dst, __m512i acc, const float *scale, const float *bias, int n) {
  const __mmask16 m = (__mmask16)((1u << n) - 1u);
  __m512 y = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_maskz_loadu_ps(m, scale), _mm512_maskz_loadu_ps(m, bias));
  y = _mm512_min_ps(_mm512_max_ps(y, _mm512_setzero_ps()), _mm512_set1_ps(255.0f));
  _mm512_mask_cvtepi32_storeu_epi8(dst, m, _mm512_cvtps_epi32(y));
}
#define I_STOREQ(dst, acc, scale, bias, n) vgg_storeq((dst), (acc), (scale), (bias), (n))
#define SUFFIX(name) VGG_CAT(name, __avx512vnni)
#define MR 6
#define NV 4
#include "templates/names.h"
#include "templates/i8-conv3x3-direct.c.inc"

const vgg_i8_kernels vgg_i8_kernels_avx512vnni = VGG_I8_ENTRY(VGG_NEEDS(AVX512VNNI));
