/* int8 direct 3x3 conv, AVX-512 with VNNI (vpdpbusd: 16 lanes x 4 u8*s8
 * products per instruction, 4x the multiply-adds of an f32 FMA).  Micro-tile
 * 6 pixels x 4 vectors (64 channels): 24 accumulators, 4 weight vectors and a
 * broadcast in the 32 zmm registers.  Built with -mavx512vnni; dispatch uses
 * it only when the CPU reports AVX512-VNNI. */
#include "kernels.h"
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#include "i8-storeq-avx512.h"

#define IVEC __m512i
#define IVL 16
#define I_ZERO() _mm512_setzero_si512()
#define I_BCAST4(p) _mm512_set1_epi32(vgg_load4(p))
#define I_LOADW(p) _mm512_loadu_si512((const void *)(p))
#define I_DOT(acc, a, b) _mm512_dpbusd_epi32((acc), (a), (b))
#define I_STOREQ(dst, acc, scale, bias, n) vgg_storeq((dst), (acc), (scale), (bias), (n))
#define SUFFIX(name) VGG_CAT(name, __avx512vnni)
#define MR 6
#define NV 4
#include "templates/names.h"
#define I_HSUM(acc) _mm512_reduce_add_epi32(acc)
#include "templates/i8-conv3x3-direct.c.inc"
#include "templates/i8-dense.c.inc"

/* The exact Winograd F(4x4) (templates/i8-wino4x4-exact.c.inc): 16-bit lanes for the transforms, vpdpwssd. */
#define I_DOT16(acc, a, b) _mm512_dpwssd_epi32((acc), (a), (b))
#define I_ADD16(a, b) _mm512_add_epi16((a), (b))
#define I_SUB16(a, b) _mm512_sub_epi16((a), (b))
#define I_SHL16(v, k) _mm512_slli_epi16((v), (k))
#define I_ADD32(a, b) _mm512_add_epi32((a), (b))
#define I_SUB32(a, b) _mm512_sub_epi32((a), (b))
#define I_SHL32(v, k) _mm512_slli_epi32((v), (k))
#define I_SRA32(v, k) _mm512_srai_epi32((v), (k))
#define I_MUL32(a, b) _mm512_mullo_epi32((a), (b))
#define I_SET32(x) _mm512_set1_epi32(x)
#define I_LOADU(p) _mm512_loadu_si512((const void *)(p))
#define I_STOREU(p, v) _mm512_storeu_si512((void *)(p), (v))
static inline __mmask32 vgg_mask32(int n) { return n == 32 ? ~(__mmask32)0 : (__mmask32)((1u << n) - 1u); }
#define I_LOAD_U8X16(p, n) _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(vgg_mask32(n), (p)))
#define I_STORE16(p, v, n) _mm512_mask_storeu_epi16((p), vgg_mask32(n), (v))
#include "templates/i8-wino4x4-exact.c.inc"

/* vgg_u8_quantize's operations 16 at a time (the product, max with 0 first so that NaN gives 0, min with 255,
 * rounding to nearest even), the tail masked: the same bits.  The AMX set takes it too. */
void vgg_u8_quantize__avx512(const float *x, uint8_t *q, size_t n, float inv_scale) {
  const __m512 s = _mm512_set1_ps(inv_scale), lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(255.0f);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
    const __m512 y = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), s), lo), hi);
    _mm_mask_storeu_epi8(q + i, m, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(y)));
  }
}

const vgg_i8_kernels vgg_set_avx512vnni = VGG_I8_ENTRY(VGG_I8_W4_FIELDS, .quantize = vgg_u8_quantize__avx512);
