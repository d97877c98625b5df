/* Reference bf16 Winograd F(2x2) and F(4x4): the template of the SIMD
 * levels one lane wide, with the rounding and the 2-way dot product of
 * kernels.h (as AVX512-BF16 defines them), so it gives the same bits. */
#include "kernels.h"
#include "vec-scalar.h"
#include "ref-config.h"
#include <math.h>
#include <string.h>

/* The transforms' multiply-adds fused, as the SIMD levels compute them: V must round to the same bf16. */
#undef V_FMA
#define V_FMA(a, b, c) fmaf((a), (b), (c))

#define MR VGG_REF_WINO_MR
#define NV VGG_REF_WINO_NV
#define NR (NV * VL)
#define WBF16 1
#define BVEC uint32_t
#define BF_BCAST2(p) ((uint32_t)vgg_load4(p))
#define BF_LOADW(p) ((uint32_t)vgg_load4(p))
#define BF_DOT(acc, x, w) vgg_bf16_dot2((acc), (x), (w))
#define V_STORE_BF16(p, v, n) (*(p) = vgg_bf16_from_f32(v))
#define V_STORE_BF16_SPLIT(hi, lo, v, n) \
  (*(hi) = vgg_bf16_from_f32(v), *(lo) = vgg_bf16_from_f32((v) - vgg_f32_from_bf16(*(hi))))

#define TB2 64
#define TB4 32
#include "templates/f32-winograd-sizes.c.inc"

const vgg_bf16_kernels vgg_bf16_kernels_ref = {.wino = {VGG_BF16_WINO_ENTRY(2, NR), VGG_BF16_WINO_ENTRY(4, NR)}};

enum { SUM_RUN = 512 }; /* vgg_bf16_round_sum keeps the sum over runs of this many values */

enum { STEPS = 64 }; /* how finely the turns are ordered by their distance from a half */

/* The loops over the run are written without branches (selects, the float to int conversion unconditional) so
 * that the compiler vectorizes them at the baseline flags; the results are those of the rule as stated. */
static void round_sum_run(const float *x, int n, uint16_t *h) {
  unsigned char key[SUM_RUN];
  uint16_t other[SUM_RUN];
  float err[SUM_RUN], step[SUM_RUN]; /* each value's error and its turn's change: exact (Sterbenz) */
  for (int i = 0; i < n; i++) {
    /* other: the other neighbour, on x's other side, or h when there is none to take (x on the grid, or a
     * neighbour that is zero, denormal or not finite); r: h's value. */
    const uint32_t hn = vgg_bf16_from_f32(x[i]);
    const float r = vgg_f32_from_bf16(hn);
    const uint32_t o = (fabsf(r) > fabsf(x[i]) ? hn - 1 : hn + 1) & 0xffffu, ex = (o >> 7) & 0xffu;
    const uint32_t ot = (r == x[i]) | (r == 0) | (ex == 0) | (ex == 0xffu) | (((o ^ hn) & 0x8000u) != 0) ? hn : o;
    h[i] = (uint16_t)hn, other[i] = (uint16_t)ot;
    err[i] = r - x[i], step[i] = vgg_f32_from_bf16(ot) - r;
  }
  double s = 0; /* the errors' sum */
  for (int i = 0; i < n; i++) s += err[i];
  /* The values whose error has the sum's sign (turning one moves the sum toward 0), nearest a half first: key
   * (1 - 2 |e| / unit) in STEPS steps, the earlier first within a step; STEPS: not a candidate. */
  const int positive = s > 0;
  for (int i = 0; i < n; i++) {
    float q = (1 - 2 * fabsf(err[i]) / fabsf(step[i])) * STEPS;
    q = q >= 0 ? q : 0; /* NaN (no step) to 0: not taken below */
    q = q <= STEPS ? q : STEPS;
    const int k = (int)q, candidate = (step[i] != 0) & ((err[i] > 0) == positive);
    key[i] = (unsigned char)(candidate ? k : STEPS);
  }
  /* A counting sort of the candidates by key, stable (the earlier first): their list, then their counts (four
   * tallies, so repeated keys do not wait on each other), then each in its place. */
  int list[SUM_RUN], m = 0;
  for (int i = 0; i < n; i++) list[m] = i, m += key[i] < STEPS;
  int count[4][STEPS] = {{0}}, start[STEPS], order[SUM_RUN];
  for (int j = 0; j < m; j++) count[j & 3][key[list[j]]]++;
  for (int k = 0, at = 0; k < STEPS; k++) start[k] = at, at += count[0][k] + count[1][k] + count[2][k] + count[3][k];
  for (int j = 0; j < m; j++) order[start[key[list[j]]]++] = list[j];
  for (int c = 0; c < m; c++) {
    const int i = order[c];
    if (fabs(s + step[i]) < fabs(s)) h[i] = other[i], s += step[i];
  }
}

void vgg_bf16_round_sum(const float *x, int n, uint16_t *h) {
  for (int i = 0; i < n; i += SUM_RUN) round_sum_run(x + i, n - i < SUM_RUN ? n - i : SUM_RUN, h + i);
}

void vgg_bf16_wino_u(const float *w, int cin, size_t tap_stride, size_t ci_stride, const double *g, int alpha,
                     uint16_t *dst, size_t pos_stride, size_t pair_stride) {
  float f[9][SUM_RUN], x[SUM_RUN];
  double t[3][SUM_RUN];
  uint16_t h[SUM_RUN];
  for (int c0 = 0; c0 < cin; c0 += SUM_RUN) {
    const int n = cin - c0 < SUM_RUN ? cin - c0 : SUM_RUN;
    for (int k = 0; k < 9; k++)
      for (int ci = 0; ci < n; ci++) f[k][ci] = w[k * tap_stride + (size_t)(c0 + ci) * ci_stride];
    for (int i = 0; i < alpha; i++) {
      const double *gi = g + 3 * i;
      for (int c = 0; c < 3; c++) /* (G g) row i, column c */
        for (int ci = 0; ci < n; ci++) t[c][ci] = gi[0] * f[c][ci] + gi[1] * f[3 + c][ci] + gi[2] * f[6 + c][ci];
      for (int j = 0; j < alpha; j++) {
        const double *gj = g + 3 * j;
        for (int ci = 0; ci < n; ci++) x[ci] = (float)(t[0][ci] * gj[0] + t[1][ci] * gj[1] + t[2][ci] * gj[2]);
        vgg_bf16_round_sum(x, n, h);
        uint16_t *d = dst + (size_t)(i * alpha + j) * pos_stride;
        for (int ci = 0; ci < n; ci++) d[(size_t)((c0 + ci) / 2) * pair_stride + (c0 + ci) % 2] = h[ci];
      }
    }
  }
}
