/* End to end against PyTorch: weights regenerated from the seed the golden
 * data was made with (scripts/make_golden.py), the committed photo, every
 * block within 1e-5 of the block's max |value|, the logits likewise, and the
 * same top-5 classes, at every level the CPU has, with --algo direct, auto,
 * wino2 and wino4; with fast and wino6 (Winograd F(6x6) on every layer) within 1e-4. */
#include "testutil.h"
#include "vggsimd.h"

#define GOLDEN VGG_SOURCE_ROOT "/tests/data/golden_vgg16_seed7.txt"
#define TOL 1e-5

typedef struct {
  int seed;
  char image[256];
  int h[6], w[6], c[6];
  double maxabs[6], mean[6];
  int nsamp[6];
  long *idx[6];
  double *val[6];
  double logits[1000];
  int top5[5];
} golden;

static void load_golden(golden *g) {
  FILE *f = fopen(GOLDEN, "r");
  assert_non_null(f);
  memset(g, 0, sizeof *g);
  char line[512];
  int b = 0, nl = -1;
  while (fgets(line, sizeof line, f)) {
    double sd;
    if (sscanf(line, "seed %d", &g->seed) == 1) continue;
    if (sscanf(line, "image %255s", g->image) == 1) continue;
    if (!strncmp(line, "block ", 6)) {
      int bb, h, w, c;
      double mx, mean;
      assert_int_equal(sscanf(line, "block %d %d %d %d %lf %lf %lf", &bb, &h, &w, &c, &mx, &mean, &sd), 7);
      assert_true(bb >= 1 && bb <= 5);
      b = bb;
      g->h[b] = h, g->w[b] = w, g->c[b] = c, g->maxabs[b] = mx, g->mean[b] = mean;
      g->idx[b] = malloc(sizeof(long) * 400);
      g->val[b] = malloc(sizeof(double) * 400);
      continue;
    }
    if (!strncmp(line, "sample ", 7)) {
      assert_true(g->nsamp[b] < 400);
      sscanf(line, "sample %ld %lf", &g->idx[b][g->nsamp[b]], &g->val[b][g->nsamp[b]]);
      g->nsamp[b]++;
      continue;
    }
    if (!strncmp(line, "logits", 6)) {
      nl = 0;
      continue;
    }
    if (!strncmp(line, "top5", 4)) {
      sscanf(line, "top5 %d %d %d %d %d", &g->top5[0], &g->top5[1], &g->top5[2], &g->top5[3], &g->top5[4]);
      continue;
    }
    if (nl >= 0 && nl < 1000) g->logits[nl++] = atof(line);
  }
  fclose(f);
  assert_int_equal(nl, 1000);
  for (b = 1; b <= 5; b++) assert_true(g->nsamp[b] >= 300);
}

typedef struct {
  const golden *g;
  double tol;
  double worst[6];
  int bad;
} check;

static void on_block(void *user, int image, int b, const vgg_tensor *t, double sec) {
  (void)image; /* one image */
  check *c = user;
  const golden *g = c->g;
  (void)sec;
  assert_int_equal(t->h, g->h[b]);
  assert_int_equal(t->w, g->w[b]);
  assert_int_equal(t->c, g->c[b]);
  double worst = 0, mean = 0;
  for (int i = 0; i < g->nsamp[b]; i++) {
    const double e = fabs(t->data[g->idx[b][i]] - g->val[b][i]) / g->maxabs[b];
    worst = e > worst ? e : worst;
  }
  const size_t n = (size_t)t->h * t->w * t->c;
  double mx = 0;
  for (size_t i = 0; i < n; i++) {
    mean += t->data[i];
    mx = tu_max(mx, fabs(t->data[i]));
  }
  mean /= (double)n;
  c->worst[b] = worst;
  /* The block statistics over every value, not just the samples. */
  if (worst > c->tol || fabs(mx - g->maxabs[b]) > c->tol * g->maxabs[b] || fabs(mean - g->mean[b]) > c->tol * g->maxabs[b])
    c->bad++;
}

/* The golden run's setting: the reference values, VGG16 with the seeded
 * weights they were computed with, and the golden photo loaded as they were. */
typedef struct {
  golden g;
  vgg_model *m;
  vgg_weights *w;
  vgg_tensor in;
} world;

static const vgg_image_options golden_io = {224, VGG_RESIZE_DIRECT, VGG_PREPROC_TORCH};

static void world_open(world *x) {
  vgg_error err;
  char path[512];
  load_golden(&x->g);
  assert_int_equal(vgg_model_create(VGG16, 1, 224, 224, &x->m, &err), VGG_OK);
  assert_int_equal(vgg_weights_init(x->m, (uint64_t)x->g.seed, 0, &x->w, &err), VGG_OK);
  snprintf(path, sizeof path, "%s/%s", VGG_SOURCE_ROOT, x->g.image);
  assert_int_equal(vgg_image_load(path, &golden_io, &x->in, &err), VGG_OK);
}

static void world_close(world *x) {
  for (int b = 1; b <= 5; b++) free(x->g.idx[b]), free(x->g.val[b]);
  vgg_tensor_free(&x->in);
  vgg_weights_free(x->w);
  vgg_model_free(x->m);
}

static void golden_all_levels(void **s) {
  (void)s;
  world x;
  world_open(&x);
  const golden g = x.g;
  vgg_model *m = x.m;
  vgg_weights *w = x.w;
  vgg_tensor in = x.in;
  vgg_error err;
  double lmax = 0;
  for (int i = 0; i < 1000; i++) lmax = tu_max(lmax, fabs(g.logits[i]));
  int tested = 0;
  for (int isa = 0; isa < VGG_LEVEL_COUNT; isa++) {
    if (!vgg_level_usable(isa)) {
      if (vgg_level_compiled(isa)) print_message("[  SKIP    ] level %s: not supported by this CPU\n", vgg_level_name(isa));
      continue;
    }
   /* auto and fast as planned for this level, and both Winograd variants forced
    * (a level whose table picks direct still has its Winograd kernels checked). */
   static const vgg_algo algos[] = {VGG_ALGO_DIRECT, VGG_ALGO_AUTO, VGG_ALGO_FAST, VGG_ALGO_WINO2, VGG_ALGO_WINO4, VGG_ALGO_WINO6};
   for (int ai = 0; ai < (int)(sizeof algos / sizeof algos[0]); ai++) {
    const int same = tu_same_plan_as(m, isa, algos, ai);
    if (isa == VGG_LEVEL_SCALAR && ai > 0 && same < 0 && (getenv("VGGSIMD_EMULATED") || getenv("VGGSIMD_SANITIZED"))) {
      /* The scalar Winograd is plain C, checked by the native build (and at small sizes by test_winograd under
       * the sanitizers); at 224x224 under emulation or the sanitizers it takes minutes. */
      print_message("[  SKIP    ] scalar --algo %s under emulation or the sanitizers (checked natively)\n",
                    vgg_algo_names()[algos[ai]]);
      continue;
    }
    if (isa != VGG_LEVEL_SCALAR && (algos[ai] == VGG_ALGO_WINO2 || algos[ai] == VGG_ALGO_WINO6) && same < 0 &&
        getenv("VGGSIMD_EMULATED")) {
      /* Under emulation a 224x224 pass takes a minute: the forced F(2x2) and F(6x6) kernels are checked there
       * against the reference at awkward sizes (test_winograd) and through small nets (test_net). */
      print_message("[  SKIP    ] %s --algo %s at 224x224 under emulation (test_winograd and test_net check it)\n",
                    vgg_level_name(isa), vgg_algo_names()[algos[ai]]);
      continue;
    }
    if (same >= 0) { /* the same net as one checked above (e.g. auto = direct at the scalar level) */
      print_message("%-6s --algo %-6s plans every layer as --algo %s: checked above\n", vgg_level_name(isa),
                    vgg_algo_names()[algos[ai]], vgg_algo_names()[algos[same]]);
      continue;
    }
    vgg_net *net;
    vgg_options o = {.isa = isa, .threads = 0, .algo = algos[ai]};
    assert_int_equal(vgg_net_create(m, w, &o, &net, &err), VGG_OK);
    const double tol = algos[ai] == VGG_ALGO_FAST || algos[ai] == VGG_ALGO_WINO6 ? 1e-4 : TOL;
    check c = {&g, tol, {0}, 0};
    float logits[1000], probs[1000];
    assert_int_equal(vgg_net_forward(net, &in, on_block, &c, logits, probs, &err), VGG_OK);
    vgg_net_free(net);
    double le = 0;
    for (int i = 0; i < 1000; i++) le = tu_max(le, fabs(logits[i] - g.logits[i]) / lmax);
    int top[5];
    vgg_top_k(logits, 1000, 5, top);
    print_message("%-6s --algo %-6s rel err vs PyTorch float64: block1 %.2e block2 %.2e block3 %.2e block4 %.2e "
                  "block5 %.2e logits %.2e; top-5 %d %d %d %d %d\n",
                  vgg_level_name(isa), vgg_algo_names()[algos[ai]], c.worst[1], c.worst[2], c.worst[3], c.worst[4], c.worst[5], le,
                  top[0], top[1], top[2], top[3], top[4]);
    assert_int_equal(c.bad, 0);
    assert_true(le <= tol);
    assert_memory_equal(top, g.top5, sizeof top);
    tested++;
   }
  }
  assert_true(tested >= 1);
  world_close(&x);
}

/* int8 (every conv after the first) and bf16 (bf16 Winograd GEMMs on every
 * conv after the first) at every level the CPU has, int8 ranges calibrated
 * on other photos than the golden one: every block within the budget of its
 * max |value| against float64 (int8 2e-2, bf16 1e-2: the goals at block 5,
 * checked at every block), and the same top-1 class as float64. */
#define TOL_INT8 2e-2
#define TOL_BF16 1e-2
#define TOL_INT8_LOGITS 5e-2
static void golden_low_precision(vgg_precision prec) {
  world x;
  world_open(&x);
  const golden g = x.g;
  vgg_model *m = x.m;
  vgg_weights *w = x.w;
  vgg_tensor in = x.in, cal;
  vgg_error err;
  char path[512];
  /* Calibration photos: the test set's own, not the golden photo. */
  static const char *const photos[] = {"tests/data/img/large_1200x800.jpg", "tests/data/img/rgb8.jpg"};
  float ranges[64] = {0};
  vgg_net *net;
  vgg_options fo = {.isa = -1, .threads = 0, .algo = VGG_ALGO_AUTO};
  assert_int_equal(vgg_net_create(m, w, &fo, &net, &err), VGG_OK);
  for (size_t i = 0; prec == VGG_PRECISION_INT8 && i < sizeof photos / sizeof photos[0]; i++) { /* bf16 needs no ranges */
    snprintf(path, sizeof path, "%s/%s", VGG_SOURCE_ROOT, photos[i]);
    assert_int_equal(vgg_image_load(path, &golden_io, &cal, &err), VGG_OK);
    assert_int_equal(vgg_net_calibrate(net, &cal, ranges, NULL, &err), VGG_OK);
    vgg_tensor_free(&cal);
  }
  vgg_net_free(net);
  int tested = 0;
  for (int isa = 0; isa < VGG_LEVEL_COUNT; isa++) {
    if (!vgg_level_usable(isa)) continue;
    const int i8 = prec == VGG_PRECISION_INT8;
    const char *pname = i8 ? "int8" : "bf16";
    const int ref = i8 ? vgg_i8_kernels_get(isa) == &vgg_i8_kernels_ref : vgg_bf16_kernels_get(isa) == &vgg_bf16_kernels_ref;
    const char *kname = i8 ? vgg_i8_kernels_get(isa)->name : vgg_bf16_kernels_get(isa)->wino[0].name;
    if (ref && isa != VGG_LEVEL_SCALAR) {
      print_message("%-6s %s runs on the reference kernel here (checked at the scalar level)\n", vgg_level_name(isa), pname);
      continue;
    }
    if (ref && (getenv("VGGSIMD_EMULATED") || getenv("VGGSIMD_SANITIZED"))) {
      /* The reference at 224x224 takes minutes there; the native build checks it here, test_int8 and test_net
       * at small sizes under the sanitizers. */
      print_message("[  SKIP    ] %s %s reference under emulation or the sanitizers: too slow (checked natively)\n",
                    vgg_level_name(isa), pname);
      continue;
    }
    vgg_options o = {.isa = isa, .threads = 0, .algo = VGG_ALGO_AUTO, .precision = prec, .ranges = i8 ? ranges : NULL};
    assert_int_equal(vgg_net_create(m, w, &o, &net, &err), VGG_OK);
    check c = {&g, i8 ? TOL_INT8 : TOL_BF16, {0}, 0};
    float logits[1000], probs[1000];
    assert_int_equal(vgg_net_forward(net, &in, on_block, &c, logits, probs, &err), VGG_OK);
    vgg_net_free(net);
    int top[5];
    vgg_top_k(logits, 1000, 5, top);
    /* The classifier runs in the same precision (int8: s8 rows, each image's input on its own scale; bf16:
     * rounded weights): its logits within the budget of max |logit| the held-out goals state for every block
     * (int8 5e-2; bf16 1e-2, as its blocks). */
    double lmax = 0, lerr = 0;
    for (int i = 0; i < 1000; i++) lmax = tu_max(lmax, fabs(g.logits[i]));
    for (int i = 0; i < 1000; i++) lerr = tu_max(lerr, fabs(logits[i] - g.logits[i]) / lmax);
    print_message("%-6s %s (%s) rel err vs PyTorch float64: block1 %.2e block2 %.2e block3 %.2e block4 %.2e "
                  "block5 %.2e logits %.2e; top-1 %d (float64 %d)\n",
                  vgg_level_name(isa), pname, kname, c.worst[1], c.worst[2], c.worst[3], c.worst[4], c.worst[5], lerr,
                  top[0], g.top5[0]);
    assert_int_equal(c.bad, 0);
    assert_true(lerr <= (i8 ? TOL_INT8_LOGITS : TOL_BF16));
    assert_int_equal(top[0], g.top5[0]);
    tested++;
  }
  world_close(&x);
  if (!tested) { /* e.g. bf16 under emulation: only the reference, which the native scalar build checks */
    print_message("[  SKIP    ] %s: no level here has kernels for it to check\n", prec == VGG_PRECISION_INT8 ? "int8" : "bf16");
    skip();
  }
}

static void golden_int8(void **s) {
  (void)s;
  golden_low_precision(VGG_PRECISION_INT8);
}
static void golden_bf16(void **s) {
  (void)s;
  golden_low_precision(VGG_PRECISION_BF16);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(golden_all_levels), cmocka_unit_test(golden_int8),
                                     cmocka_unit_test(golden_bf16)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
