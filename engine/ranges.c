/* Calibration ranges files: the largest output value of each conv layer,
 * which fixes the u8 scale of every int8 activation (docs/precision.md). */
#include "internal.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RANGES_MAGIC "vggsimd-ranges"
#define RANGES_MAX_BYTES (1 << 20)

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

static vgg_status ranges_save(const vgg_model *m, uint64_t fp, const float *ranges, const char *path,
                              vgg_error *err) {
  vgg_outfile o;
  vgg_status s = vgg_outfile_open(&o, path, err);
  if (s) return s;
  char line[160];
  int n = snprintf(line, sizeof line, "# int8 calibration: the largest output value of each conv layer\n%s 1 %s\n",
                   RANGES_MAGIC, vgg_arch_name(m->arch));
  if (fp) /* the weights they were measured with */
    n += snprintf(line + n, sizeof line - (size_t)n, "weights %016llx\n", (unsigned long long)fp);
  s = vgg_outfile_write(&o, line, (size_t)n, err);
  for (int i = 0; !s && i < m->nlayers; i++) {
    if (m->layers[i].kind != VGG_LAYER_CONV) continue;
    n = snprintf(line, sizeof line, "%s %.9g\n", m->layers[i].name, (double)ranges[i]);
    s = vgg_outfile_write(&o, line, (size_t)n, err);
  }
  return s ? s : vgg_outfile_commit(&o, err);
}

vgg_status vgg_ranges_save(const vgg_model *m, const float *ranges, const char *path, vgg_error *err) {
  return ranges_save(m, 0, ranges, path, err);
}

vgg_status vgg_ranges_save_for(const vgg_model *m, const vgg_weights *w, const float *ranges, const char *path,
                               vgg_error *err) {
  return ranges_save(m, vgg_weights_fingerprint(w), ranges, path, err);
}

/* Loads path; *fp gets its recorded fingerprint (0: none). */
static vgg_status ranges_load(const vgg_model *m, const char *path, float *ranges, uint64_t *fp, vgg_error *err) {
  *fp = 0;
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
  unsigned char seen[VGG_MAX_LAYERS] = {0};
  int header = 0, lineno = 0;
  char *save = NULL;
  for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
    lineno++;
    char *hash = strchr(ln, '#');
    if (hash) *hash = 0;
    char a[64], b[64], c[64], extra[8];
    const int k = sscanf(ln, "%63s %63s %63s %7s", a, b, c, extra);
    if (k <= 0) continue;
    if (!header) {
      if (k != 3 || strcmp(a, RANGES_MAGIC) || strcmp(b, "1")) {
        s = vgg_fail(err, VGG_ERR_FORMAT, "%s: not a ranges file (the first line must be '" RANGES_MAGIC " 1 ARCH')",
                     path);
        break;
      }
      if (strcmp(c, vgg_arch_name(m->arch))) {
        s = vgg_fail(err, VGG_ERR_FORMAT, "%s: ranges of %s, the model is %s", path, c, vgg_arch_name(m->arch));
        break;
      }
      header = 1;
      continue;
    }
    if (!strcmp(a, "weights") && k == 2 && !*fp) {
      char *end;
      errno = 0;
      const unsigned long long v = strtoull(b, &end, 16);
      if (*end || errno || !v || strlen(b) != 16) {
        s = vgg_fail(err, VGG_ERR_FORMAT, "%s:%d: 'weights' needs a 16-digit hexadecimal fingerprint", path, lineno);
        break;
      }
      *fp = v;
      continue;
    }
    int layer = -1;
    for (int i = 0; i < m->nlayers && layer < 0; i++)
      if (m->layers[i].kind == VGG_LAYER_CONV && !strcmp(m->layers[i].name, a)) layer = i;
    char *end;
    errno = 0;
    const float v = k == 2 ? strtof(b, &end) : NAN;
    if (k != 2 || layer < 0 || *end || errno || !isfinite(v) || v < 0 || seen[layer]) {
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s:%d: %s", path, lineno,
                   k != 2      ? "expected 'LAYER VALUE'"
                   : layer < 0 ? "not a conv layer of the model"
                   : seen[layer] ? "layer listed twice"
                   : errno == ERANGE && !*end ? "the value is outside float32's range (1.2e-38 to 3.4e38, or 0)"
                                 : "the value is not a finite number >= 0");
      break;
    }
    seen[layer] = 1, ranges[layer] = v;
  }
  if (!s && !header) s = vgg_fail(err, VGG_ERR_FORMAT, "%s: not a ranges file (no '" RANGES_MAGIC "' line)", path);
  for (int i = 0; !s && i < m->nlayers; i++)
    if (m->layers[i].kind == VGG_LAYER_CONV && !seen[i])
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: no range for %s", path, m->layers[i].name);
  free(data);
  return s;
}

vgg_status vgg_ranges_load(const vgg_model *m, const char *path, float *ranges, vgg_error *err) {
  uint64_t fp;
  return ranges_load(m, path, ranges, &fp, err);
}

vgg_status vgg_ranges_load_for(const vgg_model *m, const vgg_weights *w, const char *path, float *ranges,
                               vgg_error *err) {
  uint64_t fp;
  vgg_status s = ranges_load(m, path, ranges, &fp, err);
  if (s || !fp) return s;
  const uint64_t mine = vgg_weights_fingerprint(w);
  if (mine && mine != fp)
    return vgg_fail(err, VGG_ERR_ARG, "%s: ranges measured with other weights (fingerprint %016llx; these weights "
                    "are %016llx): calibrate for them with `vggsimd calibrate`", path, (unsigned long long)fp,
                    (unsigned long long)mine);
  return VGG_OK;
}
