/* Calibration ranges files: the largest output value of each conv layer,
 * which fixes the u8 scale of every int8 activation (docs/precision.md). */
#include "internal.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RANGES_MAGIC "vggsimd-ranges"
#define RANGES_MAX_BYTES (1 << 20)
#define VGG_RANGES_MAX_CH 512 /* the most channels of a VGG layer */

uint64_t vgg_weights_fingerprint(const vgg_weights *w) {
  const vgg_model *m = w->model;
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (int p = 0; p < m->nparams; p++) {
    const vgg_layer *l = vgg_model_param_layer(m, p);
    if (l->kind != VGG_LAYER_CONV) continue;
    if (!w->kernel[p]) return 0;
    const float *const parts[2] = {w->kernel[p], w->bias[p]};
    const int64_t lens[2] = {l->weights, l->biases};
    for (int k = 0; k < 2; k++)
      for (int64_t i = 0; i < lens[k]; i++) {
        uint32_t bits;
        memcpy(&bits, parts[k] + i, 4);
        h = (h ^ bits) * 0x100000001b3ull;
        h ^= h >> 29;
      }
  }
  return h ? h : 1;
}

/* Appends "%.9g" of v to o, a space before it. */
static vgg_status put_value(vgg_outfile *o, double v, vgg_error *err) {
  char t[32];
  const int n = snprintf(t, sizeof t, " %.9g", v);
  return vgg_outfile_write(o, t, (size_t)n, err);
}

/* Channel values of conv layer l (in channels), or NULL when none are given or all are 0. */
static const float *layer_channels(const vgg_model *m, const float *channels, int l) {
  if (!channels) return NULL;
  const float *c = channels + vgg_model_channel_offset(m, l);
  for (int k = 0; k < m->layers[l].out_c; k++)
    if (c[k] != 0) return c;
  return NULL;
}

static vgg_status ranges_save(const vgg_model *m, uint64_t fp, const float *ranges, const float *channels,
                              int images, const char *path, vgg_error *err) {
  int version = 1;
  for (int i = 0; i < m->nlayers; i++)
    if (m->layers[i].kind == VGG_LAYER_CONV && layer_channels(m, channels, i)) version = 2;
  vgg_outfile o;
  vgg_status s = vgg_outfile_open(&o, path, err);
  if (s) return s;
  char line[200];
  int n = snprintf(line, sizeof line, "# int8 calibration: the largest output value of each conv layer%s\n%s %d %s\n",
                   version == 2 ? ", then of each of its channels" : "", RANGES_MAGIC, version, vgg_arch_name(m->arch));
  if (fp) /* the weights they were measured with */
    n += snprintf(line + n, sizeof line - (size_t)n, "weights %016llx\n", (unsigned long long)fp);
  if (images > 0) /* and on how many images (the channel units' exponent, vgg_channel_alpha) */
    n += snprintf(line + n, sizeof line - (size_t)n, "images %d\n", images);
  s = vgg_outfile_write(&o, line, (size_t)n, err);
  for (int i = 0; !s && i < m->nlayers; i++) {
    if (m->layers[i].kind != VGG_LAYER_CONV) continue;
    s = vgg_outfile_write(&o, m->layers[i].name, strlen(m->layers[i].name), err);
    if (!s) s = put_value(&o, ranges[i], err);
    const float *c = layer_channels(m, channels, i);
    for (int k = 0; c && !s && k < m->layers[i].out_c; k++) s = put_value(&o, c[k], err);
    if (!s) s = vgg_outfile_write(&o, "\n", 1, err);
  }
  return s ? s : vgg_outfile_commit(&o, err);
}

vgg_status vgg_ranges_save(const vgg_model *m, const float *ranges, const float *channels, const char *path,
                           vgg_error *err) {
  return ranges_save(m, 0, ranges, channels, 0, path, err);
}

vgg_status vgg_ranges_save_for(const vgg_model *m, const vgg_weights *w, const float *ranges, const float *channels,
                               int images, const char *path, vgg_error *err) {
  return ranges_save(m, vgg_weights_fingerprint(w), ranges, channels, images, path, err);
}

/* A value of a ranges file: a finite float >= 0 (else the reason, for the error line). */
static const char *parse_value(const char *t, float *v) {
  char *end;
  errno = 0;
  *v = strtof(t, &end);
  if (*end || end == t) return "a value is not a number";
  if (errno == ERANGE) return "a value is outside float32's range (1.2e-38 to 3.4e38, or 0)";
  if (!isfinite(*v) || *v < 0) return "a value is not a finite number >= 0";
  return NULL;
}

/* t as a whole number in base 10 or 16 (digits only: no sign or space), from 1 to max; 0 when it is not one. */
static unsigned long long whole_number(const char *t, int base, unsigned long long max) {
  const size_t nd = strspn(t, base == 16 ? "0123456789abcdefABCDEF" : "0123456789");
  if (!nd || t[nd]) return 0;
  errno = 0;
  const unsigned long long v = strtoull(t, NULL, base);
  return errno || v > max ? 0 : v;
}

/* Loads path; *fp gets its recorded fingerprint (0: none), *images its image count (0: none); channels (NULL:
 * not read) each layer's values. */
static vgg_status ranges_load(const vgg_model *m, const char *path, float *ranges, float *channels, uint64_t *fp,
                              int *images, vgg_error *err) {
  *fp = 0, *images = 0;
  unsigned char *data;
  size_t len;
  vgg_status s = vgg_read_file(path, RANGES_MAX_BYTES, "a ranges file", &data, &len, err);
  if (s) return s;
  if (memchr(data, 0, len)) {
    free(data);
    return vgg_fail(err, VGG_ERR_FORMAT, "%s: not a ranges file (binary data)", path);
  }
  char *text = (char *)data; /* vgg_read_file leaves room for a NUL after the data */
  text[len] = 0;
  for (int i = 0; i < m->nlayers; i++) ranges[i] = 0;
  for (int i = 0; channels && i < vgg_model_num_channels(m); i++) channels[i] = 0;
  unsigned char seen[VGG_MAX_LAYERS] = {0};
  float cv[VGG_RANGES_MAX_CH]; /* a line's channel values */
  int version = 0, lineno = 0;
  char *save = NULL;
  for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
    lineno++;
    char *hash = strchr(ln, '#');
    if (hash) *hash = 0;
    const char *tok[4] = {0}, *cwhy = NULL; /* the first tokens; the first bad value after the second */
    int k = 0;
    char *ts = NULL;
    for (char *t = strtok_r(ln, " \t\r", &ts); t; t = strtok_r(NULL, " \t\r", &ts), k++) {
      if (k < 4) tok[k] = t;
      if (k >= 2 && k - 2 < VGG_RANGES_MAX_CH && !cwhy) cwhy = parse_value(t, &cv[k - 2]);
    }
    if (k == 0) continue;
    if (!version) {
      if (k != 3 || strcmp(tok[0], RANGES_MAGIC) || (strcmp(tok[1], "1") && strcmp(tok[1], "2"))) {
        s = vgg_fail(err, VGG_ERR_FORMAT, "%s: not a ranges file (the first line must be '" RANGES_MAGIC
                     " 1 ARCH' or '" RANGES_MAGIC " 2 ARCH')", path);
        break;
      }
      if (strcmp(tok[2], vgg_arch_name(m->arch))) {
        s = vgg_fail(err, VGG_ERR_FORMAT, "%s: ranges of %s, the model is %s", path, tok[2], vgg_arch_name(m->arch));
        break;
      }
      version = tok[1][0] - '0';
      continue;
    }
    if (!strcmp(tok[0], "weights") && k == 2 && !*fp) {
      const unsigned long long v = whole_number(tok[1], 16, ULLONG_MAX);
      if (!v || strlen(tok[1]) != 16) {
        s = vgg_fail(err, VGG_ERR_FORMAT, "%s:%d: 'weights' needs a 16-digit hexadecimal fingerprint", path, lineno);
        break;
      }
      *fp = v;
      continue;
    }
    if (!strcmp(tok[0], "images") && k == 2 && !*images) {
      const unsigned long long v = whole_number(tok[1], 10, INT_MAX);
      if (!v) {
        s = vgg_fail(err, VGG_ERR_FORMAT, "%s:%d: 'images' needs a whole number from 1 to %d", path, lineno, INT_MAX);
        break;
      }
      *images = (int)v;
      continue;
    }
    int layer = -1;
    for (int i = 0; i < m->nlayers && layer < 0; i++)
      if (m->layers[i].kind == VGG_LAYER_CONV && !strcmp(m->layers[i].name, tok[0])) layer = i;
    const int nch = layer >= 0 ? m->layers[layer].out_c : 0;
    const char *why = k < 2                                          ? "expected 'LAYER VALUE'"
                      : layer < 0                                    ? "not a conv layer of the model"
                      : seen[layer]                                  ? "layer listed twice"
                      : k != 2 && version < 2                        ? "expected 'LAYER VALUE' (channel values need version 2)"
                      : k != 2 && (k != 2 + nch || nch > VGG_RANGES_MAX_CH) ? "expected 'LAYER VALUE' and none or all of its channels' values"
                                                                     : parse_value(tok[1], &ranges[layer]);
    if (!why) why = cwhy;
    if (!why && channels && k > 2) memcpy(channels + vgg_model_channel_offset(m, layer), cv, sizeof(float) * nch);
    if (why) {
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s:%d: %s", path, lineno, why);
      break;
    }
    seen[layer] = 1;
  }
  if (!s && !version) s = vgg_fail(err, VGG_ERR_FORMAT, "%s: not a ranges file (no '" RANGES_MAGIC "' line)", path);
  for (int i = 0; !s && i < m->nlayers; i++)
    if (m->layers[i].kind == VGG_LAYER_CONV && !seen[i])
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: no range for %s", path, m->layers[i].name);
  free(data);
  return s;
}

vgg_status vgg_ranges_load(const vgg_model *m, const char *path, float *ranges, float *channels, vgg_error *err) {
  uint64_t fp;
  int images;
  return ranges_load(m, path, ranges, channels, &fp, &images, err);
}

vgg_status vgg_ranges_load_for(const vgg_model *m, const vgg_weights *w, const char *path, float *ranges,
                               float *channels, int *images, vgg_error *err) {
  uint64_t fp;
  int n;
  vgg_status s = ranges_load(m, path, ranges, channels, &fp, images ? images : &n, err);
  if (s || !fp) return s;
  const uint64_t mine = vgg_weights_fingerprint(w);
  if (mine && mine != fp)
    return vgg_fail(err, VGG_ERR_ARG, "%s: ranges measured with other weights (fingerprint %016llx; these weights "
                    "are %016llx): calibrate for them with `vggsimd calibrate`", path, (unsigned long long)fp,
                    (unsigned long long)mine);
  return VGG_OK;
}
