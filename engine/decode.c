/* Picture decoders: the bytes of an image file -> RGB float samples 0..255.
 *
 * JPEG goes to libjpeg-turbo and PNG to libspng: both are maintained and fuzzed
 * upstream, and libjpeg-turbo can decode a large photo directly at 1/2, 1/4 or
 * 1/8 of its size.  The other formats (BMP, TGA, PNM, GIF, PSD, HDR) go to
 * stb_image, which its own documentation says is not meant for untrusted
 * input, so it gets the file only behind our checks: a format it is known to
 * handle, found by its signature; a claimed size that the file's bytes can
 * hold; and a read past the end of the data (stb fills it with zeros) is an
 * error.
 *
 * Memory is bounded by the input: every format's pixel count is checked
 * against the caller's pixel budget and against the most pixels its bytes can
 * encode, before anything is allocated for the pixels. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

#include <spng.h>
#include <stb_image.h>
#include <turbojpeg.h>

/* The most pixels one byte of a file can encode, per format: deflate expands
 * at most 1032:1 (PNG: per byte of filtered rows); a Huffman-coded JPEG spends
 * at least one bit on each 8x8 block; TGA and PSD run-length packets cover at
 * most 128 pixels for 2 bytes; an HDR run 127 samples of one of 4 components
 * for 2 bytes; GIF's LZW codes (12 bits at most) stand for at most 4096
 * pixels; BMP packs at most 8 pixels in a byte, binary PNM one. */
#define PNG_MAX_RATIO 1032
#define JPEG_MAX_RATIO 512

typedef struct {
  const char *name;
  const unsigned char *magic;
  size_t len;
  int px_per_byte; /* 0: refused */
} stb_format;

static const stb_format stb_formats[] = {
    {"BMP", (const unsigned char *)"BM", 2, 8},
    {"GIF", (const unsigned char *)"GIF87a", 6, 4096},
    {"GIF", (const unsigned char *)"GIF89a", 6, 4096},
    {"PSD", (const unsigned char *)"8BPS", 4, 64},
    {"HDR", (const unsigned char *)"#?RADIANCE\n", 11, 32},
    {"HDR", (const unsigned char *)"#?RGBE\n", 7, 32},
    {"PNM", (const unsigned char *)"P5", 2, 1},
    {"PNM", (const unsigned char *)"P6", 2, 1},
    /* PBM and the plain-text PNMs (P1-P4, the magic then whitespace), which stb_image does not read. */
    {"PBM and plain-text PNM (P1-P4)", NULL, 0, 0},
    {"Softimage PIC", (const unsigned char *)"\x53\x80\xf6\x34", 4, 0},
};
/* TGA has no signature: whatever else stb_image recognises is taken as TGA. */
static const stb_format stb_tga = {"TGA", NULL, 0, 64};

vgg_status vgg_picture_alloc(vgg_picture *p, int w, int h, vgg_error *err) {
  size_t n;
  p->w = p->stored_w = w, p->h = p->stored_h = h;
  p->rgb = NULL;
  if (w < 1 || h < 1 || !vgg_size_mul(&n, (size_t)w, (size_t)h) || !vgg_size_mul(&n, n, 3) ||
      !(p->rgb = vgg_alloc(n, sizeof(float))))
    return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for a %dx%d image", w, h);
  return VGG_OK;
}

/* The size checks every decoder makes before it allocates pixels: the w x h
 * pixels of the image as stored must fit in what its bytes can encode, and
 * the dw x dh pixels it is decoded to in the caller's budget. */
static vgg_status check_claim(const vgg_decode_request *rq, const char *fmt, uint64_t w, uint64_t h, uint64_t dw,
                              uint64_t dh, uint64_t px_per_byte, vgg_error *err) {
  if (w < 1 || h < 1)
    return vgg_fail(err, VGG_ERR_FORMAT, "%s: %s image of %llux%llu pixels", rq->name, fmt, (unsigned long long)w,
                    (unsigned long long)h);
  if (dw * dh > (uint64_t)rq->max_pixels) /* all four below 2^32 */
    return vgg_fail(err, VGG_ERR_SHAPE, "%s: image of %llux%llu pixels is too large (at most %lld pixels; see --max-pixels)",
                    rq->name, (unsigned long long)dw, (unsigned long long)dh, (long long)rq->max_pixels);
  if (w * h / px_per_byte > rq->len)
    return vgg_fail(err, VGG_ERR_FORMAT,
                    "%s: %s header claims %llux%llu pixels, more than its %zu bytes can hold (truncated or forged)",
                    rq->name, fmt, (unsigned long long)w, (unsigned long long)h, rq->len);
  return VGG_OK;
}

/* ------------------------------------------------------------------ JPEG -- */

static unsigned rd16(const unsigned char *p, int be) { return be ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0]; }
static uint32_t rd32(const unsigned char *p, int be) {
  return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
            : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* The orientation entry of IFD0 of the TIFF structure t[0..n) of an Exif segment, or 1. */
static int tiff_orientation(const unsigned char *t, size_t n) {
  if (n < 8 || !((t[0] == 'I' && t[1] == 'I') || (t[0] == 'M' && t[1] == 'M'))) return 1;
  const int be = t[0] == 'M';
  if (rd16(t + 2, be) != 42) return 1;
  const uint64_t ifd = rd32(t + 4, be);
  if (ifd + 2 > n) return 1;
  const unsigned count = rd16(t + ifd, be);
  for (unsigned i = 0; i < count; i++) {
    const uint64_t e = ifd + 2 + 12 * (uint64_t)i;
    if (e + 12 > n) return 1;
    if (rd16(t + e, be) != 0x0112) continue;
    const unsigned v = rd16(t + e + 8, be); /* a SHORT value sits at the start of the value field */
    return rd16(t + e + 2, be) == 3 && rd32(t + e + 4, be) >= 1 && v >= 1 && v <= 8 ? (int)v : 1;
  }
  return 1;
}

int vgg_jpeg_orientation(const unsigned char *d, size_t n) {
  size_t pos = 2; /* after SOI */
  while (pos + 4 <= n) {
    if (d[pos] != 0xFF) return 1;
    const unsigned char marker = d[pos + 1];
    if (marker == 0xFF) { /* fill byte */
      pos++;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return 1; /* the scan (or the end): the Exif segment comes before */
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { /* no length */
      pos += 2;
      continue;
    }
    const size_t len = (size_t)d[pos + 2] << 8 | d[pos + 3];
    if (len < 2 || pos + 2 + len > n) return 1;
    if (marker == 0xE1 && len >= 2 + 6 + 8 && !memcmp(d + pos + 4, "Exif\0\0", 6))
      return tiff_orientation(d + pos + 10, len - 8);
    pos += 2 + len;
  }
  return 1;
}

/* p turned as EXIF orientation o says (2..8: mirrored, rotated or both), in a new buffer; 0 out of memory. */
static int orient_picture(vgg_picture *p, int o) {
  if (o <= 1 || o > 8) return 1;
  const int W = p->w, H = p->h, swap = o >= 5;
  const int ow = swap ? H : W, oh = swap ? W : H;
  float *dst = vgg_alloc((size_t)W * H * 3, sizeof(float));
  if (!dst) return 0;
  for (size_t y = 0; y < (size_t)oh; y++)
    for (size_t x = 0; x < (size_t)ow; x++) {
      size_t sx, sy; /* the stored pixel that shows at (x, y) upright */
      switch (o) {
      case 2: sx = W - 1 - x, sy = y; break;
      case 3: sx = W - 1 - x, sy = H - 1 - y; break;
      case 4: sx = x, sy = H - 1 - y; break;
      case 5: sx = y, sy = x; break;
      case 6: sx = y, sy = H - 1 - x; break;
      case 7: sx = W - 1 - y, sy = H - 1 - x; break;
      default: sx = W - 1 - y, sy = x; break; /* 8 */
      }
      memcpy(dst + (y * ow + x) * 3, p->rgb + (sy * W + sx) * 3, 3 * sizeof(float));
    }
  vgg_free(p->rgb);
  p->rgb = dst, p->w = ow, p->h = oh;
  return 1;
}


static vgg_status decode_jpeg(const vgg_decode_request *rq, vgg_picture *out, vgg_error *err) {
  tjhandle tj = tjInitDecompress();
  if (!tj) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for a JPEG decoder");
  vgg_status s = VGG_OK;
  unsigned char *pix = NULL;
  int w, h, sub, cs;
  if (tjDecompressHeader3(tj, rq->data, (unsigned long)rq->len, &w, &h, &sub, &cs) != 0) {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: cannot decode image (JPEG: %s)", rq->name, tjGetErrorStr2(tj));
    goto done;
  }
  /* The smallest of 1/8, 1/4, 1/2 that still leaves the resize only shrinking. */
  int sw = w, sh = h;
  if (!rq->full_size)
    for (int denom = 8; denom >= 2; denom /= 2) {
      const int cw = (w + denom - 1) / denom, ch = (h + denom - 1) / denom;
      if (cw >= rq->min_w && ch >= rq->min_h) {
        sw = cw, sh = ch;
        break;
      }
    }
  if ((s = check_claim(rq, "JPEG", (uint64_t)w, (uint64_t)h, (uint64_t)sw, (uint64_t)sh, JPEG_MAX_RATIO, err)))
    goto done;
  const int cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
  const int bpp = cmyk ? 4 : 3;
  size_t n;
  if (!vgg_size_mul(&n, (size_t)sw * sh, (size_t)bpp) || !(pix = malloc(n))) {
    s = vgg_fail(err, VGG_ERR_NOMEM, "out of memory for a %dx%d image", sw, sh);
    goto done;
  }
  /* A warning (premature end of data, a corrupt segment) stops the decode: a
   * truncated photo is an error, not an image padded with grey. */
  if (tjDecompress2(tj, rq->data, (unsigned long)rq->len, pix, sw, 0, sh, cmyk ? TJPF_CMYK : TJPF_RGB,
                    TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: cannot decode image (JPEG: %s)", rq->name, tjGetErrorStr2(tj));
    goto done;
  }
  if ((s = vgg_picture_alloc(out, sw, sh, err))) goto done;
  out->stored_w = w, out->stored_h = h;
  const size_t np = (size_t)sw * sh;
  if (cmyk) {
    /* Adobe's CMYK JPEGs store inverted inks: R = C * K / 255 etc. */
    for (size_t i = 0; i < np; i++) {
      const unsigned char *p = pix + 4 * i;
      for (int c = 0; c < 3; c++) out->rgb[3 * i + c] = (float)(p[c] * p[3]) / 255.0f;
    }
  } else {
    for (size_t i = 0; i < 3 * np; i++) out->rgb[i] = pix[i];
  }
  if (!rq->keep_orientation && !orient_picture(out, vgg_jpeg_orientation(rq->data, rq->len))) {
    vgg_free(out->rgb);
    out->rgb = NULL;
    s = vgg_fail(err, VGG_ERR_NOMEM, "out of memory for a %dx%d image", sw, sh);
  }
done:
  free(pix);
  tjDestroy(tj);
  return s;
}

/* ------------------------------------------------------------------- PNG -- */

static vgg_status decode_png(const vgg_decode_request *rq, vgg_picture *out, vgg_error *err) {
  spng_ctx *ctx = spng_ctx_new(0);
  if (!ctx) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for a PNG decoder");
  vgg_status s = VGG_OK;
  void *pix = NULL;
  struct spng_ihdr ihdr;
  int e;
  /* Ancillary chunks (text, ICC profiles) are kept to a few MB however much the file asks for. */
  if ((e = spng_set_png_buffer(ctx, rq->data, rq->len)) || (e = spng_set_chunk_limits(ctx, rq->len, 8u << 20)) ||
      (e = spng_get_ihdr(ctx, &ihdr))) {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: cannot decode image (PNG: %s)", rq->name, spng_strerror(e));
    goto done;
  }
  /* Bytes of filtered rows (a filter byte each): what deflate must produce. */
  static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
  const int ch = ihdr.color_type <= 6 ? channels[ihdr.color_type] : 1;
  const uint64_t row = ((uint64_t)ihdr.width * (ch ? ch : 1) * ihdr.bit_depth + 7) / 8 + 1;
  const uint64_t px_per_byte = ((uint64_t)ihdr.width * PNG_MAX_RATIO + row - 1) / row;
  if ((s = check_claim(rq, "PNG", ihdr.width, ihdr.height, ihdr.width, ihdr.height, px_per_byte ? px_per_byte : 1, err))) goto done;
  const int fmt = ihdr.bit_depth == 16 ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8;
  size_t len;
  if ((e = spng_decoded_image_size(ctx, fmt, &len))) {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: cannot decode image (PNG: %s)", rq->name, spng_strerror(e));
    goto done;
  }
  if (!(pix = malloc(len))) {
    s = vgg_fail(err, VGG_ERR_NOMEM, "out of memory for a %ux%u image", ihdr.width, ihdr.height);
    goto done;
  }
  /* Alpha is dropped, not composited (as for every other format). */
  if ((e = spng_decode_image(ctx, pix, len, fmt, 0))) {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: cannot decode image (PNG: %s)", rq->name, spng_strerror(e));
    goto done;
  }
  if ((s = vgg_picture_alloc(out, (int)ihdr.width, (int)ihdr.height, err))) goto done;
  const size_t np = (size_t)ihdr.width * ihdr.height;
  if (fmt == SPNG_FMT_RGBA16) {
    const uint16_t *p = pix; /* 16-bit samples keep their precision: v/257, not v>>8 */
    for (size_t i = 0; i < np; i++)
      for (int c = 0; c < 3; c++) out->rgb[3 * i + c] = p[4 * i + c] / 257.0f;
  } else {
    const unsigned char *p = pix;
    for (size_t i = 0; i < np; i++)
      for (int c = 0; c < 3; c++) out->rgb[3 * i + c] = p[4 * i + c];
  }
done:
  free(pix);
  spng_ctx_free(ctx);
  return s;
}

/* -------------------------------------------------------------- stb_image -- */

typedef struct {
  const unsigned char *data;
  size_t len, pos;
  int overrun; /* stb asked for bytes past the end */
} stb_reader;

/* stb reads through its 128-byte buffer, which may legitimately come back
 * short at the end of the file; any other read (a block of pixel data) that
 * cannot be filled, or any read at the end, means the data was cut short. */
#define STB_BUFFER_READ 128

static int stb_read(void *user, char *dst, int size) {
  stb_reader *r = user;
  size_t n = r->len - r->pos < (size_t)size ? r->len - r->pos : (size_t)size;
  if (n == 0 || (n < (size_t)size && size != STB_BUFFER_READ)) r->overrun = 1;
  memcpy(dst, r->data + r->pos, n);
  r->pos += n;
  return (int)n;
}

static void stb_skip(void *user, int n) {
  stb_reader *r = user;
  if (n < 0) r->pos = (size_t)-n > r->pos ? 0 : r->pos + n;
  else r->pos = (size_t)n > r->len - r->pos ? r->len : r->pos + n;
}

static int stb_eof(void *user) {
  const stb_reader *r = user;
  return r->pos >= r->len;
}

static const stbi_io_callbacks stb_io = {stb_read, stb_skip, stb_eof};

static vgg_status decode_stb(const vgg_decode_request *rq, const stb_format *f, vgg_picture *out, vgg_error *err) {
  if (!f->px_per_byte)
    return vgg_fail(err, VGG_ERR_FORMAT, "%s: %s images are not supported", rq->name, f->name);
  stb_reader r = {rq->data, rq->len, 0, 0};
  int w, h, comp;
  if (!stbi_info_from_callbacks(&stb_io, &r, &w, &h, &comp))
    return f->magic ? vgg_fail(err, VGG_ERR_FORMAT, "%s: cannot decode image (%s: %s)", rq->name, f->name, stbi_failure_reason())
                    : vgg_fail(err, VGG_ERR_FORMAT, "%s: not an image this build reads (JPEG, PNG, BMP, TGA, PNM, GIF, PSD, HDR or .npy)", rq->name);
  vgg_status s = check_claim(rq, f->name, (uint64_t)w, (uint64_t)h, (uint64_t)w, (uint64_t)h, (uint64_t)f->px_per_byte, err);
  if (s) return s;
  r = (stb_reader){rq->data, rq->len, 0, 0};
  const int is16 = stbi_is_16_bit_from_callbacks(&stb_io, &r);
  r = (stb_reader){rq->data, rq->len, 0, 0};
  /* Channels as stored (req_comp 0): stb 2.27 converts 16-bit PNM channels
   * with its 8-bit routine, into a buffer half the size. */
  void *pix = is16 ? (void *)stbi_load_16_from_callbacks(&stb_io, &r, &w, &h, &comp, 0)
                   : (void *)stbi_load_from_callbacks(&stb_io, &r, &w, &h, &comp, 0);
  if (!pix) return vgg_fail(err, VGG_ERR_FORMAT, "%s: cannot decode image (%s: %s)", rq->name, f->name, stbi_failure_reason());
  if (r.overrun) s = vgg_fail(err, VGG_ERR_FORMAT, "%s: cannot decode image (%s: data ends early: truncated file)", rq->name, f->name);
  else if (comp < 1 || comp > 4) s = vgg_fail(err, VGG_ERR_FORMAT, "%s: %s image with %d channels", rq->name, f->name, comp);
  else if (!(s = vgg_picture_alloc(out, w, h, err))) {
    /* Gray is replicated, alpha dropped. */
    const size_t np = (size_t)w * h;
    const int step = comp, gray = comp < 3;
    const float scale = is16 ? 1.0f / 257.0f : 1.0f;
    for (size_t i = 0; i < np; i++)
      for (int c = 0; c < 3; c++) {
        const size_t k = i * step + (gray ? 0 : c);
        out->rgb[3 * i + c] = (is16 ? ((const stbi_us *)pix)[k] : ((const stbi_uc *)pix)[k]) * scale;
      }
  }
  stbi_image_free(pix);
  return s;
}

/* ------------------------------------------------------------------ entry -- */

static int has_magic(const vgg_decode_request *rq, const void *magic, size_t n) {
  return rq->len >= n && memcmp(rq->data, magic, n) == 0;
}

/* What the first bytes say: JPEG_SIG, PNG_SIG, stb_formats[i] as i, or NO_SIG (TGA, which has none, or nothing). */
enum { JPEG_SIG = -3, PNG_SIG = -2, NO_SIG = -1 };
static int signature(const vgg_decode_request *rq) {
  if (has_magic(rq, "\xff\xd8\xff", 3)) return JPEG_SIG;
  if (has_magic(rq, "\x89PNG\r\n\x1a\n", 8)) return PNG_SIG;
  for (size_t i = 0; i < sizeof stb_formats / sizeof stb_formats[0]; i++) {
    if (stb_formats[i].magic && has_magic(rq, stb_formats[i].magic, stb_formats[i].len)) return (int)i;
    if (!stb_formats[i].magic && rq->len >= 3 && rq->data[0] == 'P' && rq->data[1] >= '1' && rq->data[1] <= '4' &&
        rq->data[2] && strchr(" \t\r\n", rq->data[2]))
      return (int)i;
  }
  return NO_SIG;
}

int vgg_picture_signature(const unsigned char *d, size_t n) {
  const vgg_decode_request rq = {.data = d, .len = n};
  if (n < 18 || signature(&rq) != NO_SIG) return 1; /* under 18 bytes: too short to tell, the decoder will */
  /* TGA: a header whose colour-map type, image type and size could be one (wider than what stb_image
   * accepts, so nothing it decodes is turned away here). */
  const int cmap = d[1], type = d[2], w = d[12] | d[13] << 8, h = d[14] | d[15] << 8;
  return cmap <= 1 && (type == 1 || type == 2 || type == 3 || type == 9 || type == 10 || type == 11) && w && h;
}

vgg_status vgg_decode_picture(const vgg_decode_request *rq, vgg_picture *out, vgg_error *err) {
  memset(out, 0, sizeof *out);
  const int sig = signature(rq);
  if (sig == JPEG_SIG) return decode_jpeg(rq, out, err);
  if (sig == PNG_SIG) return decode_png(rq, out, err);
  return decode_stb(rq, sig == NO_SIG ? &stb_tga : &stb_formats[sig], out, err);
}
