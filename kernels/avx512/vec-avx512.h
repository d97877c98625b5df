/* Vector layer of the AVX-512 kernels (F, with masked tails). */
#ifndef VGG_VEC_AVX512_H
#define VGG_VEC_AVX512_H
#include <immintrin.h>
#include <sleef.h>

#define VEC __m512
#define VL 16
#define VGG_TAIL(n) ((__mmask16)((1u << (n)) - 1u))
#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(x) _mm512_set1_ps(x)
#define V_LOADU(p) _mm512_loadu_ps(p)
#define V_LOADN(p, n) _mm512_maskz_loadu_ps(VGG_TAIL(n), (p))
#define V_STOREU(p, v) _mm512_storeu_ps((p), (v))
#define V_STOREN(p, v, n) _mm512_mask_storeu_ps((p), VGG_TAIL(n), (v))
/* A whole 64-byte line (p aligned), past the caches; V_STREAM_FENCE orders such stores before the ones after it. */
#define V_STREAM(p, v) _mm512_stream_ps((p), (v))
#define V_STREAM_FENCE() _mm_sfence()
#define V_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define V_FNMA(a, b, c) _mm512_fnmadd_ps((a), (b), (c))
#define V_ADD(a, b) _mm512_add_ps((a), (b))
#define V_SUB(a, b) _mm512_sub_ps((a), (b))
#define V_MUL(a, b) _mm512_mul_ps((a), (b))
#define V_MAX(a, b) _mm512_max_ps((a), (b))
#define V_RELU(v) _mm512_max_ps((v), _mm512_setzero_ps())
#define V_HSUM(v) _mm512_reduce_add_ps(v)
#define V_EXP(v) Sleef_expf16_u10avx512f(v)
/* VL bf16 values (uint16_t) widened exactly to float32; the masked form reads n < VL of them. */
#define V_LOADU_BF16(p) \
  _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(p))), 16))
#define V_LOADN_BF16(p, n) \
  _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(VGG_TAIL(n), (p))), 16))
#define SUFFIX(name) VGG_CAT(name, __avx512)

#endif
