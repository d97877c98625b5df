/* VGG configurations as data, shape inference, parameter and FLOP counts,
 * and the Keras-style summary.
 *
 * Shapes: a 3x3 'same' conv (pad 1, stride 1) keeps H and W,
 *   out = floor((in + 2*1 - 3)/1) + 1 = in;
 * a 2x2/2 max-pool halves them, out = floor((in - 2)/2) + 1 = floor(in/2).
 * Params: conv k*k*cin*cout + cout, dense in*out + out. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *name;
  int convs[5]; /* convolutions in each block */
} vgg_config;

static const int block_channels[5] = {64, 128, 256, 512, 512};

static const vgg_config configs[] = {
#define VGG_X_CONFIG(id, name, b1, b2, b3, b4, b5) [id] = {#name, {b1, b2, b3, b4, b5}},
  VGG_ARCHS(VGG_X_CONFIG)
#undef VGG_X_CONFIG
};

/* The classifier: fc1, fc2 (ReLU), predictions (softmax). */
static const struct {
  const char *name;
  int units;
  int relu, softmax;
} classifier[] = {{"fc1", 4096, 1, 0}, {"fc2", 4096, 1, 0}, {"predictions", 1000, 0, 1}};

#define TOP_HW 7
#define MIN_HW 32

int vgg_arch_parse(const char *name) {
  for (int i = 0; i < (int)(sizeof configs / sizeof configs[0]); i++)
    if (strcmp(name, configs[i].name) == 0) return i;
  return -1;
}

const char *const *vgg_arch_names(void) {
#define VGG_X_NAME(id, name, b1, b2, b3, b4, b5) #name,
  static const char *const names[VGG_ARCH_COUNT + 1] = {VGG_ARCHS(VGG_X_NAME) NULL};
#undef VGG_X_NAME
  return names;
}

const char *vgg_arch_name(vgg_arch a) {
  return (unsigned)a < sizeof configs / sizeof configs[0] ? configs[a].name : "?";
}

static vgg_layer *push(vgg_model *m, const char *name, vgg_layer_kind kind, int block, const vgg_layer *prev) {
  vgg_layer *l = &m->layers[m->nlayers++];
  memset(l, 0, sizeof *l);
  snprintf(l->name, sizeof l->name, "%s", name);
  l->kind = kind;
  l->block = block;
  l->param = -1;
  if (prev) {
    l->in_h = prev->out_h;
    l->in_w = prev->out_w;
    l->in_c = prev->out_c;
  }
  return l;
}

static void add_param(vgg_model *m, vgg_layer *l) {
  l->param = m->nparams;
  m->param_layer[m->nparams++] = (int)(l - m->layers);
}

vgg_status vgg_model_create(vgg_arch arch, int top, int h, int w, vgg_model **out, vgg_error *err) {
  *out = NULL;
  if ((unsigned)arch >= sizeof configs / sizeof configs[0])
    return vgg_fail(err, VGG_ERR_ARG, "unknown architecture %d", (int)arch);
  if (h < MIN_HW || w < MIN_HW)
    return vgg_fail(err, VGG_ERR_SHAPE, "input %dx%d is too small: the conv base needs H and W >= %d", h, w,
                    MIN_HW);
  if (h > 16384 || w > 16384)
    return vgg_fail(err, VGG_ERR_SHAPE, "input %dx%d is too large: at most 16384 per side", h, w);
  if (top && ((h >> 5) != TOP_HW || (w >> 5) != TOP_HW))
    return vgg_fail(err, VGG_ERR_SHAPE,
                    "input %dx%d gives a %dx%d final map; the classifier needs 7x7 (input 224 to 255)", h, w,
                    h >> 5, w >> 5);
  vgg_model *m = calloc(1, sizeof *m);
  if (!m) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  m->arch = arch;
  m->top = top;

  vgg_layer *l = push(m, "input_1", VGG_LAYER_INPUT, 0, NULL);
  l->out_h = h, l->out_w = w, l->out_c = 3;
  l->in_h = h, l->in_w = w, l->in_c = 3;
  for (int b = 0; b < 5; b++) {
    for (int k = 0; k < configs[arch].convs[b]; k++) {
      char name[32];
      snprintf(name, sizeof name, "block%d_conv%d", b + 1, k + 1);
      vgg_layer *p = &m->layers[m->nlayers - 1];
      l = push(m, name, VGG_LAYER_CONV, b + 1, p);
      l->out_h = l->in_h, l->out_w = l->in_w, l->out_c = block_channels[b];
      l->relu = 1;
      l->weights = 9LL * l->in_c * l->out_c;
      l->biases = l->out_c;
      l->flops = 2LL * l->weights * l->out_h * l->out_w;
      add_param(m, l);
    }
    char name[32];
    snprintf(name, sizeof name, "block%d_pool", b + 1);
    l = push(m, name, VGG_LAYER_POOL, b + 1, &m->layers[m->nlayers - 1]);
    l->out_h = l->in_h / 2, l->out_w = l->in_w / 2, l->out_c = l->in_c;
    m->block_out[b + 1] = m->nlayers - 1;
  }
  if (top) {
    l = push(m, "flatten", VGG_LAYER_FLATTEN, 0, &m->layers[m->nlayers - 1]);
    l->out_h = 1, l->out_w = 1, l->out_c = l->in_h * l->in_w * l->in_c;
    for (int k = 0; k < 3; k++) {
      l = push(m, classifier[k].name, VGG_LAYER_DENSE, 0, &m->layers[m->nlayers - 1]);
      l->out_h = 1, l->out_w = 1, l->out_c = classifier[k].units;
      l->relu = classifier[k].relu;
      l->softmax = classifier[k].softmax;
      l->weights = (int64_t)l->in_c * l->out_c;
      l->biases = l->out_c;
      l->flops = 2 * l->weights;
      add_param(m, l);
    }
  }
  *out = m;
  return VGG_OK;
}

void vgg_model_free(vgg_model *m) { free(m); }
vgg_arch vgg_model_arch(const vgg_model *m) { return m->arch; }
int vgg_model_top(const vgg_model *m) { return m->top; }
int vgg_model_num_layers(const vgg_model *m) { return m->nlayers; }
const vgg_layer *vgg_model_layer(const vgg_model *m, int i) {
  return i >= 0 && i < m->nlayers ? &m->layers[i] : NULL;
}
int vgg_model_num_params(const vgg_model *m) { return m->nparams; }
const vgg_layer *vgg_model_param_layer(const vgg_model *m, int p) {
  return p >= 0 && p < m->nparams ? &m->layers[m->param_layer[p]] : NULL;
}
const vgg_layer *vgg_model_block_output(const vgg_model *m, int b) {
  return b >= 1 && b <= 5 ? &m->layers[m->block_out[b]] : NULL;
}

int vgg_model_num_channels(const vgg_model *m) { return vgg_model_channel_offset(m, m->nlayers); }

int vgg_model_channel_offset(const vgg_model *m, int layer) {
  int n = 0;
  for (int i = 0; i < layer && i < m->nlayers; i++) n += m->layers[i].kind == VGG_LAYER_CONV ? m->layers[i].out_c : 0;
  return n;
}

int64_t vgg_model_total_params(const vgg_model *m) {
  int64_t t = 0;
  for (int i = 0; i < m->nlayers; i++) t += m->layers[i].weights + m->layers[i].biases;
  return t;
}

int64_t vgg_model_total_flops(const vgg_model *m) {
  int64_t t = 0;
  for (int i = 0; i < m->nlayers; i++) t += m->layers[i].flops;
  return t;
}

size_t vgg_model_max_activation(const vgg_model *m) {
  size_t mx = 0;
  for (int i = 0; i < m->nlayers; i++) {
    const vgg_layer *l = &m->layers[i];
    size_t n = (size_t)l->out_h * l->out_w * l->out_c;
    if (n > mx) mx = n;
  }
  return mx;
}

/* 14714688 -> "14,714,688" */
static const char *commas(int64_t v, char *buf) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
  char *o = buf;
  if (v < 0) *o++ = '-';
  for (int i = 0; i < n; i++) {
    *o++ = tmp[i];
    if ((n - 1 - i) % 3 == 0 && i != n - 1) *o++ = ',';
  }
  *o = 0;
  return buf;
}

static const char *human_flops(int64_t f, char *buf) {
  if (f == 0) strcpy(buf, "0");
  else if (f >= 1000000000LL) sprintf(buf, "%.2f G", f / 1e9);
  else if (f >= 1000000LL) sprintf(buf, "%.1f M", f / 1e6);
  else sprintf(buf, "%.1f K", f / 1e3);
  return buf;
}

static const char *kind_name(vgg_layer_kind k) {
  switch (k) {
  case VGG_LAYER_INPUT: return "InputLayer";
  case VGG_LAYER_CONV: return "Conv2D";
  case VGG_LAYER_POOL: return "MaxPooling2D";
  case VGG_LAYER_FLATTEN: return "Flatten";
  case VGG_LAYER_DENSE: return "Dense";
  }
  return "?";
}

typedef struct {
  char *buf;
  size_t size, len;
} sbuf;

static void sb_printf(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = s->len < s->size ? s->size - s->len : 0;
  int n = vsnprintf(s->buf ? s->buf + (s->len < s->size ? s->len : s->size) : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0) s->len += (size_t)n;
}

static void mem_str(double bytes, char *buf) {
  if (bytes >= 1024.0 * 1024 * 1024) sprintf(buf, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  else sprintf(buf, "%.2f MiB", bytes / (1024.0 * 1024));
}

size_t vgg_model_summary(const vgg_model *m, char *buf, size_t size) {
  sbuf s = {buf, size, 0};
  if (buf && size) buf[0] = 0;
  const char *rule = "________________________________________________________________________________________";
  const char *dbl = "========================================================================================";
  sb_printf(&s, "Model: \"%s\"\n%s\n", configs[m->arch].name, rule);
  sb_printf(&s, " %-28s %-26s %-14s %-12s\n%s\n", "Layer (type)", "Output Shape", "Param #", "FLOPs", dbl);
  size_t act_max = 0, act_pair = 0, prev = 0;
  for (int i = 0; i < m->nlayers; i++) {
    const vgg_layer *l = &m->layers[i];
    char name[64], shape[64], p[32], f[32];
    snprintf(name, sizeof name, "%s (%s)", l->name, kind_name(l->kind));
    if (l->kind == VGG_LAYER_INPUT)
      snprintf(shape, sizeof shape, "[(None, %d, %d, %d)]", l->out_h, l->out_w, l->out_c);
    else if (l->kind == VGG_LAYER_FLATTEN || l->kind == VGG_LAYER_DENSE)
      snprintf(shape, sizeof shape, "(None, %d)", l->out_c);
    else
      snprintf(shape, sizeof shape, "(None, %d, %d, %d)", l->out_h, l->out_w, l->out_c);
    sb_printf(&s, " %-28s %-26s %-14s %-12s\n", name, shape, commas(l->weights + l->biases, p),
              human_flops(l->flops, f));
    size_t n = (size_t)l->out_h * l->out_w * l->out_c;
    if (n > act_max) act_max = n;
    if (i > 0 && n + prev > act_pair) act_pair = n + prev;
    prev = n;
  }
  char t[32], fl[32], wm[32], am[32], pm[32];
  const int64_t total = vgg_model_total_params(m);
  sb_printf(&s, "%s\n", dbl);
  sb_printf(&s, "Total params: %s\n", commas(total, t));
  sb_printf(&s, "Trainable params: %s\n", t);
  sb_printf(&s, "Non-trainable params: 0\n");
  sb_printf(&s, "%s\n", rule);
  const int64_t flops = vgg_model_total_flops(m);
  sb_printf(&s, "FLOPs (multiply-add = 2): %s (%.2f GFLOP)\n", commas(flops, fl), flops / 1e9);
  mem_str(4.0 * (double)total, wm);
  mem_str(4.0 * (double)act_max, am);
  mem_str(4.0 * (double)act_pair, pm);
  sb_printf(&s, "Weight memory (float32): %s\n", wm);
  sb_printf(&s, "Largest activation: %s; input+output of one layer at most %s\n", am, pm);
  return s.len;
}
