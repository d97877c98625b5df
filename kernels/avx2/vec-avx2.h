/* Vector layer of the AVX2 kernels (AVX2 + FMA; tails through maskload/maskstore). */
#ifndef VGG_VEC_AVX2_H
#define VGG_VEC_AVX2_H
#include <immintrin.h>
#include <sleef.h>

static inline __m256i vgg_tail8(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline float vgg_hsum8(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

/* 8 bf16 values widened exactly to float32, and n < 8 of them (through a zeroed copy). */
static inline __m256 vgg_bf16_load8(const uint16_t *p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p)), 16));
}
static inline __m256 vgg_bf16_loadn8(const uint16_t *p, int n) {
  uint16_t t[8] = {0};
  for (int i = 0; i < n; i++) t[i] = p[i];
  return vgg_bf16_load8(t);
}

#define VEC __m256
#define VL 8
#define V_ZERO() _mm256_setzero_ps()
#define V_SET1(x) _mm256_set1_ps(x)
#define V_LOADU(p) _mm256_loadu_ps(p)
#define V_LOADN(p, n) _mm256_maskload_ps((p), vgg_tail8(n))
#define V_STOREU(p, v) _mm256_storeu_ps((p), (v))
#define V_STOREN(p, v, n) _mm256_maskstore_ps((p), vgg_tail8(n), (v))
#define V_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define V_FNMA(a, b, c) _mm256_fnmadd_ps((a), (b), (c))
#define V_ADD(a, b) _mm256_add_ps((a), (b))
#define V_SUB(a, b) _mm256_sub_ps((a), (b))
#define V_MUL(a, b) _mm256_mul_ps((a), (b))
#define V_MAX(a, b) _mm256_max_ps((a), (b))
#define V_RELU(v) _mm256_max_ps((v), _mm256_setzero_ps())
#define V_HSUM(v) vgg_hsum8(v)
#define V_EXP(v) Sleef_expf8_u10avx2(v)
#define V_LOADU_BF16(p) vgg_bf16_load8(p)
#define V_LOADN_BF16(p, n) vgg_bf16_loadn8((p), (n))
#define SUFFIX(name) VGG_CAT(name, __avx2)

#endif
