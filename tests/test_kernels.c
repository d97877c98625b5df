/* Every kernel at every level the CPU has, against a float64 naive layer and
 * (for SIMD levels) the scalar reference, on awkward sizes and the 13 VGG16
 * conv shapes; guard zones around every output; split work ranges must give
 * bit-identical results. */
#include "testutil.h"

static const int chans[] = {1, 3, 7, 8, 15, 16, 17, 33, 64};
static const int sizes[] = {1, 2, 3, 5, 7, 13, 14, 15};
#define NCH (int)(sizeof chans / sizeof chans[0])
#define NSZ (int)(sizeof sizes / sizeof sizes[0])
#define TOL 1e-5

/* One conv case: returns the relative error against float64; checks guards,
 * split ranges, and (for SIMD levels) agreement with the scalar reference. */
static double conv_case(const vgg_kernel_table *k, int H, int W, int CI, int CO, int relu, uint64_t seed) {
  const size_t nin = (size_t)H * W * CI, nout = (size_t)H * W * CO, nw = (size_t)9 * CI * CO;
  float *in = malloc(sizeof(float) * nin), *w = malloc(sizeof(float) * nw), *b = malloc(sizeof(float) * CO);
  vgg_fill(in, nin, seed);
  vgg_fill(w, nw, seed + 1);
  vgg_fill(b, CO, seed + 2);
  tu_buf packed = tu_buf_new(k->conv3x3_packed_size(CI, CO));
  k->conv3x3_pack(w, CI, CO, packed.p);
  assert_true(tu_guard_ok(&packed));
  tu_buf out = tu_buf_new(nout), out2 = tu_buf_new(nout);
  vgg_conv3x3_args a = {in, out.p, packed.p, b, H, W, CI, CO, relu};
  const vgg_conv3x3_fn fn = CI == 3 ? k->conv3x3_c3 : k->conv3x3;
  fn(&a, 0, H, 0, CO);
  assert_true(tu_guard_ok(&out));

  /* The same result from split rows and channel blocks. */
  a.out = out2.p;
  const int ym = H / 2, ob = k->conv_oc_block, om = CO > ob ? ob * ((CO / ob + 1) / 2) : CO;
  fn(&a, 0, ym, 0, om);
  fn(&a, ym, H, 0, om);
  if (om < CO) {
    fn(&a, 0, ym, om, CO);
    fn(&a, ym, H, om, CO);
  }
  assert_true(tu_guard_ok(&out2));
  assert_memory_equal(out.p, out2.p, nout * sizeof(float));

  double *ref = malloc(sizeof(double) * nout);
  tu_conv_f64(in, w, b, ref, H, W, CI, CO, relu);
  double err = vgg_rel_err(out.p, ref, nout, NULL);
  if (k->level != VGG_LEVEL_SCALAR) {
    /* Against the scalar reference too. */
    const vgg_kernel_table *r = vgg_kernels_get(VGG_LEVEL_SCALAR);
    float *rw = malloc(sizeof(float) * r->conv3x3_packed_size(CI, CO)), *ro = malloc(sizeof(float) * nout);
    r->conv3x3_pack(w, CI, CO, rw);
    vgg_conv3x3_args ra = {in, ro, rw, b, H, W, CI, CO, relu};
    r->conv3x3(&ra, 0, H, 0, CO);
    double *rd = malloc(sizeof(double) * nout);
    for (size_t i = 0; i < nout; i++) rd[i] = ro[i];
    double e2 = vgg_rel_err(out.p, rd, nout, NULL);
    if (e2 > err) err = e2;
    free(rw), free(ro), free(rd);
  }
  if (err > TOL)
    print_error("conv %s H=%d W=%d cin=%d cout=%d relu=%d: rel err %.3g\n", vgg_level_name(k->level), H, W, CI, CO, relu, err);
  free(ref), free(in), free(w), free(b);
  tu_buf_free(&packed), tu_buf_free(&out), tu_buf_free(&out2);
  return err;
}

static void conv_awkward(int isa) {
  TU_NEED_LEVEL(isa);
  const vgg_kernel_table *k = vgg_kernels_get(isa);
  double worst = 0;
  int n = 0;
  for (int i = 0; i < NCH; i++)
    for (int o = 0; o < NCH; o++)
      for (int s = 0; s < 3; s++) {
        const int H = sizes[(i + o + s) % NSZ], W = sizes[(i + 2 * o + 3 * s + 1) % NSZ];
        double e = conv_case(k, H, W, chans[i], chans[o], (i + o + s) & 1, (uint64_t)(i * 100 + o * 10 + s));
        worst = e > worst ? e : worst;
        n++;
      }
  print_message("conv3x3 %s: %d awkward shapes, worst rel err %.3g\n", vgg_level_name(k->level), n, worst);
  assert_true(worst <= TOL);
}

/* The VGG16 conv layers (channels as in the network, spatial reduced to 12x10). */
static void conv_vgg16(int isa) {
  TU_NEED_LEVEL(isa);
  const vgg_kernel_table *k = vgg_kernels_get(isa);
  vgg_conv_shape sh[16];
  const int n = vgg_conv_shapes(VGG16, 224, 224, sh, 16);
  assert_int_equal(n, 13);
  double worst = 0;
  for (int l = 0; l < n; l++) {
    double e = conv_case(k, 12, 10, sh[l].cin, sh[l].cout, 1, 500 + l);
    worst = e > worst ? e : worst;
  }
  print_message("conv3x3 %s: %d VGG16 shapes at 12x10, worst rel err %.3g\n", vgg_level_name(k->level), n, worst);
  assert_true(worst <= TOL);
}

static void pool_awkward(int isa) {
  TU_NEED_LEVEL(isa);
  const vgg_kernel_table *k = vgg_kernels_get(isa);
  for (int i = 0; i < NCH; i++)
    for (int s = 0; s < NSZ; s++) {
      const int H = sizes[s], W = sizes[(s + i) % NSZ], C = chans[i], OH = H / 2, OW = W / 2;
      float *in = malloc(sizeof(float) * H * W * C);
      vgg_fill(in, (size_t)H * W * C, 900 + i * 10 + s);
      tu_buf out = tu_buf_new((size_t)OH * OW * C);
      k->maxpool2x2(in, out.p, H, W, C, 0, OH / 2);
      k->maxpool2x2(in, out.p, H, W, C, OH / 2, OH);
      assert_true(tu_guard_ok(&out));
      for (int y = 0; y < OH; y++)
        for (int x = 0; x < OW; x++)
          for (int c = 0; c < C; c++) {
            float m = -INFINITY;
            for (int dy = 0; dy < 2; dy++)
              for (int dx = 0; dx < 2; dx++) m = fmaxf(m, in[((size_t)(2 * y + dy) * W + 2 * x + dx) * C + c]);
            assert_true(out.p[((size_t)y * OW + x) * C + c] == m);
          }
      free(in);
      tu_buf_free(&out);
    }
}

static void dense_awkward(int isa) {
  TU_NEED_LEVEL(isa);
  const vgg_kernel_table *k = vgg_kernels_get(isa);
  static const int ins[] = {1, 3, 17, 33, 100, 1000, 4097}, outs[] = {1, 7, 16, 17, 65};
  double worst = 0;
  for (int a = 0; a < 7; a++)
    for (int b = 0; b < 5; b++) {
      const int NI = ins[a], NO = outs[b], relu = (a + b) & 1;
      float *x = malloc(sizeof(float) * NI), *w = malloc(sizeof(float) * NI * NO), *bias = malloc(sizeof(float) * NO);
      vgg_fill(x, NI, 40 + a);
      vgg_fill(w, (size_t)NI * NO, 50 + b);
      vgg_fill(bias, NO, 60 + a + b);
      tu_buf y = tu_buf_new(NO);
      k->dense(x, w, bias, y.p, NI, NO, relu, 0, NO / 2);
      k->dense(x, w, bias, y.p, NI, NO, relu, NO / 2, NO);
      assert_true(tu_guard_ok(&y));
      double *ref = malloc(sizeof(double) * NO);
      vgg_f64_dense_naive(x, w, bias, ref, NI, NO, relu);
      double e = vgg_rel_err(y.p, ref, NO, NULL);
      if (e > TOL) print_error("dense %s in=%d out=%d: rel err %.3g\n", vgg_level_name(k->level), NI, NO, e);
      worst = e > worst ? e : worst;
      free(x), free(w), free(bias), free(ref);
      tu_buf_free(&y);
    }
  print_message("dense %s: worst rel err %.3g\n", vgg_level_name(k->level), worst);
  assert_true(worst <= TOL);
}

/* The dense layer transposed against float64, on awkward sizes, with about a third of g zero (the rows a ReLU
 * cut, which the kernel skips); the same bits whatever the input range is split into. */
static void dense_t_awkward(int isa) {
  TU_NEED_LEVEL(isa);
  const vgg_kernel_table *k = vgg_kernels_get(isa);
  static const int ins[] = {1, 3, 17, 33, 100, 1000, 4097}, outs[] = {1, 5, 7, 16, 17, 259, 300};
  double worst = 0;
  for (int a = 0; a < 7; a++)
    for (int b = 0; b < 7; b++) {
      const int NI = ins[a], NO = outs[b];
      float *g = malloc(sizeof(float) * NO), *w = malloc(sizeof(float) * NI * NO);
      vgg_fill(g, NO, 70 + b);
      for (int o = 0; o < NO; o++)
        if (o % 3 == 1) g[o] = 0.0f;
      vgg_fill(w, (size_t)NI * NO, 80 + a);
      tu_buf y = tu_buf_new(NI), z = tu_buf_new(NI);
      k->dense_t(g, w, y.p, NI, NO, 0, NI);
      k->dense_t(g, w, z.p, NI, NO, 0, NI / 3);
      k->dense_t(g, w, z.p, NI, NO, NI / 3, NI);
      assert_true(tu_guard_ok(&y) && tu_guard_ok(&z));
      assert_memory_equal(y.p, z.p, sizeof(float) * NI);
      double *ref = malloc(sizeof(double) * NI);
      for (int i = 0; i < NI; i++) {
        ref[i] = 0;
        for (int o = 0; o < NO; o++) ref[i] += (double)g[o] * w[(size_t)o * NI + i];
      }
      double e = vgg_rel_err(y.p, ref, NI, NULL);
      if (e > TOL) print_error("dense_t %s in=%d out=%d: rel err %.3g\n", vgg_level_name(k->level), NI, NO, e);
      worst = e > worst ? e : worst;
      free(g), free(w), free(ref);
      tu_buf_free(&y), tu_buf_free(&z);
    }
  print_message("dense_t %s: worst rel err %.3g\n", vgg_level_name(k->level), worst);
  assert_true(worst <= TOL);
}

static void dense_batch_awkward(int isa) {
  TU_NEED_LEVEL(isa);
  const vgg_kernel_table *k = vgg_kernels_get(isa);
  static const int nbs[] = {1, 2, 3, 7, 8, 9, 17}, ins[] = {1, 5, 33, 1000}, outs[] = {1, 17, 65};
  double worst = 0;
  for (int a = 0; a < 7; a++)
    for (int c = 0; c < 4; c++)
      for (int d = 0; d < 3; d++) {
        const int NB = nbs[a], NI = ins[c], NO = outs[d], relu = (a + c + d) & 1;
        float *x = malloc(sizeof(float) * NB * NI), *w = malloc(sizeof(float) * NI * NO), *b = malloc(sizeof(float) * NO);
        vgg_fill(x, (size_t)NB * NI, 80 + a), vgg_fill(w, (size_t)NI * NO, 90 + c), vgg_fill(b, NO, 95 + d);
        /* Inputs of a dense layer come after a ReLU (or a max-pool of ReLUs): >= 0. */
        for (size_t i = 0; i < (size_t)NB * NI; i++) x[i] = fabsf(x[i]);
        tu_buf y = tu_buf_new((size_t)NB * NO);
        k->dense_batch(x, NB, w, b, y.p, NI, NO, relu, 0, NO / 2);
        k->dense_batch(x, NB, w, b, y.p, NI, NO, relu, NO / 2, NO);
        assert_true(tu_guard_ok(&y));
        double *ref = malloc(sizeof(double) * NB * NO);
        for (int i = 0; i < NB; i++) vgg_f64_dense_naive(x + (size_t)i * NI, w, b, ref + (size_t)i * NO, NI, NO, relu);
        /* Relative to max |ref| of the layer's whole output, the batch included. */
        const double e = vgg_rel_err(y.p, ref, (size_t)NB * NO, NULL);
        if (e > TOL) print_error("dense_batch %s nb=%d in=%d out=%d: rel err %.3g\n", vgg_level_name(k->level), NB, NI, NO, e);
        worst = tu_max(worst, e);
        free(x), free(w), free(b), free(ref);
        tu_buf_free(&y);
      }
  print_message("dense_batch %s: batches 1..17, worst rel err %.3g\n", vgg_level_name(k->level), worst);
  assert_true(worst <= TOL);
}

/* The dense layer on bf16 weights: the weights rounded (vgg_bf16_from_f32) and widened, against float64 of the
 * widened values (so it is the float32 dense layer of the rounded weights), on awkward sizes, each call split
 * in two output ranges, batches 1..9; and bit for bit the float32 kernel on the widened weights (the same loops)
 * and, for each image of a batch, the batch-1 kernel. */
static void dense_bf16_awkward(int isa) {
  TU_NEED_LEVEL(isa);
  const vgg_kernel_table *k = vgg_kernels_get(isa);
  static const int nbs[] = {1, 2, 5, 9}, ins[] = {1, 3, 17, 33, 100, 1000, 4097}, outs[] = {1, 7, 17, 65};
  double worst = 0;
  for (int a = 0; a < 4; a++)
    for (int c = 0; c < 7; c++)
      for (int d = 0; d < 4; d++) {
        const int NB = nbs[a], NI = ins[c], NO = outs[d], relu = (a + c + d) & 1;
        float *x = malloc(sizeof(float) * NB * NI), *w = malloc(sizeof(float) * NI * NO), *b = malloc(sizeof(float) * NO);
        uint16_t *h = malloc(sizeof(uint16_t) * NI * NO);
        vgg_fill(x, (size_t)NB * NI, 110 + a), vgg_fill(w, (size_t)NI * NO, 120 + c), vgg_fill(b, NO, 130 + d);
        for (size_t i = 0; i < (size_t)NB * NI; i++) x[i] = fabsf(x[i]);
        for (size_t i = 0; i < (size_t)NI * NO; i++) h[i] = vgg_bf16_from_f32(w[i] * 3.0f), w[i] = vgg_f32_from_bf16(h[i]);
        tu_buf y = tu_buf_new((size_t)NB * NO), f = tu_buf_new((size_t)NB * NO), one = tu_buf_new(NO);
        if (NB == 1) {
          k->dense_bf16(x, h, b, y.p, NI, NO, relu, 0, NO / 2);
          k->dense_bf16(x, h, b, y.p, NI, NO, relu, NO / 2, NO);
          k->dense(x, w, b, f.p, NI, NO, relu, 0, NO);
        } else {
          k->dense_bf16_batch(x, NB, h, b, y.p, NI, NO, relu, 0, NO / 2);
          k->dense_bf16_batch(x, NB, h, b, y.p, NI, NO, relu, NO / 2, NO);
          k->dense_batch(x, NB, w, b, f.p, NI, NO, relu, 0, NO);
          for (int i = 0; i < NB; i++) {
            k->dense_bf16(x + (size_t)i * NI, h, b, one.p, NI, NO, relu, 0, NO);
            if (isa != VGG_LEVEL_SCALAR) assert_memory_equal(one.p, y.p + (size_t)i * NO, sizeof(float) * NO);
          }
        }
        assert_true(tu_guard_ok(&y) && tu_guard_ok(&f) && tu_guard_ok(&one));
        assert_memory_equal(y.p, f.p, sizeof(float) * NB * NO);
        double *ref = malloc(sizeof(double) * NB * NO);
        for (int i = 0; i < NB; i++) vgg_f64_dense_naive(x + (size_t)i * NI, w, b, ref + (size_t)i * NO, NI, NO, relu);
        const double e = vgg_rel_err(y.p, ref, (size_t)NB * NO, NULL);
        if (e > TOL) print_error("dense_bf16 %s nb=%d in=%d out=%d: rel err %.3g\n", vgg_level_name(k->level), NB, NI, NO, e);
        worst = tu_max(worst, e);
        free(x), free(w), free(b), free(h), free(ref);
        tu_buf_free(&y), tu_buf_free(&f), tu_buf_free(&one);
      }
  print_message("dense_bf16 %s: batches 1..9, worst rel err %.3g, bit-identical to float32 on the widened weights\n",
                vgg_level_name(k->level), worst);
  assert_true(worst <= TOL);
}

static void softmax_awkward(int isa) {
  TU_NEED_LEVEL(isa);
  const vgg_kernel_table *k = vgg_kernels_get(isa);
  static const int ns[] = {1, 2, 7, 16, 17, 33, 1000};
  for (int a = 0; a < 7; a++) {
    const int n = ns[a];
    float *x = malloc(sizeof(float) * n);
    vgg_fill(x, n, 70 + a);
    for (int i = 0; i < n; i++) x[i] *= 30.0f; /* a spread that needs the max subtraction */
    tu_buf y = tu_buf_new(n);
    k->softmax(x, y.p, n);
    assert_true(tu_guard_ok(&y));
    double m = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    for (int i = 0; i < n; i++) sum += exp((double)x[i] - m);
    double total = 0;
    for (int i = 0; i < n; i++) {
      const double ref = exp((double)x[i] - m) / sum;
      assert_true(fabs(y.p[i] - ref) <= TOL * ref + 1e-30);
      total += y.p[i];
    }
    assert_true(fabs(total - 1.0) < 1e-5);
    /* In place. */
    k->softmax(x, x, n);
    assert_memory_equal(x, y.p, sizeof(float) * n);
    free(x);
    tu_buf_free(&y);
  }
}

#define LEVEL_TESTS(isa, tag)                                         \
  static void conv_awkward_##tag(void **s) { (void)s; conv_awkward(isa); }   \
  static void conv_vgg16_##tag(void **s) { (void)s; conv_vgg16(isa); }       \
  static void pool_##tag(void **s) { (void)s; pool_awkward(isa); }           \
  static void dense_##tag(void **s) { (void)s; dense_awkward(isa); }         \
  static void dense_batch_##tag(void **s) { (void)s; dense_batch_awkward(isa); } \
  static void dense_t_##tag(void **s) { (void)s; dense_t_awkward(isa); }     \
  static void dense_bf16_##tag(void **s) { (void)s; dense_bf16_awkward(isa); } \
  static void softmax_##tag(void **s) { (void)s; softmax_awkward(isa); }
#define LEVEL_ENTRIES(tag)                                                                        \
  cmocka_unit_test(conv_awkward_##tag), cmocka_unit_test(conv_vgg16_##tag), cmocka_unit_test(pool_##tag), \
      cmocka_unit_test(dense_##tag), cmocka_unit_test(dense_batch_##tag), cmocka_unit_test(dense_t_##tag), \
      cmocka_unit_test(dense_bf16_##tag),                                                                   \
      cmocka_unit_test(softmax_##tag)

/* Every level of the list, in every build: a level not built in or not on
 * this CPU is reported as skipped, never as passed. */
#define VGG_X_TESTS(id, name, needs) LEVEL_TESTS(VGG_LEVEL_##id, name)
VGG_LEVELS(VGG_X_TESTS)

/* Detected features against the kernel's list in /proc/cpuinfo (Linux; not
 * under emulation, where /proc/cpuinfo is the host's). */
static void features_match_cpuinfo(void **s) {
  (void)s;
  FILE *f = getenv("VGGSIMD_EMULATED") ? NULL : fopen("/proc/cpuinfo", "r");
  if (!f) {
    print_message("[  SKIP    ] /proc/cpuinfo is not this CPU's (emulated) or not readable\n");
    skip();
  }
  static char line[16384], flags[16384];
  flags[0] = 0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "flags", 5) || !strncmp(line, "Features", 8)) {
      snprintf(flags, sizeof flags, " %s", strchr(line, ':') ? strchr(line, ':') + 1 : "");
      break;
    }
  fclose(f);
  for (char *p = flags; *p; p++)
    if (*p == '\n' || *p == '\t') *p = ' ';
  strcat(flags, " ");
  static const struct {
    int feature;
    const char *flag; /* as /proc/cpuinfo spells it */
  } map[] = {
#if defined(__x86_64__)
    {VGG_FEATURE_SSE2, "sse2"},         {VGG_FEATURE_AVX, "avx"},           {VGG_FEATURE_AVX2, "avx2"},
    {VGG_FEATURE_FMA, "fma"},           {VGG_FEATURE_F16C, "f16c"},         {VGG_FEATURE_AVX512F, "avx512f"},
    {VGG_FEATURE_AVX512BW, "avx512bw"}, {VGG_FEATURE_AVX512DQ, "avx512dq"}, {VGG_FEATURE_AVX512VL, "avx512vl"},
    {VGG_FEATURE_AVX512VNNI, "avx512_vnni"}, {VGG_FEATURE_AVX512BF16, "avx512_bf16"}, {VGG_FEATURE_AVXVNNI, "avx_vnni"},
#elif defined(__aarch64__)
    {VGG_FEATURE_ASIMD, "asimd"}, {VGG_FEATURE_DOTPROD, "asimddp"}, {VGG_FEATURE_I8MM, "i8mm"}, {VGG_FEATURE_BF16, "bf16"},
#endif
    {-1, NULL}};
  if (!flags[1] || !map[0].flag) {
    print_message("[  SKIP    ] no feature list in /proc/cpuinfo for this architecture\n");
    skip();
  }
  const vgg_cpu_features *c = vgg_cpu_get();
  for (int i = 0; map[i].flag; i++) {
    char want[64];
    snprintf(want, sizeof want, " %s ", map[i].flag);
    const int listed = strstr(flags, want) != NULL, detected = (int)((c->has >> map[i].feature) & 1);
    print_message("%-12s /proc/cpuinfo %d, detected %d\n", vgg_feature_name(map[i].feature), listed, detected);
    assert_int_equal(listed, detected);
  }
}

int main(void) {
#define VGG_X_ENTRIES(id, name, needs) LEVEL_ENTRIES(name),
  const struct CMUnitTest tests[] = {VGG_LEVELS(VGG_X_ENTRIES) cmocka_unit_test(features_match_cpuinfo)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
