/* Images in: every channel count and bit depth, JPEG/BMP, resizing, both
 * preprocessings, .npy input, and bad files.  Pictures out: .npy and PNG. */
#include "testutil.h"
#include "internal.h"
#include "vggsimd.h"
#include <dirent.h>
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
  vgg_fill(t.data, 7 * 7 * 64, 3);
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

/* ------------------------------------------------------ hostile inputs -- */

#define DATA VGG_SOURCE_ROOT "/tests/data/"

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  rewind(f);
  unsigned char *d = malloc(*len ? *len : 1);
  assert_int_equal(fread(d, 1, *len, f), *len);
  fclose(f);
  return d;
}

/* The sorted regular files of dir (caller frees). */
static int list_dir(const char *dir, char names[][128], int max) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.' && n < max) snprintf(names[n++], 128, "%.127s", e->d_name);
  closedir(d);
  qsort(names, (size_t)n, 128, (int (*)(const void *, const void *))strcmp);
  return n;
}

static void check_range(const vgg_tensor *t) {
  for (size_t i = 0; i < (size_t)t->h * t->w * 3; i++) {
    assert_true(isfinite(t->data[i]));
    assert_true(t->data[i] >= -123.68f && t->data[i] <= 255.0f - 103.939f);
  }
}

/* Every crafted file does what its name says, under every resize mode and a
 * range of sizes: ok_* decodes to finite in-range values, big_* is refused as
 * too large, bad_* as malformed; one line, no tensor. */
static void hostile_files(void **st) {
  (void)st;
  char names[64][128];
  const int n = list_dir(DATA "hostile", names, 64);
  assert_true(n >= 10);
  static const int sizes[] = {32, 224, 1000};
  const int nsizes = getenv("VGGSIMD_EMULATED") ? 2 : 3; /* size 1000 takes minutes under qemu */
  for (int i = 0; i < n; i++) {
    char path[sizeof DATA + 8 + 128]; /* a name from list_dir is at most 127 bytes */
    snprintf(path, sizeof path, DATA "hostile/%.127s", names[i]);
    const vgg_status want = !strncmp(names[i], "ok_", 3) ? VGG_OK : !strncmp(names[i], "big_", 4) ? VGG_ERR_SHAPE
                                                                                                  : VGG_ERR_FORMAT;
    for (int mode = 0; mode < VGG_RESIZE_COUNT; mode++)
      for (int k = 0; k < nsizes; k++) {
        if (want != VGG_OK && (mode || k)) continue; /* refusals do not depend on the output size */
        vgg_image_options o = {sizes[k], (vgg_resize_mode)mode, VGG_PREPROC_CAFFE, 0, 0};
        vgg_error err = {{0}};
        vgg_tensor t = {0};
        const vgg_status s = vgg_image_load(path, &o, &t, &err);
        print_message("%-32s %-11s %4d: %d %s\n", names[i], vgg_resize_names()[mode], sizes[k], s, s ? err.msg : "");
        assert_int_equal(s, want);
        if (s) {
          assert_null(t.data);
          assert_null(strchr(err.msg, '\n'));
          assert_non_null(strstr(err.msg, names[i]));
          continue;
        }
        assert_int_equal(t.h, sizes[k]);
        assert_int_equal(t.w, sizes[k]);
        check_range(&t);
        vgg_tensor_free(&t);
      }
  }
}

/* Every shape resizes, however long an axis (stb_image_resize's float positions broke at 2^24 pixels: an abort):
 * 1 x n and n x 1 pictures of a linear ramp, at and past each limit (2^16, where a long axis starts to be cut;
 * 2^24; the default pixel budget), both modes, the smallest and the largest input size.  Each output pixel must
 * be the ramp's value at the source position it samples, within half a level (the ends excepted, where the
 * clamp flattens the ramp): a wrong offset, scale or box shows there. */
static void resize_limits(void **st) {
  (void)st;
  const int emulated = getenv("VGGSIMD_EMULATED") != NULL;
  const int64_t lens[] = {65536, 65537, (1 << 24) - 1, 1 << 24, (1 << 24) + 1, 1 << 26};
  /* 2^26 pixels and 4096^2 outputs take minutes under qemu and the sanitizers: the native build runs them */
  const int slow = emulated || getenv("VGGSIMD_SANITIZED") != NULL;
  const int nlens = slow ? 5 : 6;
  static const int sizes[] = {32, 4096};
  for (int li = 0; li < nlens; li++)
    for (int tall = 0; tall < 2; tall++) {
      const int64_t n = lens[li];
      vgg_picture pic;
      assert_int_equal(vgg_picture_alloc(&pic, tall ? 1 : (int)n, tall ? (int)n : 1, NULL), VGG_OK);
      for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) pic.rgb[i * 3 + c] = (float)(255.0 * (double)i / (double)(n - 1));
      for (int mode = 0; mode < VGG_RESIZE_COUNT; mode++)
        for (int k = 0; k < 2; k++) {
          const int S = sizes[k];
          if (S > 32 && (slow || n > 1 << 24)) continue; /* a 4096^2 output: natively, once per limit */
          vgg_image_options o = {S, (vgg_resize_mode)mode, VGG_PREPROC_CAFFE, 0, 0};
          vgg_error err = {{0}};
          float *img = vgg_picture_resize(&pic, &o, &err);
          if (!img) print_error("%s %lld, %s, %d: %s\n", tall ? "1 x" : "x 1", (long long)n, vgg_resize_names()[mode], S,
                                err.msg);
          assert_non_null(img);
          /* The long axis is scaled to S (direct, keras) or to S*256/224 * n (crop, torchvision: the short side
           * to S*256/224); the PIL modes (torchvision, keras) work on 8-bit values: half a level more. */
          const int pil = mode == VGG_RESIZE_TORCHVISION || mode == VGG_RESIZE_KERAS;
          const int cropped = mode == VGG_RESIZE_CROP || mode == VGG_RESIZE_TORCHVISION;
          const double scaled = cropped ? (double)llround(S * 256.0 / 224.0) * (double)n : (double)S;
          const double off = mode == VGG_RESIZE_CROP ? floor((scaled - S) / 2) : cropped ? nearbyint((scaled - S) / 2) : 0;
          double worst = 0;
          for (int r = 0; r < S; r++) {
            double src = (off + r + 0.5) * (double)n / scaled - 0.5;
            if (mode == VGG_RESIZE_KERAS) src = floor(src + 0.5); /* the source pixel whose span holds the centre */
            const double want = 255.0 * (src < 0 ? 0 : src > n - 1 ? n - 1 : src) / (double)(n - 1);
            const int edge = (off + r < 3) || (off + r > scaled - 4);
            for (int q = 0; q < S; q++)
              for (int c = 0; c < 3; c++) {
                const float v = img[((size_t)(tall ? r : q) * S + (size_t)(tall ? q : r)) * 3 + c];
                assert_true(v >= 0.0f && v <= 255.0f);
                if (!edge && fabs(v - want) > worst) worst = fabs(v - want);
              }
          }
          print_message("%s %9lld, %-11s %4d: worst %.3g levels from the ramp\n", tall ? "1 x" : "x 1", (long long)n,
                        vgg_resize_names()[mode], S, worst);
          assert_true(worst <= (pil ? 1.0 : 0.5));
          vgg_free(img);
        }
      vgg_free(pic.rgb);
    }
}

/* A file cut short is refused, or (when only trailing bytes the picture does
 * not need are gone) decodes to exactly the full file's values: never zeros
 * standing in for the missing data. */
static void truncated_files(void **st) {
  (void)st;
  char names[64][128];
  const int n = list_dir(DATA "formats", names, 64);
  assert_true(n >= 12);
  const vgg_image_options o = {32, VGG_RESIZE_DIRECT, VGG_PREPROC_CAFFE, 0, 1};
  for (int i = 0; i < n; i++) {
    char path[sizeof DATA + 8 + 128]; /* a name from list_dir is at most 127 bytes */
    snprintf(path, sizeof path, DATA "formats/%.127s", names[i]);
    size_t len;
    unsigned char *data = slurp(path, &len);
    vgg_error err;
    vgg_tensor full;
    if (vgg_image_decode(path, data, len, &o, &full, &err)) print_error("%s\n", err.msg);
    assert_non_null(full.data);
    check_range(&full);
    int refused = 0, same = 0;
    for (size_t cut = 0; cut < len; cut += cut + 64 < len ? 1 + len / 300 : 1) {
      vgg_tensor t = {0};
      unsigned char *part = malloc(cut ? cut : 1); /* exactly cut bytes: ASan sees a read past them */
      memcpy(part, data, cut);
      const vgg_status s = vgg_image_decode(path, part, cut, &o, &t, &err);
      free(part);
      if (s) {
        assert_null(t.data);
        refused++;
        continue;
      }
      if (memcmp(t.data, full.data, sizeof(float) * 32 * 32 * 3) != 0)
        print_error("%s cut at %zu of %zu bytes decodes to other values\n", names[i], cut, len);
      assert_memory_equal(t.data, full.data, sizeof(float) * 32 * 32 * 3);
      same++;
      vgg_tensor_free(&t);
    }
    print_message("%-18s %6zu bytes: %d cuts refused, %d decode the same\n", names[i], len, refused, same);
    assert_true(refused > 0);
    vgg_tensor_free(&full);
    free(data);
  }
}

/* .npy shapes whose element count wraps or is absurd are refused before any allocation. */
static void npy_shapes(void **st) {
  (void)st;
  static const char *const shapes[] = {"(4294967296, 4294967296, 3)", "(4611686018427387904, 4, 1)",
                                       "(-1, 3)", "(99999999999999999999999, 1)", "(17179869185,)",
                                       "(1, 1, 1, 1, 1, 1, 1, 1, 1)", "(3, x)"};
  char dir[] = "/tmp/vggsimd-npy-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char p[256];
  snprintf(p, sizeof p, "%s/a.npy", dir);
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shapes[i]);
    while ((10 + n + 1) % 64) dict[n++] = ' ';
    dict[n++] = '\n';
    FILE *f = fopen(p, "wb");
    const unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)n, 0};
    fwrite(head, 1, 10, f);
    fwrite(dict, 1, (size_t)n, f);
    static const char body[64];
    fwrite(body, 1, sizeof body, f); /* a 64-byte body */
    fclose(f);
    float *data = (float *)1;
    int64_t sh[8];
    int nd;
    vgg_error err;
    const vgg_status s = vgg_npy_read(p, &data, sh, &nd, &err);
    print_message("shape %-30s -> %d %s\n", shapes[i], s, s ? err.msg : "");
    assert_int_equal(s, VGG_ERR_FORMAT);
    assert_null(data);
    vgg_image_options o = {224, VGG_RESIZE_DIRECT, VGG_PREPROC_CAFFE, 0, 0};
    vgg_tensor t = {0};
    assert_int_not_equal(vgg_image_load(p, &o, &t, &err), VGG_OK);
    assert_null(t.data);
  }
  remove(p);
  rmdir(dir);
}

/* The pixel budget, and JPEG's DCT-domain downscaling against a full decode. */
static void budget_and_jpeg_scaling(void **st) {
  (void)st;
  vgg_error err;
  vgg_tensor t = {0};
  vgg_image_options o = {32, VGG_RESIZE_DIRECT, VGG_PREPROC_CAFFE, 1023, 0};
  assert_int_equal(vgg_image_load(IMG "rgb8.png", &o, &t, &err), VGG_ERR_SHAPE); /* 32x32 = 1024 pixels */
  assert_non_null(strstr(err.msg, "too large"));
  o.max_pixels = 1024;
  assert_int_equal(vgg_image_load(IMG "rgb8.png", &o, &t, &err), VGG_OK);
  vgg_tensor_free(&t);
  o.max_pixels = -1;
  assert_int_equal(vgg_image_load(IMG "rgb8.png", &o, &t, &err), VGG_ERR_ARG);
  /* A 1200x800 photo for 224 (and crop's 256): decoded at 1/2 (600x400 covers both); a
   * 300x200 budget is enough at 1/4 only for a 64 output. */
  for (int mode = 0; mode < 2; mode++) {
    vgg_tensor a, b;
    vgg_image_options fast = {224, (vgg_resize_mode)mode, VGG_PREPROC_CAFFE, 0, 0}, full = fast;
    full.full_decode = 1;
    assert_int_equal(vgg_image_load(IMG "large_1200x800.jpg", &fast, &a, &err), VGG_OK);
    assert_int_equal(vgg_image_load(IMG "large_1200x800.jpg", &full, &b, &err), VGG_OK);
    double worst = 0, sum = 0;
    for (int i = 0; i < 224 * 224 * 3; i++) {
      worst = tu_max(worst, fabsf(a.data[i] - b.data[i]));
      sum += fabsf(a.data[i] - b.data[i]);
    }
    print_message("%s: DCT-scaled vs full decode: mean |diff| %.3f, worst %.1f of 255\n", mode ? "crop" : "direct",
                  sum / (224 * 224 * 3), worst);
    assert_true(sum / (224 * 224 * 3) < 2.0);
    vgg_tensor_free(&a);
    vgg_tensor_free(&b);
  }
  vgg_image_options small = {64, VGG_RESIZE_DIRECT, VGG_PREPROC_CAFFE, 300 * 200, 0};
  assert_int_equal(vgg_image_load(IMG "large_1200x800.jpg", &small, &t, &err), VGG_OK);
  vgg_tensor_free(&t);
  small.full_decode = 1;
  assert_int_equal(vgg_image_load(IMG "large_1200x800.jpg", &small, &t, &err), VGG_ERR_SHAPE);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(channel_counts_and_depths), cmocka_unit_test(torch_preprocessing),
                                     cmocka_unit_test(resizing), cmocka_unit_test(npy_input),
                                     cmocka_unit_test(bad_inputs), cmocka_unit_test(outputs),
                                     cmocka_unit_test(hostile_files), cmocka_unit_test(resize_limits), cmocka_unit_test(truncated_files),
                                     cmocka_unit_test(npy_shapes), cmocka_unit_test(budget_and_jpeg_scaling)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
