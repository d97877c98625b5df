/* int8 direct 3x3 conv, AVX2 with AVX-VNNI (the VEX form of vpdpbusd: 8
 * lanes x 4 u8*s8 products).  Micro-tile 6 pixels x 2 vectors (16 channels):
 * 12 accumulators, 2 weight vectors and a broadcast in the 16 ymm registers;
 * the exact Winograd F(4x4) on the same tile, 16 output channels per panel.
 * Built with -mavxvnni; dispatch uses it only when the CPU reports AVX-VNNI. */
#include "kernels.h"
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define IVEC __m256i
#define IVL 8
#define I_ZERO() _mm256_setzero_si256()
#define I_BCAST4(p) _mm256_set1_epi32(vgg_load4(p))
#define I_LOADW(p) _mm256_loadu_si256((const __m256i *)(p))
#ifdef VGG_AVXVNNI_AS_EVEX
/* A test build (tests/meson.build): the same kernels with the EVEX forms of the two dot products
 * (AVX512-VNNI with VL: the same results), so that a CPU without AVX-VNNI checks them (tests/test_int8.c). */
#define VGG_DPBUSD _mm256_dpbusd_epi32
#define VGG_DPWSSD _mm256_dpwssd_epi32
#define VGG_SET_SUFFIX __avxvnni_evex
#define VGG_SET_TABLE vgg_set_avxvnni_evex
#else
#define VGG_DPBUSD _mm256_dpbusd_avx_epi32
#define VGG_DPWSSD _mm256_dpwssd_avx_epi32
#define VGG_SET_SUFFIX __avxvnni
#define VGG_SET_TABLE vgg_set_avxvnni
#endif
#define I_DOT(acc, a, b) VGG_DPBUSD((acc), (a), (b))
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
#define SUFFIX(name) VGG_CAT(name, VGG_SET_SUFFIX)
#define MR 6
#define NV 2
#include "templates/names.h"
#include "templates/i8-conv3x3-direct.c.inc"
#include "templates/i8-dense.c.inc"

/* The exact Winograd F(4x4) (templates/i8-wino4x4-exact.c.inc): 16-bit lanes for the transforms, the VEX
 * vpdpwssd; a tail of channels through a small buffer (AVX2 has no byte or word masks). */
#define I_DOT16(acc, a, b) VGG_DPWSSD((acc), (a), (b))
#define I_ADD16(a, b) _mm256_add_epi16((a), (b))
#define I_SUB16(a, b) _mm256_sub_epi16((a), (b))
#define I_SHL16(v, k) _mm256_slli_epi16((v), (k))
#define I_ADD32(a, b) _mm256_add_epi32((a), (b))
#define I_SUB32(a, b) _mm256_sub_epi32((a), (b))
#define I_SHL32(v, k) _mm256_slli_epi32((v), (k))
#define I_SRA32(v, k) _mm256_srai_epi32((v), (k))
#define I_MUL32(a, b) _mm256_mullo_epi32((a), (b))
#define I_SET32(x) _mm256_set1_epi32(x)
#define I_LOADU(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define I_STOREU(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
static inline __m256i vgg_load_u8x16(const uint8_t *p, int n) {
  if (n == 16) return _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)p));
  uint8_t tmp[16] = {0};
  memcpy(tmp, p, (size_t)n);
  return _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)tmp));
}
static inline void vgg_store16(int16_t *p, __m256i v, int n) {
  if (n == 16) {
    _mm256_storeu_si256((__m256i *)(void *)p, v);
    return;
  }
  int16_t tmp[16];
  _mm256_storeu_si256((__m256i *)(void *)tmp, v);
  memcpy(p, tmp, sizeof(int16_t) * (size_t)n);
}
#define I_LOAD_U8X16(p, n) vgg_load_u8x16((p), (n))
#define I_STORE16(p, v, n) vgg_store16((p), (v), (n))
#include "templates/i8-wino4x4-exact.c.inc"

const vgg_i8_kernels VGG_SET_TABLE = VGG_I8_ENTRY(VGG_I8_W4_FIELDS);
