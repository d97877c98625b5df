/* int8 direct 3x3 conv on AMX (Advanced Matrix Extensions: eight tile
 * registers of 16 rows x 64 bytes; tdpbusd multiplies a 16 x 64 u8 tile by a
 * 64 x 16 s8 tile, packed 4 bytes deep, into 16 x 16 s32: 16384 multiply-adds
 * per instruction, 16x a 512-bit vpdpbusd).
 *
 * The convolution as a GEMM over padded rows: a chunk of input rows is copied
 * into the scratch with a zero column on each side, channels padded to 64 and
 * zero rows above and below the image, so that in the flattened chunk output
 * pixel p (= row * (w + 2) + x) reads tap (ky, kx) at pixel p + ky (w + 2) + kx.
 * Each tap is then one strided tile load of 16 consecutive pixels x 64
 * channels, whatever the borders; the two padding columns give outputs that
 * are thrown away (2 of every w + 2).  A pass is 64 pixels x 32 output
 * channels, in two halves of 16 channels: C tiles 0-3 (four blocks of 16
 * pixels), A through tiles 4-5, the half's B tile in 6 and 7 in turn; each B
 * tile serves four A tiles (measured faster than 2 x 2 blocks, whose B tiles
 * stream from L2 twice as often).  The sums are stored to the scratch and
 * requantised with AVX-512 exactly as the other sets do (the sums are exact,
 * so the bytes are the reference's), while the tiles compute the next pass.
 *
 * Weights: [ceil(cout/32) * 2][9][cin_pad/64][16][16][4]: for each 16 output
 * channels, tap and 64 input channels, one B tile (row r holds channels
 * 4r..4r+3 of each of the 16 outputs); padding zero.  Built with -mamx-tile
 * -mamx-int8 -mavx512vnni (the dense layer is the AVX512-VNNI set's); dispatch
 * uses it only when the CPU reports AMX-INT8 and AVX512-VNNI and the OS grants
 * the tile data state (kernels/dispatch.c). */
#include "kernels.h"
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#include "i8-storeq-avx512.h"

#define TK 64  /* bytes of a tile row: 64 input channels */
#define TM 16  /* rows of a tile: 16 pixels (A, C) or 16 groups of 4 channels (B) */
#define TN 16  /* s32 columns of a C tile: 16 output channels */
#define MB 64  /* pixels per pass: four A tiles */
#define OCB 32 /* output channels per pass: two B tiles */
#define BTILE (TM * TK) /* bytes of a B tile */
/* A chunk of padded rows is about this many bytes (with the two rows around it), so it stays in L2. */
#define CHUNK_BYTES (160 * 1024)
#define CFG_BYTES 64
#define STAGE_BYTES (2 * MB * OCB * 4)

static inline int cin_pad(int cin) { return (cin + TK - 1) & ~(TK - 1); }
/* Output rows per chunk: the padded rows of a chunk and its two neighbours within CHUNK_BYTES, at least 1. */
static inline int chunk_rows(int w, int cin) {
  const size_t row = (size_t)(w + 2) * cin_pad(cin);
  const long r = (long)(CHUNK_BYTES / row) - 2;
  return r < 1 ? 1 : (int)r;
}
/* Pixels of a chunk's padded buffer: its rows and the two around them, then the last pass's overrun (the
 * rows of A past the chunk's outputs belong to outputs that are thrown away, but are read). */
static inline size_t chunk_pixels(int w, int cin) {
  return (size_t)(chunk_rows(w, cin) + 2) * (w + 2) + MB + 2;
}

size_t vgg_i8_conv3x3_scratch_size__avx512amx(int w, int cin) {
  return CFG_BYTES + STAGE_BYTES + chunk_pixels(w, cin) * cin_pad(cin);
}

size_t vgg_i8_conv3x3_packed_size__avx512amx(int cin, int cout) {
  return (size_t)((cout + OCB - 1) / OCB) * (OCB / TN) * 9 * (cin_pad(cin) / TK) * BTILE;
}

void vgg_i8_conv3x3_pack__avx512amx(const int8_t *hwio, int cin, int cout, int8_t *packed) {
  const int kc = cin_pad(cin) / TK, nb = (cout + OCB - 1) / OCB * (OCB / TN);
  for (int b = 0; b < nb; b++)
    for (int t = 0; t < 9; t++)
      for (int k = 0; k < kc; k++) {
        int8_t *tile = packed + (((size_t)b * 9 + t) * kc + k) * BTILE;
        for (int r = 0; r < TM; r++)
          for (int n = 0; n < TN; n++)
            for (int j = 0; j < 4; j++) {
              const int ci = k * TK + r * 4 + j, oc = b * TN + n;
              tile[r * TK + n * 4 + j] = ci < cin && oc < cout ? hwio[((size_t)t * cin + ci) * cout + oc] : 0;
            }
      }
}

/* Every tile 16 rows x 64 bytes (palette 1). */
static void tile_config(uint8_t *cfg) {
  memset(cfg, 0, CFG_BYTES);
  cfg[0] = 1;
  for (int t = 0; t < 8; t++) {
    const uint16_t colsb = TK;
    memcpy(cfg + 16 + 2 * t, &colsb, 2);
    cfg[48 + t] = TM;
  }
}

/* Padded rows y0 - 1 .. y0 + rows of the input into buf ((rows + 2) x (w + 2) pixels of cp bytes), then the
 * overrun zeroed. */
static void fill_chunk(const vgg_i8_conv3x3_args *a, int y0, int rows, uint8_t *buf) {
  const int W = a->w, CI = a->cin, CP = cin_pad(CI), PW = W + 2;
  const size_t prow = (size_t)PW * CP;
  for (int r = 0; r < rows + 2; r++) {
    const int iy = y0 + r - 1;
    uint8_t *d = buf + r * prow;
    if (iy < 0 || iy >= a->h) {
      memset(d, 0, prow);
      continue;
    }
    const uint8_t *s = a->in + (size_t)iy * W * CI;
    memset(d, 0, CP);
    if (CI == CP) {
      memcpy(d + CP, s, (size_t)W * CI);
    } else {
      for (int x = 0; x < W; x++) {
        memcpy(d + (size_t)(x + 1) * CP, s + (size_t)x * CI, CI);
        memset(d + (size_t)(x + 1) * CP + CI, 0, CP - CI);
      }
    }
    memset(d + (size_t)(W + 1) * CP, 0, CP);
  }
  memset(buf + (size_t)(rows + 2) * prow, 0, (size_t)(MB + 2) * CP);
}

/* Requantise the s32 sums of a pass (stage: MB pixels x OCB channels) to u8 for pixels [p0, p0 + MB) of the
 * flattened chunk (np of them, row width pw, the last two of each row thrown away), channels [oc, oc + n). */
static inline void store_pass(const vgg_i8_conv3x3_args *a, const int32_t *stage, int yc, int p0, int np, int pw,
                              int oc, int n) {
  const int W = a->w, CO = a->cout;
  const int last = p0 + MB < np ? p0 + MB : np;
  int r = p0 / pw, x = p0 % pw;
  if (n == OCB) { /* two whole vectors: no masks, one 32-byte store */
    const __m512 s0 = _mm512_loadu_ps(a->scale + oc), s1 = _mm512_loadu_ps(a->scale + oc + TN);
    const __m512 b0 = _mm512_loadu_ps(a->bias + oc), b1 = _mm512_loadu_ps(a->bias + oc + TN);
    for (int p = p0; p < last; p++) {
      if (x < W) {
        const int32_t *c = stage + (p - p0) * OCB;
        const __m128i q0 = vgg_requant(_mm512_loadu_si512(c), s0, b0), q1 = vgg_requant(_mm512_loadu_si512(c + TN), s1, b1);
        _mm256_storeu_si256((__m256i *)(a->out + ((size_t)(yc + r) * W + x) * CO + oc), _mm256_set_m128i(q1, q0));
      }
      if (++x == pw) x = 0, r++;
    }
    return;
  }
  for (int p = p0; p < last; p++) {
    if (x < W) {
      uint8_t *out = a->out + ((size_t)(yc + r) * W + x) * CO + oc;
      const int32_t *c = stage + (p - p0) * OCB;
      for (int v = 0; v * TN < n; v++)
        vgg_storeq(out + v * TN, _mm512_loadu_si512(c + v * TN), a->scale + oc + v * TN, a->bias + oc + v * TN,
                   n - v * TN < TN ? n - v * TN : TN);
    }
    if (++x == pw) x = 0, r++;
  }
}

/* A pass whose sums wait in a stage buffer for their requantisation. */
typedef struct {
  const int32_t *stage;
  int yc, p0, np, oc;
} pending;

static inline void flush(const vgg_i8_conv3x3_args *a, pending *q, int pw, int oc1) {
  if (q->stage) store_pass(a, q->stage, q->yc, q->p0, q->np, pw, q->oc, oc1 - q->oc < OCB ? oc1 - q->oc : OCB);
  q->stage = NULL;
}

/* One step of a pass: B tile (weights of step S) into tile B, NT A tiles (16 pixels each) through tiles 4
 * and 5, NT dot products into C tiles 0..NT-1. */
#define AMX_STEP(S, B, NT)                                                               \
  do {                                                                                   \
    const uint8_t *ap = ab + aoff[S];                                                    \
    _tile_loadd(B, bh + (size_t)(S) * BTILE, TK);                                        \
    _tile_loadd(4, ap, cp);                                                              \
    _tile_dpbusd(0, 4, B);                                                               \
    if ((NT) > 1) { _tile_loadd(5, ap + (size_t)TM * cp, cp); _tile_dpbusd(1, 5, B); }     \
    if ((NT) > 2) { _tile_loadd(4, ap + (size_t)2 * TM * cp, cp); _tile_dpbusd(2, 4, B); } \
    if ((NT) > 3) { _tile_loadd(5, ap + (size_t)3 * TM * cp, cp); _tile_dpbusd(3, 5, B); } \
  } while (0)

/* The sums of nt x 16 pixels (from ab in the chunk) x 32 channels (weights w) into the stage buffer st, two
 * halves of 16 channels; before the first half's sums are stored, the pass before is requantised (q). */
static inline __attribute__((always_inline)) void pass(const vgg_i8_conv3x3_args *a, const uint8_t *ab,
                                                       const int8_t *w, size_t bstride, const size_t *aoff, int ns,
                                                       int cp, int pw, int oc1, pending *q, int32_t *st,
                                                       const int nt) {
  for (int h = 0; h < OCB / TN; h++) {
    const int8_t *bh = w + (size_t)h * bstride;
    _tile_zero(0);
    if (nt > 1) _tile_zero(1);
    if (nt > 2) _tile_zero(2);
    if (nt > 3) _tile_zero(3);
    int s = 0;
    for (; s + 1 < ns; s += 2) { /* B in tiles 6 and 7 in turn: the next load need not wait */
      AMX_STEP(s, 6, nt);
      AMX_STEP(s + 1, 7, nt);
    }
    if (s < ns) AMX_STEP(s, 6, nt);
    flush(a, q, pw, oc1);
    _tile_stored(0, st + h * TN, OCB * 4); /* C tile t: pixels 16t.., channels 16h.. */
    if (nt > 1) _tile_stored(1, st + TM * OCB + h * TN, OCB * 4);
    if (nt > 2) _tile_stored(2, st + 2 * TM * OCB + h * TN, OCB * 4);
    if (nt > 3) _tile_stored(3, st + 3 * TM * OCB + h * TN, OCB * 4);
  }
}
#undef AMX_STEP

void vgg_i8_conv3x3_relu_ukernel_64x32__avx512amx(const vgg_i8_conv3x3_args *a, int y0, int y1, int oc0, int oc1) {
  const int W = a->w, CP = cin_pad(a->cin), PW = W + 2, KC = CP / TK, NS = 9 * KC;
  const int R = chunk_rows(W, a->cin);
  uint8_t *cfg = a->scratch;
  int32_t *stage = (int32_t *)((uint8_t *)a->scratch + CFG_BYTES);
  uint8_t *buf = (uint8_t *)a->scratch + CFG_BYTES + STAGE_BYTES;
  const size_t bstride = (size_t)NS * BTILE; /* one block of 16 output channels */
  /* Step s of a pass (tap s / KC, 64-channel slice s % KC: the weights' order) reads A at aoff[s]. */
  size_t aoff[9 * (VGG_I8_MAX_CIN / TK)];
  for (int s = 0; s < NS; s++) aoff[s] = ((size_t)(s / KC / 3) * PW + s / KC % 3) * CP + (size_t)(s % KC) * TK;
  tile_config(cfg);
  _tile_loadconfig(cfg);
  /* Each pass's sums are requantised while the tiles compute the next pass's first half (two stage buffers
   * in turn): the vector work overlaps the tile work instead of waiting for it.  A chunk's last pass covers
   * only the 16-pixel tiles it needs. */
  pending q = {NULL, 0, 0, 0, 0};
  int cur = 0;
  for (int yc = y0; yc < y1; yc += R) {
    const int rows = y1 - yc < R ? y1 - yc : R, np = rows * PW;
    flush(a, &q, PW, oc1);
    fill_chunk(a, yc, rows, buf);
    for (int oc = oc0; oc < oc1; oc += OCB)
      for (int p0 = 0; p0 < np; p0 += MB) {
        int32_t *st = stage + cur * MB * OCB;
        const uint8_t *ab = buf + (size_t)p0 * CP;
        const int8_t *w = a->weights + (size_t)(oc / TN) * bstride;
        const int nt = np - p0 >= MB ? MB / TM : (np - p0 + TM - 1) / TM;
        if (nt == MB / TM) pass(a, ab, w, bstride, aoff, NS, CP, PW, oc1, &q, st, MB / TM);
        else pass(a, ab, w, bstride, aoff, NS, CP, PW, oc1, &q, st, nt);
        q = (pending){st, yc, p0, np, oc};
        cur ^= 1;
      }
  }
  flush(a, &q, PW, oc1);
  _tile_release();
}

/* Tile dot-product throughput: 6 independent C tiles, iters * 6 * 16 * 16 * 64 * 2 operations. */
float vgg_i8_dot_peak__avx512amx(int64_t iters) {
  uint8_t cfg[CFG_BYTES];
  uint8_t ones[TM * TK];
  int8_t wts[TM * TK];
  int32_t c[TM * TN];
  for (int i = 0; i < TM * TK; i++) ones[i] = 1, wts[i] = (int8_t)(i & 1 ? -1 : 1);
  tile_config(cfg);
  _tile_loadconfig(cfg);
  _tile_loadd(6, ones, TK);
  _tile_loadd(7, wts, TK);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_zero(4);
  _tile_zero(5);
  for (int64_t i = 0; i < iters; i++) {
    _tile_dpbusd(0, 6, 7);
    _tile_dpbusd(1, 6, 7);
    _tile_dpbusd(2, 6, 7);
    _tile_dpbusd(3, 6, 7);
    _tile_dpbusd(4, 6, 7);
    _tile_dpbusd(5, 6, 7);
  }
  _tile_stored(0, c, TN * 4);
  _tile_release();
  return (float)c[0];
}

/* The AVX512-VNNI set's classifier and quantisation (this set needs AVX512-VNNI too). */
void vgg_i8_dense_pack__avx512vnni(const int8_t *q, int rows, int n_in, int8_t *packed);
void vgg_i8_gemv_4x1v__avx512vnni(const uint8_t *x, const float *xs, int nb, const int8_t *w, const float *ws,
                                  const float *bias, float *y, int n_in, int n_out, int relu, int o0, int o1);
void vgg_u8_quantize__avx512(const float *x, uint8_t *q, size_t n, float inv_scale);

const vgg_i8_kernels vgg_set_avx512amx = {
    .oc_block = OCB,
    .packed_size = vgg_i8_conv3x3_packed_size__avx512amx,
    .pack = vgg_i8_conv3x3_pack__avx512amx,
    .conv = vgg_i8_conv3x3_relu_ukernel_64x32__avx512amx,
    .name = "vgg_i8_conv3x3_relu_ukernel_64x32__avx512amx",
    .scratch_size = vgg_i8_conv3x3_scratch_size__avx512amx,
    .dot_peak = vgg_i8_dot_peak__avx512amx,
    .dot_peak_ops = 6 * TM * TN * TK * 2,
    .dense_pack = vgg_i8_dense_pack__avx512vnni,
    .dense = vgg_i8_gemv_4x1v__avx512vnni,
    .dense_name = "vgg_i8_gemv_4x1v__avx512vnni",
    .quantize = vgg_u8_quantize__avx512,
};
