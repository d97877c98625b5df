/* The int8 kernels: the reference against the real-valued definition
 * (float64), and every level's dot-product kernels bit-exact against the
 * reference on awkward and VGG16 shapes, with guard zones and split work
 * ranges; the u8 pool and the (de)quantisation. */
#include "testutil.h"
#include <math.h>

static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33);
}

/* Bytes with guard zones on both sides. */
#define GB 64
typedef struct {
  uint8_t *base, *p;
  size_t n;
} gbuf;
static gbuf gnew(size_t n) {
  gbuf b = {malloc(n + 2 * GB), NULL, n};
  memset(b.base, 0xA5, n + 2 * GB);
  b.p = b.base + GB;
  return b;
}
static int gok(const gbuf *b) {
  for (size_t i = 0; i < GB; i++)
    if (b->base[i] != 0xA5 || b->base[GB + b->n + i] != 0xA5) return 0;
  return 1;
}

typedef struct {
  int h, w, cin, cout;
  uint8_t *in;
  int8_t *hwio;
  float *scale, *bias;
} icase;

static icase make_case(int h, int w, int cin, int cout, uint64_t seed) {
  icase c = {h, w, cin, cout, malloc((size_t)h * w * cin), malloc((size_t)9 * cin * cout), malloc(sizeof(float) * cout),
             malloc(sizeof(float) * cout)};
  rng_state = seed;
  /* Inputs over the whole u8 range and weights over [-127, 127], as calibration makes them; some zero runs. */
  for (size_t i = 0; i < (size_t)h * w * cin; i++) c.in[i] = (rnd() % 5 == 0) ? 0 : (uint8_t)(rnd() & 255);
  for (size_t i = 0; i < (size_t)9 * cin * cout; i++) c.hwio[i] = (int8_t)((int)(rnd() % 255) - 127);
  /* Scales spreading the outputs over 0..255 and past both ends (clamping tested). */
  for (int o = 0; o < cout; o++) {
    c.scale[o] = (float)(3.0 / (9.0 * cin * 127.0)) * (0.5f + (float)(rnd() % 1000) / 1000.0f);
    c.bias[o] = (float)((int)(rnd() % 301) - 100) + 0.5f * (float)(o & 1); /* some exact .5: ties */
  }
  return c;
}
static void free_case(icase *c) { free(c->in), free(c->hwio), free(c->scale), free(c->bias); }

/* out (h x w x cout) from kernels k, full range, after checking split ranges give the same bytes. */
static void run_kernels(const vgg_i8_kernels *k, const icase *c, uint8_t *out) {
  const size_t nout = (size_t)c->h * c->w * c->cout;
  gbuf packed = gnew(k->packed_size(c->cin, c->cout)), o1 = gnew(nout), o2 = gnew(nout),
       sc = gnew(k->scratch_size ? k->scratch_size(c->w, c->cin) : 0);
  k->pack(c->hwio, c->cin, c->cout, (int8_t *)packed.p);
  assert_true(gok(&packed));
  vgg_i8_conv3x3_args a = {c->in, o1.p, (const int8_t *)packed.p, c->scale, c->bias, c->h, c->w, c->cin, c->cout,
                           k->scratch_size ? sc.p : NULL};
  k->conv(&a, 0, c->h, 0, c->cout);
  assert_true(gok(&o1) && gok(&sc));
  a.out = o2.p;
  const int ym = c->h / 2, ob = k->oc_block, om = c->cout > ob ? ob * ((c->cout / ob + 1) / 2) : c->cout;
  k->conv(&a, 0, ym, 0, om);
  k->conv(&a, ym, c->h, 0, om);
  if (om < c->cout) {
    k->conv(&a, 0, ym, om, c->cout);
    k->conv(&a, ym, c->h, om, c->cout);
  }
  assert_true(gok(&o2) && gok(&sc));
  assert_memory_equal(o1.p, o2.p, nout);
  memcpy(out, o1.p, nout);
  free(packed.base), free(o1.base), free(o2.base), free(sc.base);
}

/* The exact Winograd kernel of k (kernels.h) on case c, after checking split tile rows and channel ranges give
 * the same bytes; its scratch and its output with guard zones. */
static void run_w4(const vgg_i8_kernels *k, const icase *c, uint8_t *out) {
  const size_t nout = (size_t)c->h * c->w * c->cout;
  gbuf packed = gnew(k->w4_packed_size(c->cin, c->cout)), o1 = gnew(nout), o2 = gnew(nout),
       sc = gnew(k->w4_scratch_size(c->w, c->cin));
  k->w4_pack(c->hwio, c->cin, c->cout, (int8_t *)packed.p);
  assert_true(gok(&packed));
  vgg_i8_conv3x3_args a = {c->in, o1.p, (const int8_t *)packed.p, c->scale, c->bias, c->h, c->w, c->cin, c->cout,
                           sc.p};
  const int th = (c->h + 3) / 4;
  k->w4_conv(&a, 0, th, 0, c->cout);
  assert_true(gok(&o1) && gok(&sc));
  a.out = o2.p;
  const int ym = th / 2, ob = k->oc_block, om = c->cout > ob ? ob * ((c->cout / ob + 1) / 2) : c->cout;
  k->w4_conv(&a, 0, ym, 0, om);
  k->w4_conv(&a, ym, th, 0, om);
  if (om < c->cout) {
    k->w4_conv(&a, 0, ym, om, c->cout);
    k->w4_conv(&a, ym, th, om, c->cout);
  }
  assert_true(gok(&o2) && gok(&sc));
  assert_memory_equal(o1.p, o2.p, nout);
  memcpy(out, o1.p, nout);
  free(packed.base), free(o1.base), free(o2.base), free(sc.base);
}

/* The reference against the definition evaluated in float64: each output is
 * the rounded, clamped value, off by at most one where the float32 requantisation
 * rounds a value within 1e-3 of a half differently. */
static void reference_definition(void **state) {
  (void)state;
  const int shapes[][4] = {{1, 1, 4, 1}, {3, 5, 8, 7}, {6, 7, 12, 19}, {5, 4, 64, 33}};
  long near = 0, total = 0;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    icase c = make_case(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], 100 + s);
    const size_t nout = (size_t)c.h * c.w * c.cout;
    uint8_t *out = malloc(nout);
    run_kernels(&vgg_i8_kernels_ref, &c, out);
    for (int y = 0; y < c.h; y++)
      for (int x = 0; x < c.w; x++)
        for (int o = 0; o < c.cout; o++) {
          double sum = 0;
          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
              const int iy = y + ky - 1, ix = x + kx - 1;
              if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
              for (int i = 0; i < c.cin; i++)
                sum += (double)c.in[((size_t)iy * c.w + ix) * c.cin + i] *
                       c.hwio[((size_t)(ky * 3 + kx) * c.cin + i) * c.cout + o];
            }
          const double v = fmin(fmax(sum * c.scale[o] + c.bias[o], 0), 255);
          const double want = nearbyint(v), got = out[((size_t)y * c.w + x) * c.cout + o];
          total++;
          if (got != want) {
            assert_true(fabs(got - want) == 1 && fabs(v - floor(v) - 0.5) < 1e-3);
            near++;
          }
        }
    free(out);
    free_case(&c);
  }
  print_message("reference: %ld outputs, %ld rounded the other way at a near-tie\n", total, near);
}

/* Every level's int8 kernels against the reference, bit for bit: each set the CPU can run (AVX-512 with AMX,
 * AVX512-VNNI and AVX-VNNI, NEON with i8mm and dotprod), not only the one dispatch prefers. */
static void kernels_exact(const vgg_i8_kernels *k) {
  /* Awkward shapes (widths that are not multiples of the tile, channel tails of every size, 1-pixel maps),
   * the VGG16 shapes of blocks 2-5 at reduced map sizes (full width at 28x28) and a row wider than the
   * dotprod kernel's 128-pixel chunk of window sums, and a map the AMX kernel copies in five chunks of rows. */
  const int shapes[][4] = {{1, 1, 4, 1},    {1, 2, 4, 16},   {2, 1, 8, 3},     {3, 5, 4, 17},   {7, 13, 12, 70},
                           {5, 6, 36, 64},  {9, 7, 68, 130}, {13, 11, 20, 48}, {4, 15, 8, 100}, {6, 1, 16, 65},
                           {14, 9, 64, 64}, {8, 28, 64, 128}, {28, 28, 128, 128}, {7, 28, 128, 256},
                           {14, 14, 256, 512}, {14, 14, 512, 512}, {7, 7, 512, 512}, {3, 301, 8, 20},
                           {40, 60, 256, 40}};
  int n = 0;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    icase c = make_case(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], 7 + s);
    const size_t nout = (size_t)c.h * c.w * c.cout;
    uint8_t *got = malloc(nout), *want = malloc(nout);
    run_kernels(k, &c, got);
    run_kernels(&vgg_i8_kernels_ref, &c, want);
    long zero = 0, full = 0;
    for (size_t i = 0; i < nout; i++) zero += want[i] == 0, full += want[i] == 255;
    if (memcmp(got, want, nout)) print_error("%s %dx%d cin %d cout %d differs\n", k->name, c.h, c.w, c.cin, c.cout);
    assert_memory_equal(got, want, nout);
    if (k->w4_conv) {
      if (!vgg_i8_w4_exact(c.hwio, c.cin, c.cout)) { /* halve the weights into its bound, and redo the reference */
        for (size_t i = 0; i < (size_t)9 * c.cin * c.cout; i++) c.hwio[i] = (int8_t)(c.hwio[i] / 2);
        for (int o = 0; o < c.cout; o++) c.scale[o] *= 2;
        assert_true(vgg_i8_w4_exact(c.hwio, c.cin, c.cout));
        run_kernels(&vgg_i8_kernels_ref, &c, want);
      }
      run_w4(k, &c, got);
      if (memcmp(got, want, nout))
        print_error("%s %dx%d cin %d cout %d differs\n", k->w4_name, c.h, c.w, c.cin, c.cout);
      assert_memory_equal(got, want, nout);
    }
    /* The case exercises the range: not all clamped. */
    assert_true(zero + full < (long)nout);
    free(got), free(want);
    free_case(&c);
    n++;
  }
  print_message("%s: %d shapes bit-exact\n", k->name, n);
  if (k->w4_conv) print_message("%s: the same %d shapes bit-exact with the reference\n", k->w4_name, n);
}

/* The int8 dense layer of set k against the reference, bit for bit: awkward input lengths (every tail of the
 * 64-byte stride), output counts that are not multiples of 4, batches 1-9 (the 4-image groups and their
 * tails), each call split in two output ranges, outputs in guard zones; then an image in a batch equals it
 * alone.  Inputs and weights over their whole ranges, so the sums reach both signs and the ReLU cuts. */
static void dense_exact(const vgg_i8_kernels *k) {
  const int shapes[][3] = {{1, 1, 1},   {1, 3, 5},    {1, 63, 7},   {1, 64, 4},    {1, 65, 9},   {2, 100, 13},
                           {3, 129, 17}, {4, 256, 6},  {5, 33, 70},  {8, 500, 31},  {9, 1000, 11}, {1, 25088, 12},
                           {2, 4096, 40}};
  int n = 0;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const int nb = shapes[s][0], ni = shapes[s][1], no = shapes[s][2];
    const size_t st = vgg_i8_dense_stride(ni);
    rng_state = 100 + s;
    uint8_t *x = calloc((size_t)nb * st, 1);
    int8_t *q = malloc((size_t)no * ni), *pk = malloc((size_t)no * st), *pr = malloc((size_t)no * st);
    float *ws = malloc(sizeof(float) * no), *b = malloc(sizeof(float) * no), xs[9];
    for (int i = 0; i < nb; i++)
      for (int j = 0; j < ni; j++) x[(size_t)i * st + j] = (rnd() % 5 == 0) ? 0 : (uint8_t)(rnd() & 255);
    for (size_t i = 0; i < (size_t)no * ni; i++) q[i] = (int8_t)((int)(rnd() % 255) - 127);
    for (int o = 0; o < no; o++) ws[o] = 1e-3f * (0.5f + (float)(rnd() % 1000) / 1000.0f), b[o] = (float)((int)(rnd() % 41) - 20);
    for (int i = 0; i < nb; i++) xs[i] = 0.02f * (float)(i + 1);
    k->dense_pack(q, no, ni, pk);
    vgg_i8_dense_pack_ref(q, no, ni, pr);
    for (int relu = 0; relu <= 1; relu++) {
      gbuf got = gnew(sizeof(float) * nb * no), want = gnew(sizeof(float) * nb * no), one = gnew(sizeof(float) * no);
      float *g = (float *)(void *)got.p, *w = (float *)(void *)want.p, *o1 = (float *)(void *)one.p;
      k->dense(x, xs, nb, pk, ws, b, g, ni, no, relu, 0, no / 3);
      k->dense(x, xs, nb, pk, ws, b, g, ni, no, relu, no / 3, no);
      vgg_i8_dense_ref(x, xs, nb, pr, ws, b, w, ni, no, relu, 0, no);
      if (memcmp(g, w, sizeof(float) * nb * no))
        print_error("%s batch %d %d->%d relu %d differs\n", k->dense_name, nb, ni, no, relu);
      assert_memory_equal(g, w, sizeof(float) * nb * no);
      long neg = 0;
      for (int i = 0; i < nb * no; i++) neg += w[i] < 0;
      assert_true(relu ? neg == 0 : 1);
      for (int i = 0; i < nb; i++) { /* alone */
        k->dense(x + (size_t)i * st, &xs[i], 1, pk, ws, b, o1, ni, no, relu, 0, no);
        assert_memory_equal(o1, w + (size_t)i * no, sizeof(float) * no);
      }
      assert_true(gok(&got) && gok(&want) && gok(&one));
      free(got.base), free(want.base), free(one.base);
    }
    free(x), free(q), free(pk), free(pr), free(ws), free(b);
    n++;
  }
  print_message("%s: %d shapes bit-exact, batched and alone\n", k->dense_name, n);
}

/* The int8 dense reference against its definition, in float64: every output the exact integer sum times the
 * two scales plus the bias, rounded once (fmaf) -- within half an ulp of float32 of the float64 value of
 * (float)sum * (xs * ws) + b. */
static void dense_definition(void **state) {
  (void)state;
  const int nb = 3, ni = 777, no = 29;
  const size_t st = vgg_i8_dense_stride(ni);
  uint8_t *x = calloc((size_t)nb * st, 1);
  int8_t *q = malloc((size_t)no * ni), *p = malloc((size_t)no * st);
  float ws[29], b[29], xs[3] = {0.5f, 0.013f, 3.0f}, y[3 * 29];
  rng_state = 77;
  for (int i = 0; i < nb; i++)
    for (int j = 0; j < ni; j++) x[(size_t)i * st + j] = (uint8_t)(rnd() & 255);
  for (size_t i = 0; i < (size_t)no * ni; i++) q[i] = (int8_t)((int)(rnd() % 255) - 127);
  for (int o = 0; o < no; o++) ws[o] = 1e-4f * (float)(1 + rnd() % 100), b[o] = (float)((int)(rnd() % 21) - 10);
  vgg_i8_dense_pack_ref(q, no, ni, p);
  vgg_i8_dense_ref(x, xs, nb, p, ws, b, y, ni, no, 0, 0, no);
  for (int i = 0; i < nb; i++)
    for (int o = 0; o < no; o++) {
      long long sum = 0;
      for (int j = 0; j < ni; j++) sum += (long long)x[(size_t)i * st + j] * q[(size_t)o * ni + j];
      const double want = (double)(float)sum * (double)(xs[i] * ws[o]) + b[o];
      const double got = y[i * no + o];
      assert_true(fabs(got - want) <= 0.5 * (nextafterf((float)fabs(want), INFINITY) - (float)fabs(want)) + 1e-30);
    }
  free(x), free(q), free(p);
}

static void level_exact(int isa) {
  TU_NEED_LEVEL(isa);
  if (!vgg_i8_kernels_at(isa, 0)) {
    print_message("[  SKIP    ] level %s: no int8 dot-product kernel for this CPU (int8 runs on the reference)\n",
                  vgg_level_name(isa));
    skip();
  }
  for (int n = 0; vgg_i8_kernels_at(isa, n); n++) kernels_exact(vgg_i8_kernels_at(isa, n));
  for (int n = 0; vgg_i8_kernels_at(isa, n); n++) dense_exact(vgg_i8_kernels_at(isa, n));
  /* The level's int8 sets this CPU cannot run (built in, the feature missing) are named, not passed over. */
  const char *set, *kind;
  int level, state;
  for (int i = 0; (set = vgg_set_row(i, &kind, &level, &state)); i++)
    if (state == 1 && level == isa && !strcmp(kind, "INT8"))
      print_message("[  SKIP    ] int8 set %s: its CPU feature is missing here, not tested\n", set);
}

/* The exact Winograd kernels' bound: 255 max(sum of positive weights, -sum of negative) < 2^25 per output
 * channel, at its edge (131586 * 255 < 2^25 <= 131587 * 255) on either side, for one channel of three. */
static void w4_bound(void **state) {
  (void)state;
  const int cin = 116, cout = 3; /* 9 * 116 = 1044 taps */
  int8_t *w = calloc((size_t)9 * cin * cout, 1);
  for (int sign = 1; sign >= -1; sign -= 2)
    for (int extra = 0; extra <= 1; extra++) {
      memset(w, 0, (size_t)9 * cin * cout);
      for (int k = 0; k < 1036; k++) w[(size_t)k * cout + 1] = (int8_t)(sign * 127); /* 131572 */
      w[(size_t)1036 * cout + 1] = (int8_t)(sign * (14 + extra));
      w[(size_t)1037 * cout + 1] = (int8_t)(-sign * 127); /* the other side's sum stays small */
      assert_int_equal(vgg_i8_w4_exact(w, cin, cout), !extra);
    }
  free(w);
}

static void pool_and_quantize(void **state) {
  (void)state;
  const int h = 7, w = 9, c = 5;
  uint8_t in[7 * 9 * 5], out[3 * 4 * 5];
  rng_state = 3;
  for (size_t i = 0; i < sizeof in; i++) in[i] = (uint8_t)rnd();
  vgg_u8_maxpool2x2(in, out, h, w, c, 0, 3);
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 4; x++)
      for (int k = 0; k < c; k++) {
        int m = 0;
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++) {
            const int v = in[((2 * y + dy) * w + 2 * x + dx) * c + k];
            m = v > m ? v : m;
          }
        assert_int_equal(out[(y * 4 + x) * c + k], m);
      }
  const float x[] = {-3.0f, 0.0f, 0.24f, 0.25f, 0.26f, 0.75f, 63.7f, 63.75f, 100.0f, NAN, INFINITY};
  const uint8_t want[] = {0, 0, 1, 1, 1, 3, 255, 255, 255, 0, 255};
  uint8_t q[11];
  float back[11];
  vgg_u8_quantize(x, q, 11, 4.0f); /* 0.25 per step: 0.24 -> 0.96 -> 1; 0.125*4 = 0.5 would round to 0 */
  for (int i = 0; i < 11; i++) assert_int_equal(q[i], want[i]);
  vgg_u8_dequantize(q, back, 11, 0.25f);
  for (int i = 0; i < 11; i++) assert_true(back[i] == q[i] * 0.25f);
  /* Long enough for the vector loop and its tail: halves (to even), both clamps, NaN and infinities anywhere. */
  float xs[203];
  uint8_t qs[203];
  for (int i = 0; i < 203; i++) xs[i] = (float)(i - 40) * 0.75f;
  xs[5] = NAN, xs[17] = -INFINITY, xs[18] = INFINITY, xs[99] = NAN, xs[202] = NAN;
  vgg_u8_quantize(xs, qs, 203, 2.0f);
  for (int i = 0; i < 203; i++) {
    const double y = isnan(xs[i]) ? 0 : fmin(fmax(xs[i] * 2.0, 0), 255);
    assert_int_equal(qs[i], (int)nearbyint(y));
  }
}

/* Each set's own quantisation (where it has one) against vgg_u8_quantize, bit for bit: every length from 0 to 70
 * at an odd offset (the vector loop and each tail), halves, both clamps, NaN and infinities, ties at 0.5 steps. */
static void quantize_sets(void **state) {
  (void)state;
  float x[80];
  for (int i = 0; i < 80; i++) x[i] = (float)(i - 20) * 0.75f + (i % 7 == 0 ? 0.125f : 0.0f);
  x[3] = NAN, x[9] = -INFINITY, x[10] = INFINITY, x[41] = NAN, x[60] = 1e30f, x[61] = -0.0f;
  int tested = 0;
  for (int level = 0; level < VGG_LEVEL_COUNT; level++) {
    if (!vgg_level_usable(level)) continue;
    for (int n = 0; vgg_i8_kernels_at(level, n); n++) {
      const vgg_i8_kernels *k = vgg_i8_kernels_at(level, n);
      if (!k->quantize) continue;
      for (int len = 0; len <= 70; len++)
        for (int s = 0; s < 2; s++) {
          const float inv = s ? 2.0f : 1.0f / 3.0f;
          uint8_t want[80], got[80];
          memset(got, 0xa5, sizeof got), memset(want, 0xa5, sizeof want);
          vgg_u8_quantize(x + 1, want + 1, (size_t)len, inv);
          k->quantize(x + 1, got + 1, (size_t)len, inv);
          assert_memory_equal(want, got, sizeof got); /* the bytes past the end untouched too */
        }
      tested++;
    }
  }
  print_message("quantize: %d kernel sets with their own quantisation, bit-identical to vgg_u8_quantize\n", tested);
}

#define LEVEL_TEST(id, name, needs) \
  static void exact_##name(void **state) { (void)state; level_exact(VGG_LEVEL_##id); }
VGG_LEVELS(LEVEL_TEST)
#undef LEVEL_TEST

#ifdef VGG_HAVE_AVXVNNI_EVEX
/* The AVX-VNNI set's code (direct, exact F(4x4), dense), built a second time with the EVEX forms of its two dot
 * products (tests/meson.build), so that a CPU with AVX512-VNNI but without AVX-VNNI checks it. */
extern const vgg_i8_kernels vgg_set_avxvnni_evex;
static void exact_avxvnni_as_evex(void **state) {
  (void)state;
  const unsigned long long need = vgg_level_needs(VGG_LEVEL_AVX512) | VGG_NEEDS(AVX512VNNI);
  if ((vgg_cpu_get()->has & need) != need) {
    print_message("[  SKIP    ] the AVX-VNNI set's EVEX build needs AVX512-VNNI: not tested\n");
    skip();
  }
  kernels_exact(&vgg_set_avxvnni_evex);
  dense_exact(&vgg_set_avxvnni_evex);
}
#define AVXVNNI_EVEX_TEST cmocka_unit_test(exact_avxvnni_as_evex),
#else
#define AVXVNNI_EVEX_TEST
#endif

int main(void) {
#define VGG_X_ENTRY(id, name, needs) cmocka_unit_test(exact_##name),
  const struct CMUnitTest tests[] = {cmocka_unit_test(reference_definition), cmocka_unit_test(pool_and_quantize), cmocka_unit_test(quantize_sets), cmocka_unit_test(w4_bound),
                                     cmocka_unit_test(dense_definition),
                                     VGG_LEVELS(VGG_X_ENTRY) AVXVNNI_EVEX_TEST};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
