/* int8 direct 3x3 conv, AVX2 with AVX-VNNI (the VEX form of vpdpbusd: 8
 * lanes x 4 u8*s8 products).  Micro-tile 6 pixels x 2 vectors (16 channels):
 * 12 accumulators, 2 weight vectors and a broadcast in the 16 ymm registers.
 * Built with -mavxvnni; dispatch uses it only when the CPU reports AVX-VNNI. */
#include "kernels.h"
#include <immintrin.h>
#include <string.h>

#define IVEC __m256i
#define IVL 8
#define I_ZERO() _mm256_setzero_si256()
#define I_BCAST4(p) _mm256_set1_epi32(vgg_load4(p))
#define I_LOADW(p) _mm256_loadu_si256((const __m256i *)(p))
#define I_DOT(acc, a, b) _mm256_dpbusd_avx_epi32((acc), (a), (b))
static inline void vgg_storeq(uint8_t *dst, __m256i acc, const float *scale, const float *bias, int n) {
  __m256 s, b;
  if (n == 8) s = _mm256_loadu_ps(scale), b = _mm256_loadu_ps(bias);
  else {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    s = _mm256_maskload_ps(scale, m), b = _mm256_maskload_ps(bias, m);
  }
  __m256 y = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), s, b);
  y = _mm256_min_ps(_mm256_max_ps(y, _mm256_setzero_ps()), _mm256_set1_ps(255.0f));
  const __m256i q = _mm256_cvtps_epi32(y); /* 0..255 */
  const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  const __m128i b8 = _mm_packus_epi16(w16, w16);
  if (n == 8) _mm_storel_epi64((__m128i *)dst, b8);
  else {
    uint8_t tmp[16];
    _mm_storeu_si128((__m128i *)tmp, b8);
    memcpy(dst, tmp, (size_t)n);
  }
}
static inline int32_t vgg_hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}
#define I_HSUM(acc) vgg_hsum_epi32(acc)
#define I_STOREQ(dst, acc, scale, bias, n) vgg_storeq((dst), (acc), (scale), (bias), (n))
#define SUFFIX(name) VGG_CAT(name, __avxvnni)
#define MR 6
#define NV 2
#include "templates/names.h"
#include "templates/i8-conv3x3-direct.c.inc"
#include "templates/i8-dense.c.inc"

const vgg_i8_kernels vgg_i8_kernels_avxvnni = VGG_I8_ENTRY();
