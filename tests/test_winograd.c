/* Winograd F(2x2,3x3), F(4x4,3x3) and F(6x6,3x3) at every level: each stage
 * against float64 (filter transform G g G^T, input transform B^T d B), the
 * whole convolution against a float64 direct one (F(2x2) and F(4x4) <= 1e-5,
 * F(6x6) <= 1e-4 of max |ref|), the fused max-pool, guard zones, and split
 * work ranges. */
#include "testutil.h"

/* The matrices the kernels are built from (generated from their points by
 * scripts/wino_points.py, which checks them exactly); here read as data. */
#define WINO(name) VGG_CAT(VGG_CAT(m, WM), name)
#define WM 2
#include "templates/wino-matrices.inc"
#undef WM
#define WM 4
#include "templates/wino-matrices.inc"
#undef WM
#define WM 6
#include "templates/wino-matrices.inc"
#undef WM

static double G_at(int m, int i, int k) { return m == 2 ? m2_g[i][k] : m == 4 ? m4_g[i][k] : m6_g[i][k]; }
static double BT_at(int m, int i, int k) { return m == 2 ? m2_bt[i][k] : m == 4 ? m4_bt[i][k] : m6_bt[i][k]; }

static void filter_transform(int isa, int w) {
  TU_NEED_LEVEL(isa);
  const vgg_wino_kernels *k = &vgg_kernels_get(isa)->wino[w];
  const int A = k->m + 2, CI = 5, CO = 19, NR = k->nr, nb = (CO + NR - 1) / NR;
  float *hwio = malloc(sizeof(float) * 9 * CI * CO);
  vgg_fill(hwio, 9 * CI * CO, 31);
  tu_buf u = tu_buf_new(k->packed_size(CI, CO));
  k->pack(hwio, CI, CO, u.p);
  assert_true(tu_guard_ok(&u));
  double worst = 0;
  for (int ci = 0; ci < CI; ci++)
    for (int co = 0; co < CO; co++)
      for (int i = 0; i < A; i++)
        for (int j = 0; j < A; j++) {
          double r = 0;
          for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) r += G_at(k->m, i, a) * hwio[((a * 3 + b) * CI + ci) * CO + co] * G_at(k->m, j, b);
          const float got = u.p[(((size_t)(i * A + j) * nb + co / NR) * CI + ci) * NR + co % NR];
          worst = tu_max(worst, fabs(got - r));
        }
  /* Padding channels of the last block are zero. */
  for (int co = CO; co < nb * NR; co++) assert_true(u.p[(size_t)(nb - 1) * CI * NR + co % NR] == 0.0f);
  print_message("F(%dx%d) filter transform %s: max abs err %.3g\n", k->m, k->m, vgg_level_name(isa), worst);
  assert_true(worst < 1e-6);
  free(hwio);
  tu_buf_free(&u);
}

static void input_transform(int isa, int w) {
  TU_NEED_LEVEL(isa);
  const vgg_wino_kernels *k = &vgg_kernels_get(isa)->wino[w];
  const int m = k->m, A = m + 2;
  static const int shapes[][3] = {{1, 1, 1}, {3, 5, 17}, {7, 6, 16}, {13, 15, 33}};
  for (int s = 0; s < 4; s++) {
    const int H = shapes[s][0], W = shapes[s][1], C = shapes[s][2];
    const int th = (H + m - 1) / m, tw = (W + m - 1) / m, nt = th * tw;
    float *in = malloc(sizeof(float) * H * W * C);
    vgg_fill(in, (size_t)H * W * C, 40 + s);
    tu_buf v = tu_buf_new((size_t)A * A * ((size_t)nt * C + VGG_WINO_PAD));
    vgg_wino_args a = {in, NULL, NULL, NULL, H, W, C, C, 0, 0, NULL};
    k->input(&a, 0, nt, v.p);
    assert_true(tu_guard_ok(&v));
    double worst = 0, mx = 0;
    for (int t = 0; t < nt; t++)
      for (int c = 0; c < C; c++)
        for (int i = 0; i < A; i++)
          for (int j = 0; j < A; j++) {
            double r = 0;
            for (int p = 0; p < A; p++)
              for (int q = 0; q < A; q++) {
                const int y = (t / tw) * m - 1 + p, x = (t % tw) * m - 1 + q;
                if (y < 0 || y >= H || x < 0 || x >= W) continue;
                r += BT_at(m, i, p) * in[((size_t)y * W + x) * C + c] * BT_at(m, j, q);
              }
            worst = tu_max(worst, fabs(v.p[(size_t)(i * A + j) * ((size_t)nt * C + VGG_WINO_PAD) + (size_t)t * C + c] - r));
            mx = tu_max(mx, fabs(r));
          }
    if (worst > 1e-6 * mx) print_error("input transform %dx%dx%d: err %.3g of %.3g\n", H, W, C, worst, mx);
    assert_true(worst <= 1e-6 * mx);
    free(in);
    tu_buf_free(&v);
  }
}

/* Whole convolution (optionally pooled) by kernels k against float64; returns the relative error (and the
 * output in keep, when not NULL). */
static double conv_case_k(const vgg_wino_kernels *k, int H, int W, int CI, int CO, int pool, uint64_t seed,
                          float *keep) {
  const int m = k->m, th = (H + m - 1) / m, OH = pool ? H / 2 : H, OW = pool ? W / 2 : W;
  const size_t nin = (size_t)H * W * CI, nout = (size_t)OH * OW * CO;
  float *in = malloc(sizeof(float) * nin), *hwio = malloc(sizeof(float) * 9 * CI * CO), *b = malloc(sizeof(float) * CO);
  vgg_fill(in, nin, seed), vgg_fill(hwio, (size_t)9 * CI * CO, seed + 1), vgg_fill(b, CO, seed + 2);
  float *u = malloc(sizeof(float) * k->packed_size(CI, CO)), *scratch = malloc(sizeof(float) * k->scratch_size(CI, CO));
  k->pack(hwio, CI, CO, u);
  tu_buf out = tu_buf_new(nout + 1), out2 = tu_buf_new(nout + 1);
  vgg_wino_args a = {in, out.p, u, b, H, W, CI, CO, 1, pool, scratch};
  k->conv(&a, 0, th, 0, CO);
  assert_true(tu_guard_ok(&out));
  /* Split tile rows and channel blocks, outputs streamed (vgg_wino_args.stream): bit-identical. */
  a.out = out2.p, a.stream = 1;
  const int tm = th / 2, om = CO > k->nr ? k->nr * ((CO / k->nr + 1) / 2) : CO;
  k->conv(&a, 0, tm, 0, om);
  k->conv(&a, tm, th, 0, om);
  if (om < CO) {
    k->conv(&a, 0, tm, om, CO);
    k->conv(&a, tm, th, om, CO);
  }
  assert_true(tu_guard_ok(&out2));
  assert_memory_equal(out.p, out2.p, nout * sizeof(float));
  /* Streamed into an output that starts off a line: the stores that cannot stream are plain ones. */
  tu_buf out3 = tu_buf_new(nout + 2);
  a.out = out3.p + 1;
  k->conv(&a, 0, th, 0, CO);
  assert_true(tu_guard_ok(&out3));
  assert_memory_equal(out.p, out3.p + 1, nout * sizeof(float));
  tu_buf_free(&out3);
  double *full = malloc(sizeof(double) * H * W * CO), *ref = malloc(sizeof(double) * (nout + 1));
  vgg_f64_conv3x3_naive(in, hwio, b, full, H, W, CI, CO, 1);
  for (int y = 0; y < OH; y++)
    for (int x = 0; x < OW; x++)
      for (int c = 0; c < CO; c++) {
        double r = full[((size_t)y * W + x) * CO + c];
        if (pool) /* the max of the 2x2 window at (2y, 2x) */
          for (int d = 0; d < 4; d++)
            r = d ? tu_max(r, full[((size_t)(2 * y + d / 2) * W + 2 * x + d % 2) * CO + c])
                  : full[((size_t)(2 * y) * W + 2 * x) * CO + c];
        ref[((size_t)y * OW + x) * CO + c] = r;
      }
  const double e = vgg_rel_err(out.p, ref, nout, NULL);
  if (keep) memcpy(keep, out.p, nout * sizeof(float));
  if (e > 1e-4 && !keep) print_error("F(%dx%d) %s %dx%d %d->%d pool %d: rel err %.3g\n", m, m, k->name, H, W, CI, CO, pool, e);
  free(in), free(hwio), free(b), free(u), free(scratch), free(full), free(ref);
  tu_buf_free(&out), tu_buf_free(&out2);
  return e;
}

static double conv_case(int isa, int w, int H, int W, int CI, int CO, int pool, uint64_t seed) {
  return conv_case_k(&vgg_kernels_get(isa)->wino[w], H, W, CI, CO, pool, seed, NULL);
}

/* bf16 Winograd (bf16 GEMM operands, float32 accumulation): each level's kernels bit-exact against the
 * reference (same rounding, same dot products), awkward and VGG16 shapes, pooled or not, split ranges;
 * the error against float64 of one layer reported and held to a bound: F(2x2) to the bf16 layer budget
 * (the plan uses it), F(4x4) to 5e-2 (measured 2.7e-2: its larger transform constants magnify the bf16
 * rounding of V and U; the plan does not use it, --algo wino4 can force it). */
#define TOL_BF16_LAYER 1e-2
#define TOL_BF16_F4 5e-2
/* Inputs and filters near 1e-19, so the bf16 products of the GEMMs fall around FLT_MIN (1.2e-38), many
 * below it: the denormal rule (inputs read as zero, sums flushed) must be the reference's to the bit. */
#define SCALE_TINY 1e-19f
static void bf16_tiny(const vgg_wino_kernels *k, const vgg_wino_kernels *r) {
  const int H = 6, W = 7, CI = 17, CO = 19, n = H * W * CO;
  float in[6 * 7 * 17], hwio[9 * 17 * 19], b[19] = {0}, out[2][6 * 7 * 19];
  vgg_fill(in, sizeof in / sizeof in[0], 77), vgg_fill(hwio, sizeof hwio / sizeof hwio[0], 78);
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) in[i] *= SCALE_TINY;
  for (size_t i = 0; i < sizeof hwio / sizeof hwio[0]; i++) hwio[i] *= SCALE_TINY;
  int tiny = 0;
  for (int j = 0; j < 2; j++) {
    const vgg_wino_kernels *q = j ? r : k;
    float *u = malloc(sizeof(float) * q->packed_size(CI, CO)), *sc = malloc(sizeof(float) * q->scratch_size(CI, CO));
    q->pack(hwio, CI, CO, u);
    vgg_wino_args a = {in, out[j], u, b, H, W, CI, CO, 0, 0, sc};
    q->conv(&a, 0, (H + q->m - 1) / q->m, 0, CO);
    free(u), free(sc);
  }
  int zero = 0;
  for (int i = 0; i < n; i++) tiny += out[1][i] != 0 && fabsf(out[1][i]) < 1e-37f, zero += out[1][i] == 0;
  if (memcmp(out[0], out[1], sizeof out[0])) print_error("%s: tiny values differ from the reference\n", k->name);
  assert_memory_equal(out[0], out[1], sizeof out[0]);
  print_message("%s: values near FLT_MIN bit-exact against the reference (of %d outputs %d below 1e-37, %d zero)\n",
                k->name, n, tiny, zero);
}

static void bf16_shapes(int isa) {
  TU_NEED_LEVEL(isa);
  const vgg_bf16_kernels *k = vgg_bf16_kernels_get(isa), *r = &vgg_bf16_kernels_ref;
  if (k == r && isa != VGG_LEVEL_SCALAR) {
    print_message("[  SKIP    ] level %s: no bf16 kernel for this CPU (bf16 runs on the reference)\n", vgg_level_name(isa));
    skip();
  }
  static const int ch[] = {1, 3, 7, 8, 16, 17, 33, 64};
  static const int sz[] = {1, 2, 3, 5, 7, 13, 14, 15};
  vgg_conv_shape sh[16];
  /* Under emulation the reference alone (no bf16 kernel there) on the awkward shapes: the VGG16 channel
   * counts take minutes in it; the native scalar build runs them. */
  const int emu = getenv("VGGSIMD_EMULATED") != NULL;
  int nl = emu && k == r ? 0 : vgg_conv_shapes(VGG16, 224, 224, sh, 16);
  if (!nl) print_message("bf16 %s: awkward shapes only under emulation\n", vgg_level_name(isa));
  /* Each distinct channel pair once (VGG16 repeats 256->256 and 512->512). */
  int nu = 0;
  for (int i = 0; i < nl; i++) {
    int seen = 0;
    for (int j = 0; j < nu; j++) seen |= sh[j].cin == sh[i].cin && sh[j].cout == sh[i].cout;
    if (!seen) sh[nu++] = sh[i];
  }
  nl = nu;
  /* The VGG16 channel counts on 12x10 (several tile rows and columns, a partial F(4x4) tile); under
   * emulation on 4x6 (a row of tiles), where the reference's 512x512 GEMMs take minutes. */
  const int vh = emu ? 4 : 12, vw = emu ? 6 : 10;
  for (int w = 0; w < 2; w++) {
    double worst = 0;
    int n = 0;
    for (int c = 0; c < 8 + nl; c++) {
      int H, W, CI, CO;
      if (c < 8) H = sz[c], W = sz[(3 * c + 1) % 8], CI = ch[c], CO = ch[(c + 3) % 8];
      else if (sh[c - 8].cin == 3) continue;
      else H = vh, W = vw, CI = sh[c - 8].cin, CO = sh[c - 8].cout;
      for (int pool = 0; pool < 2; pool++) {
        if (pool && (H < 2 || W < 2)) continue;
        const size_t nout = (size_t)(pool ? H / 2 : H) * (pool ? W / 2 : W) * CO;
        float *a = malloc(sizeof(float) * nout), *b = malloc(sizeof(float) * nout);
        const double e = conv_case_k(&k->wino[w], H, W, CI, CO, pool, 900 + c, a);
        if (k != r) {
          conv_case_k(&r->wino[w], H, W, CI, CO, pool, 900 + c, b);
          if (memcmp(a, b, nout * sizeof(float)))
            print_error("%s %dx%d %d->%d pool %d differs from the reference\n", k->wino[w].name, H, W, CI, CO, pool);
          assert_memory_equal(a, b, nout * sizeof(float));
        }
        worst = tu_max(worst, e);
        n++;
        free(a), free(b);
      }
    }
    if (k != r) bf16_tiny(&k->wino[w], &r->wino[w]);
    const double tol = w ? TOL_BF16_F4 : TOL_BF16_LAYER;
    print_message("%s: %d shapes%s, worst rel err vs float64 %.3g (bound %g)\n", k->wino[w].name, n,
                  k != r ? " bit-exact against the reference" : "", worst, tol);
    assert_true(worst <= tol);
  }
}

static void conv_shapes(int isa, int w) {
  TU_NEED_LEVEL(isa);
  const int m = vgg_kernels_get(isa)->wino[w].m;
  const double tol = m == 6 ? 1e-4 : 1e-5; /* the budgets of engine/plan.c */
  static const int ch[] = {1, 3, 7, 8, 15, 16, 17, 33, 64};
  static const int sz[] = {1, 2, 3, 5, 7, 13, 14, 15};
  double worst = 0, worst_pool = 0;
  int n = 0;
  for (int i = 0; i < 9; i++)
    for (int o = 0; o < 9; o += 2) {
      const int H = sz[(i + o) % 8], W = sz[(i + 3 * o + 1) % 8];
      worst = tu_max(worst, conv_case(isa, w, H, W, ch[i], ch[o], 0, (uint64_t)(i * 10 + o)));
      if (H >= 2 && W >= 2) worst_pool = tu_max(worst_pool, conv_case(isa, w, H, W, ch[i], ch[o], 1, (uint64_t)(i * 10 + o + 5)));
      n++;
    }
  /* The distinct VGG16 conv shapes with Cin > 3 (channels as in the network), spatial reduced to 12x10. */
  vgg_conv_shape sh[16];
  const int nl = vgg_conv_shapes(VGG16, 224, 224, sh, 16);
  int nv = 0;
  for (int i = 0; i < nl; i++) {
    if (sh[i].cin == 3 || (i && sh[i].cin == sh[i - 1].cin && sh[i].cout == sh[i - 1].cout)) continue;
    worst = tu_max(worst, conv_case(isa, w, 12, 10, sh[i].cin, sh[i].cout, 0, 700 + nv));
    worst_pool = tu_max(worst_pool, conv_case(isa, w, 12, 10, sh[i].cin, sh[i].cout, 1, 800 + nv));
    nv++;
  }
  assert_int_equal(nv, 7);
  print_message("F(%dx%d) %s: %d awkward + %d VGG16 shapes, worst rel err %.3g, pooled %.3g (tolerance %g)\n", m, m,
                vgg_level_name(isa), n, nv, worst, worst_pool, tol);
  assert_true(worst <= tol);
  assert_true(worst_pool <= tol);
}

#define WINO_TESTS(isa, tag, w)                                                             \
  static void filter_##tag##_##w(void **s) { (void)s; filter_transform(isa, w); }          \
  static void input_##tag##_##w(void **s) { (void)s; input_transform(isa, w); }            \
  static void conv_##tag##_##w(void **s) { (void)s; conv_shapes(isa, w); }
#define WINO_ENTRIES(tag, w) \
  cmocka_unit_test(filter_##tag##_##w), cmocka_unit_test(input_##tag##_##w), cmocka_unit_test(conv_##tag##_##w)

/* Every level of the list (skipped, loudly, where it is missing), F(2x2), F(4x4) and F(6x6). */
#define VGG_X_TESTS(id, name, needs) \
  WINO_TESTS(VGG_LEVEL_##id, name, 0) WINO_TESTS(VGG_LEVEL_##id, name, 1) WINO_TESTS(VGG_LEVEL_##id, name, 2)
VGG_LEVELS(VGG_X_TESTS)
#define VGG_X_BF16(id, name, needs) \
  static void bf16_##name(void **s) { (void)s; bf16_shapes(VGG_LEVEL_##id); }
VGG_LEVELS(VGG_X_BF16)

/* vgg_bf16_round_sum (the bf16 filters' rounding): every value on one of its two bf16 neighbours, never denormal
 * or infinite; per run of 512 the errors' sum no larger than rounding to nearest gives, and far smaller over
 * many random runs; values nearest a half turned first; exactly representable values kept. */
static void bf16_round_sum_keeps_sums(void **state) {
  (void)state;
  static const int sizes[] = {1, 2, 9, 64, 511, 512, 600, 1030};
  static float x[1030];
  static uint16_t h[1030];
  double kept = 0, nearest = 0;
  for (int z = 0; z < 8; z++)
    for (int rep = 0; rep < 20; rep++) {
      const int n = sizes[z];
      vgg_fill(x, (size_t)n, 1000 + 37 * z + rep);
      for (int i = 0; i < n; i++) x[i] *= powf(2.0f, (float)((i * 7 + rep) % 9) - 4); /* magnitudes over 2^-4 .. 2^4 */
      if (rep == 1) x[0] = 0.375f; /* exactly a bf16 */
      vgg_bf16_round_sum(x, n, h);
      for (int r0 = 0; r0 < n; r0 += 512) {
        double s = 0, s_rne = 0;
        const int r1 = n - r0 < 512 ? n : r0 + 512;
        for (int i = r0; i < r1; i++) {
          const float v = vgg_f32_from_bf16(h[i]), near = vgg_f32_from_bf16(vgg_bf16_from_f32(x[i]));
          uint32_t b;
          memcpy(&b, &x[i], 4);
          const float lo = vgg_f32_from_bf16(b >> 16), hi = vgg_f32_from_bf16((b >> 16) + 1); /* |x|'s neighbours */
          assert_true(v == lo || v == hi);
          assert_true((x[i] == 0 || ((h[i] >> 7) & 0xff) != 0) && ((h[i] >> 7) & 0xff) != 0xff);
          if (lo == x[i]) assert_true(v == x[i]);
          s += (double)v - x[i], s_rne += (double)near - x[i];
        }
        assert_true(fabs(s) <= fabs(s_rne));
        kept += fabs(s), nearest += fabs(s_rne);
      }
    }
  /* Nearest a half first: of two values whose turn both help, the one nearer a half is turned. */
  float two[2] = {1.0f + 0.45f / 128, 1.0f + 0.30f / 128}; /* errors -0.45 and -0.30 of a unit: sum -0.75 */
  vgg_bf16_round_sum(two, 2, h);
  assert_true(vgg_f32_from_bf16(h[0]) == 1.0f + 1.0f / 128 && vgg_f32_from_bf16(h[1]) == 1.0f);
  print_message("vgg_bf16_round_sum: |errors' sum| %.3g of rounding to nearest's, over %d runs\n", kept / nearest, 8 * 20);
  assert_true(kept < 0.2 * nearest);
}

int main(void) {
#define VGG_X_ENTRIES(id, name, needs) WINO_ENTRIES(name, 0), WINO_ENTRIES(name, 1), WINO_ENTRIES(name, 2),
#define VGG_X_BF16_ENTRY(id, name, needs) cmocka_unit_test(bf16_##name),
  const struct CMUnitTest tests[] = {VGG_LEVELS(VGG_X_ENTRIES) VGG_LEVELS(VGG_X_BF16_ENTRY)
                                     cmocka_unit_test(bf16_round_sum_keeps_sums)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
