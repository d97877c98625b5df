/* Images in: every channel count and bit depth, JPEG/BMP, resizing, both
 * preprocessings, .npy input, and bad files.  Pictures out: .npy and PNG. */
#include "testutil.h"
#include "vggsimd.h"
#include <sys/stat.h>
#include <unistd.h>

#define IMG VGG_SOURCE_ROOT "/tests/data/img/"

static float pat8(int x, int y, int c) { return (float)((x * 37 + y * 11 + c * 80) % 256); }
static float pat16(int x, int y, int c) { return (float)((x * 9001 + y * 333 + c * 20000) % 65536) / 257.0f; }

static void load_ok(const char *path, vgg_preproc pp, vgg_tensor *t) {
  vgg_image_options o = {32, VGG_RESIZE_DIRECT, pp};
  vgg_error err;
  vgg_status s = vgg_image_load(path, &o, t, &err);
  if (s) print_error("%s: %s\n", path, err.msg);
  assert_int_equal(s, VGG_OK);
  assert_int_equal(t->n, 1);
  assert_int_equal(t->h, 32);
  assert_int_equal(t->w, 32);
  assert_int_equal(t->c, 3);
}

/* Checks caffe output against the pattern: BGR order, ImageNet BGR means. */
static void check_caffe(const vgg_tensor *t, int bits, int gray, float tol) {
  static const float mean[3] = {103.939f, 116.779f, 123.68f};
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++)
      for (int c = 0; c < 3; c++) {
        const int src = gray ? 0 : 2 - c; /* output channel c is BGR */
        const float v = bits == 8 ? pat8(x, y, src) : pat16(x, y, src);
        const float got = t->data[(y * 32 + x) * 3 + c] + mean[c];
        if (fabsf(got - v) > tol) print_error("bits %d gray %d (%d,%d,%d): got %g want %g\n", bits, gray, x, y, c, got, v);
        assert_true(fabsf(got - v) <= tol);
      }
}

static void channel_counts_and_depths(void **s) {
  (void)s;
  static const struct { const char *file; int bits, gray; } cases[] = {
    {IMG "gray8.png", 8, 1},  {IMG "graya8.png", 8, 1},  {IMG "rgb8.png", 8, 0},  {IMG "rgba8.png", 8, 0},
    {IMG "gray16.png", 16, 1}, {IMG "graya16.png", 16, 1}, {IMG "rgb16.png", 16, 0}, {IMG "rgba16.png", 16, 0},
    {IMG "rgb8.bmp", 8, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    vgg_tensor t;
    load_ok(cases[i].file, VGG_PREPROC_CAFFE, &t);
    /* 16-bit samples keep their precision: v/257, not v>>8. */
    check_caffe(&t, cases[i].bits, cases[i].gray, 1e-3f);
    vgg_tensor_free(&t);
  }
  /* JPEG is lossy: close to its smooth gradient x*3 + y*2 + c*50, not exact. */
  vgg_tensor t;
  load_ok(IMG "rgb8.jpg", VGG_PREPROC_CAFFE, &t);
  static const float mean[3] = {103.939f, 116.779f, 123.68f};
  double worst = 0;
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++)
      for (int c = 0; c < 3; c++) {
        const float want = (float)(x * 3 + y * 2 + (2 - c) * 50);
        worst = tu_max(worst, fabsf(t.data[(y * 32 + x) * 3 + c] + mean[c] - want));
      }
  print_message("jpeg: worst |error| %.1f of 255\n", worst);
  assert_true(worst <= 8.0);
  vgg_tensor_free(&t);
}

static void torch_preprocessing(void **s) {
  (void)s;
  vgg_tensor t;
  load_ok(IMG "rgb8.png", VGG_PREPROC_TORCH, &t);
  static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++)
      for (int c = 0; c < 3; c++) {
        const float want = (pat8(x, y, c) / 255.0f - mean[c]) / std[c];
        assert_true(fabsf(t.data[(y * 32 + x) * 3 + c] - want) < 1e-6f);
      }
  vgg_tensor_free(&t);
}

static void resizing(void **s) {
  (void)s;
  vgg_error err;
  for (int mode = 0; mode < 2; mode++) {
    vgg_image_options o = {48, (vgg_resize_mode)mode, VGG_PREPROC_CAFFE};
    vgg_tensor t;
    assert_int_equal(vgg_image_load(IMG "rgb8_40x33.png", &o, &t, &err), VGG_OK);
    assert_int_equal(t.h, 48);
    assert_int_equal(t.w, 48);
    for (int i = 0; i < 48 * 48 * 3; i++) {
      assert_true(isfinite(t.data[i]));
      assert_true(t.data[i] >= -123.68f && t.data[i] <= 255.0f - 103.939f);
    }
    vgg_tensor_free(&t);
  }
}

static void npy_input(void **s) {
  (void)s;
  vgg_image_options o = {224, VGG_RESIZE_DIRECT, VGG_PREPROC_CAFFE};
  vgg_error err;
  const char *good[2] = {IMG "hwc.npy", IMG "nhwc.npy"};
  for (int k = 0; k < 2; k++) {
    vgg_tensor t;
    assert_int_equal(vgg_image_load(good[k], &o, &t, &err), VGG_OK);
    assert_int_equal(t.h, 40); /* used as-is: no resize, no preprocessing */
    assert_int_equal(t.w, 36);
    for (int i = 0; i < 40 * 36 * 3; i++) assert_true(t.data[i] == (float)((i - 2000) / 100.0f));
    vgg_tensor_free(&t);
  }
}

static void expect_fail(const char *path, vgg_status want, const char *needle) {
  vgg_image_options o = {224, VGG_RESIZE_DIRECT, VGG_PREPROC_CAFFE};
  vgg_error err = {{0}};
  vgg_tensor t = {0};
  vgg_status s = vgg_image_load(path, &o, &t, &err);
  if (s != want || !strstr(err.msg, needle)) print_error("%s: status %d, '%s'\n", path, s, err.msg);
  assert_int_equal(s, want);
  assert_non_null(strstr(err.msg, needle));
  assert_null(strchr(err.msg, '\n'));
  assert_null(t.data);
}

static void bad_inputs(void **s) {
  (void)s;
  expect_fail(IMG "corrupt.png", VGG_ERR_FORMAT, "cannot decode");
  expect_fail(IMG "empty.png", VGG_ERR_FORMAT, "empty file");
  expect_fail(IMG "huge.png", VGG_ERR_SHAPE, "too large");
  expect_fail(IMG "big.png", VGG_ERR_SHAPE, "too large");
  expect_fail(IMG "notimage.txt", VGG_ERR_FORMAT, "not an image");
  expect_fail(IMG "missing.png", VGG_ERR_IO, "cannot open");
  expect_fail(IMG, VGG_ERR_IO, "is a directory");
  expect_fail(IMG "bad_f8.npy", VGG_ERR_FORMAT, "float32");
  expect_fail(IMG "bad_c4.npy", VGG_ERR_SHAPE, "(H,W,3)");
  expect_fail(IMG "bad_trunc.npy", VGG_ERR_FORMAT, "data bytes");
  expect_fail(IMG "bad_fortran.npy", VGG_ERR_FORMAT, "C order");
  vgg_image_options o = {8, VGG_RESIZE_DIRECT, VGG_PREPROC_CAFFE};
  vgg_error err;
  vgg_tensor t;
  assert_int_equal(vgg_image_load(IMG "rgb8.png", &o, &t, &err), VGG_ERR_ARG);
}

static void outputs(void **s) {
  (void)s;
  char dir[] = "/tmp/vggsimd-img-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char p[256];
  /* .npy round trip */
  float v[2 * 3 * 4];
  for (int i = 0; i < 24; i++) v[i] = (float)i * 0.5f - 3;
  const int64_t shape[3] = {2, 3, 4};
  snprintf(p, sizeof p, "%s/a.npy", dir);
  vgg_error err;
  assert_int_equal(vgg_npy_write(p, v, shape, 3, &err), VGG_OK);
  float *back;
  int64_t sh[8];
  int nd;
  assert_int_equal(vgg_npy_read(p, &back, sh, &nd, &err), VGG_OK);
  assert_int_equal(nd, 3);
  assert_true(sh[0] == 2 && sh[1] == 3 && sh[2] == 4);
  assert_memory_equal(back, v, sizeof v);
  free(back);
  /* The header is padded to 64 bytes, as numpy writes it. */
  struct stat sb;
  stat(p, &sb);
  assert_int_equal((sb.st_size - 24 * 4) % 64, 0);
  /* PNG grid: 7x7 maps of 64 channels upscaled to 98-pixel tiles with 2-pixel gaps. */
  vgg_tensor t;
  assert_int_equal(vgg_tensor_alloc(&t, 1, 7, 7, 64, &err), VGG_OK);
  tu_fill(t.data, 7 * 7 * 64, 3);
  snprintf(p, sizeof p, "%s/m.png", dir);
  assert_int_equal(vgg_maps_write_png(p, &t, &err), VGG_OK);
  vgg_image_options o = {32, VGG_RESIZE_DIRECT, VGG_PREPROC_CAFFE};
  vgg_tensor back_png;
  /* Read back through the loader only to learn its size: 8*98 + 9*2 = 802. */
  assert_int_equal(vgg_image_load(p, &o, &back_png, &err), VGG_OK);
  vgg_tensor_free(&back_png);
  FILE *f = fopen(p, "rb");
  unsigned char hdr[24];
  assert_int_equal(fread(hdr, 1, 24, f), 24);
  fclose(f);
  assert_int_equal((hdr[16] << 24 | hdr[17] << 16 | hdr[18] << 8 | hdr[19]), 802);
  assert_int_equal((hdr[20] << 24 | hdr[21] << 16 | hdr[22] << 8 | hdr[23]), 802);
  /* Unwritable destination: an error, no file. */
  snprintf(p, sizeof p, "%s/nodir/m.png", dir);
  assert_int_equal(vgg_maps_write_png(p, &t, &err), VGG_ERR_IO);
  vgg_tensor_free(&t);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(channel_counts_and_depths), cmocka_unit_test(torch_preprocessing),
                                     cmocka_unit_test(resizing), cmocka_unit_test(npy_input),
                                     cmocka_unit_test(bad_inputs), cmocka_unit_test(outputs)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
