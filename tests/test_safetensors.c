/* safetensors: round trips in both namings, layout conversion, F16/BF16
 * widening, and every kind of malformed file. */
#include "testutil.h"
#include "safetensors.h"
#include <unistd.h>

static char tmpdir[256];

static const char *tpath(const char *name) {
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
  return buf[k];
}

/* Writes 8-byte length + header + data, exactly as given. */
static void raw_file(const char *path, const char *header, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  uint64_t len = strlen(header);
  fwrite(&len, 8, 1, f);
  fwrite(header, 1, len, f);
  if (n) fwrite(data, 1, n, f);
  fclose(f);
}

/* Opens a file and expects failure with `needle` in the message. */
static void expect_bad(const char *path, const char *needle) {
  st_file sf;
  vgg_error err = {{0}};
  vgg_status s = st_open(path, &sf, &err);
  if (s == VGG_OK) st_close(&sf);
  if (s == VGG_OK || !strstr(err.msg, needle)) print_error("expected '%s', got (%d) '%s'\n", needle, s, err.msg);
  assert_int_not_equal(s, VGG_OK);
  assert_non_null(strstr(err.msg, needle));
  assert_null(strchr(err.msg, '\n'));
}

static void header_errors(void **st) {
  (void)st;
  float d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const char *p = tpath("h.safetensors");
  /* valid */
  raw_file(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":{\"k\":\"v\"}}", d, 8);
  st_file sf;
  vgg_error err;
  assert_int_equal(st_open(p, &sf, &err), VGG_OK);
  float got[2];
  assert_int_equal(st_read(&sf, st_find(&sf, "a"), 0, 2, got, &err), VGG_OK);
  assert_true(got[0] == 1 && got[1] == 2);
  st_close(&sf);

  /* Malformed headers: header, data bytes after it, what the one-line error must say. */
#define T1(dt, shape, off) "\"a\":{\"dtype\":\"" dt "\",\"shape\":[" shape "],\"data_offsets\":[" off "]"
  static const struct {
    const char *header;
    size_t bytes;
    const char *needle;
  } bad[] = {
    {"{" T1("F32", "2", "0,8") "}", 8, "bad safetensors header"}, /* unterminated object */
    {"{\"a\": tru}", 0, "bad safetensors header"},
    {"[1,2]", 0, "not a JSON object"},
    {"{" T1("F32", "2", "0,16") "}}", 8, "run past the end"},
    {"{" T1("F32", "2", "0,8") "}," "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlaps"},
    {"{" T1("F32", "2", "0,8") "}," "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20,
     "unused bytes"},
    {"{" T1("F32", "2", "0,8") "}}", 12, "after the last tensor"},
    {"{" T1("F32", "3", "0,8") "}}", 8, "need 12 bytes"},
    {"{" T1("Q7", "2", "0,8") "}}", 8, "unknown dtype"},
    {"{" T1("F32", "2", "8,0") "}}", 8, "reversed"},
    {"{" T1("F32", "2", "0,8") "}," T1("F32", "2", "8,16") "}}", 16, "duplicate tensor"},
    {"{" T1("F32", "2", "0,8") ",\"x\":1}}", 8, "unknown key"},
    {"{" T1("F32", "-2", "0,8") "}}", 8, "non-negative integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "lacks shape"},
  };
#undef T1
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    raw_file(p, bad[i].header, d, bad[i].bytes);
    expect_bad(p, bad[i].needle);
  }

  /* Header length beyond the file, and files too short to hold it. */
  FILE *f = fopen(p, "wb");
  uint64_t big = 1000;
  fwrite(&big, 8, 1, f);
  fwrite("{}", 1, 2, f);
  fclose(f);
  expect_bad(p, "runs past the end of the file");
  f = fopen(p, "wb");
  fwrite("abc", 1, 3, f);
  fclose(f);
  expect_bad(p, "shorter than");
  f = fopen(p, "wb");
  fclose(f);
  expect_bad(p, "shorter than");
  expect_bad(tpath("does-not-exist.safetensors"), "cannot open");
  expect_bad(tmpdir, "is a directory");
}

/* ---- whole-model files built by hand ---- */

typedef struct {
  char name[128];
  const char *dtype;
  int64_t shape[4];
  int ndim;
  void *data;
  size_t bytes;
} entry;

static void write_entries(const char *path, entry *e, int n) {
  size_t cap = 256 + (size_t)n * 256, len = 0, off = 0;
  char *h = malloc(cap);
  len += (size_t)snprintf(h + len, cap - len, "{");
  for (int i = 0; i < n; i++) {
    len += (size_t)snprintf(h + len, cap - len, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", e[i].name,
                            e[i].dtype);
    for (int d = 0; d < e[i].ndim; d++) len += (size_t)snprintf(h + len, cap - len, "%s%lld", d ? "," : "", (long long)e[i].shape[d]);
    len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", off, off + e[i].bytes);
    off += e[i].bytes;
  }
  snprintf(h + len, cap - len, "}");
  FILE *f = fopen(path, "wb");
  uint64_t hl = strlen(h);
  fwrite(&hl, 8, 1, f);
  fwrite(h, 1, hl, f);
  for (int i = 0; i < n; i++) fwrite(e[i].data, 1, e[i].bytes, f);
  fclose(f);
  free(h);
}

static uint16_t to_half(float v) { /* exact for the small multiples of 1/1024 used here */
  uint32_t b;
  memcpy(&b, &v, 4);
  uint16_t sign = (uint16_t)((b >> 16) & 0x8000);
  if (v == 0) return sign;
  int e = (int)((b >> 23) & 0xff) - 127 + 15;
  if (e <= 0) { /* subnormal half */
    uint32_t m = (b & 0x7fffff) | 0x800000;
    return (uint16_t)(sign | (m >> (14 - e)));
  }
  return (uint16_t)(sign | (e << 10) | ((b >> 13) & 0x3ff));
}

/* Tensors of a VGG11 conv base in torch naming; value of element i = ((i*7) % 2049 - 1024) / 1024. */
static int vgg11_entries(const vgg_model *m, entry *e, const char *dtype) {
  int n = 0;
  for (int p = 0; p < vgg_model_num_params(m); p++) {
    const vgg_layer *l = vgg_model_param_layer(m, p);
    for (int b = 0; b < 2; b++) {
      entry *x = &e[n++];
      vgg_param_name(m, p, VGG_NAMING_TORCH, b, x->name, sizeof x->name);
      x->dtype = dtype;
      const int64_t cnt = b ? l->biases : l->weights;
      if (b) x->ndim = 1, x->shape[0] = l->biases;
      else x->ndim = 4, x->shape[0] = l->out_c, x->shape[1] = l->in_c, x->shape[2] = 3, x->shape[3] = 3;
      const int es = !strcmp(dtype, "F32") || !strcmp(dtype, "I32") ? 4 : !strcmp(dtype, "F64") ? 8 : 2;
      x->bytes = (size_t)cnt * es;
      x->data = malloc(x->bytes);
      for (int64_t i = 0; i < cnt; i++) {
        float v = (float)((i * 7) % 2049 - 1024) / 1024.0f;
        if (es == 8) ((double *)x->data)[i] = v + (v ? ldexp(v, -30) : 0.0); /* rounds back to v */
        else if (es == 4) ((float *)x->data)[i] = v;
        else if (!strcmp(dtype, "BF16")) {
          uint32_t bits;
          memcpy(&bits, &v, 4);
          ((uint16_t *)x->data)[i] = (uint16_t)(bits >> 16);
        } else ((uint16_t *)x->data)[i] = to_half(v);
      }
    }
  }
  return n;
}

static void free_entries(entry *e, int n) {
  for (int i = 0; i < n; i++) free(e[i].data);
}

static void expect_load_fails(const vgg_model *m, const char *path, const char *needle) {
  vgg_weights *w = (vgg_weights *)1;
  vgg_error err = {{0}};
  vgg_status s = vgg_weights_load(m, path, 0, &w, &err);
  if (s == VGG_OK || !strstr(err.msg, needle)) print_error("expected '%s', got '%s'\n", needle, err.msg);
  assert_int_not_equal(s, VGG_OK);
  assert_null(w);
  assert_non_null(strstr(err.msg, needle));
}

static void half_widening_and_model_errors(void **st) {
  (void)st;
  vgg_model *m;
  vgg_error err;
  assert_int_equal(vgg_model_create(VGG11, 0, 224, 224, &m, &err), VGG_OK);
  entry e[40];
  const char *p = tpath("m.safetensors");
  const char *dts[4] = {"F32", "F16", "BF16", "F64"};
  for (int k = 0; k < 4; k++) {
    int n = vgg11_entries(m, e, dts[k]);
    write_entries(p, e, n);
    vgg_weights *w;
    assert_int_equal(vgg_weights_load(m, p, 1, &w, &err), VGG_OK);
    /* Element (o, i, ky, kx) of features.0.weight lands at [(ky*3+kx)*I + i]*O + o. */
    const vgg_layer *l = vgg_model_param_layer(m, 1);
    for (int64_t i = 0; i < l->weights; i += 97) {
      const int64_t O = l->out_c, I = l->in_c, o = i / (I * 9), ii = (i / 9) % I, kk = i % 9;
      float v = (float)((i * 7) % 2049 - 1024) / 1024.0f;
      if (k == 2) { /* BF16 truncates */
        uint32_t bits;
        memcpy(&bits, &v, 4);
        bits &= 0xffff0000u;
        memcpy(&v, &bits, 4);
      }
      assert_true(vgg_weights_kernel(w, 1)[(kk * I + ii) * O + o] == v);
    }
    vgg_weights_free(w);
    free_entries(e, n);
  }

  /* Missing, extra, wrong shape, wrong dtype, NaN, mixed naming. */
  int n = vgg11_entries(m, e, "F32");
  write_entries(p, e, n - 1);
  expect_load_fails(m, p, "missing tensor");
  entry extra = e[0];
  snprintf(extra.name, sizeof extra.name, "features.99.weight");
  e[n] = extra;
  write_entries(p, e, n + 1);
  expect_load_fails(m, p, "unexpected tensor 'features.99.weight'");
  e[n] = extra;
  snprintf(e[n].name, sizeof e[n].name, "block1_conv1/kernel");
  write_entries(p, e, n + 1);
  expect_load_fails(m, p, "mixes torchvision");
  e[0].shape[3] = 1, e[0].shape[2] = 9; /* same bytes, wrong shape */
  write_entries(p, e, n);
  expect_load_fails(m, p, "has shape [64,3,9,1], expected [64,3,3,3]");
  e[0].shape[3] = 3, e[0].shape[2] = 3;
  e[1].dtype = "I32";
  write_entries(p, e, n);
  expect_load_fails(m, p, "is I32");
  e[1].dtype = "F32";
  ((float *)e[2].data)[5] = NAN;
  write_entries(p, e, n);
  expect_load_fails(m, p, "non-finite");
  ((float *)e[2].data)[5] = 0;
  free_entries(e, n);
  n = vgg11_entries(m, e, "F64"); /* a double beyond float's range narrows to Inf: refused the same way */
  ((double *)e[2].data)[7] = 1e300;
  write_entries(p, e, n);
  expect_load_fails(m, p, "non-finite");
  raw_file(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "abcd", 4);
  expect_load_fails(m, p, "no VGG tensors");
  free_entries(e, n);
  vgg_model_free(m);
}

/* Reads element `i` of tensor `name` in a file. */
static float file_value(const char *path, const char *name, uint64_t i) {
  st_file sf;
  vgg_error err;
  assert_int_equal(st_open(path, &sf, &err), VGG_OK);
  const st_tensor *t = st_find(&sf, name);
  assert_non_null(t);
  float v;
  assert_int_equal(st_read(&sf, t, i, 1, &v, &err), VGG_OK);
  st_close(&sf);
  return v;
}

static void round_trip_both_namings(void **st) {
  (void)st;
  vgg_model *m;
  vgg_error err;
  assert_int_equal(vgg_model_create(VGG11, 1, 224, 224, &m, &err), VGG_OK);
  vgg_weights *w, *wt, *wk;
  assert_int_equal(vgg_weights_init(m, 123, 0, &w, &err), VGG_OK);
  const char *pt = tpath("t.safetensors"), *pk = tpath("k.safetensors");
  assert_int_equal(vgg_weights_save(w, pt, VGG_NAMING_TORCH, &err), VGG_OK);
  assert_int_equal(vgg_weights_save(w, pk, VGG_NAMING_KERAS, &err), VGG_OK);
  assert_int_equal(vgg_weights_load(m, pt, 2, &wt, &err), VGG_OK);
  assert_int_equal(vgg_weights_load(m, pk, 0, &wk, &err), VGG_OK);
  assert_int_equal(vgg_weights_naming(wt), VGG_NAMING_TORCH);
  assert_int_equal(vgg_weights_naming(wk), VGG_NAMING_KERAS);
  for (int p = 0; p < vgg_model_num_params(m); p++) {
    const vgg_layer *l = vgg_model_param_layer(m, p);
    assert_memory_equal(vgg_weights_kernel(w, p), vgg_weights_kernel(wt, p), l->weights * 4);
    assert_memory_equal(vgg_weights_kernel(w, p), vgg_weights_kernel(wk, p), l->weights * 4);
    assert_memory_equal(vgg_weights_bias(w, p), vgg_weights_bias(wt, p), l->biases * 4);
  }
  /* The files hold the frameworks' layouts.  torch fc1: [out][c*49 + y*7 + x];
   * Keras fc1: [(y*7+x)*512 + c][out]; engine: [out][(y*7+x)*512 + c]. */
  const int fc1 = 8; /* VGG11: 8 convs, then fc1 */
  const float *e = vgg_weights_kernel(w, fc1);
  const int o = 4001, c = 300, y = 5, x = 2;
  const float want = e[(size_t)o * 25088 + (y * 7 + x) * 512 + c];
  assert_true(file_value(pt, "classifier.0.weight", (uint64_t)o * 25088 + c * 49 + y * 7 + x) == want);
  assert_true(file_value(pk, "fc1/kernel", (uint64_t)((y * 7 + x) * 512 + c) * 4096 + o) == want);
  /* conv: torch [o][i][ky][kx], Keras [ky][kx][i][o]. */
  const float *k1 = vgg_weights_kernel(w, 1);
  const int O = 128, I = 64, oo = 77, ii = 33, ky = 2, kx = 1;
  const float cw = k1[((ky * 3 + kx) * I + ii) * O + oo];
  assert_true(file_value(pt, "features.3.weight", ((uint64_t)(oo * I + ii) * 3 + ky) * 3 + kx) == cw);
  assert_true(file_value(pk, "block2_conv1/kernel", ((uint64_t)(ky * 3 + kx) * I + ii) * O + oo) == cw);
  /* Probe. */
  vgg_naming nm;
  int top;
  assert_int_equal(vgg_weights_probe(pk, &nm, &top, &err), VGG_OK);
  assert_int_equal(nm, VGG_NAMING_KERAS);
  assert_int_equal(top, 1);
  /* A full file loads into a conv-base model (its classifier checked, not read), in both namings. */
  vgg_model *base;
  assert_int_equal(vgg_model_create(VGG11, 0, 224, 224, &base, &err), VGG_OK);
  for (int k = 0; k < 2; k++) {
    vgg_weights *wb = NULL;
    const vgg_status sb = vgg_weights_load(base, k ? pk : pt, 1, &wb, &err);
    if (sb) print_error("%s\n", err.msg);
    assert_int_equal(sb, VGG_OK);
    vgg_weights_free(wb);
  }
  /* Truncated copy of a real file. */
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "head -c 1000000 %s > %s", pt, tpath("trunc.safetensors"));
  assert_int_equal(system(cmd), 0);
  expect_bad(tpath("trunc.safetensors"), "run past the end");
  /* A save that cannot happen leaves nothing behind. */
  assert_int_equal(vgg_weights_save(w, tpath("no/such/dir/w.safetensors"), VGG_NAMING_TORCH, &err), VGG_ERR_IO);
  unlink(pt), unlink(pk), unlink(tpath("trunc.safetensors"));
  vgg_weights_free(w), vgg_weights_free(wt), vgg_weights_free(wk);
  vgg_model_free(m), vgg_model_free(base);
}

static void init_is_deterministic(void **st) {
  (void)st;
  vgg_model *m;
  vgg_error err;
  assert_int_equal(vgg_model_create(VGG16, 0, 224, 224, &m, &err), VGG_OK);
  vgg_weights *a, *b, *c;
  assert_int_equal(vgg_weights_init(m, 5, 1, &a, &err), VGG_OK);
  assert_int_equal(vgg_weights_init(m, 5, 2, &b, &err), VGG_OK);
  assert_int_equal(vgg_weights_init(m, 6, 0, &c, &err), VGG_OK);
  for (int p = 0; p < vgg_model_num_params(m); p++) {
    const vgg_layer *l = vgg_model_param_layer(m, p);
    assert_memory_equal(vgg_weights_kernel(a, p), vgg_weights_kernel(b, p), l->weights * 4);
    assert_memory_not_equal(vgg_weights_kernel(a, p), vgg_weights_kernel(c, p), l->weights * 4);
    /* Glorot-uniform bound sqrt(6 / (9 cin + 9 cout)), and a mean near zero. */
    const double lim = sqrt(6.0 / (9.0 * l->in_c + 9.0 * l->out_c));
    double mx = 0, mean = 0;
    for (int64_t i = 0; i < l->weights; i++) {
      mx = tu_max(mx, fabs(vgg_weights_kernel(a, p)[i]));
      mean += vgg_weights_kernel(a, p)[i];
    }
    mean /= (double)l->weights;
    if (!(mx <= lim * (1 + 1e-6) && mx > 0.99 * lim)) print_error("param %d: max %.9g limit %.9g\n", p, mx, lim);
    assert_true(mx <= lim * (1 + 1e-6) && mx > 0.99 * lim);
    assert_true(fabs(mean) < 0.05 * lim);
    for (int64_t i = 0; i < l->biases; i++) assert_true(vgg_weights_bias(a, p)[i] == 0.0f);
  }
  vgg_weights_free(a), vgg_weights_free(b), vgg_weights_free(c);
  vgg_model_free(m);
}

static int setup(void **st) {
  (void)st;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/vggsimd-st-XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **st) {
  (void)st;
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(header_errors), cmocka_unit_test(half_widening_and_model_errors),
                                     cmocka_unit_test(round_trip_both_namings), cmocka_unit_test(init_is_deterministic)};
  return cmocka_run_group_tests(tests, setup, teardown);
}
