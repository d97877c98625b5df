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
#include "support.h" /* vgg_fill, vgg_rel_err, vgg_conv_shapes: shared with verify and the benchmarks */

/* max without fmax: GCC 12 for aarch64 crashes vectorising fmax reductions,
 * and a NaN should win (and fail the check), not be skipped. */
static inline double tu_max(double a, double b) { return a > b ? a : b; }

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

/* The first of algos[0 .. i) whose plan for m at `level` is the same as
 * algos[i]'s on every conv layer (the net would compute the same thing), or -1. */
static inline int tu_same_plan_as(const vgg_model *m, int level, const vgg_algo *algos, int i) {
  for (int j = 0; j < i; j++) {
    int same = 1;
    for (int l = 0; l < vgg_model_num_layers(m) && same; l++) {
      const char *a = vgg_plan_layer_algo(m, l, level, algos[i]), *b = vgg_plan_layer_algo(m, l, level, algos[j]);
      same = (!a && !b) || (a && b && !strcmp(a, b));
    }
    if (same) return j;
  }
  return -1;
}

#endif
