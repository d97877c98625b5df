/* `vggsimd verify`: every kernel of every usable level against the scalar
 * reference (and the scalar reference against float64), on the 13 VGG16 conv
 * shapes and on awkward shapes.  Tolerance: 1e-5 of max |reference|. */
#include "internal.h"
#include "kernels.h"
#include "support.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-5
#define TOL_F6 1e-4 /* Winograd F(6x6): larger transform constants (engine/plan.c: the budgets) */
#define TOL_BF16 1e-2    /* bf16 Winograd F(2x2), one layer (docs/precision.md) */
#define TOL_BF16_F4 5e-2 /* bf16 F(4x4): its transform constants magnify the bf16 rounding */
#define SCALAR_SIDE 16 /* the scalar-vs-float64 rows of VGG16 shapes use 16x16 maps */
#define REDUCED_SIDE 8 /* --reduced: every level's VGG16 rows on 8x8 maps */

typedef struct {
  vgg_verify_fn fn;
  void *user;
  int failures, rows;
} ctx;

static void report(ctx *c, const char *kernel, const vgg_kernel_table *k, const char *shape, const float *got,
                   const double *ref, size_t n, double tol) {
  double me;
  const double rel = vgg_rel_err(got, ref, n, &me);
  vgg_verify_row r;
  memset(&r, 0, sizeof r);
  r.kernel = kernel;
  r.level = vgg_level_name(k->level);
  snprintf(r.shape, sizeof r.shape, "%s", shape);
  r.max_abs_err = me;
  r.max_rel_err = rel;
  r.tol = tol;
  r.pass = r.max_rel_err <= tol;
  c->failures += !r.pass;
  c->rows++;
  c->fn(c->user, &r);
}

/* Each kernel call runs on all threads, a row (Winograd: a tile row) at a time, each thread with its own
 * scratch: a kernel's outputs do not depend on how its rows are split (the engine relies on it; the tests
 * check it), so every row of the table is what one call over the whole map gives, in a fraction of the time
 * (the scalar references at the VGG16 sizes dominate). */
static void par_conv(vgg_conv3x3_fn fn, const vgg_conv3x3_args *a) {
#pragma omp parallel for schedule(dynamic, 1)
  for (int y = 0; y < a->h; y++) fn(a, y, y + 1, 0, a->cout);
}

/* sc: omp_get_max_threads() scratch buffers of nsc floats. */
static void par_wino(vgg_wino_fn fn, int m, const vgg_wino_args *a, float *sc, size_t nsc) {
#pragma omp parallel for schedule(dynamic, 1)
  for (int ty = 0; ty < (a->h + m - 1) / m; ty++) {
    vgg_wino_args t = *a;
    t.scratch = sc + nsc * (size_t)omp_get_thread_num();
    fn(&t, ty, ty + 1, 0, a->cout);
  }
}

/* rows: output rows (direct) or tile rows of 4 (the exact F(4x4)); sc: per thread nsc bytes, or NULL. */
static void par_i8(vgg_i8_conv3x3_fn fn, const vgg_i8_conv3x3_args *a, int rows, char *sc, size_t nsc) {
#pragma omp parallel for schedule(dynamic, 1)
  for (int y = 0; y < rows; y++) {
    vgg_i8_conv3x3_args t = *a;
    if (sc) t.scratch = sc + nsc * (size_t)omp_get_thread_num();
    fn(&t, y, y + 1, 0, a->cout);
  }
}

/* 2x2/2 max-pool of a float64 map (floor). */
static void pool_f64(const double *in, double *out, int H, int W, int C) {
  for (int y = 0; y < H / 2; y++)
    for (int x = 0; x < W / 2; x++)
      for (int c = 0; c < C; c++) {
        double m = in[((size_t)(2 * y) * W + 2 * x) * C + c];
        for (int d = 1; d < 4; d++) {
          const double v = in[((size_t)(2 * y + d / 2) * W + 2 * x + d % 2) * C + c];
          m = v > m ? v : m;
        }
        out[((size_t)y * (W / 2) + x) * C + c] = m;
      }
}

/* One conv shape at level k: direct, Winograd F(2x2), F(4x4) and F(6x6) (pooled when
 * `pool`, as for the last conv of a block) against one reference, the scalar
 * direct kernel (SIMD levels) or float64 (the scalar level). */
static int conv_rows(ctx *c, const vgg_kernel_table *k, int H, int W, int CI, int CO, int relu, int pool,
                     uint64_t seed, const char *tag) {
  const vgg_kernel_table *s = &vgg_kernels_scalar;
  const size_t nin = (size_t)H * W * CI, nout = (size_t)H * W * CO, nw = (size_t)9 * CI * CO;
  const vgg_bf16_kernels *bk = vgg_bf16_kernels_get(k->level), *br = &vgg_bf16_kernels_ref;
  size_t npk = k->conv3x3_packed_size(CI, CO), nsc = 0;
  for (int w = 0; w < VGG_WINO_COUNT + 4; w++) {
    const vgg_wino_kernels *f = w < VGG_WINO_COUNT ? &k->wino[w] : w < VGG_WINO_COUNT + 2 ? &bk->wino[w - 3] : &br->wino[w - 5];
    npk = f->packed_size(CI, CO) > npk ? f->packed_size(CI, CO) : npk;
    nsc = f->scratch_size(CI, CO) > nsc ? f->scratch_size(CI, CO) : nsc;
  }
  nsc = (nsc + 15) & ~(size_t)15; /* each thread's scratch on its own cache lines */
  float *in = vgg_alloc(nin, 4), *w = vgg_alloc(nw, 4), *b = vgg_alloc((size_t)CO, 4), *pk = vgg_alloc(npk, 4);
  float *out = vgg_alloc(nout, 4), *sc = vgg_alloc(nsc * (size_t)omp_get_max_threads(), 4), *r32 = vgg_alloc(nout, 4);
  double *ref = vgg_alloc(nout, 8), *pref = vgg_alloc(nout / 4 + 1, 8);
  int rc = -1;
  if (!in || !w || !b || !pk || !out || !sc || !r32 || !ref || !pref) goto done;
  vgg_fill(in, nin, seed), vgg_fill(w, nw, seed + 1), vgg_fill(b, (size_t)CO, seed + 2);
  if (k == s) {
    vgg_f64_conv3x3_naive(in, w, b, ref, H, W, CI, CO, relu);
  } else {
    vgg_conv3x3_args ra = {in, r32, w, b, H, W, CI, CO, relu}; /* scalar packing is the identity */
    par_conv(s->conv3x3, &ra);
    for (size_t i = 0; i < nout; i++) ref[i] = r32[i];
  }
  pool_f64(ref, pref, H, W, CO);
  char shape[64];
  snprintf(shape, sizeof shape, "%s%dx%d %d->%d%s", tag, H, W, CI, CO, relu ? " relu" : "");
  k->conv3x3_pack(w, CI, CO, pk);
  vgg_conv3x3_args a = {in, out, pk, b, H, W, CI, CO, relu};
  par_conv(CI == 3 ? k->conv3x3_c3 : k->conv3x3, &a);
  report(c, CI == 3 ? "conv3x3_c3" : "conv3x3", k, shape, out, ref, nout, TOL);
  for (int wi = 0; wi < VGG_WINO_COUNT; wi++) {
    const vgg_wino_kernels *wk = &k->wino[wi];
    wk->pack(w, CI, CO, pk);
    vgg_wino_args wa = {in, out, pk, b, H, W, CI, CO, relu, pool, sc};
    par_wino(wk->conv, wk->m, &wa, sc, nsc);
    char name[32], pshape[80];
    snprintf(name, sizeof name, "wino%d%s", wk->m, pool ? "+pool" : "");
    snprintf(pshape, sizeof pshape, "%s%s", shape, pool ? " pool" : "");
    report(c, name, k, pshape, out, pool ? pref : ref, pool ? (size_t)(H / 2) * (W / 2) * CO : nout,
           wk->m == 6 ? TOL_F6 : TOL);
  }
  /* bf16 Winograd: a level's kernels bit-exact against the bf16 reference (tolerance 0); at the scalar level
   * the reference against float64 on the VGG16 layers, within the bf16 layer bounds (statistical bounds: a
   * map of a few pixels and one channel can pass them). */
  if (bk != br || (k == s && tag[0]))
    for (int wi = 0; wi < 2; wi++) {
      const size_t no = pool ? (size_t)(H / 2) * (W / 2) * CO : nout;
      vgg_wino_args wa = {in, out, pk, b, H, W, CI, CO, relu, pool, sc};
      bk->wino[wi].pack(w, CI, CO, pk);
      par_wino(bk->wino[wi].conv, bk->wino[wi].m, &wa, sc, nsc);
      char name[32], pshape[80];
      snprintf(name, sizeof name, "bf16 wino%d%s", bk->wino[wi].m, pool ? "+pool" : "");
      snprintf(pshape, sizeof pshape, "%s%s", shape, pool ? " pool" : "");
      if (k == s) {
        report(c, name, k, pshape, out, pool ? pref : ref, no, wi ? TOL_BF16_F4 : TOL_BF16);
        continue;
      }
      memcpy(r32, out, no * sizeof(float));
      br->wino[wi].pack(w, CI, CO, pk);
      wa.out = out;
      par_wino(br->wino[wi].conv, br->wino[wi].m, &wa, sc, nsc);
      double *bref = pool ? pref : ref;
      for (size_t i = 0; i < no; i++) bref[i] = out[i];
      report(c, name, k, pshape, r32, bref, no, 0);
    }
  rc = 0;
done:
  vgg_free(in), vgg_free(w), vgg_free(b), vgg_free(pk), vgg_free(out), vgg_free(sc), vgg_free(r32);
  vgg_free(ref), vgg_free(pref);
  return rc;
}

static void pool_row(ctx *c, const vgg_kernel_table *k, int H, int W, int C) {
  const int OH = H / 2, OW = W / 2;
  float *in = vgg_alloc((size_t)H * W * C, 4), *out = vgg_alloc((size_t)OH * OW * C + 1, 4);
  double *ref = vgg_alloc((size_t)OH * OW * C + 1, 8);
  float *r32 = vgg_alloc((size_t)OH * OW * C + 1, 4);
  if (in && out && ref && r32) {
    vgg_fill(in, (size_t)H * W * C, (uint64_t)(H * 31 + C));
    k->maxpool2x2(in, out, H, W, C, 0, OH);
    vgg_kernels_scalar.maxpool2x2(in, r32, H, W, C, 0, OH);
    for (size_t i = 0; i < (size_t)OH * OW * C; i++) ref[i] = r32[i];
    char shape[64];
    snprintf(shape, sizeof shape, "%dx%dx%d", H, W, C);
    report(c, "maxpool2x2", k, shape, out, ref, (size_t)OH * OW * C, TOL);
  }
  vgg_free(in), vgg_free(out), vgg_free(ref), vgg_free(r32);
}

/* A dense layer of NB images NI -> NO in precision `prec`: float32 and bf16 (the weights rounded, the reference
 * their float64 product with the widened values) against float64; int8 (the set ik) against the int8
 * reference, bit for bit. */
static void dense_row(ctx *c, const vgg_kernel_table *k, const vgg_i8_kernels *ik, vgg_precision prec, int NB,
                      int NI, int NO, int relu) {
  const size_t nw = (size_t)NI * NO, st = vgg_i8_dense_stride(NI);
  float *x = vgg_alloc((size_t)NB * NI, 4), *w = vgg_alloc(nw, 4), *b = vgg_alloc((size_t)NO, 4);
  float *y = vgg_alloc((size_t)NB * NO, 4), *r32 = vgg_alloc((size_t)NB * NO, 4), *ws = vgg_alloc((size_t)NO, 4);
  double *ref = vgg_alloc((size_t)NB * NO, 8);
  uint16_t *h = prec == VGG_PRECISION_BF16 ? vgg_alloc(nw, 2) : NULL;
  int8_t *q = prec == VGG_PRECISION_INT8 ? vgg_alloc(nw, 1) : NULL;
  int8_t *p1 = q ? vgg_alloc((size_t)NO * st, 1) : NULL, *p2 = q ? vgg_alloc((size_t)NO * st, 1) : NULL;
  uint8_t *xq = q ? vgg_alloc((size_t)NB * st, 1) : NULL;
  const int ok = x && w && b && y && r32 && ws && ref && (prec != VGG_PRECISION_BF16 || h) &&
                 (prec != VGG_PRECISION_INT8 || (q && p1 && p2 && xq));
  if (ok) {
    vgg_fill(x, (size_t)NB * NI, (uint64_t)NI + NB), vgg_fill(w, nw, (uint64_t)NO), vgg_fill(b, (size_t)NO, 7);
    const char *name = "dense";
    double tol = TOL;
    if (prec == VGG_PRECISION_INT8) {
      float xs[64];
      vgg_fill(ws, (size_t)NO, 11);
      for (int o = 0; o < NO; o++) ws[o] = 1e-3f * (1.5f + ws[o]);
      for (int i = 0; i < NB; i++) xs[i] = 0.01f * (i + 1);
      for (size_t i = 0; i < nw; i++) q[i] = (int8_t)nearbyintf(w[i] * 127.0f);
      memset(xq, 0, (size_t)NB * st);
      for (int i = 0; i < NB; i++)
        for (int j = 0; j < NI; j++) xq[(size_t)i * st + j] = (uint8_t)((x[(size_t)i * NI + j] + 1.0f) * 127.5f);
      ik->dense_pack(q, NO, NI, p1);
      vgg_i8_dense_pack_ref(q, NO, NI, p2);
      ik->dense(xq, xs, NB, p1, ws, b, y, NI, NO, relu, 0, NO / 2);
      ik->dense(xq, xs, NB, p1, ws, b, y, NI, NO, relu, NO / 2, NO);
      vgg_i8_dense_ref(xq, xs, NB, p2, ws, b, r32, NI, NO, relu, 0, NO);
      for (size_t i = 0; i < (size_t)NB * NO; i++) ref[i] = r32[i];
      name = "int8 dense", tol = 0;
    } else {
      if (h)
        for (size_t i = 0; i < nw; i++) h[i] = vgg_bf16_from_f32(w[i]), w[i] = vgg_f32_from_bf16(h[i]);
      if (h && NB == 1) k->dense_bf16(x, h, b, y, NI, NO, relu, 0, NO);
      else if (h) k->dense_bf16_batch(x, NB, h, b, y, NI, NO, relu, 0, NO);
      else if (NB == 1) k->dense(x, w, b, y, NI, NO, relu, 0, NO);
      else k->dense_batch(x, NB, w, b, y, NI, NO, relu, 0, NO);
      for (int i = 0; i < NB; i++) vgg_f64_dense_naive(x + (size_t)i * NI, w, b, ref + (size_t)i * NO, NI, NO, relu);
      name = h ? (NB == 1 ? "bf16 dense" : "bf16 dense_batch") : NB == 1 ? "dense" : "dense_batch";
    }
    char shape[80];
    if (NB == 1) snprintf(shape, sizeof shape, "%d->%d%s", NI, NO, relu ? " relu" : "");
    else snprintf(shape, sizeof shape, "batch %d x %d->%d%s", NB, NI, NO, relu ? " relu" : "");
    if (prec == VGG_PRECISION_INT8 && ik != vgg_i8_kernels_get(k->level)) {
      char nm[80];
      snprintf(nm, sizeof nm, "%.32s (%.40s)", shape, ik->dense_name);
      snprintf(shape, sizeof shape, "%s", nm);
    }
    report(c, name, k, shape, y, ref, (size_t)NB * NO, tol);
  }
  vgg_free(x), vgg_free(w), vgg_free(b), vgg_free(y), vgg_free(r32), vgg_free(ws), vgg_free(ref), vgg_free(h);
  vgg_free(q), vgg_free(p1), vgg_free(p2), vgg_free(xq);
}

static void softmax_row(ctx *c, const vgg_kernel_table *k, int n) {
  float *x = vgg_alloc((size_t)n, 4), *y = vgg_alloc((size_t)n, 4);
  double *ref = vgg_alloc((size_t)n, 8);
  if (x && y && ref) {
    vgg_fill(x, (size_t)n, (uint64_t)n);
    for (int i = 0; i < n; i++) x[i] *= 20.0f;
    k->softmax(x, y, n);
    double m = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    for (int i = 0; i < n; i++) sum += exp((double)x[i] - m);
    for (int i = 0; i < n; i++) ref[i] = exp((double)x[i] - m) / sum;
    char shape[64];
    snprintf(shape, sizeof shape, "%d", n);
    report(c, "softmax", k, shape, y, ref, (size_t)n, TOL);
  }
  vgg_free(x), vgg_free(y), vgg_free(ref);
}

/* int8 conv: a level's dot-product kernels (each set the CPU can run, ik; the
 * reference when it has none) against the int8 reference, bit for bit
 * (tolerance 0), on u8 inputs over the whole range and s8 weights; at the
 * scalar level the reference against its definition in float64 (the sum
 * scaled, biased and clamped, before rounding: within half a unit, so the
 * tolerance is 0.5 / max |reference|). */
static int i8_row(ctx *c, const vgg_kernel_table *k, const vgg_i8_kernels *ik, int H, int W, int CI, int CO,
                  uint64_t seed, const char *tag) {
  const vgg_i8_kernels *rk = &vgg_i8_kernels_ref;
  const size_t nin = (size_t)H * W * CI, nout = (size_t)H * W * CO, nw = (size_t)9 * CI * CO;
  float *f = vgg_alloc(nin > nw ? nin : nw, sizeof(float)), *scale = vgg_alloc(CO, sizeof(float)),
        *bias = vgg_alloc(CO, sizeof(float)), *got = vgg_alloc(nout, sizeof(float));
  uint8_t *in = vgg_alloc(nin, 1), *o1 = vgg_alloc(nout, 1), *o2 = vgg_alloc(nout, 1);
  int8_t *w = vgg_alloc(nw, 1), *pk = vgg_alloc(ik->packed_size(CI, CO), 1), *rp = vgg_alloc(rk->packed_size(CI, CO), 1);
  double *ref = vgg_alloc(nout, sizeof(double));
  int bad = !f || !scale || !bias || !got || !in || !o1 || !o2 || !w || !pk || !rp || !ref;
  if (!bad) {
    vgg_fill(f, nin, seed);
    for (size_t i = 0; i < nin; i++) in[i] = (uint8_t)((f[i] + 1.0f) * 127.5f);
    vgg_fill(f, nw, seed + 1);
    for (size_t i = 0; i < nw; i++) w[i] = (int8_t)(f[i] * 127.0f);
    vgg_fill(f, CO, seed + 2);
    for (int o = 0; o < CO; o++) scale[o] = 4.0f / (9.0f * CI * 127.0f) * (1.25f + f[o]), bias[o] = 40.0f * f[o];
    rk->pack(w, CI, CO, rp);
    vgg_i8_conv3x3_args a = {in, o1, rp, scale, bias, H, W, CI, CO};
    par_i8(rk->conv, &a, H, NULL, 0);
    char shape[sizeof ((vgg_verify_row *)0)->shape];
    /* A level with two sets (avx512: AVX512-VNNI and AVX-VNNI; neon: i8mm and dotprod) names the second. */
    const char *isa = strstr(ik->name, "__");
    if (ik != rk && ik != vgg_i8_kernels_get(k->level) && isa)
      snprintf(shape, sizeof shape, "[%s] %s%dx%dx%d->%d", isa + 2, tag, H, W, CI, CO);
    else
      snprintf(shape, sizeof shape, "%s%dx%dx%d->%d", tag, H, W, CI, CO);
    if (ik != rk) {
      ik->pack(w, CI, CO, pk);
      a.out = o2, a.weights = pk;
      const size_t dsc = ik->scratch_size ? (ik->scratch_size(W, CI) + 63) & ~(size_t)63 : 0;
      char *ds = dsc ? vgg_alloc(dsc * (size_t)omp_get_max_threads(), 1) : NULL;
      if (dsc && !ds) bad = 1;
      else par_i8(ik->conv, &a, H, ds, dsc);
      vgg_free(ds);
      for (size_t i = 0; i < nout; i++) got[i] = o2[i], ref[i] = o1[i];
      report(c, "int8 conv3x3", k, shape, got, ref, nout, 0);
      /* The exact Winograd kernel, on weights within its bound (halved until they are), bit for bit too. */
      int8_t *wp = ik->w4_conv ? vgg_alloc(ik->w4_packed_size(CI, CO), 1) : NULL;
      const size_t nsc = ik->w4_conv ? (ik->w4_scratch_size(W, CI) + 63) & ~(size_t)63 : 0;
      char *sc = ik->w4_conv ? vgg_alloc(nsc * (size_t)omp_get_max_threads(), 1) : NULL;
      if (ik->w4_conv && wp && sc) {
        while (!vgg_i8_w4_exact(w, CI, CO)) {
          for (size_t i = 0; i < nw; i++) w[i] = (int8_t)(w[i] / 2);
          for (int o = 0; o < CO; o++) scale[o] *= 2;
        }
        a.out = o1, a.weights = rp;
        rk->pack(w, CI, CO, rp);
        par_i8(rk->conv, &a, H, NULL, 0);
        ik->w4_pack(w, CI, CO, wp);
        a.out = o2, a.weights = wp;
        par_i8(ik->w4_conv, &a, (H + 3) / 4, sc, nsc);
        for (size_t i = 0; i < nout; i++) got[i] = o2[i], ref[i] = o1[i];
        report(c, "int8 wino4x4", k, shape, got, ref, nout, 0);
      } else if (ik->w4_conv) bad = 1;
      vgg_free(wp), vgg_free(sc);
    } else if (k->level == VGG_LEVEL_SCALAR) {
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          for (int o = 0; o < CO; o++) {
            double sum = 0;
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++) {
                const int iy = y + ky - 1, ix = x + kx - 1;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                for (int i = 0; i < CI; i++)
                  sum += (double)in[((size_t)iy * W + ix) * CI + i] * w[((size_t)(ky * 3 + kx) * CI + i) * CO + o];
              }
            const size_t j = ((size_t)y * W + x) * CO + o;
            ref[j] = fmin(fmax(sum * scale[o] + bias[o], 0), 255), got[j] = o1[j];
          }
      double mx = 0;
      for (size_t i = 0; i < nout; i++) mx = ref[i] > mx ? ref[i] : mx;
      report(c, "int8 conv3x3", k, shape, got, ref, nout, mx > 0 ? 0.5001 / mx : 0);
    }
  }
  vgg_free(f), vgg_free(scale), vgg_free(bias), vgg_free(got), vgg_free(in), vgg_free(o1), vgg_free(o2);
  vgg_free(w), vgg_free(pk), vgg_free(rp), vgg_free(ref);
  return bad;
}

/* The map side for a VGG16 layer of side `side` at level l. */
static int vgg16_side(int side, int l, int reduced) {
  const int cap = reduced ? REDUCED_SIDE : l == VGG_LEVEL_SCALAR ? SCALAR_SIDE : side;
  return side < cap ? side : cap;
}

static const int awk_ch[] = {1, 3, 7, 8, 15, 16, 17, 33};
static const int awk_sz[] = {1, 2, 3, 5, 7, 13, 15};

vgg_status vgg_verify_run(int level, int reduced, vgg_verify_fn fn, void *user, int *failures, vgg_error *err) {
  ctx c = {fn, user, 0, 0};
  *failures = 0;
  vgg_conv_shape convs[16];
  const int nconv = vgg_conv_shapes(VGG16, 224, 224, convs, 16);
  for (int l = 0; l < VGG_LEVEL_COUNT; l++) {
    if (level >= 0 && l != level) continue;
    const vgg_kernel_table *k = vgg_kernels_get(l);
    if (!k) continue;
    /* The 13 VGG16 conv layers: SIMD levels at full size against the scalar
     * kernel; the scalar kernel against float64 at 16x16 (float64 is slow). */
    for (int i = 0; i < nconv; i++) {
      int side = convs[i].h;
      side = vgg16_side(side, l, reduced);
      char tag[32];
      snprintf(tag, sizeof tag, "vgg16 #%d ", i + 1);
      if (conv_rows(&c, k, side, side, convs[i].cin, convs[i].cout, 1, convs[i].last_of_block, 100 + i, tag))
        return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
    }
    for (int a = 0; a < 8; a++)
      for (int b = 0; b < 8; b++) {
        const int H = awk_sz[(a + b) % 7], W = awk_sz[(a + 2 * b + 3) % 7];
        if (conv_rows(&c, k, H, W, awk_ch[a], awk_ch[b], (a + b) & 1, H > 1 && W > 1 && (a + b) % 3 == 0,
                      (uint64_t)(a * 8 + b), ""))
          return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
      }
    /* int8: the VGG16 layers it runs (cin a multiple of 4), then awkward shapes. */
    for (int i = 0; i < nconv; i++) {
      if (convs[i].cin % 4) continue;
      int side = convs[i].h;
      side = vgg16_side(side, l, reduced);
      char tag[32];
      snprintf(tag, sizeof tag, "vgg16 #%d ", i + 1);
      for (int n = 0; n == 0 || vgg_i8_kernels_at(l, n); n++)
        if (i8_row(&c, k, n ? vgg_i8_kernels_at(l, n) : vgg_i8_kernels_get(l), side, side, convs[i].cin,
                   convs[i].cout, 300 + i, tag))
          return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
    }
    for (int a = 0; a < 6; a++)
      for (int n = 0; n == 0 || vgg_i8_kernels_at(l, n); n++)
        if (i8_row(&c, k, n ? vgg_i8_kernels_at(l, n) : vgg_i8_kernels_get(l), awk_sz[a], awk_sz[(a + 3) % 7],
                   4 * (a + 1), awk_ch[a + 2] + 1, 400 + a, ""))
          return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
    for (int i = 0; i < 8; i++) pool_row(&c, k, awk_sz[i % 7] + 1, awk_sz[(i + 3) % 7] + 2, awk_ch[i]);
    pool_row(&c, k, 224, 224, 64);
    pool_row(&c, k, 14, 14, 512);
    /* Dense layers: {images, inputs, outputs, relu}, in each precision (int8: every set the level has). */
    static const int dense[][4] = {{1, 1, 1, 0},    {1, 7, 17, 1},       {1, 33, 65, 0},     {1, 1000, 7, 1},
                                   {1, 25088, 4096, 1}, {1, 4096, 4096, 1}, {1, 4096, 1000, 0}, {3, 1000, 65, 1},
                                   {9, 33, 17, 1},   {8, 4096, 1000, 1}};
    for (int p = 0; p < VGG_PRECISION_COUNT; p++)
      for (int i = 0; i < 10; i++) {
        if (reduced && dense[i][1] * (int64_t)dense[i][2] >= 1000000) continue;
        for (int n = 0; n == 0 || (p == VGG_PRECISION_INT8 && vgg_i8_kernels_at(l, n)); n++)
          dense_row(&c, k, n ? vgg_i8_kernels_at(l, n) : vgg_i8_kernels_get(l), (vgg_precision)p, dense[i][0],
                    dense[i][1], dense[i][2], dense[i][3]);
      }
    static const int sm[] = {1, 7, 16, 17, 1000};
    for (int i = 0; i < 5; i++) softmax_row(&c, k, sm[i]);
  }
  *failures = c.failures;
  return VGG_OK;
}
