/* Helpers shared by the cmocka tests: deterministic data, float64 naive
 * layers, guarded buffers, ISA-level skipping. */
#ifndef VGG_TESTUTIL_H
#define VGG_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels.h"
#include "vggsimd.h"

/* max without fmax: GCC 12 for aarch64 crashes vectorising fmax reductions,
 * and a NaN should win (and fail the check), not be skipped. */
static inline double tu_max(double a, double b) { return a > b ? a : b; }

static inline uint64_t tu_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* Uniform values in [-1, 1), a pure function of (seed, i). */
static inline void tu_fill(float *p, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) p[i] = (float)((tu_mix(seed * 1000003u + i) >> 40) * (2.0 / 16777216.0) - 1.0);
}

/* A buffer of n floats with guard zones on both sides holding a NaN pattern. */
#define TU_GUARD 64
typedef struct {
  float *base, *p;
  size_t n;
} tu_buf;

static inline tu_buf tu_buf_new(size_t n) {
  tu_buf b;
  b.n = n;
  b.base = aligned_alloc(64, ((n + 2 * TU_GUARD) * sizeof(float) + 63) & ~(size_t)63);
  uint32_t pat = 0x7fc0dead;
  for (size_t i = 0; i < n + 2 * TU_GUARD; i++) memcpy(&b.base[i], &pat, 4);
  b.p = b.base + TU_GUARD;
  return b;
}

/* 1 when both guard zones are untouched. */
static inline int tu_guard_ok(const tu_buf *b) {
  uint32_t pat = 0x7fc0dead, v;
  for (size_t i = 0; i < TU_GUARD; i++) {
    memcpy(&v, &b->base[i], 4);
    if (v != pat) return 0;
    memcpy(&v, &b->p[b->n + i], 4);
    if (v != pat) return 0;
  }
  return 1;
}

static inline void tu_buf_free(tu_buf *b) { free(b->base); }

/* Skips the running test (reported by cmocka as SKIPPED) when the level is missing. */
#define TU_NEED_LEVEL(isa)                                                                        \
  do {                                                                                            \
    if (!vgg_level_usable(isa)) {                                                                \
      print_message("[  SKIP    ] level %s is %s: not tested\n", vgg_level_name(isa),             \
                    vgg_level_compiled(isa) ? "not supported by this CPU" : "not built in");       \
      skip();                                                                                     \
    }                                                                                             \
  } while (0)

#define tu_conv_f64 vgg_f64_conv3x3_naive

/* max |got - ref| / max |ref| (max |ref| floored at 1e-30). */
static inline double tu_rel_err(const float *got, const double *ref, size_t n, double *max_abs_err) {
  double mr = 0, me = 0;
  for (size_t i = 0; i < n; i++) {
    mr = tu_max(mr, fabs(ref[i]));
    double e = fabs((double)got[i] - ref[i]);
    if (!(e <= me)) me = isnan(e) ? INFINITY : e;
  }
  if (max_abs_err) *max_abs_err = me;
  return me / tu_max(mr, 1e-30);
}

#endif
