/* Calibration ranges files: the largest output value of each conv layer,
 * which fixes the u8 scale of every int8 activation (docs/precision.md). */
#include "internal.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RANGES_MAGIC "vggsimd-ranges"
#define RANGES_MAX_BYTES (1 << 20)

vgg_status vgg_ranges_save(const vgg_model *m, const float *ranges, const char *path, vgg_error *err) {
  vgg_outfile o;
  vgg_status s = vgg_outfile_open(&o, path, err);
  if (s) return s;
  char line[128];
  int n = snprintf(line, sizeof line, "# int8 calibration: the largest output value of each conv layer\n%s 1 %s\n",
                   RANGES_MAGIC, vgg_arch_name(m->arch));
  s = vgg_outfile_write(&o, line, (size_t)n, err);
  for (int i = 0; !s && i < m->nlayers; i++) {
    if (m->layers[i].kind != VGG_LAYER_CONV) continue;
    n = snprintf(line, sizeof line, "%s %.9g\n", m->layers[i].name, (double)ranges[i]);
    s = vgg_outfile_write(&o, line, (size_t)n, err);
  }
  return s ? s : vgg_outfile_commit(&o, err);
}

vgg_status vgg_ranges_load(const vgg_model *m, const char *path, float *ranges, vgg_error *err) {
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
