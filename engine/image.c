/* Images in (stb_image + stb_image_resize, caffe/torch preprocessing, .npy)
 * and pictures out (.npy, PNG feature-map grids). */
#include "internal.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image_resize.h>
#include <stb_image_write.h>


vgg_status vgg_tensor_alloc(vgg_tensor *t, int n, int h, int w, int c, vgg_error *err) {
  t->n = n, t->h = h, t->w = w, t->c = c;
  size_t count;
  t->data = NULL;
  if (n >= 0 && h >= 0 && w >= 0 && c >= 0 && vgg_size_mul(&count, (size_t)n, (size_t)h) &&
      vgg_size_mul(&count, count, (size_t)w) && vgg_size_mul(&count, count, (size_t)c))
    t->data = vgg_alloc(count, sizeof(float));
  if (!t->data) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for a %dx%dx%dx%d tensor", n, h, w, c);
  return VGG_OK;
}

void vgg_tensor_free(vgg_tensor *t) {
  vgg_free(t->data);
  t->data = NULL;
}

/* ------------------------------------------------------------------- npy -- */

static const char NPY_MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

vgg_status vgg_npy_write(const char *path, const float *data, const int64_t *shape, int ndim, vgg_error *err) {
  char dict[256];
  int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
  size_t count = 1;
  for (int d = 0; d < ndim; d++) {
    n += snprintf(dict + n, sizeof dict - n, "%lld,%s", (long long)shape[d], d + 1 < ndim ? " " : "");
    count *= (size_t)shape[d];
  }
  n += snprintf(dict + n, sizeof dict - n, "), }");
  /* magic(6) + version(2) + len(2) + dict + padding + '\n' is a multiple of 64. */
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  unsigned char head[10];
  memcpy(head, NPY_MAGIC, 6);
  head[6] = 1, head[7] = 0;
  const int hl = n + pad + 1;
  head[8] = (unsigned char)(hl & 0xff), head[9] = (unsigned char)(hl >> 8);
  vgg_outfile o;
  vgg_status s = vgg_outfile_open(&o, path, err);
  if (s) return s;
  char tail[80];
  memset(tail, ' ', sizeof tail);
  tail[pad] = '\n';
  if (!(s = vgg_outfile_write(&o, head, 10, err)) && !(s = vgg_outfile_write(&o, dict, (size_t)n, err)) &&
      !(s = vgg_outfile_write(&o, tail, (size_t)pad + 1, err)) &&
      !(s = vgg_outfile_write(&o, data, count * sizeof(float), err)))
    s = vgg_outfile_commit(&o, err);
  return s;
}

/* Value text following 'key': in a numpy header dict, or NULL. */
static const char *npy_field(const char *dict, const char *key) {
  const char *p = strstr(dict, key);
  if (!p) return NULL;
  p += strlen(key);
  while (*p == ' ' || *p == '\'' || *p == '"') p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

/* A .npy from the stream f of `size` bytes in all, named path in messages (f is left open). */
static vgg_status npy_read_stream(FILE *f, uint64_t size, const char *path, float **data, int64_t *shape, int *ndim,
                                  vgg_error *err) {
  *data = NULL;
  vgg_status s = VGG_OK;
  char *dict = NULL;
  unsigned char head[12];
  if (fread(head, 1, 10, f) != 10 || memcmp(head, NPY_MAGIC, 6) != 0) {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: not a .npy file", path);
    goto done;
  }
  uint32_t hl;
  if (head[6] == 1) hl = head[8] | (uint32_t)head[9] << 8;
  else if (head[6] == 2 || head[6] == 3) {
    if (fread(head + 10, 1, 2, f) != 2) {
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: truncated .npy header", path);
      goto done;
    }
    hl = head[8] | (uint32_t)head[9] << 8 | (uint32_t)head[10] << 16 | (uint32_t)head[11] << 24;
  } else {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: unsupported .npy version %d", path, head[6]);
    goto done;
  }
  if (hl > 65536 || !(dict = malloc(hl + 1)) || fread(dict, 1, hl, f) != hl) {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: truncated or oversized .npy header", path);
    goto done;
  }
  dict[hl] = 0;
  const char *descr = npy_field(dict, "descr");
  if (!descr || strncmp(descr, "'<f4'", 5) != 0) {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: .npy dtype must be little-endian float32 ('<f4')", path);
    goto done;
  }
  const char *fo = npy_field(dict, "fortran_order");
  if (!fo || strncmp(fo, "False", 5) != 0) {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: .npy must be in C order (fortran_order False)", path);
    goto done;
  }
  const char *sh = npy_field(dict, "shape");
  if (!sh || *sh != '(') {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: .npy header has no shape", path);
    goto done;
  }
  sh++;
  *ndim = 0;
  uint64_t count = 1;
  while (1) {
    while (*sh == ' ' || *sh == ',') sh++;
    if (*sh == ')') break;
    char *end;
    errno = 0;
    long long d = strtoll(sh, &end, 10);
    if (end == sh || d < 0 || errno || *ndim == 8) {
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: bad .npy shape", path);
      goto done;
    }
    shape[(*ndim)++] = d;
    /* Checked before it can wrap: every dimension counts, not just the product's low bits. */
    if (__builtin_mul_overflow(count, (uint64_t)d, &count) || count > VGG_NPY_MAX_ELEMS) {
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: .npy array too large", path);
      goto done;
    }
    sh = end;
  }
  const long pos = ftell(f);
  if (pos < 0 || size - (uint64_t)pos != count * 4) {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: .npy holds %llu data bytes, its shape needs %llu", path,
                 (unsigned long long)(size - (uint64_t)pos), (unsigned long long)(count * 4));
    goto done;
  }
  *data = vgg_alloc((size_t)count, sizeof(float));
  if (!*data) {
    s = vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
    goto done;
  }
  if (fread(*data, 4, (size_t)count, f) != count) {
    vgg_free(*data);
    *data = NULL;
    s = vgg_fail(err, VGG_ERR_IO, "%s: read failed", path);
  }
done:
  free(dict);
  return s;
}

vgg_status vgg_npy_read(const char *path, float **data, int64_t *shape, int *ndim, vgg_error *err) {
  *data = NULL;
  FILE *f;
  struct stat sb;
  vgg_status s = vgg_open_read(path, "a .npy file", &f, &sb, err);
  if (s) return s;
  s = !S_ISREG(sb.st_mode) ? vgg_fail(err, VGG_ERR_IO, "%s: not a regular file", path)
                           : npy_read_stream(f, (uint64_t)sb.st_size, path, data, shape, ndim, err);
  fclose(f);
  return s;
}

/* -------------------------------------------------------------- pictures -- */

/* A .npy network input: the size bytes of f (a file, or memory through fmemopen), named path in errors. */
static vgg_status load_npy_input(FILE *f, uint64_t size, const char *path, vgg_tensor *out, vgg_error *err) {
  float *data;
  int64_t shape[8];
  int nd;
  vgg_status s = npy_read_stream(f, size, path, &data, shape, &nd, err);
  if (s) return s;
  const int64_t *hwc = nd == 4 ? shape + 1 : shape;
  if (!((nd == 3) || (nd == 4 && shape[0] == 1)) || hwc[2] != 3 || hwc[0] < 1 || hwc[1] < 1 || hwc[0] > 16384 ||
      hwc[1] > 16384) {
    vgg_free(data);
    return vgg_fail(err, VGG_ERR_SHAPE, "%s: .npy input must have shape (H,W,3) or (1,H,W,3) (NHWC)", path);
  }
  const size_t n = (size_t)(hwc[0] * hwc[1] * 3);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(data[i])) {
      vgg_free(data);
      return vgg_fail(err, VGG_ERR_FORMAT, "%s: .npy input holds a non-finite value (NaN or Inf)", path);
    }
  out->n = 1, out->h = (int)hwc[0], out->w = (int)hwc[1], out->c = 3;
  out->data = data;
  return VGG_OK;
}

/* An RGB float image transposed (w x h -> h x w); NULL when out of memory. */
static float *transpose_rgb(const float *src, int w, int h) {
  float *dst = vgg_alloc((size_t)w * h * 3, sizeof(float));
  if (dst)
    for (size_t y = 0; y < (size_t)h; y++)
      for (size_t x = 0; x < (size_t)w; x++) memcpy(dst + (x * h + y) * 3, src + (y * w + x) * 3, 3 * sizeof(float));
  return dst;
}

/* stb_image_resize places pixels with float arithmetic: past about 2^24 pixels along an axis a pixel's centre
 * is no longer representable and its filter weights stop summing to one (an assertion, from 2^24 up).  No axis
 * longer than VGG_RESIZE_AXIS reaches it: an axis that long is first cut to the part the window's filter reads
 * (the crop of a 1 x 16,777,216 picture reads a few hundred of its rows) and, if still longer, averaged in boxes
 * of k pixels (an edge box repeats the edge pixel, as the resize's edge clamp does).  A box is then far narrower
 * than the filter that follows it (at least 4096/4 = 1024 times in output pixels), so it changes no
 * visible detail; an axis of at most VGG_RESIZE_AXIS pixels, every photo a JPEG can hold, is resized as it is. */
enum { VGG_RESIZE_AXIS = 1 << 16 };

typedef struct {
  int64_t c0;  /* first source pixel kept */
  int64_t len; /* pixels after the reduction */
  int64_t k;   /* source pixels per kept pixel */
} axis_cut;

/* The cut of an axis of n source pixels, scaled by s, whose window starts at o (scaled pixels) and is m long. */
static axis_cut cut_axis(int64_t n, double s, double o, int m) {
  axis_cut a = {0, n, 1};
  if (n <= VGG_RESIZE_AXIS) return a;
  /* The cubic filters reach 2 pixels of the larger grid: 2 source pixels up, 2 output (2/s source) pixels down. */
  const double margin = ceil(2.0 / (s < 1.0 ? s : 1.0)) + 2.0;
  const double lo = floor(o / s - margin), hi = ceil((o + m) / s + margin);
  a.c0 = lo > 0 ? (int64_t)lo : 0;
  const int64_t c1 = hi < (double)n ? (int64_t)hi : n;
  a.k = (c1 - a.c0 + VGG_RESIZE_AXIS - 1) / VGG_RESIZE_AXIS;
  a.len = (c1 - a.c0 + a.k - 1) / a.k;
  return a;
}

/* The kept part of src, each kept pixel the mean of its ax.k x ay.k box (clamped to the cut); NULL out of memory. */
static float *reduce_picture(const vgg_picture *src, axis_cut ax, axis_cut ay) {
  float *dst = vgg_alloc((size_t)(ax.len * ay.len * 3), sizeof(float));
  if (!dst) return NULL;
  const int64_t xe = ax.c0 + ax.len * ax.k, ye = ay.c0 + ay.len * ay.k; /* one past the cut, box-aligned */
  const int64_t xl = (xe < src->w ? xe : src->w) - 1, yl = (ye < src->h ? ye : src->h) - 1;
  const double inv = 1.0 / ((double)ax.k * (double)ay.k);
  for (int64_t v = 0; v < ay.len; v++)
    for (int64_t u = 0; u < ax.len; u++) {
      double sum[3] = {0, 0, 0};
      for (int64_t y = ay.c0 + v * ay.k; y < ay.c0 + (v + 1) * ay.k; y++)
        for (int64_t x = ax.c0 + u * ax.k; x < ax.c0 + (u + 1) * ax.k; x++) {
          const float *p = src->rgb + ((size_t)(y < yl ? y : yl) * (size_t)src->w + (size_t)(x < xl ? x : xl)) * 3;
          sum[0] += p[0], sum[1] += p[1], sum[2] += p[2];
        }
      float *q = dst + ((size_t)v * (size_t)ax.len + (size_t)u) * 3;
      q[0] = (float)(sum[0] * inv), q[1] = (float)(sum[1] * inv), q[2] = (float)(sum[2] * inv);
    }
  return dst;
}

/* Resizes an RGB float image (values 0..255) to the ow x oh window at
 * (x0, y0) of the image scaled to sw x sh: the whole of it when they are equal
 * (direct), its centre for torchvision's crop.  Only the window is computed,
 * so a very thin or tall image never becomes a huge intermediate. */
static float *resize_rgb(const vgg_picture *pic, int64_t sw, int64_t sh, int64_t x0, int64_t y0, int ow, int oh,
                         vgg_error *err) {
  float *dst = vgg_alloc((size_t)ow * oh * 3, sizeof(float));
  if (!dst) {
    vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
    return NULL;
  }
  if (sw == pic->w && sh == pic->h && x0 == 0 && y0 == 0 && ow == pic->w && oh == pic->h) {
    memcpy(dst, pic->rgb, sizeof(float) * (size_t)ow * oh * 3);
    return dst;
  }
  double xs = (double)sw / pic->w, ys = (double)sh / pic->h, xo = (double)x0, yo = (double)y0;
  const axis_cut ax = cut_axis(pic->w, xs, xo, ow), ay = cut_axis(pic->h, ys, yo, oh);
  vgg_picture cut = *pic;
  if (ax.len != pic->w || ay.len != pic->h) {
    cut.w = (int)ax.len, cut.h = (int)ay.len;
    cut.rgb = reduce_picture(pic, ax, ay);
    xo -= (double)ax.c0 * xs, yo -= (double)ay.c0 * ys;
    xs *= (double)ax.k, ys *= (double)ay.k;
  }
  const vgg_picture *src = &cut;
  /* stb resizes rows first: about h x max(w, ow) row work, then ow x max(h, oh)
   * column work.  A tall thin image (1 x 60,000 to 1000 x 1000) would be
   * a hundred million row operations; its transpose, rows first, is a few million. */
  const double rows_first = (double)src->h * (src->w > ow ? src->w : ow) + (double)ow * (src->h > oh ? src->h : oh);
  const double cols_first = (double)src->w * (src->h > oh ? src->h : oh) + (double)oh * (src->w > ow ? src->w : ow);
  const int flip = cols_first * 4 < rows_first;
  float *t = flip && src->rgb ? transpose_rgb(src->rgb, src->w, src->h) : NULL;
  float *out = flip ? vgg_alloc((size_t)ow * oh * 3, sizeof(float)) : dst;
  int ok = 0;
  if (src->rgb && (!flip || (t && out))) {
    const int iw = flip ? src->h : src->w, ih = flip ? src->w : src->h, rw = flip ? oh : ow, rh = flip ? ow : oh;
    ok = stbir_resize_subpixel(flip ? t : src->rgb, iw, ih, 0, out, rw, rh, 0, STBIR_TYPE_FLOAT, 3,
                               STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, STBIR_FILTER_DEFAULT,
                               STBIR_FILTER_DEFAULT, STBIR_COLORSPACE_LINEAR, NULL, (float)(flip ? ys : xs),
                               (float)(flip ? xs : ys), (float)(flip ? yo : xo), (float)(flip ? xo : yo));
    if (ok && flip)
      for (size_t y = 0; y < (size_t)oh; y++)
        for (size_t x = 0; x < (size_t)ow; x++) memcpy(dst + (y * ow + x) * 3, out + (x * oh + y) * 3, 3 * sizeof(float));
  }
  vgg_free(t);
  if (flip) vgg_free(out);
  if (cut.rgb != pic->rgb) vgg_free(cut.rgb);
  if (!ok) {
    vgg_free(dst);
    vgg_fail(err, VGG_ERR_NOMEM, "out of memory resizing a %dx%d image to %dx%d", pic->w, pic->h, ow, oh);
    return NULL;
  }
  /* Cubic filters overshoot at sharp edges; keep the 8-bit range, as an 8-bit resize would. */
  for (size_t i = 0; i < (size_t)ow * oh * 3; i++) dst[i] = dst[i] < 0.0f ? 0.0f : dst[i] > 255.0f ? 255.0f : dst[i];
  return dst;
}

/* The size a w x h picture is scaled to before the S x S window is taken. */
static void scaled_size(const vgg_image_options *opt, int64_t w, int64_t h, int64_t *sw, int64_t *sh) {
  const int64_t S = opt->size;
  if (opt->resize != VGG_RESIZE_CROP) {
    *sw = *sh = S;
    return;
  }
  /* torchvision: shorter side to S*256/224; the longer in proportion, never below it. */
  const int64_t s = llround(S * 256.0 / 224.0);
  const int64_t l = llround((double)(w > h ? w : h) * s / (double)(w > h ? h : w));
  *sw = w <= h ? s : (l > s ? l : s);
  *sh = w <= h ? (l > s ? l : s) : s;
}

const char *const *vgg_resize_names(void) {
#define VGG_RESIZE_NAME_(e, name) name,
  static const char *const names[] = {VGG_RESIZE_MODES(VGG_RESIZE_NAME_) NULL};
  return names;
}

/* ------------------------------------------ PIL's filters, from their definition -- *
 * A PIL resize maps output pixel i of an axis to the source centre c = (i + 0.5) * scale (scale = source /
 * output length).  A convolution filter of support r is widened by max(scale, 1), so it averages every source
 * pixel it covers when shrinking (antialiasing); it reads source pixels [(int)(c - R + 0.5), (int)(c + R + 0.5))
 * clamped to the image (R = r * max(scale, 1)), weighs pixel x by filter((x - c + 0.5) / max(scale, 1)) and
 * divides by the sum of the weights.  For 8-bit images the weights become fixed point with 22 fraction bits
 * (rounded half away from zero), each sum starts at one half and is clipped to 0..255 after the shift.  Rows are
 * resampled first (only the source rows the columns pass reads), then columns, 8-bit values in between.
 * Nearest neighbour instead takes source pixel (int)(x0 + scale/2 + i*scale) with the position advanced by
 * repeated addition of scale in double.  Only the window an output needs is computed. */

enum { PIL_BITS = 22 };

typedef struct {
  int64_t *first; /* first source pixel of each output pixel */
  int *count;     /* source pixels read */
  int32_t *w;     /* count weights per output pixel, ksize apart */
  int ksize;
} pil_axis;

static void pil_axis_free(pil_axis *a) {
  free(a->first), free(a->count), free(a->w);
  memset(a, 0, sizeof *a);
}

/* The weights of output pixels [o0, o0 + n) of an axis of in source pixels scaled to out (bilinear). */
static int pil_axis_make(pil_axis *a, int64_t in, int64_t out, int64_t o0, int n) {
  const double scale = (double)in / (double)out, fs = scale < 1.0 ? 1.0 : scale, support = 1.0 * fs;
  a->ksize = (int)ceil(support) * 2 + 1;
  a->first = malloc(sizeof *a->first * (size_t)n);
  a->count = malloc(sizeof *a->count * (size_t)n);
  a->w = calloc((size_t)n * (size_t)a->ksize, sizeof *a->w);
  double *k = malloc(sizeof *k * (size_t)a->ksize);
  if (!a->first || !a->count || !a->w || !k) {
    free(k);
    pil_axis_free(a);
    return 0;
  }
  for (int i = 0; i < n; i++) {
    const double c = ((double)(o0 + i) + 0.5) * scale;
    int64_t x0 = (int64_t)(c - support + 0.5), x1 = (int64_t)(c + support + 0.5);
    if (x0 < 0) x0 = 0;
    if (x1 > in) x1 = in;
    const int m = (int)(x1 - x0);
    double sum = 0.0;
    for (int x = 0; x < m; x++) {
      const double t = fabs(((double)(x + x0) - c + 0.5) / fs);
      k[x] = t < 1.0 ? 1.0 - t : 0.0;
      sum += k[x];
    }
    for (int x = 0; x < m; x++) {
      const double v = (sum != 0.0 ? k[x] / sum : k[x]) * (double)(1 << PIL_BITS);
      a->w[(size_t)i * a->ksize + x] = (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
    }
    a->first[i] = x0, a->count[i] = m;
  }
  free(k);
  return 1;
}

static inline uint8_t pil_clip8(int64_t v) {
  return v >= (int64_t)256 << PIL_BITS ? 255 : v <= 0 ? 0 : (uint8_t)(v >> PIL_BITS);
}

/* The 8-bit value of a picture sample: decoders give 0..255, whole for an 8-bit source; a 16-bit sample v is
 * given as v/257, and PIL reads 16-bit RGB as its high byte, v >> 8. */
static inline int pil_u8(float v) { return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int)lrintf(v * 257.0f) >> 8; }

/* The ow x oh window at (x0, y0) of the picture resized to sw x sh by PIL's bilinear filter, as 0..255 floats. */
static float *pil_bilinear(const vgg_picture *pic, int64_t sw, int64_t sh, int64_t x0, int64_t y0, int ow, int oh,
                           vgg_error *err) {
  pil_axis ax = {0}, ay = {0};
  float *dst = NULL;
  uint8_t *tmp = NULL;
  if (!pil_axis_make(&ax, pic->w, sw, x0, ow) || !pil_axis_make(&ay, pic->h, sh, y0, oh)) goto done;
  /* Rows [r0, r1) of the source are read by the columns pass. */
  const int64_t r0 = ay.first[0], r1 = ay.first[oh - 1] + ay.count[oh - 1];
  const int rows = (int)(r1 - r0);
  const int resample_x = sw != pic->w, resample_y = sh != pic->h; /* an axis kept at its size is only cropped */
  tmp = malloc((size_t)(rows > 0 ? rows : 1) * (size_t)ow * 3);
  dst = vgg_alloc((size_t)ow * oh * 3, sizeof(float));
  if (!tmp || !dst) {
    vgg_free(dst), dst = NULL;
    goto done;
  }
  for (int r = 0; r < rows; r++) {
    const float *src = pic->rgb + (size_t)(r0 + r) * (size_t)pic->w * 3;
    uint8_t *t = tmp + (size_t)r * ow * 3;
    for (int i = 0; i < ow; i++)
      for (int c = 0; c < 3; c++) {
        if (!resample_x) {
          t[i * 3 + c] = (uint8_t)pil_u8(src[(size_t)(x0 + i) * 3 + c]);
          continue;
        }
        int64_t acc = (int64_t)1 << (PIL_BITS - 1);
        const int32_t *k = ax.w + (size_t)i * ax.ksize;
        for (int x = 0; x < ax.count[i]; x++) acc += (int64_t)pil_u8(src[(size_t)(ax.first[i] + x) * 3 + c]) * k[x];
        t[i * 3 + c] = pil_clip8(acc);
      }
  }
  for (int j = 0; j < oh; j++)
    for (int i = 0; i < ow; i++)
      for (int c = 0; c < 3; c++) {
        float *d = dst + ((size_t)j * ow + i) * 3 + c;
        if (!resample_y) {
          *d = tmp[((size_t)(y0 + j - r0) * ow + i) * 3 + c];
          continue;
        }
        int64_t acc = (int64_t)1 << (PIL_BITS - 1);
        const int32_t *k = ay.w + (size_t)j * ay.ksize;
        for (int y = 0; y < ay.count[j]; y++) acc += (int64_t)tmp[((size_t)(ay.first[j] + y - r0) * ow + i) * 3 + c] * k[y];
        *d = pil_clip8(acc);
      }
done:
  free(tmp);
  pil_axis_free(&ax), pil_axis_free(&ay);
  if (!dst) vgg_fail(err, VGG_ERR_NOMEM, "out of memory resizing a %dx%d image to %dx%d", pic->w, pic->h, ow, oh);
  return dst;
}

/* The picture resized to ow x oh by PIL's nearest neighbour, as 0..255 floats. */
static float *pil_nearest(const vgg_picture *pic, int ow, int oh, vgg_error *err) {
  float *dst = vgg_alloc((size_t)ow * oh * 3, sizeof(float));
  int64_t *xs = malloc(sizeof *xs * (size_t)ow);
  if (!dst || !xs) {
    vgg_free(dst), free(xs);
    vgg_fail(err, VGG_ERR_NOMEM, "out of memory resizing a %dx%d image to %dx%d", pic->w, pic->h, ow, oh);
    return NULL;
  }
  const double ax = (double)pic->w / ow, ay = (double)pic->h / oh;
  double p = ax * 0.5;
  for (int i = 0; i < ow; i++, p += ax) xs[i] = (int64_t)p < pic->w ? (int64_t)p : pic->w - 1;
  p = ay * 0.5;
  for (int j = 0; j < oh; j++, p += ay) {
    const int64_t y = (int64_t)p < pic->h ? (int64_t)p : pic->h - 1;
    for (int i = 0; i < ow; i++)
      for (int c = 0; c < 3; c++)
        dst[((size_t)j * ow + i) * 3 + c] = (float)pil_u8(pic->rgb[((size_t)y * pic->w + (size_t)xs[i]) * 3 + c]);
  }
  free(xs);
  return dst;
}

/* torchvision's Resize(s) size: the shorter side to s, the longer to (int)(s * long / short). */
static void torchvision_size(int64_t s, int64_t w, int64_t h, int64_t *sw, int64_t *sh) {
  const int64_t l = (int64_t)((double)s * (double)(w > h ? w : h) / (double)(w > h ? h : w));
  *sw = w <= h ? s : l;
  *sh = w <= h ? l : s;
}

float *vgg_picture_resize(const vgg_picture *pic, const vgg_image_options *opt, vgg_error *err) {
  const int S = opt->size;
  int64_t sw, sh;
  switch (opt->resize) {
  case VGG_RESIZE_KERAS: return pil_nearest(pic, S, S, err);
  case VGG_RESIZE_TORCHVISION:
    torchvision_size(llround(S * 256.0 / 224.0), pic->w, pic->h, &sw, &sh);
    /* CenterCrop: offsets (int)round((side - S) / 2.0), Python's round: halves to even. */
    return pil_bilinear(pic, sw, sh, (int64_t)nearbyint((double)(sw - S) / 2.0),
                        (int64_t)nearbyint((double)(sh - S) / 2.0), S, S, err);
  default:
    scaled_size(opt, pic->w, pic->h, &sw, &sh);
    return resize_rgb(pic, sw, sh, (sw - S) / 2, (sh - S) / 2, S, S, err);
  }
}

static vgg_status check_options(const vgg_image_options *opt, vgg_error *err) {
  if ((unsigned)opt->resize >= VGG_RESIZE_COUNT)
    return vgg_fail(err, VGG_ERR_ARG, "resize mode %d is not one of the %d modes", (int)opt->resize, VGG_RESIZE_COUNT);
  if (opt->size < 32 || opt->size > 4096)
    return vgg_fail(err, VGG_ERR_ARG, "image size %d is out of range (32 to 4096)", opt->size);
  if (opt->max_pixels < 0) return vgg_fail(err, VGG_ERR_ARG, "max_pixels %lld is negative", (long long)opt->max_pixels);
  if ((unsigned)opt->preproc > VGG_PREPROC_NONE)
    return vgg_fail(err, VGG_ERR_ARG, "preprocessing %d is not caffe, torch or none", (int)opt->preproc);
  return VGG_OK;
}

/* The network input of a picture: resized as opt says, then preprocessed (caffe or torch). */
static vgg_status picture_input(const vgg_picture *pic, const vgg_image_options *opt, vgg_tensor *out,
                                vgg_error *err) {
  const int S = opt->size;
  float *img = vgg_picture_resize(pic, opt, err);
  if (!img) return VGG_ERR_NOMEM;
  const size_t np = (size_t)S * S;
  if (opt->preproc == VGG_PREPROC_CAFFE) {
    /* Keras VGG16: RGB -> BGR, subtract the ImageNet BGR means. */
    for (size_t i = 0; i < np; i++) {
      float *p = img + 3 * i;
      const float r = p[0], g = p[1], b = p[2];
      p[0] = b - 103.939f, p[1] = g - 116.779f, p[2] = r - 123.68f;
    }
  } else if (opt->preproc == VGG_PREPROC_TORCH) {
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    for (size_t i = 0; i < np; i++)
      for (int c = 0; c < 3; c++) img[3 * i + c] = (img[3 * i + c] / 255.0f - mean[c]) / std[c];
  }
  out->n = 1, out->h = S, out->w = S, out->c = 3;
  out->data = img;
  return VGG_OK;
}

vgg_status vgg_image_from_rgb(const float *rgb, int w, int h, const vgg_image_options *opt, vgg_tensor *out,
                              vgg_error *err) {
  memset(out, 0, sizeof *out);
  vgg_status s = check_options(opt, err);
  if (s) return s;
  if (w < 1 || h < 1) return vgg_fail(err, VGG_ERR_SHAPE, "a picture of %dx%d pixels", w, h);
  const size_t n = (size_t)w * (size_t)h * 3;
  for (size_t i = 0; i < n; i++)
    if (!(rgb[i] >= 0.0f && rgb[i] <= 255.0f))
      return vgg_fail(err, VGG_ERR_ARG, "pixel value %g at (%zu, %zu) is not from 0 to 255", (double)rgb[i],
                      i / 3 / (size_t)w, i / 3 % (size_t)w);
  const vgg_picture pic = {w, h, (float *)rgb, w, h};
  return picture_input(&pic, opt, out, err);
}

static vgg_status decode_info(const char *name, const unsigned char *data, size_t len, const vgg_image_options *opt,
                              vgg_tensor *out, vgg_image_info *info, vgg_error *err) {
  memset(out, 0, sizeof *out);
  vgg_status s0 = check_options(opt, err);
  if (s0) return s0;
  const int S = opt->size;
  /* The decoder may shrink a JPEG as long as both sides stay at least as large as the scaled size. */
  int64_t mw, mh;
  scaled_size(opt, S, S, &mw, &mh);
  vgg_decode_request rq = {name, data, len, opt->max_pixels ? opt->max_pixels : VGG_DEFAULT_MAX_PIXELS,
                           (int)mw, (int)mh, opt->full_decode, opt->keep_orientation};
  if (opt->resize == VGG_RESIZE_CROP) rq.min_w = rq.min_h = (int)llround(S * 256.0 / 224.0);
  if (opt->resize == VGG_RESIZE_TORCHVISION || opt->resize == VGG_RESIZE_KERAS) rq.full_size = 1; /* as PIL */
  vgg_picture pic;
  vgg_status s = vgg_decode_picture(&rq, &pic, err);
  if (s) return s;
  if (info) info->width = pic.stored_w, info->height = pic.stored_h;
  s = picture_input(&pic, opt, out, err);
  vgg_free(pic.rgb);
  return s;
}

vgg_status vgg_image_decode(const char *name, const unsigned char *data, size_t len, const vgg_image_options *opt,
                            vgg_tensor *out, vgg_error *err) {
  return decode_info(name, data, len, opt, out, NULL, err);
}

/* The first bytes of a pipe or a device: a .npy or something that could be a picture, or refused there. */
static vgg_status stream_head(const unsigned char *data, size_t n, const char *path, vgg_error *err) {
  if ((n >= 6 && memcmp(data, NPY_MAGIC, 6) == 0) || vgg_picture_signature(data, n)) return VGG_OK;
  return vgg_fail(err, VGG_ERR_FORMAT,
                  "%s: cannot decode image (its first bytes are no JPEG, PNG, BMP, GIF, PSD, HDR, PNM, TGA or .npy)",
                  path);
}

vgg_status vgg_image_load_info(const char *path, const vgg_image_options *opt, vgg_tensor *out, vgg_image_info *info,
                               vgg_error *err) {
  memset(out, 0, sizeof *out);
  vgg_status s = check_options(opt, err);
  if (s) return s;
  /* The file is opened once.  A regular file is sniffed first: a .npy is read as it is stored (it may be larger
   * than a picture may), a picture decoded from memory.  A pipe or a device can be read only once: whole, then
   * sniffed. */
  FILE *f;
  struct stat sb;
  if ((s = vgg_open_read(path, "an image", &f, &sb, err))) return s;
  char magic[6];
  if (S_ISREG(sb.st_mode) && fread(magic, 1, 6, f) == 6 && memcmp(magic, NPY_MAGIC, 6) == 0) {
    rewind(f);
    s = load_npy_input(f, (uint64_t)sb.st_size, path, out, err);
    fclose(f);
  } else {
    unsigned char *data = NULL;
    size_t len = 0;
    rewind(f); /* a no-op on a pipe, where nothing was read */
    s = vgg_read_stream(f, &sb, path, VGG_MAX_IMAGE_FILE, "an image", S_ISREG(sb.st_mode) ? NULL : stream_head, &data,
                        &len, err);
    fclose(f);
    if (s) return s;
    if (len < 6 || memcmp(data, NPY_MAGIC, 6) != 0) {
      s = decode_info(path, data, len, opt, out, info, err);
      free(data);
      return s;
    }
    FILE *m = fmemopen(data, len, "rb");
    s = m ? load_npy_input(m, len, path, out, err) : vgg_fail(err, VGG_ERR_NOMEM, "%s: out of memory", path);
    if (m) fclose(m);
    free(data);
  }
  if (!s && info) info->width = out->w, info->height = out->h; /* a .npy is used at its own size */
  return s;
}

vgg_status vgg_image_load(const char *path, const vgg_image_options *opt, vgg_tensor *out, vgg_error *err) {
  return vgg_image_load_info(path, opt, out, NULL, err);
}

/* --------------------------------------------------------- feature maps -- */

static const unsigned char viridis[256][3] = {
#include "viridis.inc"
};

typedef struct {
  vgg_outfile *o;
  vgg_status s;
  vgg_error *err;
} png_sink;

static void png_write_cb(void *ctx, void *data, int size) {
  png_sink *k = ctx;
  if (!k->s) k->s = vgg_outfile_write(k->o, data, (size_t)size, k->err);
}

/* An 8-bit RGB picture to a PNG file, atomically. */
static vgg_status write_png_rgb(const char *path, const unsigned char *pix, int W, int H, vgg_error *err) {
  vgg_outfile o;
  vgg_status s = vgg_outfile_open(&o, path, err);
  if (s) return s;
  png_sink k = {&o, VGG_OK, err};
  if (!stbi_write_png_to_func(png_write_cb, &k, W, H, 3, pix, W * 3))
    s = k.s ? k.s : vgg_fail(err, VGG_ERR_IO, "%s: PNG encoding failed", path);
  else s = k.s;
  if (s) vgg_outfile_abort(&o);
  else s = vgg_outfile_commit(&o, err);
  return s;
}

vgg_status vgg_maps_write_png(const char *path, const vgg_tensor *t, vgg_error *err) {
  const int n = t->c < 64 ? t->c : 64;
  const int cols = n < 8 ? n : 8, rows = (n + cols - 1) / cols;
  const int big = t->h > t->w ? t->h : t->w;
  const int scale = big >= 96 ? 1 : (96 + big - 1) / big;
  const int th = t->h * scale, tw = t->w * scale, gap = 2;
  const int W = cols * tw + (cols + 1) * gap, H = rows * th + (rows + 1) * gap;
  unsigned char *pix = malloc((size_t)W * H * 3);
  if (!pix) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  memset(pix, 24, (size_t)W * H * 3); /* dark gaps */
  for (int k = 0; k < n; k++) {
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < t->h * t->w; i++) {
      const float v = t->data[(size_t)i * t->c + k];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    const float inv = hi > lo ? 255.0f / (hi - lo) : 0.0f;
    const int ox = gap + (k % cols) * (tw + gap), oy = gap + (k / cols) * (th + gap);
    for (int y = 0; y < th; y++)
      for (int x = 0; x < tw; x++) {
        const float v = t->data[((size_t)(y / scale) * t->w + x / scale) * t->c + k];
        int idx = (int)((v - lo) * inv + 0.5f);
        idx = idx < 0 ? 0 : idx > 255 ? 255 : idx;
        memcpy(pix + ((size_t)(oy + y) * W + ox + x) * 3, viridis[idx], 3);
      }
  }
  const vgg_status s = write_png_rgb(path, pix, W, H, err);
  free(pix);
  return s;
}

/* The picture of an input (its preprocessing undone), with heat (h x w values 0..1, or NULL) laid over it. */
static vgg_status write_picture(const char *path, const vgg_tensor *t, vgg_preproc preproc, const float *heat,
                                vgg_error *err) {
  if (t->c != 3 || t->h < 1 || t->w < 1 || !t->data)
    return vgg_fail(err, VGG_ERR_SHAPE, "%s: a picture needs an H x W x 3 input, not %dx%dx%d", path, t->h, t->w, t->c);
  const size_t np = (size_t)t->h * t->w;
  unsigned char *pix = malloc(np * 3);
  if (!pix) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  static const float bgr_mean[3] = {103.939f, 116.779f, 123.68f};
  for (size_t i = 0; i < np; i++)
    for (int c = 0; c < 3; c++) {
      /* Undo the preprocessing: caffe holds BGR minus the means, torch (RGB/255 - mean) / std. */
      float v = preproc == VGG_PREPROC_CAFFE  ? t->data[3 * i + (2 - c)] + bgr_mean[2 - c]
                : preproc == VGG_PREPROC_NONE ? t->data[3 * i + c]
                                              : (t->data[3 * i + c] * std[c] + mean[c]) * 255.0f;
      v = v < 0 ? 0 : v > 255 ? 255 : v;
      if (heat) {
        /* The jet colour map (blue 0, green 0.5, red 1), 45% over the picture, more where the map is high. */
        const float h = heat[i] < 0 ? 0 : heat[i] > 1 ? 1 : heat[i], a = 0.25f + 0.35f * h;
        float j = 1.5f - fabsf(4.0f * h - (float)(3 - c));
        j = j < 0 ? 0 : j > 1 ? 1 : j;
        v = (1 - a) * v + a * 255.0f * j;
      }
      pix[3 * i + c] = (unsigned char)(v + 0.5f);
    }
  const vgg_status s = write_png_rgb(path, pix, t->w, t->h, err);
  free(pix);
  return s;
}

vgg_status vgg_image_write_png(const char *path, const vgg_tensor *t, vgg_preproc preproc, vgg_error *err) {
  return write_picture(path, t, preproc, NULL, err);
}

vgg_status vgg_gradcam_write_png(const char *path, const vgg_tensor *t, vgg_preproc preproc, const float *map,
                                 vgg_error *err) {
  return write_picture(path, t, preproc, map, err);
}

/* ---------------------------------------------------------------- labels -- */

static const char *const imagenet_labels[1000] = {
#include "labels.inc"
};

const char *vgg_imagenet_label(int index) {
  return index >= 0 && index < 1000 ? imagenet_labels[index] : "?";
}

/* Letters equal ignoring case, '_' and ' ' equal. */
static int label_char(int c) { return c == '_' ? ' ' : c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

int vgg_imagenet_class(const char *label) {
  for (int i = 0; label && i < 1000; i++) {
    const char *a = imagenet_labels[i], *b = label;
    while (*a && *b && label_char((unsigned char)*a) == label_char((unsigned char)*b)) a++, b++;
    if (!*a && !*b) return i;
  }
  return -1;
}
