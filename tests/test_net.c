/* The forward pass: block callbacks, bit-identity across thread counts at
 * every level, agreement between levels, and bad arguments. */
#include "testutil.h"
#include "internal.h" /* overflow_refused scales one layer's weights */
#include "net.h"      /* vgg_s8_round_filter */
#include <math.h>
#include "vggsimd.h"
#include <unistd.h>

typedef struct {
  int calls;
  float *copy[6];
  int h[6], c[6];
} blocks;

static void keep(void *user, int image, int b, const vgg_tensor *t, double sec) {
  blocks *k = user;
  (void)sec;
  assert_int_equal(image, 0);
  k->calls++;
  k->h[b] = t->h, k->c[b] = t->c;
  const size_t n = (size_t)t->h * t->w * t->c;
  k->copy[b] = malloc(n * sizeof(float));
  memcpy(k->copy[b], t->data, n * sizeof(float));
}

static vgg_algo g_algo = VGG_ALGO_DIRECT;

static void run(const vgg_model *m, const vgg_weights *w, int isa, int threads, const vgg_tensor *in, blocks *out,
                float *probs) {
  vgg_net *net;
  vgg_error err;
  vgg_options o = {.isa = isa, .threads = threads, .algo = g_algo};
  memset(out, 0, sizeof *out);
  assert_int_equal(vgg_net_create(m, w, &o, &net, &err), VGG_OK);
  assert_int_equal(vgg_net_forward(net, in, keep, out, NULL, probs, &err), VGG_OK);
  vgg_net_free(net);
  assert_int_equal(out->calls, 5);
}

static void free_blocks(blocks *b) {
  for (int i = 1; i <= 5; i++) free(b->copy[i]);
}

/* A model, seeded weights and n seeded input images scaled by `scale`. */
typedef struct {
  vgg_model *m;
  vgg_weights *w;
  vgg_tensor in;
} fixture;

static void fixture_make(fixture *f, vgg_arch arch, int top, int h, int wd, int n, uint64_t wseed, uint64_t iseed,
                         float scale) {
  vgg_error err;
  assert_int_equal(vgg_model_create(arch, top, h, wd, &f->m, &err), VGG_OK);
  assert_int_equal(vgg_weights_init(f->m, wseed, 0, &f->w, &err), VGG_OK);
  assert_int_equal(vgg_tensor_alloc(&f->in, n, h, wd, 3, &err), VGG_OK);
  const size_t count = (size_t)n * h * wd * 3;
  vgg_fill(f->in.data, count, iseed);
  for (size_t i = 0; i < count; i++) f->in.data[i] *= scale;
}

static void fixture_free(fixture *f) {
  vgg_tensor_free(&f->in);
  vgg_weights_free(f->w);
  vgg_model_free(f->m);
}

static void threads_bit_identical(void **s) {
  (void)s;
  /* VGG11 at 64x48: small, odd per-thread splits of rows and channels. */
  fixture f;
  fixture_make(&f, VGG11, 0, 64, 48, 1, 11, 12, 1.0f);
  vgg_model *m = f.m;
  vgg_weights *w = f.w;
  vgg_tensor in = f.in;
  static const vgg_algo algos[] = {VGG_ALGO_DIRECT, VGG_ALGO_WINO2, VGG_ALGO_WINO4, VGG_ALGO_WINO6};
  for (int ai = 0; ai < 3; ai++)
  for (int isa = 0; isa < VGG_LEVEL_COUNT; isa++) {
    if (!vgg_level_usable(isa)) {
      if (vgg_level_compiled(isa) && ai == 0)
        print_message("[  SKIP    ] level %s: not supported by this CPU\n", vgg_level_name(isa));
      continue;
    }
    g_algo = algos[ai];
    blocks one, two, three;
    run(m, w, isa, 1, &in, &one, NULL);
    run(m, w, isa, 2, &in, &two, NULL);
    run(m, w, isa, 3, &in, &three, NULL);
    for (int b = 1; b <= 5; b++) {
      const vgg_layer *l = vgg_model_block_output(m, b);
      const size_t n = (size_t)l->out_h * l->out_w * l->out_c;
      assert_memory_equal(one.copy[b], two.copy[b], n * sizeof(float));
      assert_memory_equal(one.copy[b], three.copy[b], n * sizeof(float));
    }
    print_message("level %s, %s: 1, 2 and 3 threads bit-identical on all 5 blocks\n", vgg_level_name(isa),
                  vgg_algo_names()[g_algo]);
    free_blocks(&one), free_blocks(&two), free_blocks(&three);
  }
  g_algo = VGG_ALGO_DIRECT;
  fixture_free(&f);
}

static void levels_agree_with_classifier(void **s) {
  (void)s;
  fixture f;
  fixture_make(&f, VGG11, 1, 224, 224, 1, 3, 4, 100.0f);
  vgg_model *m = f.m;
  vgg_weights *w = f.w;
  vgg_tensor in = f.in;
  blocks ref;
  float pref[1000], p[1000];
  run(m, w, 0, 2, &in, &ref, pref);
  double sum = 0;
  for (int i = 0; i < 1000; i++) sum += pref[i];
  assert_true(fabs(sum - 1.0) < 1e-5);
  for (int isa = 1; isa < VGG_LEVEL_COUNT; isa++) {
    if (!vgg_level_usable(isa)) continue;
    blocks b;
    run(m, w, isa, 2, &in, &b, p);
    for (int k = 1; k <= 5; k++) {
      const vgg_layer *l = vgg_model_block_output(m, k);
      const size_t n = (size_t)l->out_h * l->out_w * l->out_c;
      double *rd = malloc(n * sizeof(double));
      for (size_t i = 0; i < n; i++) rd[i] = ref.copy[k][i];
      double e = vgg_rel_err(b.copy[k], rd, n, NULL);
      print_message("level %s block%d: rel err vs scalar %.3g\n", vgg_level_name(isa), k, e);
      assert_true(e <= 1e-5);
      free(rd);
    }
    /* Probabilities within 1e-5 of the largest, as every other comparison. */
    double pmax = 0, perr = 0;
    for (int i = 0; i < 1000; i++) pmax = tu_max(pmax, pref[i]), perr = tu_max(perr, fabs(p[i] - pref[i]));
    print_message("level %s probabilities: max abs err %.3g (max prob %.3g)\n", vgg_level_name(isa), perr, pmax);
    assert_true(perr <= 1e-5 * pmax);
    free_blocks(&b);
  }
  free_blocks(&ref);
  fixture_free(&f);
}

/* A batch of 3 gives each image the same bits as alone: the conv base is the
 * same code, and the batch GEMM accumulates each image as the GEMV does.
 * Under emulation only the SIMD levels (the scalar level's batch GEMM is plain
 * C, checked by the native build; here it takes minutes). */
static void batch_matches_singles(void **s) {
  (void)s;
  fixture f;
  fixture_make(&f, VGG11, 1, 224, 224, 3, 8, 21, 100.0f);
  vgg_model *m = f.m;
  vgg_weights *w = f.w;
  vgg_tensor batch = f.in;
  vgg_error err;
  const size_t img = 224 * 224 * 3;
  /* The scalar level's 224x224 batch takes minutes under emulation and the sanitizers: the native build checks
   * it, and the smaller batch tests below run it there. */
  const int first = (getenv("VGGSIMD_EMULATED") || getenv("VGGSIMD_SANITIZED")) && VGG_LEVEL_COUNT > 1 ? 1 : 0;
  if (first)
    print_message("[  SKIP    ] level scalar: batch vs singles at 224x224 not run under emulation or the sanitizers "
                  "(checked natively)\n");
  int tested = 0;
  for (int isa = first; isa < VGG_LEVEL_COUNT; isa++) {
    if (!vgg_level_usable(isa)) continue;
    tested++;
    vgg_net *net;
    vgg_options o = {.isa = isa, .threads = 2, .algo = VGG_ALGO_AUTO};
    assert_int_equal(vgg_net_create(m, w, &o, &net, &err), VGG_OK);
    float lb[3000], pb[3000], l1[1000], p1[1000];
    assert_int_equal(vgg_net_forward(net, &batch, NULL, NULL, lb, pb, &err), VGG_OK);
    double worst = 0;
    for (int b = 0; b < 3; b++) {
      vgg_tensor one = {1, 224, 224, 3, batch.data + b * img};
      assert_int_equal(vgg_net_forward(net, &one, NULL, NULL, l1, p1, &err), VGG_OK);
      double mx = 0, e = 0;
      for (int i = 0; i < 1000; i++) mx = tu_max(mx, fabs(l1[i])), e = tu_max(e, fabs(lb[b * 1000 + i] - l1[i]));
      worst = tu_max(worst, e / mx);
    }
    print_message("level %s: batch of 3 vs single images, logits rel err %.3g\n", vgg_level_name(isa), worst);
    assert_true(worst == 0.0);
    vgg_net_free(net);
  }
  fixture_free(&f);
  assert_true(tested >= 1);
}

/* Every block output of each image of a batch of 11 (groups of 8 and 3),
 * in any order the callback sees them, equals the same image run alone, with
 * every algorithm, at 2 threads; 112x100 inputs (40x34 under emulation or
 * sanitizers), so groups start in block 2 (block 1) and tiles are cut at every image's
 * edge. */
typedef struct {
  const vgg_model *m;
  float *out[11][6];
  int calls;
} per_image;

static void keep_image(void *user, int image, int block, const vgg_tensor *t, double sec) {
  per_image *p = user;
  (void)sec;
  assert_true(image >= 0 && image < 11 && block >= 1 && block <= 5 && t->n == 1);
  const vgg_layer *o = vgg_model_block_output(p->m, block);
  assert_true(t->h == o->out_h && t->w == o->out_w && t->c == o->out_c);
  const size_t n = (size_t)t->h * t->w * t->c;
  assert_null(p->out[image][block]);
  p->out[image][block] = malloc(n * sizeof(float));
  memcpy(p->out[image][block], t->data, n * sizeof(float));
  p->calls++;
}

/* A forward pass of net on the 11 images of `in` gives every image's every block bit-identical to a pass on
 * that image alone. */
static void batch_equals_singles(vgg_net *net, const vgg_model *m, const vgg_tensor *in) {
  vgg_error err;
  const size_t img = (size_t)in->h * in->w * 3;
  per_image batch = {m, {{0}}, 0};
  assert_int_equal(in->n, 11);
  assert_int_equal(vgg_net_forward(net, in, keep_image, &batch, NULL, NULL, &err), VGG_OK);
  assert_int_equal(batch.calls, 55);
  for (int b = 0; b < 11; b++) {
    per_image single = {m, {{0}}, 0};
    const vgg_tensor x = {1, in->h, in->w, 3, in->data + b * img};
    assert_int_equal(vgg_net_forward(net, &x, keep_image, &single, NULL, NULL, &err), VGG_OK);
    assert_int_equal(single.calls, 5);
    for (int k = 1; k <= 5; k++) {
      const vgg_layer *l = vgg_model_block_output(m, k);
      assert_memory_equal(batch.out[b][k], single.out[0][k], sizeof(float) * l->out_h * l->out_w * l->out_c);
      free(single.out[0][k]), free(batch.out[b][k]);
    }
  }
}

static void batch_groups_bit_identical(void **s) {
  (void)s;
  fixture f;
  const int small = getenv("VGGSIMD_EMULATED") || getenv("VGGSIMD_SANITIZED"), H = small ? 40 : 112, W = small ? 34 : 100;
  fixture_make(&f, VGG13, 0, H, W, 11, 5, 6, 100.0f);
  vgg_error err;
  static const vgg_algo algos[] = {VGG_ALGO_AUTO, VGG_ALGO_DIRECT, VGG_ALGO_WINO2, VGG_ALGO_WINO4, VGG_ALGO_WINO6};
  int tested = 0;
  for (int isa = 1; isa < VGG_LEVEL_COUNT; isa++) { /* the scalar level runs the same net code; it is slow here */
    if (!vgg_level_usable(isa)) continue;
    for (int a = 0; a < (int)(sizeof algos / sizeof algos[0]); a++) {
      if (tu_same_plan_as(f.m, isa, algos, a) >= 0) continue; /* the same net as one checked above */
      vgg_net *net;
      vgg_options o = {.isa = isa, .threads = 2, .algo = algos[a]};
      assert_int_equal(vgg_net_create(f.m, f.w, &o, &net, &err), VGG_OK);
      batch_equals_singles(net, f.m, &f.in);
      vgg_net_free(net);
      tested++;
    }
    print_message("level %s: a batch of 11 (groups 8 + 3) equals single images bit for bit, every block, "
                  "auto/direct/wino2/wino4/wino6 (each distinct plan once)\n", vgg_level_name(isa));
  }
  fixture_free(&f);
  if (!tested) {
    print_message("[  SKIP    ] no SIMD level on this CPU: batch groups not tested\n");
    skip();
  }
}

/* The first layer run in bands inside the second (the plan's "relu+band"): block 1 is bit for bit the two
 * kernels run apart on whole maps, at 1, 2 and 3 threads, in the auto and fast plans (F(4x4) and, at
 * avx512 and avx2, F(6x6) bands); VGG16 at 118x116 (46x38 under emulation or sanitizers): the last tile
 * row is cut by the bottom edge, and each thread's band starts over several times. */
static void band_equals_separate_steps(void **s) {
  (void)s;
  const int small = getenv("VGGSIMD_EMULATED") || getenv("VGGSIMD_SANITIZED"), H = small ? 46 : 118, W = small ? 38 : 116;
  fixture f;
  fixture_make(&f, VGG16, 0, H, W, 1, 31, 32, 100.0f);
  const vgg_layer *l1 = vgg_model_layer(f.m, 1), *l2 = vgg_model_layer(f.m, 2);
  assert_true(l1->param >= 0 && l2->param >= 0 && l1->out_c == l2->in_c);
  const int C = l2->in_c, CO = l2->out_c;
  int tested = 0;
  const char *checked[VGG_LEVEL_COUNT] = {NULL}; /* the Winograd kernel auto's bands used, per level */
  for (int pass = 0; pass < 2 * VGG_LEVEL_COUNT; pass++) {
    const int isa = pass % VGG_LEVEL_COUNT;
    const vgg_algo algo = pass < VGG_LEVEL_COUNT ? VGG_ALGO_AUTO : VGG_ALGO_FAST;
    if (!vgg_level_usable(isa)) continue;
    const vgg_options po = {.isa = isa, .threads = 1, .algo = algo};
    vgg_step_info st[VGG_MAX_STEPS_INFO];
    assert_true(vgg_plan(f.m, &po, st, VGG_MAX_STEPS_INFO) > 2);
    if (strcmp(st[0].fused, "relu+band") != 0) {
      print_message("level %s: %s runs block1_conv2 as %s, no bands to check\n", vgg_level_name(isa),
                    vgg_algo_names()[algo], st[1].algo);
      continue;
    }
    if (checked[isa] && strcmp(checked[isa], st[1].kernel) == 0) continue; /* fast plans as auto here */
    checked[isa] = st[1].kernel;
    const vgg_kernel_table *k = vgg_kernels_get(isa);
    const vgg_wino_kernels *wk = NULL;
    for (int j = 0; j < VGG_WINO_COUNT; j++)
      if (strcmp(st[1].kernel, k->wino[j].name) == 0) wk = &k->wino[j];
    assert_non_null(wk);
    /* Apart: the first layer on the whole image, then block1_conv2 (+ReLU +pool) on its whole output. */
    float *p1 = malloc(sizeof(float) * k->conv3x3_packed_size(3, C)), *map = malloc(sizeof(float) * H * W * C);
    float *u = malloc(sizeof(float) * wk->packed_size(C, CO)), *sc = malloc(sizeof(float) * wk->scratch_size(C, CO));
    float *ref = malloc(sizeof(float) * (H / 2) * (W / 2) * CO);
    k->conv3x3_pack(vgg_weights_kernel(f.w, l1->param), 3, C, p1);
    const vgg_conv3x3_args a1 = {f.in.data, map, p1, vgg_weights_bias(f.w, l1->param), H, W, 3, C, 1};
    k->conv3x3_c3(&a1, 0, H, 0, C);
    wk->pack(vgg_weights_kernel(f.w, l2->param), C, CO, u);
    const vgg_wino_args a2 = {map, ref, u, vgg_weights_bias(f.w, l2->param), H, W, C, CO, 1, 1, sc, NULL, 0};
    wk->conv(&a2, 0, (H + wk->m - 1) / wk->m, 0, CO);
    const vgg_algo keep_algo = g_algo;
    g_algo = algo;
    for (int t = 1; t <= 3; t++) {
      blocks b;
      run(f.m, f.w, isa, t, &f.in, &b, NULL);
      assert_int_equal(b.h[1], H / 2);
      assert_memory_equal(b.copy[1], ref, sizeof(float) * (H / 2) * (W / 2) * CO);
      free_blocks(&b);
    }
    g_algo = keep_algo;
    print_message("level %s, %s: block1_conv1 in bands inside %s equals the two run apart, bit for bit, 1-3 threads\n",
                  vgg_level_name(isa), vgg_algo_names()[algo], st[1].kernel);
    free(p1), free(map), free(u), free(sc), free(ref);
    tested++;
  }
  fixture_free(&f);
  if (!tested) {
    print_message("[  SKIP    ] no level here runs the first layer in bands: not tested\n");
    skip();
  }
}

/* int8 and bf16 nets: 1, 2 and 3 threads give the same bits, and a batch of 11 (groups of 8 and 3) the same
 * bits per image and block as each image alone; VGG16 at 112x100 (groups from block 2) and 56x48 (groups from
 * block1_conv2, the first int8 layer, so the float32 first layer's output is quantised for a whole group);
 * smaller under emulation or sanitizers. */
static void low_precision_nets_bit_identical(void **s) {
  (void)s;
  const int small = getenv("VGGSIMD_EMULATED") || getenv("VGGSIMD_SANITIZED");
  const int sizes[2][2] = {{small ? 40 : 112, small ? 34 : 100}, {small ? 32 : 56, small ? 32 : 48}};
  int tested = 0;
  for (int z = 0; z < 2; z++) {
    const int H = sizes[z][0], W = sizes[z][1];
    fixture f;
    fixture_make(&f, VGG16, 0, H, W, 11, 21, 22, 100.0f);
    vgg_error err;
    float ranges[64] = {0}; /* per model layer */
    vgg_net *net;
    const vgg_options fo = {.isa = -1, .threads = 2};
    assert_int_equal(vgg_net_create(f.m, f.w, &fo, &net, &err), VGG_OK);
    assert_int_equal(vgg_net_calibrate(net, &f.in, ranges, NULL, &err), VGG_OK);
    vgg_net_free(net);
    for (int isa = 1; isa < VGG_LEVEL_COUNT; isa++) { /* the scalar level runs the same net code; it is slow here */
      if (!vgg_level_usable(isa)) continue;
      /* int8 twice: auto (the exact F(4x4) on the larger maps) and wino4 (on every int8 layer where the weights
       * allow it, direct elsewhere). */
      for (int pa = 0; pa < 3; pa++) {
        const vgg_precision p = pa < 2 ? VGG_PRECISION_INT8 : VGG_PRECISION_BF16;
        const vgg_algo algo = pa == 1 ? VGG_ALGO_WINO4 : VGG_ALGO_AUTO;
        /* A level whose kernels for p are the reference's runs the same net code as one that has its own: slow. */
        const vgg_options po = {.isa = isa, .threads = 1, .algo = algo, .precision = p};
        vgg_step_info st[VGG_MAX_STEPS_INFO];
        const int nst = vgg_plan(f.m, &po, st, VGG_MAX_STEPS_INFO);
        if (nst < 2 || strstr(st[1].kernel, "ref")) continue;
        const vgg_tensor one = {1, H, W, 3, f.in.data};
        per_image ref = {f.m, {{0}}, 0};
        for (int t = 1; t <= 3; t++) {
          const vgg_options o = {.isa = isa, .threads = t, .algo = algo, .precision = p, .ranges = ranges};
          assert_int_equal(vgg_net_create(f.m, f.w, &o, &net, &err), VGG_OK);
          per_image got = {f.m, {{0}}, 0};
          assert_int_equal(vgg_net_forward(net, &one, keep_image, t == 1 ? &ref : &got, NULL, NULL, &err), VGG_OK);
          for (int k = 1; k <= 5 && t > 1; k++) {
            const vgg_layer *l = vgg_model_block_output(f.m, k);
            assert_memory_equal(ref.out[0][k], got.out[0][k], sizeof(float) * l->out_h * l->out_w * l->out_c);
            free(got.out[0][k]);
          }
          if (t < 2) {
            vgg_net_free(net);
            continue;
          }
          if (t == 2) batch_equals_singles(net, f.m, &f.in);
          vgg_net_free(net);
        }
        if (pa == 0) { /* the exact F(4x4) gives the direct kernel's bytes (auto: the first layer direct too) */
          const vgg_options o = {.isa = isa, .threads = 2, .algo = VGG_ALGO_DIRECT, .precision = p, .ranges = ranges};
          assert_int_equal(vgg_net_create(f.m, f.w, &o, &net, &err), VGG_OK);
          per_image direct = {f.m, {{0}}, 0};
          assert_int_equal(vgg_net_forward(net, &one, keep_image, &direct, NULL, NULL, &err), VGG_OK);
          for (int k = 1; k <= 5; k++) {
            const vgg_layer *l = vgg_model_block_output(f.m, k);
            assert_memory_equal(ref.out[0][k], direct.out[0][k], sizeof(float) * l->out_h * l->out_w * l->out_c);
            free(direct.out[0][k]);
          }
          vgg_net_free(net);
        }
        for (int k = 1; k <= 5; k++) free(ref.out[0][k]);
        print_message("level %s, %s, %s, %dx%d: 1, 2 and 3 threads bit-identical; a batch of 11 equals single "
                      "images bit for bit, every block%s\n", vgg_level_name(isa), vgg_precision_names()[p],
                      vgg_algo_names()[algo], H, W, pa == 0 ? "; the same bits as direct" : "");
        tested++;
      }
    }
    fixture_free(&f);
  }
  if (!tested) {
    print_message("[  SKIP    ] no SIMD level on this CPU: int8 and bf16 nets not tested\n");
    skip();
  }
}

/* The exact int8 F(4x4)'s weight bound is an input of the plan: a layer whose s8 weights miss it is planned
 * direct, the net reports what it runs, and its outputs are the direct net's bytes. */
static void int8_w4_bound_in_plan(void **s) {
  (void)s;
  fixture f;
  /* 112x112 (square: blocks keep h and c): auto plans the exact F(4x4) for int8 layers on maps of 28x28 and
   * more, blocks 2-3 here; the first layer is float32 direct in auto as in direct. */
  fixture_make(&f, VGG11, 0, 112, 112, 1, 31, 32, 100.0f);
  /* block3_conv1 (128 -> 256): output channel 0's 1,152 weights all one positive value, s8 127 each, their sum
   * 146,304 past the bound (255 x sum < 2^25: 131,586). */
  int miss = -1;
  for (int i = 0; i < vgg_model_num_layers(f.m); i++)
    if (!strcmp(vgg_model_layer(f.m, i)->name, "block3_conv1")) miss = i;
  assert_true(miss > 0);
  const vgg_layer *ml = vgg_model_layer(f.m, miss);
  float *k = vgg_weights_kernel(f.w, ml->param);
  for (int r = 0; r < 9 * ml->in_c; r++) k[(size_t)r * ml->out_c] = 0.05f;
  vgg_error err;
  float ranges[64] = {0};
  vgg_net *net;
  const vgg_options fo = {.isa = -1, .threads = 2};
  assert_int_equal(vgg_net_create(f.m, f.w, &fo, &net, &err), VGG_OK);
  assert_int_equal(vgg_net_calibrate(net, &f.in, ranges, NULL, &err), VGG_OK);
  vgg_net_free(net);
  int tested = 0;
  for (int isa = 1; isa < VGG_LEVEL_COUNT; isa++) {
    if (!vgg_level_usable(isa) || !vgg_i8_kernels_get(isa)->w4_conv) continue;
    blocks out[2];
    for (int a = 0; a < 2; a++) {
      const vgg_options o = {.isa = isa, .threads = 2, .algo = a ? VGG_ALGO_DIRECT : VGG_ALGO_AUTO,
                             .precision = VGG_PRECISION_INT8, .ranges = ranges};
      vgg_step_info st[VGG_MAX_STEPS_INFO], planned[VGG_MAX_STEPS_INFO];
      assert_int_equal(vgg_net_create(f.m, f.w, &o, &net, &err), VGG_OK);
      const int n = vgg_net_steps(net, st, VGG_MAX_STEPS_INFO);
      assert_int_equal(vgg_plan(f.m, &o, planned, VGG_MAX_STEPS_INFO), n);
      int wino = 0;
      for (int i = 0; i < n && !a; i++) {
        if (strcmp(st[i].dtype, "int8") || strcmp(st[i].op, "conv")) continue;
        const int is_miss = !strcmp(st[i].layer, ml->name);
        /* vgg_plan has no weights: it plans F(4x4) where auto takes it; the net, direct where the weights miss
         * the bound. */
        if (is_miss) assert_string_equal(planned[i].algo, "wino4"), assert_string_equal(st[i].algo, "direct");
        else assert_string_equal(st[i].algo, planned[i].algo);
        wino += !strcmp(st[i].algo, "wino4");
      }
      assert_true(a || wino > 0);
      memset(&out[a], 0, sizeof out[a]);
      assert_int_equal(vgg_net_forward(net, &f.in, keep, &out[a], NULL, NULL, &err), VGG_OK);
      vgg_net_free(net);
    }
    for (int b = 1; b <= 5; b++)
      assert_memory_equal(out[0].copy[b], out[1].copy[b], sizeof(float) * out[0].h[b] * out[0].h[b] * out[0].c[b]);
    print_message("level %s: %s planned direct (its weights miss the bound), the other int8 layers as vgg_plan "
                  "says; every block the direct net's bytes\n", vgg_level_name(isa), ml->name);
    free_blocks(&out[0]), free_blocks(&out[1]);
    tested++;
  }
  fixture_free(&f);
  if (!tested) {
    print_message("[  SKIP    ] no level here has the exact int8 F(4x4)\n");
    skip();
  }
}

/* The Winograd stage profile: seconds for every stage of each Winograd layer
 * and none for direct ones, and the same bits as without it. */
static void stage_profile(void **s) {
  (void)s;
  fixture f;
  fixture_make(&f, VGG11, 0, 64, 48, 1, 11, 12, 1.0f);
  vgg_error err;
  vgg_net *net;
  vgg_options o = {.isa = vgg_level_best(), .threads = 2, .algo = VGG_ALGO_WINO4};
  assert_int_equal(vgg_net_create(f.m, f.w, &o, &net, &err), VGG_OK);
  blocks plain, profiled;
  memset(&plain, 0, sizeof plain), memset(&profiled, 0, sizeof profiled);
  assert_int_equal(vgg_net_forward(net, &f.in, keep, &plain, NULL, NULL, &err), VGG_OK);
  assert_int_equal(vgg_net_set_profile(net, 1, &err), VGG_OK);
  assert_int_equal(vgg_net_forward(net, &f.in, keep, &profiled, NULL, NULL, &err), VGG_OK);
  for (int b = 1; b <= 5; b++) {
    const vgg_layer *l = vgg_model_block_output(f.m, b);
    assert_memory_equal(plain.copy[b], profiled.copy[b], sizeof(float) * l->out_h * l->out_w * l->out_c);
  }
  int wino = 0, other = 0;
  for (int i = 0; i < vgg_model_num_layers(f.m); i++) {
    const char *algo = vgg_net_layer_algo(net, i);
    const double *st = vgg_net_stage_seconds(net, i);
    assert_non_null(st);
    if (algo && !strncmp(algo, "wino", 4)) {
      assert_true(st[0] > 0 && st[1] > 0 && st[2] > 0);
      wino++;
    } else {
      assert_true(st[0] == 0 && st[1] == 0 && st[2] == 0);
      other++;
    }
  }
  assert_null(vgg_net_stage_seconds(net, -1));
  assert_true(wino == 8 && other > 0); /* VGG11's 8 convs, all forced to F(4x4) */
  free_blocks(&plain), free_blocks(&profiled);
  vgg_net_free(net);
  fixture_free(&f);
}

/* Values that would overflow float32.  An input of 3e38 used to run to the end: the first conv's sums overflowed,
 * their NaNs became zeros at the ReLU, and every block came out 0.  Now the pass is refused at the first conv,
 * naming it, as is a non-finite input; weights 1e36 times too large in one layer are refused at that layer, in
 * a batch (grouped steps) too; an input within vgg_net_input_limit runs as before.  Every level and algorithm;
 * then a dense layer. */
static void overflow_refused(void **s) {
  (void)s;
  fixture f;
  fixture_make(&f, VGG11, 0, 32, 32, 2, 3, 4, 100.0f);
  vgg_error err;
  vgg_net *net;
  static const vgg_algo algos[] = {VGG_ALGO_DIRECT, VGG_ALGO_WINO2, VGG_ALGO_WINO4, VGG_ALGO_WINO6};
  const vgg_tensor one = {1, 32, 32, 3, f.in.data};
  int tested = 0;
  for (int isa = 0; isa < VGG_LEVEL_COUNT; isa++) {
    if (!vgg_level_usable(isa)) continue;
    for (int a = 0; a < 4; a++) {
      vgg_options o = {.isa = isa, .threads = 2, .algo = algos[a]};
      assert_int_equal(vgg_net_create(f.m, f.w, &o, &net, &err), VGG_OK);
      const double lim = vgg_net_input_limit(net);
      assert_true(lim > 1e6 && lim < 1e38);
      assert_int_equal(vgg_net_forward(net, &f.in, NULL, NULL, NULL, NULL, &err), VGG_OK);
      const float keep = f.in.data[5];
      f.in.data[5] = 3e38f;
      assert_int_equal(vgg_net_forward(net, &one, NULL, NULL, NULL, NULL, &err), VGG_ERR_RANGE);
      assert_non_null(strstr(err.msg, "block1_conv1"));
      f.in.data[5] = NAN;
      assert_int_equal(vgg_net_forward(net, &f.in, NULL, NULL, NULL, NULL, &err), VGG_ERR_RANGE);
      assert_non_null(strstr(err.msg, "non-finite"));
      f.in.data[5] = keep;
      vgg_net_free(net);
      tested++;
    }
  }
  assert_true(tested >= 4);
  /* block3_conv1 (VGG11's third conv: parameter set 2) with filters 1e36 times larger. */
  const vgg_layer *l = &f.m->layers[f.m->param_layer[2]];
  assert_string_equal(l->name, "block3_conv1");
  for (size_t i = 0; i < (size_t)9 * l->in_c * l->out_c; i++) f.w->kernel[2][i] *= 1e36f;
  for (int a = 0; a < 4; a++) {
    vgg_options o = {.isa = -1, .threads = 2, .algo = algos[a]};
    assert_int_equal(vgg_net_create(f.m, f.w, &o, &net, &err), VGG_OK);
    assert_true(vgg_net_input_limit(net) < 1);
    assert_int_equal(vgg_net_forward(net, &f.in, NULL, NULL, NULL, NULL, &err), VGG_ERR_RANGE);
    assert_non_null(strstr(err.msg, "block3_conv1"));
    assert_int_equal(vgg_net_forward(net, &one, NULL, NULL, NULL, NULL, &err), VGG_ERR_RANGE);
    vgg_net_free(net);
  }
  fixture_free(&f);
  /* The classifier: fc1 1e37 times too large, refused at fc1 (its bound, n_in x a bound on |w|, times its measured input
   * passes float32's range). */
  if (getenv("VGGSIMD_EMULATED")) {
    print_message("[  SKIP    ] the classifier's bound under emulation (a 224x224 pass; checked natively)\n");
    return;
  }
  fixture_make(&f, VGG11, 1, 224, 224, 1, 3, 4, 100.0f);
  const int fc1 = f.m->nparams - 3;
  assert_string_equal(f.m->layers[f.m->param_layer[fc1]].name, "fc1");
  const vgg_options o = {.isa = -1, .threads = 2, .algo = VGG_ALGO_AUTO};
  assert_int_equal(vgg_net_create(f.m, f.w, &o, &net, &err), VGG_OK);
  assert_int_equal(vgg_net_forward(net, &f.in, NULL, NULL, NULL, NULL, &err), VGG_OK);
  const double lim = vgg_net_input_limit(net);
  vgg_net_free(net);
  for (int64_t i = 0; i < f.m->layers[f.m->param_layer[fc1]].weights; i++) f.w->kernel[fc1][i] *= 1e37f;
  f.w->wmax[fc1] *= 1e37f;
  assert_int_equal(vgg_net_create(f.m, f.w, &o, &net, &err), VGG_OK);
  assert_true(vgg_net_input_limit(net) < lim * 1e-30);
  assert_int_equal(vgg_net_forward(net, &f.in, NULL, NULL, NULL, NULL, &err), VGG_ERR_RANGE);
  assert_non_null(strstr(err.msg, "fc1 could overflow float32"));
  vgg_net_free(net);
  fixture_free(&f);
}

static void bad_arguments(void **s) {
  (void)s;
  vgg_model *m;
  vgg_weights *w;
  vgg_net *net = NULL;
  vgg_error err;
  assert_int_equal(vgg_model_create(VGG11, 0, 32, 32, &m, &err), VGG_OK);
  assert_int_equal(vgg_weights_init(m, 1, 1, &w, &err), VGG_OK);
  vgg_options o = {.isa = VGG_LEVEL_COUNT, .threads = 1};
  assert_int_equal(vgg_net_create(m, w, &o, &net, &err), VGG_ERR_ARG);
  for (int isa = 0; isa < VGG_LEVEL_COUNT; isa++) {
    if (vgg_level_usable(isa)) continue;
    o.isa = isa;
    assert_int_equal(vgg_net_create(m, w, &o, &net, &err), VGG_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "not available"));
  }
  o.isa = -1;
  assert_int_equal(vgg_net_create(m, w, &o, &net, &err), VGG_OK);
  /* A net keeps working once the caller releases the conv kernels; new nets and saves refuse. */
  vgg_weights_release_conv(w);
  vgg_net *net2 = NULL;
  assert_int_equal(vgg_net_create(m, w, &o, &net2, &err), VGG_ERR_ARG);
  assert_non_null(strstr(err.msg, "released"));
  assert_int_equal(vgg_weights_save(w, "/tmp/vggsimd-never-written.safetensors", VGG_NAMING_TORCH, &err), VGG_ERR_ARG);
  vgg_tensor in;
  assert_int_equal(vgg_tensor_alloc(&in, 1, 32, 32, 3, &err), VGG_OK);
  memset(in.data, 0, sizeof(float) * 32 * 32 * 3);
  assert_int_equal(vgg_net_forward(net, &in, NULL, NULL, NULL, NULL, &err), VGG_OK);
  vgg_tensor_free(&in);
  assert_int_equal(vgg_tensor_alloc(&in, 1, 33, 32, 3, &err), VGG_OK);
  assert_int_equal(vgg_net_forward(net, &in, NULL, NULL, NULL, NULL, &err), VGG_ERR_SHAPE);
  assert_non_null(strstr(err.msg, "Nx32x32x3"));
  vgg_tensor_free(&in);
  vgg_net_free(net);
  vgg_weights_free(w);
  vgg_model_free(m);
}

static void keep_block5(void *user, int image, int block, const vgg_tensor *t, double sec) {
  (void)sec, (void)image;
  if (block == 5) memcpy(user, t->data, sizeof(float) * (size_t)t->h * t->w * t->c);
}

/* One weights object, loaded from a file (mapped; fc2 and predictions used in
 * place), serves several nets at once, and gives the same bits as the weights
 * it was saved from; a net made with release_conv frees the conv kernels. */
static void shared_mapped_weights(void **s) {
  (void)s;
  vgg_model *m;
  vgg_weights *w0, *w;
  vgg_error err;
  /* With the classifier (its dense kernels used from the mapping) natively; under emulation or a sanitizer,
   * where a 224x224 VGG11 takes minutes, the conv base at 32x32. */
  const int top = !getenv("VGGSIMD_EMULATED") && !getenv("VGGSIMD_SANITIZED"), S = top ? 224 : 32;
  assert_int_equal(vgg_model_create(VGG11, top, S, S, &m, &err), VGG_OK);
  assert_int_equal(vgg_weights_init(m, 3, 0, &w0, &err), VGG_OK);
  char path[] = "/tmp/vggsimd-shared-XXXXXX";
  const int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(vgg_weights_save(w0, path, VGG_NAMING_TORCH, &err), VGG_OK);
  assert_int_equal(vgg_weights_load(m, path, 2, &w, &err), VGG_OK);
  vgg_tensor in;
  assert_int_equal(vgg_tensor_alloc(&in, 1, S, S, 3, &err), VGG_OK);
  vgg_fill(in.data, (size_t)S * S * 3, 9);
  vgg_options o1 = {-1, 1, VGG_ALGO_AUTO, 0}, o2 = {-1, 2, VGG_ALGO_AUTO, 0};
  vgg_net *ref, *a, *b;
  assert_int_equal(vgg_net_create(m, w0, &o1, &ref, &err), VGG_OK);
  assert_int_equal(vgg_net_create(m, w, &o1, &a, &err), VGG_OK);
  o2.release_conv = 1;
  assert_int_equal(vgg_net_create(m, w, &o2, &b, &err), VGG_OK);
  for (int p = 0; p < vgg_model_num_params(m); p++)
    if (vgg_model_param_layer(m, p)->kind == VGG_LAYER_CONV) assert_null(vgg_weights_kernel(w, p));
  vgg_net *c = NULL;
  assert_int_equal(vgg_net_create(m, w, &o1, &c, &err), VGG_ERR_ARG);
  /* The probabilities with the classifier, else block 5's output. */
  static float pr[1000], pa[1000], pb[1000];
  float *outs[3] = {pr, pa, pb};
  vgg_net *nets[3] = {ref, a, b};
  size_t bytes = sizeof pr;
  if (!top) {
    const vgg_layer *b5 = vgg_model_block_output(m, 5);
    bytes = sizeof(float) * (size_t)b5->out_h * b5->out_w * b5->out_c;
    assert_true(bytes <= sizeof pr);
  }
  assert_int_equal(vgg_net_forward(ref, &in, top ? NULL : keep_block5, pr, NULL, top ? pr : NULL, &err), VGG_OK);
  /* Both nets at once, from two threads. */
#pragma omp parallel for num_threads(2)
  for (int k = 1; k < 3; k++)
    vgg_net_forward(nets[k], &in, top ? NULL : keep_block5, outs[k], NULL, top ? outs[k] : NULL, NULL);
  assert_memory_equal(pa, pr, bytes);
  assert_memory_equal(pb, pr, bytes);
  vgg_net_free(ref), vgg_net_free(a), vgg_net_free(b);
  vgg_tensor_free(&in);
  vgg_weights_free(w), vgg_weights_free(w0);
  vgg_model_free(m);
  remove(path);
}

/* The int8 nets' rounding of weights (vgg_s8_round_filter): every weight on its floor or ceiling and within
 * [-127, 127]; the filter's errors summing to at most half a unit; each group's within half a unit, but for
 * the filter's own turns (one unit each); no more weights off their nearest value than the turns the sums ask;
 * ties turned earliest first. */
static void s8_rounding_keeps_sums(void **state) {
  (void)state;
  enum { NMAX = 49 * 40 };
  static float v[NMAX], e[NMAX];
  static int8_t q[NMAX];
  uint64_t x = 88172645463325252ull;
  const int shapes[][2] = {{9, 9}, {27, 9}, {576, 9}, {4617, 9}, {49 * 40, 49}, {1000, 1}, {7, 1}};
  for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++)
    for (int kind = 0; kind < 3; kind++) {
      const int n = shapes[sh][0] < NMAX ? shapes[sh][0] : NMAX, t = shapes[sh][1];
      for (int i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const double u = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
        v[i] = kind == 0 ? (float)(254 * u - 127) /* uniform */
               : kind == 1 ? (float)(floor(40 * u) - 19.5) /* every weight a tie */
                           : (float)(0.3 * tan(3.1 * (u - 0.5))); /* most near 0, a few large */
      }
      v[n / 2] = kind == 2 ? 127.0f : v[n / 2]; /* the largest |w|, as the scale makes it */
      vgg_s8_round_filter(v, n, t, q, e);
      double total = 0;
      int off = 0, need = 0, loose = 0;
      for (int i = 0; i < n; i++) {
        assert_true(q[i] >= -127 && q[i] <= 127);
        assert_true(q[i] == floorf(v[i]) || q[i] == ceilf(v[i]));
        assert_true(fabsf(e[i] - ((float)q[i] - v[i])) < 1e-4f);
        total += q[i] - (double)v[i];
        off += q[i] != nearbyintf(v[i]);
      }
      assert_true(fabs(total) <= 0.5 + 1e-3);
      double after_groups = 0;
      for (int g = 0; t > 1 && g + t <= n; g += t) {
        double s = 0, s0 = 0;
        for (int i = g; i < g + t; i++) s += q[i] - (double)v[i], s0 += nearbyintf(v[i]) - (double)v[i];
        need += abs((int)nearbyint(s0));
        loose += fabs(s) > 0.5 + 1e-3 ? (int)ceil(fabs(s) - 0.5 - 1e-3) : 0; /* turns past the group's bound */
        after_groups += s0 - nearbyint(s0);
      }
      if (t == 1)
        for (int i = 0; i < n; i++) after_groups += nearbyintf(v[i]) - (double)v[i];
      const int turns_total = abs((int)nearbyint(after_groups)) + 1; /* + 1: the float sums' rounding */
      assert_true(off <= need + turns_total);
      assert_true(loose <= turns_total);
    }
  /* Nine taps at 0.4: nearest gives 0 each, 3.6 short; the first four turn up. */
  for (int i = 0; i < 9; i++) v[i] = 0.4f;
  vgg_s8_round_filter(v, 9, 9, q, e);
  const int8_t want[9] = {1, 1, 1, 1, 0, 0, 0, 0, 0};
  assert_memory_equal(q, want, 9);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(threads_bit_identical),
                                     cmocka_unit_test(levels_agree_with_classifier),
                                     cmocka_unit_test(batch_matches_singles), cmocka_unit_test(batch_groups_bit_identical),
                                     cmocka_unit_test(low_precision_nets_bit_identical),
                                     cmocka_unit_test(int8_w4_bound_in_plan),
                                     cmocka_unit_test(band_equals_separate_steps),
                                     cmocka_unit_test(stage_profile),
                                     cmocka_unit_test(overflow_refused), cmocka_unit_test(bad_arguments),
                                     cmocka_unit_test(shared_mapped_weights),
                                     cmocka_unit_test(s8_rounding_keeps_sums)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
