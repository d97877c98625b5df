/* safetensors reader (strict: every malformed header is an error with one
 * line of explanation) and writer. */
#include "safetensors.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER (100u << 20) /* the format's own limit */
#define ST_MAX_TENSORS 4096

/* ------------------------------------------------------------ JSON parse -- */

typedef struct {
  const char *p, *end;
  const char *path;
  vgg_error *err;
} jp;

static vgg_status jfail(jp *j, const char *what) {
  return vgg_fail(j->err, VGG_ERR_FORMAT, "%s: bad safetensors header: %s", j->path, what);
}

static void jws(jp *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int jeat(jp *j, char c) {
  jws(j);
  if (j->p < j->end && *j->p == c) {
    j->p++;
    return 1;
  }
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Parses a JSON string into out (UTF-8), failing if it does not fit. */
static vgg_status jstring(jp *j, char *out, size_t cap) {
  jws(j);
  if (j->p >= j->end || *j->p != '"') return jfail(j, "expected a string");
  j->p++;
  size_t n = 0;
  while (1) {
    if (j->p >= j->end) return jfail(j, "unterminated string");
    unsigned char c = (unsigned char)*j->p++;
    if (c == '"') break;
    if (c < 0x20) return jfail(j, "control character in string");
    unsigned cp = c;
    if (c == '\\') {
      if (j->p >= j->end) return jfail(j, "unterminated string");
      char e = *j->p++;
      switch (e) {
      case '"': cp = '"'; break;
      case '\\': cp = '\\'; break;
      case '/': cp = '/'; break;
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u': {
        if (j->end - j->p < 4) return jfail(j, "bad \\u escape");
        cp = 0;
        for (int i = 0; i < 4; i++) {
          int h = hexval(j->p[i]);
          if (h < 0) return jfail(j, "bad \\u escape");
          cp = cp * 16 + (unsigned)h;
        }
        j->p += 4;
        if (cp >= 0xd800 && cp <= 0xdfff) return jfail(j, "surrogate \\u escape in a name");
        break;
      }
      default: return jfail(j, "bad escape in string");
      }
      /* Encode cp as UTF-8. */
      char u[4];
      int k = 0;
      if (cp < 0x80) u[k++] = (char)cp;
      else if (cp < 0x800) u[k++] = (char)(0xc0 | (cp >> 6)), u[k++] = (char)(0x80 | (cp & 0x3f));
      else
        u[k++] = (char)(0xe0 | (cp >> 12)), u[k++] = (char)(0x80 | ((cp >> 6) & 0x3f)),
        u[k++] = (char)(0x80 | (cp & 0x3f));
      for (int i = 0; i < k; i++) {
        if (n + 1 >= cap) return jfail(j, "string too long");
        out[n++] = u[i];
      }
      continue;
    }
    if (n + 1 >= cap) return jfail(j, "string too long");
    out[n++] = (char)cp;
  }
  out[n] = 0;
  return VGG_OK;
}

/* A non-negative integer without sign, fraction or exponent. */
static vgg_status juint(jp *j, uint64_t *v) {
  jws(j);
  if (j->p >= j->end || *j->p < '0' || *j->p > '9') return jfail(j, "expected a non-negative integer");
  uint64_t x = 0;
  const char *start = j->p;
  while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
    unsigned d = (unsigned)(*j->p - '0');
    if (x > (UINT64_MAX - d) / 10) return jfail(j, "integer too large");
    x = x * 10 + d;
    j->p++;
  }
  if (j->p - start > 1 && *start == '0') return jfail(j, "integer with a leading zero");
  if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
    return jfail(j, "expected an integer, found a fraction");
  *v = x;
  return VGG_OK;
}

static vgg_status jmetadata(jp *j, st_file *sf) {
  char key[256], val[4096];
  vgg_status s;
  if (!jeat(j, '{')) return jfail(j, "__metadata__ must be an object");
  if (jeat(j, '}')) return VGG_OK;
  do {
    if ((s = jstring(j, key, sizeof key))) return s;
    if (!jeat(j, ':')) return jfail(j, "expected ':'");
    if ((s = jstring(j, val, sizeof val))) return s;
    if (!strcmp(key, "vggsimd_init_seed") && strlen(val) < sizeof sf->init_seed) strcpy(sf->init_seed, val);
  } while (jeat(j, ','));
  if (!jeat(j, '}')) return jfail(j, "expected '}' after __metadata__");
  return VGG_OK;
}

static st_dtype dtype_of(const char *s) {
  if (!strcmp(s, "F32")) return ST_F32;
  if (!strcmp(s, "F16")) return ST_F16;
  if (!strcmp(s, "BF16")) return ST_BF16;
  if (!strcmp(s, "F64")) return ST_F64;
  return ST_OTHER;
}

static int dtype_size(const char *s) {
  static const struct { const char *n; int sz; } known[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
    {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1}};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (!strcmp(s, known[i].n)) return known[i].sz;
  return 0;
}

static vgg_status jtensor(jp *j, st_tensor *t) {
  int have_dtype = 0, have_shape = 0, have_off = 0;
  char key[64];
  vgg_status s;
  char msg[400];
  if (!jeat(j, '{')) return jfail(j, "a tensor entry must be an object");
  do {
    if ((s = jstring(j, key, sizeof key))) return s;
    if (!jeat(j, ':')) return jfail(j, "expected ':'");
    if (!strcmp(key, "dtype")) {
      if (have_dtype++) return jfail(j, "duplicate key 'dtype'");
      if ((s = jstring(j, t->dtype_name, sizeof t->dtype_name))) return s;
      if (!dtype_size(t->dtype_name)) {
        snprintf(msg, sizeof msg, "tensor '%s' has unknown dtype '%s'", t->name, t->dtype_name);
        return jfail(j, msg);
      }
      t->dtype = dtype_of(t->dtype_name);
    } else if (!strcmp(key, "shape")) {
      if (have_shape++) return jfail(j, "duplicate key 'shape'");
      if (!jeat(j, '[')) return jfail(j, "shape must be an array");
      t->ndim = 0;
      if (!jeat(j, ']')) {
        do {
          uint64_t d;
          if ((s = juint(j, &d))) return s;
          if (t->ndim == 8) return jfail(j, "shape has more than 8 dimensions");
          if (d > ((uint64_t)1 << 40)) return jfail(j, "shape dimension too large");
          t->shape[t->ndim++] = (int64_t)d;
        } while (jeat(j, ','));
        if (!jeat(j, ']')) return jfail(j, "expected ']' after shape");
      }
    } else if (!strcmp(key, "data_offsets")) {
      if (have_off++) return jfail(j, "duplicate key 'data_offsets'");
      if (!jeat(j, '[')) return jfail(j, "data_offsets must be an array");
      if ((s = juint(j, &t->begin))) return s;
      if (!jeat(j, ',')) return jfail(j, "data_offsets must hold two integers");
      if ((s = juint(j, &t->end))) return s;
      if (!jeat(j, ']')) return jfail(j, "data_offsets must hold two integers");
    } else {
      snprintf(msg, sizeof msg, "tensor '%s' has unknown key '%s'", t->name, key);
      return jfail(j, msg);
    }
  } while (jeat(j, ','));
  if (!jeat(j, '}')) return jfail(j, "expected '}' after a tensor entry");
  if (!have_dtype || !have_shape || !have_off) {
    snprintf(msg, sizeof msg, "tensor '%s' lacks %s", t->name,
             !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
    return jfail(j, msg);
  }
  return VGG_OK;
}

static int by_begin(const void *a, const void *b) {
  const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
  return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end < y->end ? -1 : x->end > y->end);
}

static vgg_status parse_header(st_file *sf, const char *hdr, size_t len, vgg_error *err) {
  jp j = {hdr, hdr + len, sf->path, err};
  vgg_status s;
  int have_meta = 0;
  if (!jeat(&j, '{')) return jfail(&j, "not a JSON object");
  int cap = 64;
  sf->t = malloc(sizeof(st_tensor) * cap);
  if (!sf->t) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  if (!jeat(&j, '}')) {
    do {
      char name[256];
      if ((s = jstring(&j, name, sizeof name))) return s;
      if (!jeat(&j, ':')) return jfail(&j, "expected ':'");
      if (!strcmp(name, "__metadata__")) {
        if (have_meta++) return jfail(&j, "duplicate __metadata__");
        if ((s = jmetadata(&j, sf))) return s;
        continue;
      }
      if (st_find(sf, name)) {
        char msg[320];
        snprintf(msg, sizeof msg, "duplicate tensor '%s'", name);
        return jfail(&j, msg);
      }
      if (sf->n == ST_MAX_TENSORS) return jfail(&j, "too many tensors");
      if (sf->n == cap) {
        cap *= 2;
        st_tensor *nt = realloc(sf->t, sizeof(st_tensor) * cap);
        if (!nt) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
        sf->t = nt;
      }
      st_tensor *t = &sf->t[sf->n];
      memset(t, 0, sizeof *t);
      strcpy(t->name, name);
      if ((s = jtensor(&j, t))) return s;
      sf->n++;
    } while (jeat(&j, ','));
    if (!jeat(&j, '}')) return jfail(&j, "expected '}' at the end of the header");
  }
  jws(&j);
  if (j.p != j.end) return jfail(&j, "trailing bytes after the JSON object");

  /* Sizes, then coverage of the data buffer. */
  const uint64_t data_len = sf->file_size - sf->data_start;
  for (int i = 0; i < sf->n; i++) {
    st_tensor *t = &sf->t[i];
    if (t->begin > t->end)
      return vgg_fail(err, VGG_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] are reversed", sf->path,
                      t->name, (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > data_len)
      return vgg_fail(err, VGG_ERR_FORMAT,
                      "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the file (data is %llu bytes)",
                      sf->path, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                      (unsigned long long)data_len);
    uint64_t count = 1;
    for (int d = 0; d < t->ndim; d++) {
      if (t->shape[d] && count > UINT64_MAX / (uint64_t)t->shape[d] / 8)
        return vgg_fail(err, VGG_ERR_FORMAT, "%s: tensor '%s': shape too large", sf->path, t->name);
      count *= (uint64_t)t->shape[d];
    }
    if (count * (uint64_t)dtype_size(t->dtype_name) != t->end - t->begin)
      return vgg_fail(err, VGG_ERR_FORMAT,
                      "%s: tensor '%s': shape and dtype %s need %llu bytes but data_offsets give %llu", sf->path,
                      t->name, t->dtype_name, (unsigned long long)(count * dtype_size(t->dtype_name)),
                      (unsigned long long)(t->end - t->begin));
  }
  const st_tensor **order = malloc(sizeof(*order) * (size_t)(sf->n > 0 ? sf->n : 1));
  if (!order) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  for (int i = 0; i < sf->n; i++) order[i] = &sf->t[i];
  qsort(order, sf->n, sizeof *order, by_begin);
  uint64_t pos = 0;
  s = VGG_OK;
  for (int i = 0; i < sf->n && !s; i++) {
    const st_tensor *t = order[i];
    if (t->begin < pos)
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: tensor '%s' overlaps '%s' in the data buffer", sf->path, t->name,
                   order[i - 1]->name);
    else if (t->begin > pos)
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: %llu unused bytes in the data buffer before tensor '%s'", sf->path,
                   (unsigned long long)(t->begin - pos), t->name);
    pos = t->end;
  }
  free(order);
  if (!s && pos != data_len)
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: %llu bytes after the last tensor are not described by the header",
                 sf->path, (unsigned long long)(data_len - pos));
  return s;
}

vgg_status st_open(const char *path, st_file *sf, vgg_error *err) {
  memset(sf, 0, sizeof *sf);
  snprintf(sf->path, sizeof sf->path, "%s", path);
  struct stat sb;
  if (stat(path, &sb) != 0) return vgg_fail(err, VGG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  if (S_ISDIR(sb.st_mode)) return vgg_fail(err, VGG_ERR_IO, "%s: is a directory, not a safetensors file", path);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return vgg_fail(err, VGG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  vgg_status s;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return vgg_fail(err, VGG_ERR_IO, "%s: not a regular file", path);
  }
  sf->file_size = (uint64_t)sb.st_size;
  if (sf->file_size < 8) {
    close(fd);
    return vgg_fail(err, VGG_ERR_FORMAT, "%s: not a safetensors file (shorter than the 8-byte header length)", path);
  }
  /* Mapped read-only: a file in the page cache costs no read, and tensors whose
   * layout the engine uses as it is are never copied. */
  void *map = mmap(NULL, (size_t)sf->file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return vgg_fail(err, VGG_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
  sf->map = map;
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | sf->map[i];
  if (hlen > sf->file_size - 8) {
    s = vgg_fail(err, VGG_ERR_FORMAT,
                 "%s: not a safetensors file: header length %llu runs past the end of the file (%llu bytes)", path,
                 (unsigned long long)hlen, (unsigned long long)sf->file_size);
    goto fail;
  }
  if (hlen > ST_MAX_HEADER || hlen < 2) {
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: header length %llu is not plausible", path, (unsigned long long)hlen);
    goto fail;
  }
  sf->data_start = 8 + hlen;
  if ((s = parse_header(sf, (const char *)sf->map + 8, hlen, err))) goto fail;
  return VGG_OK;
fail:
  st_close(sf);
  return s;
}

vgg_status st_open_any(const char *path, int with_data, st_file *sf, vgg_error *err) {
  return vgg_is_hdf5(path) ? vgg_h5_open(path, with_data, sf, err)
         : vgg_is_onnx(path) ? vgg_onnx_open(path, with_data, sf, err)
                             : st_open(path, sf, err);
}

void st_close(st_file *sf) {
  if (sf->map) munmap((void *)sf->map, (size_t)sf->file_size);
  if (sf->drop) sf->drop(sf->owner);
  sf->drop = NULL;
  free(sf->t);
  sf->map = NULL;
  sf->t = NULL;
  sf->n = 0;
}

const unsigned char *st_data(const st_file *sf, const st_tensor *t) {
  return t->data ? t->data : sf->map + sf->data_start + t->begin;
}

void st_release(const st_file *sf, const st_tensor *t, uint64_t first, uint64_t bytes) {
  const uintptr_t p = (uintptr_t)st_data(sf, t) + first;
  const uintptr_t b = (p + 4095) & ~(uintptr_t)4095, e = (p + bytes) & ~(uintptr_t)4095;
  if (e > b) madvise((void *)b, e - b, MADV_DONTNEED);
}

const st_tensor *st_find(const st_file *sf, const char *name) {
  for (int i = 0; i < sf->n; i++)
    if (!strcmp(sf->t[i].name, name)) return &sf->t[i];
  return NULL;
}

static float half_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) bits = sign;
    else { /* subnormal: normalise */
      int e = -1;
      do { man <<= 1; e++; } while (!(man & 0x400));
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
  else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

vgg_status st_read(st_file *sf, const st_tensor *t, uint64_t first, size_t count, float *dst, vgg_error *err) {
  if (t->dtype == ST_OTHER)
    return vgg_fail(err, VGG_ERR_FORMAT, "%s: tensor '%s' is %s; F32, F16, BF16 or F64 is required", sf->path,
                    t->name, t->dtype_name);
  const int esz = t->dtype == ST_F32 ? 4 : t->dtype == ST_F64 ? 8 : 2;
  if ((first + count) * esz > t->end - t->begin)
    return vgg_fail(err, VGG_ERR_ARG, "%s: read past the end of tensor '%s'", sf->path, t->name);
  const unsigned char *src = st_data(sf, t) + first * esz;
  if (esz == 4) {
    memcpy(dst, src, count * 4); /* little-endian host assumed (x86-64, aarch64) */
    return VGG_OK;
  }
  if (esz == 8) { /* rounded to nearest; beyond float's range it becomes Inf, which the loader refuses */
    for (size_t i = 0; i < count; i++) {
      double v;
      memcpy(&v, src + 8 * i, 8);
      dst[i] = (float)v;
    }
    return VGG_OK;
  }
  for (size_t i = 0; i < count; i++) {
    uint16_t v;
    memcpy(&v, src + 2 * i, 2);
    if (t->dtype == ST_BF16) {
      uint32_t bits = (uint32_t)v << 16;
      memcpy(&dst[i], &bits, 4);
    } else {
      dst[i] = half_to_float(v);
    }
  }
  return VGG_OK;
}

/* ----------------------------------------------------------------- write -- */

static void json_name(char *o, size_t cap, const char *s) {
  size_t n = 0;
  for (; *s && n + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') o[n++] = '\\', o[n++] = (char)c;
    else if (c < 0x20) n += (size_t)snprintf(o + n, cap - n, "\\u%04x", c);
    else o[n++] = (char)c;
  }
  o[n] = 0;
}

vgg_status st_writer_open(st_writer *w, const char *path, const st_tensor *tensors, int n, const char *meta,
                          vgg_error *err) {
  memset(w, 0, sizeof *w);
  size_t cap = 256 + (size_t)n * 400, len = 0;
  char *h = malloc(cap);
  if (!h) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\",\"producer\":\"vggsimd %s\"%s%s}",
                          VGGSIMD_VERSION, meta && *meta ? "," : "", meta ? meta : "");
  uint64_t off = 0;
  for (int i = 0; i < n; i++) {
    const st_tensor *t = &tensors[i];
    char nm[600];
    json_name(nm, sizeof nm, t->name);
    len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[", nm);
    uint64_t count = 1;
    for (int d = 0; d < t->ndim; d++) {
      len += (size_t)snprintf(h + len, cap - len, "%s%lld", d ? "," : "", (long long)t->shape[d]);
      count *= (uint64_t)t->shape[d];
    }
    len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                            (unsigned long long)(off + count * 4));
    off += count * 4;
  }
  len += (size_t)snprintf(h + len, cap - len, "}");
  while (len % 8) h[len++] = ' '; /* keeps the data 8-byte aligned */
  w->expected = off;
  vgg_status s = vgg_outfile_open(&w->out, path, err);
  if (!s) {
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    s = vgg_outfile_write(&w->out, len8, 8, err);
    if (!s) s = vgg_outfile_write(&w->out, h, len, err);
  }
  free(h);
  return s;
}

vgg_status st_writer_data(st_writer *w, const float *data, size_t count, vgg_error *err) {
  w->written += count * 4;
  return vgg_outfile_write(&w->out, data, count * 4, err);
}

vgg_status st_writer_commit(st_writer *w, vgg_error *err) {
  if (w->written != w->expected) {
    vgg_outfile_abort(&w->out);
    return vgg_fail(err, VGG_ERR_ARG, "%s: internal: wrote %llu data bytes, header says %llu", w->out.path,
                    (unsigned long long)w->written, (unsigned long long)w->expected);
  }
  return vgg_outfile_commit(&w->out, err);
}

void st_writer_abort(st_writer *w) { vgg_outfile_abort(&w->out); }
