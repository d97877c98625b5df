/* The int8 kernels' requantisation on AVX-512 (kernels.h): y = fma(float(sum),
 * scale, bias), clamped to [0, 255] (max first: NaN -> 0), rounded to nearest
 * even, n <= 16 bytes stored.  Shared by the AVX512-VNNI and AMX sets. */
#ifndef VGG_I8_STOREQ_AVX512_H
#define VGG_I8_STOREQ_AVX512_H
#include <immintrin.h>
#include <stdint.h>

static inline void vgg_storeq(uint8_t *dst, __m512i acc, const float *scale, const float *bias, int n) {
  const __mmask16 m = (__mmask16)((1u << n) - 1u);
  __m512 y = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_maskz_loadu_ps(m, scale), _mm512_maskz_loadu_ps(m, bias));
  y = _mm512_min_ps(_mm512_max_ps(y, _mm512_setzero_ps()), _mm512_set1_ps(255.0f));
  _mm512_mask_cvtepi32_storeu_epi8(dst, m, _mm512_cvtps_epi32(y));
}

#endif
