/* int8 direct 3x3 conv, AVX-512 with VNNI (vpdpbusd: 16 lanes x 4 u8*s8
 * products per instruction, 4x the multiply-adds of an f32 FMA).  Micro-tile
 * 6 pixels x 4 vectors (64 channels): 24 accumulators, 4 weight vectors and a
 * broadcast in the 32 zmm registers.  Built with -mavx512vnni; dispatch uses
 * it only when the CPU reports AVX512-VNNI. */
#include "kernels.h"
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define IVEC __m512i
#define IVL 16
#define I_ZERO() _mm512_setzero_si512()
#define I_BCAST4(p) _mm512_set1_epi32(vgg_load4(p))
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
#define I_HSUM(acc) _mm512_reduce_add_epi32(acc)
#include "templates/i8-conv3x3-direct.c.inc"
#include "templates/i8-dense.c.inc"

/* ---- Exact Winograd F(4x4,3x3) on int8 data (kernels.h, docs/precision.md) ----
 *
 * Points 0, +-1, +-2.  Per tile of 6x6 u8 inputs, V = B^T x B in 16 bits (|V| <= 20400); per filter,
 * U' = (DG) g (DG)^T in 16 bits (|U'| <= 6223) with D = diag(4, 6, 6, 24, 24, 1) making DG integer.  The 36
 * GEMMs sum U' V over input channel pairs with vpdpwssd into wrapping 32-bit sums M'; A'^T M' A', with
 * A'^T = A^T diag(6, 4, 4, 1, 1, 24), is 576 Y modulo 2^32; an arithmetic shift by 6 and a multiplication by
 * the inverse of 9 modulo 2^32 leave Y modulo 2^26, sign-extended: the direct kernel's exact sum when
 * |Y| < 2^25 (vgg_i8_w4_exact).  Requantised as the direct kernel does.
 *
 * Layouts: U' [ceil(cout/64)][36][cin/2][64][2] s16; per call, blocks of TB consecutive tiles (of the call's
 * tile rows): V [36][TB][cin] s16, then for each 64 output channels and each of the 36 positions a GEMM of
 * 6 tiles x 64 channels in registers into M' [36][TB][64] s32, then the output transform of the block. */
#define W4_NR 64
#define W4_INV9 954437177 /* 9 * 954437177 = 2 * 2^32 + 1 */

/* Tiles per block: one register tile's worth.  Larger blocks (up to V of 256-768 KB) measured no faster at 1 or
 * 2 threads, and slower on block 1 at 2 (docs/precision.md): the filter panels stream from L2/L3 well enough,
 * while V and M' of 6 tiles stay near the core. */
#define W4_TB 6

static size_t w4_scratch_size(int w, int cin) {
  (void)w;
  const size_t tb = W4_TB;
  return 36 * tb * (size_t)cin * 2 + 36 * tb * W4_NR * 4 + 64;
}

static size_t w4_packed_size(int cin, int cout) {
  return (size_t)(cout + W4_NR - 1) / W4_NR * 36 * (size_t)cin * W4_NR * 2;
}

static void w4_pack(const int8_t *hwio, int cin, int cout, int8_t *packed) {
  static const int dg[6][3] = {{1, 0, 0}, {-1, -1, -1}, {-1, 1, -1}, {1, 2, 4}, {1, -2, 4}, {0, 0, 1}};
  int16_t *u = (int16_t *)(void *)packed;
  memset(packed, 0, w4_packed_size(cin, cout));
  for (int o = 0; o < cout; o++)
    for (int c = 0; c < cin; c++) {
      int g[3][3], t[6][3];
      for (int k = 0; k < 9; k++) g[k / 3][k % 3] = hwio[((size_t)k * cin + c) * cout + o];
      for (int a = 0; a < 6; a++)
        for (int j = 0; j < 3; j++) t[a][j] = dg[a][0] * g[0][j] + dg[a][1] * g[1][j] + dg[a][2] * g[2][j];
      for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) {
          const int v = t[a][0] * dg[b][0] + t[a][1] * dg[b][1] + t[a][2] * dg[b][2];
          u[(((size_t)(o / W4_NR) * 36 + a * 6 + b) * (cin / 2) + c / 2) * W4_NR * 2 + (o % W4_NR) * 2 + c % 2] =
              (int16_t)v;
        }
    }
}

/* B^T applied to d0..d5 (16-bit lanes; every partial result within +-20400). */
#define W4_BT(d, r)                                                                                      \
  do {                                                                                                   \
    const __m512i t1 = _mm512_sub_epi16(d[4], _mm512_slli_epi16(d[2], 2));                              \
    const __m512i t2 = _mm512_sub_epi16(d[3], _mm512_slli_epi16(d[1], 2));                              \
    const __m512i t3 = _mm512_sub_epi16(d[4], d[2]);                                                     \
    const __m512i t4 = _mm512_slli_epi16(_mm512_sub_epi16(d[3], d[1]), 1);                              \
    r[0] = _mm512_add_epi16(_mm512_slli_epi16(_mm512_sub_epi16(d[0], d[2]), 2), t3);                     \
    r[1] = _mm512_add_epi16(t1, t2);                                                                     \
    r[2] = _mm512_sub_epi16(t1, t2);                                                                     \
    r[3] = _mm512_add_epi16(t3, t4);                                                                     \
    r[4] = _mm512_sub_epi16(t3, t4);                                                                     \
    r[5] = _mm512_add_epi16(_mm512_slli_epi16(_mm512_sub_epi16(d[1], d[3]), 2), _mm512_sub_epi16(d[5], d[3])); \
  } while (0)

/* V of tile (ty, tx) into v + pos * tb * cin (32 channels at a time). */
static void w4_input(const vgg_i8_conv3x3_args *a, int ty, int tx, int16_t *v, int tb) {
  const int H = a->h, W = a->w, CI = a->cin;
  for (int c = 0; c < CI; c += 32) {
    const int n = CI - c < 32 ? CI - c : 32;
    const __mmask32 m = n == 32 ? ~(__mmask32)0 : (__mmask32)((1u << n) - 1u);
    __m512i r[6][6];
    for (int i = 0; i < 6; i++) {
      const int iy = 4 * ty - 1 + i;
      __m512i d[6];
      for (int j = 0; j < 6; j++) {
        const int ix = 4 * tx - 1 + j;
        d[j] = iy >= 0 && iy < H && ix >= 0 && ix < W
                   ? _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, a->in + ((size_t)iy * W + ix) * CI + c))
                   : _mm512_setzero_si512();
      }
      W4_BT(d, r[i]);
    }
    for (int j = 0; j < 6; j++) {
      __m512i d[6], o[6];
      for (int i = 0; i < 6; i++) d[i] = r[i][j];
      W4_BT(d, o);
      for (int i = 0; i < 6; i++) _mm512_mask_storeu_epi16(v + (size_t)(i * 6 + j) * tb * CI + c, m, o[i]);
    }
  }
}

/* M'[t][64] (+ t * 64) for mr tiles of V (+ t * cin) against one U' panel. */
static inline __attribute__((always_inline)) void w4_gemm(const int mr, const int16_t *v, int cin, const int16_t *u,
                                                          int32_t *mo) {
  __m512i acc[6][4];
  for (int p = 0; p < mr; p++)
    for (int k = 0; k < 4; k++) acc[p][k] = _mm512_setzero_si512();
  for (int c2 = 0; c2 < cin / 2; c2++) {
    __m512i b[4];
    for (int k = 0; k < 4; k++) b[k] = _mm512_loadu_si512((const void *)(u + (size_t)c2 * 128 + k * 32));
    for (int p = 0; p < mr; p++) {
      int32_t x;
      memcpy(&x, v + (size_t)p * cin + 2 * c2, 4);
      const __m512i xv = _mm512_set1_epi32(x);
      for (int k = 0; k < 4; k++) acc[p][k] = _mm512_dpwssd_epi32(acc[p][k], xv, b[k]);
    }
  }
  for (int p = 0; p < mr; p++)
    for (int k = 0; k < 4; k++) _mm512_storeu_si512((void *)(mo + (size_t)p * 64 + k * 16), acc[p][k]);
}

/* A'^T applied to m0..m5 (32-bit lanes, wrapping). */
#define W4_AT(m, o)                                                                                      \
  do {                                                                                                   \
    const __m512i p12 = _mm512_add_epi32(m[1], m[2]), n12 = _mm512_sub_epi32(m[1], m[2]);                \
    const __m512i p34 = _mm512_add_epi32(m[3], m[4]), n34 = _mm512_sub_epi32(m[3], m[4]);                \
    o[0] = _mm512_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(m[0], 2), _mm512_slli_epi32(m[0], 1)),    \
                            _mm512_add_epi32(_mm512_slli_epi32(p12, 2), p34));                           \
    o[1] = _mm512_add_epi32(_mm512_slli_epi32(n12, 2), _mm512_slli_epi32(n34, 1));                       \
    o[2] = _mm512_slli_epi32(_mm512_add_epi32(p12, p34), 2);                                             \
    o[3] = _mm512_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(n12, 2), _mm512_slli_epi32(n34, 3)),      \
                            _mm512_add_epi32(_mm512_slli_epi32(m[5], 4), _mm512_slli_epi32(m[5], 3)));   \
  } while (0)

/* Outputs of tile (ty, tx), channels [oc, oc + nvalid), from M' (+ pos * tb * 64). */
static void w4_output(const vgg_i8_conv3x3_args *a, int ty, int tx, const int32_t *mo, int tb, int oc, int nvalid) {
  const int H = a->h, W = a->w, CO = a->cout;
  for (int k = 0; k * 16 < nvalid; k++) {
    const int n = nvalid - k * 16 < 16 ? nvalid - k * 16 : 16;
    const __mmask16 mk = (__mmask16)((1u << n) - 1u);
    const __m512 sc = _mm512_maskz_loadu_ps(mk, a->scale + oc + k * 16), bi = _mm512_maskz_loadu_ps(mk, a->bias + oc + k * 16);
    __m512i s[6][4];
    for (int i = 0; i < 6; i++) {
      __m512i m[6];
      for (int j = 0; j < 6; j++) m[j] = _mm512_loadu_si512((const void *)(mo + (size_t)(i * 6 + j) * tb * 64 + k * 16));
      W4_AT(m, s[i]);
    }
    for (int j = 0; j < 4; j++) {
      __m512i m[6], z[4];
      for (int i = 0; i < 6; i++) m[i] = s[i][j];
      W4_AT(m, z);
      for (int i = 0; i < 4; i++) {
        const int oy = 4 * ty + i, ox = 4 * tx + j;
        if (oy >= H || ox >= W) continue;
        __m512i y = _mm512_mullo_epi32(_mm512_srai_epi32(z[i], 6), _mm512_set1_epi32(W4_INV9));
        y = _mm512_srai_epi32(_mm512_slli_epi32(y, 6), 6);
        /* Requantised as vgg_storeq does (the direct kernel's store), scale and bias loaded once per tile. */
        __m512 f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(y), sc, bi);
        f = _mm512_min_ps(_mm512_max_ps(f, _mm512_setzero_ps()), _mm512_set1_ps(255.0f));
        _mm512_mask_cvtepi32_storeu_epi8(a->out + ((size_t)oy * W + ox) * CO + oc + k * 16, mk, _mm512_cvtps_epi32(f));
      }
    }
  }
}

#define W4_GEMM_CASE(M) \
  case M: w4_gemm(M, v + (size_t)t * a->cin, a->cin, panel, mo + (size_t)t * 64); break;

static void w4_conv(const vgg_i8_conv3x3_args *a, int ty0, int ty1, int oc0, int oc1) {
  const int CI = a->cin, tw = (a->w + 3) / 4, tb = W4_TB;
  char *base = (char *)(((uintptr_t)a->scratch + 63) & ~(uintptr_t)63);
  int16_t *vb = (int16_t *)(void *)base;
  int32_t *mb = (int32_t *)(void *)(base + 36 * (size_t)tb * CI * 2);
  const int16_t *U = (const int16_t *)(const void *)a->weights;
  const long t0 = (long)ty0 * tw, t1 = (long)ty1 * tw;
  for (long b0 = t0; b0 < t1; b0 += tb) {
    const int nt = t1 - b0 < tb ? (int)(t1 - b0) : tb;
    for (int t = 0; t < nt; t++) w4_input(a, (int)((b0 + t) / tw), (int)((b0 + t) % tw), vb + (size_t)t * CI, tb);
    for (int oc = oc0; oc < oc1; oc += W4_NR) {
      const int nvalid = oc1 - oc < W4_NR ? oc1 - oc : W4_NR;
      for (int pos = 0; pos < 36; pos++) {
        const int16_t *panel = U + ((size_t)(oc / W4_NR) * 36 + pos) * (size_t)CI * W4_NR;
        const int16_t *v = vb + (size_t)pos * tb * CI;
        int32_t *mo = mb + (size_t)pos * tb * 64;
        for (int t = 0; t < nt; t += 6) {
          const int mr = nt - t < 6 ? nt - t : 6;
          switch (mr) {
            W4_GEMM_CASE(1) W4_GEMM_CASE(2) W4_GEMM_CASE(3) W4_GEMM_CASE(4) W4_GEMM_CASE(5) W4_GEMM_CASE(6)
          default: __builtin_unreachable();
          }
        }
      }
      for (int t = 0; t < nt; t++)
        w4_output(a, (int)((b0 + t) / tw), (int)((b0 + t) % tw), mb + (size_t)t * 64, tb, oc, nvalid);
    }
  }
}
/* A 16-bit pair of the tile t's channels is read as a t * cin offset: cin even (a multiple of 4). */
#define K_I8_W4 SUFFIX(vgg_i8_wino4x4_exact_relu_ukernel_6x4v)
void K_I8_W4(const vgg_i8_conv3x3_args *a, int ty0, int ty1, int oc0, int oc1) { w4_conv(a, ty0, ty1, oc0, oc1); }

const vgg_i8_kernels vgg_i8_kernels_avx512vnni =
    VGG_I8_ENTRY(.w4_packed_size = w4_packed_size, .w4_pack = w4_pack, .w4_conv = K_I8_W4,
                 .w4_scratch_size = w4_scratch_size, .w4_name = VGG_STR(K_I8_W4));
