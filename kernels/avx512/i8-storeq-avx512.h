/* The int8 kernels' requantisation on AVX-512 (kernels.h): y = fma(float(sum),
 * scale, bias), clamped to [0, 255] (max first: NaN -> 0), rounded to nearest
 * even.  Shared by the AVX512-VNNI and AMX sets. */
#ifndef VGG_I8_STOREQ_AVX512_H
#define VGG_I8_STOREQ_AVX512_H
#include <immintrin.h>
#include <stdint.h>

/* 16 sums requantised to 16 bytes. */
static inline __m128i vgg_requant(__m512i acc, __m512 scale, __m512 bias) {
  __m512 y = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), scale, bias);
  y = _mm512_min_ps(_mm512_max_ps(y, _mm512_setzero_ps()), _mm512_set1_ps(255.0f));
  return _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(y));
}

/* The first n <= 16 of them stored at dst. */
static inline void vgg_storeq(uint8_t *dst, __m512i acc, const float *scale, const float *bias, int n) {
  const __mmask16 m = (__mmask16)((1u << n) - 1u);
  _mm_mask_storeu_epi8(dst, m, vgg_requant(acc, _mm512_maskz_loadu_ps(m, scale), _mm512_maskz_loadu_ps(m, bias)));
}

#endif
