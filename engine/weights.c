/* Weights: seeded Glorot-uniform init, and safetensors load/save (and Keras .h5 load, keras_h5.c) in
 * torchvision or Keras naming, converted to and from the engine's layout.
 *
 *                 torchvision                    Keras                    engine
 * conv kernel     features.N.weight  [O][I][3][3] blockB_convK/kernel [3][3][I][O]  [3][3][I][O]
 * dense kernel    classifier.N.weight [out][in]   fc1/kernel [in][out]              [out][in]
 * fc1 inputs      C,H,W order                     H,W,C order                       H,W,C order
 */
#include "safetensors.h"
#include <omp.h>
#include <math.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* torchvision's nn.Sequential indices: each conv is followed by a ReLU, each
 * block by a pool; the classifier is Linear, ReLU, Dropout, Linear, ReLU,
 * Dropout, Linear. */
static int torch_index(const vgg_model *m, int p, int *is_classifier) {
  const vgg_layer *l = vgg_model_param_layer(m, p);
  if (l->kind == VGG_LAYER_DENSE) {
    int k = 0;
    for (int q = 0; q < p; q++) k += vgg_model_param_layer(m, q)->kind == VGG_LAYER_DENSE;
    *is_classifier = 1;
    return 3 * k;
  }
  *is_classifier = 0;
  int idx = 0;
  for (int i = 1; i < m->nlayers; i++) {
    const vgg_layer *x = &m->layers[i];
    if (x == l) return idx;
    idx += x->kind == VGG_LAYER_CONV ? 2 : 1;
  }
  return -1;
}

const char *vgg_param_name(const vgg_model *m, int p, vgg_naming naming, int bias, char *buf, size_t n) {
  const vgg_layer *l = vgg_model_param_layer(m, p);
  if (naming == VGG_NAMING_KERAS) {
    snprintf(buf, n, "%s/%s", l->name, bias ? "bias" : "kernel");
  } else {
    int cls;
    int idx = torch_index(m, p, &cls);
    snprintf(buf, n, "%s.%d.%s", cls ? "classifier" : "features", idx, bias ? "bias" : "weight");
  }
  return buf;
}

/* Shape of the kernel tensor in the file. */
static int file_shape(const vgg_layer *l, vgg_naming naming, int64_t *shape) {
  if (l->kind == VGG_LAYER_CONV) {
    if (naming == VGG_NAMING_TORCH) {
      shape[0] = l->out_c, shape[1] = l->in_c, shape[2] = 3, shape[3] = 3;
    } else {
      shape[0] = 3, shape[1] = 3, shape[2] = l->in_c, shape[3] = l->out_c;
    }
    return 4;
  }
  if (naming == VGG_NAMING_TORCH) shape[0] = l->out_c, shape[1] = l->in_c;
  else shape[0] = l->in_c, shape[1] = l->out_c;
  return 2;
}

/* Spatial shape of a dense layer's input: fc1 follows flatten (7x7x512), the others are 1x1. */
static void dense_input(const vgg_model *m, const vgg_layer *l, int *h, int *w, int *c) {
  const vgg_layer *prev = l - 1;
  if (prev >= m->layers && prev->kind == VGG_LAYER_FLATTEN) *h = prev->in_h, *w = prev->in_w, *c = prev->in_c;
  else *h = 1, *w = 1, *c = l->in_c;
}

/* Rows of a dense kernel in the file: torch rows are outputs, Keras rows inputs. */
static int64_t file_rows(const vgg_layer *l, vgg_naming naming) {
  return naming == VGG_NAMING_TORCH ? l->out_c : l->in_c;
}

/* File rows [r0, r1) (in `f`) -> engine kernel `e`, or the reverse when to_file. */
static void convert_dense_rows(const vgg_model *m, const vgg_layer *l, vgg_naming naming, int64_t r0, int64_t r1,
                               float *f, float *e, int to_file) {
  const int64_t IN = l->in_c, OUT = l->out_c;
  if (naming == VGG_NAMING_TORCH) {
    int H, W, C;
    dense_input(m, l, &H, &W, &C);
    /* Pixel by pixel, channels innermost: the engine side is written (or read) in order. */
    for (int64_t o = r0; o < r1; o++) {
      float *fr = f + (o - r0) * IN, *er = e + o * IN;
      for (int64_t px = 0; px < (int64_t)H * W; px++)
        for (int c = 0; c < C; c++) {
          if (to_file) fr[(int64_t)c * H * W + px] = er[px * C + c];
          else er[px * C + c] = fr[(int64_t)c * H * W + px];
        }
    }
  } else {
    for (int64_t o = 0; o < OUT; o++)
      for (int64_t i = r0; i < r1; i++) {
        if (to_file) f[(i - r0) * OUT + o] = e[o * IN + i];
        else e[o * IN + i] = f[(i - r0) * OUT + o];
      }
  }
}

/* Whole conv kernel: file <-> engine HWIO. */
static void convert_conv(const vgg_layer *l, vgg_naming naming, float *f, float *e, int to_file) {
  const int64_t I = l->in_c, O = l->out_c, n = 9 * I * O;
  if (naming == VGG_NAMING_KERAS) {
    if (to_file) memcpy(f, e, sizeof(float) * n);
    else memcpy(e, f, sizeof(float) * n);
    return;
  }
  for (int64_t o = 0; o < O; o++)
    for (int64_t i = 0; i < I; i++)
      for (int k = 0; k < 9; k++) {
        const int64_t fi = (o * I + i) * 9 + k, ei = (k * I + i) * O + o;
        if (to_file) f[fi] = e[ei];
        else e[ei] = f[fi];
      }
}

/* Kernels and biases of m; a kernel whose in_file[p] is set is left to the caller. */
static vgg_status weights_alloc(const vgg_model *m, const unsigned char *in_file, vgg_weights **out, vgg_error *err) {
  vgg_weights *w = calloc(1, sizeof *w);
  if (!w) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  w->model = m;
  for (int p = 0; p < m->nparams; p++) {
    const vgg_layer *l = vgg_model_param_layer(m, p);
    w->in_file[p] = in_file ? in_file[p] : 0;
    w->wmax[p] = -1;
    if (!w->in_file[p] && (w->kernel[p] = vgg_alloc((size_t)l->weights, sizeof(float))))
      vgg_advise_huge(w->kernel[p], (size_t)l->weights * sizeof(float));
    w->bias[p] = vgg_alloc((size_t)l->biases, sizeof(float));
    if ((!w->in_file[p] && !w->kernel[p]) || !w->bias[p]) {
      vgg_weights_free(w);
      return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for the weights of %s (%lld floats)", l->name,
                      (long long)l->weights);
    }
  }
  *out = w;
  return VGG_OK;
}

void vgg_weights_free(vgg_weights *w) {
  if (!w) return;
  for (int p = 0; p < VGG_MAX_PARAMS; p++) {
    if (!w->in_file[p]) vgg_free(w->kernel[p]);
    vgg_free(w->bias[p]);
  }
  if (w->file) {
    st_close(w->file);
    free(w->file);
  }
  free(w);
}

vgg_naming vgg_weights_naming(const vgg_weights *w) { return w->naming; }

void vgg_weights_release_conv(vgg_weights *w) {
  for (int p = 0; p < w->model->nparams; p++)
    if (vgg_model_param_layer(w->model, p)->kind == VGG_LAYER_CONV) {
      vgg_free(w->kernel[p]);
      w->kernel[p] = NULL;
    }
}
float *vgg_weights_kernel(const vgg_weights *w, int p) { return w->kernel[p]; }
float *vgg_weights_bias(const vgg_weights *w, int p) { return w->bias[p]; }

/* ------------------------------------------------------------------ init -- */

static uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

vgg_status vgg_weights_init(const vgg_model *m, uint64_t seed, int threads, vgg_weights **out, vgg_error *err) {
  if (threads <= 0) threads = omp_get_num_procs();
  vgg_status s = weights_alloc(m, NULL, out, err);
  if (s) return s;
  vgg_weights *w = *out;
  w->naming = VGG_NAMING_TORCH;
  w->seeded = 1, w->seed = seed;
  for (int p = 0; p < m->nparams; p++) {
    const vgg_layer *l = vgg_model_param_layer(m, p);
    /* Keras' glorot_uniform: fan_in = receptive field x inputs, fan_out = receptive field x outputs. */
    const double rf = l->kind == VGG_LAYER_CONV ? 9.0 : 1.0;
    const float limit = (float)sqrt(6.0 / (rf * l->in_c + rf * l->out_c));
    /* Counter-based: element e of parameter p depends only on (seed, p, e), so
     * the values do not depend on the thread count or the order of work. */
    const uint64_t key = splitmix64(seed ^ splitmix64((uint64_t)p + 1));
    float *k = w->kernel[p];
    const int64_t n = l->weights;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t e = 0; e < n; e++) {
      const uint64_t r = splitmix64(key + (uint64_t)e);
      const float u = (float)(r >> 40) * (1.0f / 16777216.0f); /* [0, 1), 24 bits */
      k[e] = (2.0f * u - 1.0f) * limit;
    }
    w->wmax[p] = limit;
    memset(w->bias[p], 0, sizeof(float) * (size_t)l->biases);
  }
  return VGG_OK;
}

/* ------------------------------------------------------------- load/save -- */

static vgg_status detect_naming(const st_file *sf, vgg_naming *naming, int *has_top, vgg_error *err) {
  int torch = 0, keras = 0;
  *has_top = 0;
  for (int i = 0; i < sf->n; i++) {
    const char *nm = sf->t[i].name;
    if (!strncmp(nm, "features.", 9) || !strncmp(nm, "classifier.", 11)) torch++;
    else if (strchr(nm, '/')) keras++;
    if (!strcmp(nm, "classifier.0.weight") || !strcmp(nm, "fc1/kernel")) *has_top = 1;
  }
  if (torch && keras)
    return vgg_fail(err, VGG_ERR_FORMAT, "%s: mixes torchvision (features.N.weight) and Keras (block1_conv1/kernel) names",
                    sf->path);
  if (!torch && !keras)
    return vgg_fail(err, VGG_ERR_FORMAT,
                    "%s: no VGG tensors found (expected torchvision 'features.0.weight' or Keras 'block1_conv1/kernel')",
                    sf->path);
  *naming = torch ? VGG_NAMING_TORCH : VGG_NAMING_KERAS;
  return VGG_OK;
}

int vgg_weights_seeded(const char *path, uint64_t *seed) {
  st_file sf;
  if (vgg_is_hdf5(path) || st_open(path, &sf, NULL)) return 0; /* only vggsimd init's files say so */
  char *end;
  errno = 0;
  const unsigned long long v = strtoull(sf.init_seed, &end, 10);
  const int ok = sf.init_seed[0] >= '0' && sf.init_seed[0] <= '9' && !*end && !errno;
  if (ok && seed) *seed = v;
  st_close(&sf);
  return ok;
}

vgg_status vgg_weights_probe(const char *path, vgg_naming *naming, int *has_top, vgg_error *err) {
  st_file sf;
  vgg_status s = st_open_any(path, 0, &sf, err);
  if (s) return s;
  s = detect_naming(&sf, naming, has_top, err);
  st_close(&sf);
  return s;
}

/* The architecture whose tensor names are exactly the file's (with the classifier when the file holds it),
 * or -1: what to suggest when the file does not match --arch. */
static int file_arch(const st_file *sf, vgg_naming naming, int has_top) {
  for (int a = 0; a < VGG_ARCH_COUNT; a++) {
    vgg_model *m;
    vgg_error e;
    if (vgg_model_create((vgg_arch)a, has_top, 224, 224, &m, &e)) continue;
    int match = sf->n == 2 * m->nparams;
    for (int p = 0; p < m->nparams && match; p++)
      for (int b = 0; b < 2 && match; b++) {
        char name[128];
        match = st_find(sf, vgg_param_name(m, p, naming, b, name, sizeof name)) != NULL;
      }
    vgg_model_free(m);
    if (match) return a;
  }
  return -1;
}

/* "; the file holds vgg19's tensors: use --arch vgg19", or "" (buf: at least 64 bytes). */
static const char *arch_hint(const st_file *sf, const vgg_model *m, vgg_naming naming, int has_top, char *buf,
                             size_t n) {
  const int a = file_arch(sf, naming, has_top);
  buf[0] = 0;
  if (a >= 0 && a != (int)m->arch)
    snprintf(buf, n, "; the file holds %s's tensors: use --arch %s", vgg_arch_name((vgg_arch)a),
             vgg_arch_name((vgg_arch)a));
  return buf;
}

static vgg_status check_tensor(const st_file *sf, const vgg_model *m, const st_tensor *t, const char *name,
                               const int64_t *shape, int ndim, vgg_error *err) {
  if (!t) {
    vgg_naming naming;
    int has_top;
    char hint[96] = "";
    if (!detect_naming(sf, &naming, &has_top, NULL)) arch_hint(sf, m, naming, has_top, hint, sizeof hint);
    return vgg_fail(err, VGG_ERR_FORMAT, "%s: missing tensor '%s' of %s%s", sf->path, name, vgg_arch_name(m->arch),
                    hint[0] ? hint : " (is --arch right?)");
  }
  int same = t->ndim == ndim;
  for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
  if (!same) {
    char want[96] = "", got[96] = "";
    for (int d = 0; d < ndim; d++)
      snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? "," : "", (long long)shape[d]);
    for (int d = 0; d < t->ndim; d++)
      snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? "," : "", (long long)t->shape[d]);
    return vgg_fail(err, VGG_ERR_FORMAT, "%s: tensor '%s' has shape [%s], expected [%s]", sf->path, name, got, want);
  }
  if (t->dtype == ST_OTHER)
    return vgg_fail(err, VGG_ERR_FORMAT, "%s: tensor '%s' is %s; F32, F16, BF16 or F64 is required", sf->path, name,
                    t->dtype_name);
  return VGG_OK;
}

#define CHUNK_FLOATS (1 << 20)

/* A dense kernel is used from the file as it is when the file holds F32 in
 * the engine's layout: torchvision's [out][in] for every dense layer but fc1
 * (whose inputs torchvision orders C,H,W and the engine H,W,C). */
static int aligned_f32(const st_file *sf, const st_tensor *t) {
  return t && t->dtype == ST_F32 && (uintptr_t)st_data(sf, t) % sizeof(float) == 0;
}

static int usable_in_place(const st_file *sf, const vgg_model *m, const vgg_layer *l, vgg_naming naming,
                           const st_tensor *t) {
  int h, w, c;
  if (l->kind != VGG_LAYER_DENSE || naming != VGG_NAMING_TORCH || !aligned_f32(sf, t)) return 0;
  dense_input(m, l, &h, &w, &c);
  return h == 1 && w == 1;
}

static vgg_status load_param(st_file *sf, const vgg_model *m, int p, vgg_naming naming, vgg_weights *w,
                             vgg_error *err) {
  const vgg_layer *l = vgg_model_param_layer(m, p);
  char name[128];
  int64_t shape[4];
  int nd = file_shape(l, naming, shape);
  const st_tensor *tk = st_find(sf, vgg_param_name(m, p, naming, 0, name, sizeof name));
  vgg_status s = check_tensor(sf, m, tk, name, shape, nd, err);
  if (s) return s;
  const st_tensor *tb = st_find(sf, vgg_param_name(m, p, naming, 1, name, sizeof name));
  int64_t bshape[1] = {l->biases};
  if ((s = check_tensor(sf, m, tb, name, bshape, 1, err))) return s;
  if ((s = st_read(sf, tb, 0, (size_t)l->biases, w->bias[p], err))) return s;
  if (w->in_file[p]) {
    w->kernel[p] = (float *)st_data(sf, tk);
    return VGG_OK;
  }
  if (l->kind == VGG_LAYER_CONV) {
    /* Aligned F32 is converted straight from the mapping; anything else copied or widened first. */
    const int direct = aligned_f32(sf, tk);
    float *f = direct ? NULL : vgg_alloc((size_t)l->weights, sizeof(float));
    if (!direct && !f) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
    if (f) s = st_read(sf, tk, 0, (size_t)l->weights, f, err);
    if (!s) convert_conv(l, naming, f ? f : (float *)st_data(sf, tk), w->kernel[p], 0);
    vgg_free(f);
    st_release(sf, tk, 0, tk->end - tk->begin); /* converted: the file's pages need not stay resident */
    return s;
  }
  /* Dense: chunks of rows converted in parallel, from the mapping (aligned F32)
   * or from each thread's buffer (widened F16/BF16). */
  const int64_t rows = file_rows(l, naming), rowlen = l->weights / rows;
  const int64_t step = rowlen >= CHUNK_FLOATS ? 1 : CHUNK_FLOATS / rowlen, nchunks = (rows + step - 1) / step;
  const int direct = aligned_f32(sf, tk);
  int bad = 0;
#pragma omp parallel num_threads(w->threads) reduction(| : bad)
  {
    float *tmp = direct ? NULL : vgg_alloc((size_t)(step * rowlen), sizeof(float));
    bad = !direct && !tmp;
    vgg_error e;
#pragma omp for schedule(static)
    for (int64_t c = 0; c < nchunks; c++) {
      const int64_t r0 = c * step, r1 = r0 + step < rows ? r0 + step : rows;
      if (direct) {
        convert_dense_rows(m, l, naming, r0, r1, (float *)st_data(sf, tk) + r0 * rowlen, w->kernel[p], 0);
        /* Converted rows leave the resident set at once: file and copy are never both resident. */
        st_release(sf, tk, (uint64_t)(r0 * rowlen) * 4, (uint64_t)((r1 - r0) * rowlen) * 4);
      } else if (!tmp || st_read(sf, tk, (uint64_t)(r0 * rowlen), (size_t)((r1 - r0) * rowlen), tmp, &e)) bad = 1;
      else convert_dense_rows(m, l, naming, r0, r1, tmp, w->kernel[p], 0);
    }
    vgg_free(tmp);
  }
  return bad ? vgg_fail(err, VGG_ERR_NOMEM, "out of memory converting %s", l->name) : VGG_OK;
}

/* Index of the first non-finite value of v[0..n), or -1, and in *vmax a bound on |v| (at least the largest): all
 * threads, as integers so it vectorises.  The magnitude bits of a float order as its value, and the OR of a
 * chunk's is at least each of them: below 0x7f800000 every value is finite and the OR, read as a float, is the
 * chunk's bound; at or above it (a non-finite value, or a chunk of widely spread values) the chunk is looked at
 * value by value. */
static int64_t first_nonfinite(const float *v, int64_t n, int threads, float *vmax) {
  int64_t first = n;
  uint32_t big = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(min : first) reduction(max : big)
  for (int64_t c = 0; c < n; c += 1 << 16) {
    const int64_t e = c + (1 << 16) < n ? c + (1 << 16) : n;
    uint32_t any = 0;
    for (int64_t i = c; i < e; i++) {
      uint32_t b;
      memcpy(&b, v + i, 4);
      any |= b & 0x7fffffffu;
    }
    if (any >= 0x7f800000u) {
      any = 0;
      for (int64_t i = c; i < e; i++) {
        if (!isfinite(v[i])) {
          first = i < first ? i : first;
          break;
        }
        uint32_t b;
        memcpy(&b, v + i, 4);
        any = (b & 0x7fffffffu) > any ? b & 0x7fffffffu : any;
      }
    }
    big = any > big ? any : big;
  }
  memcpy(vmax, &big, 4);
  return first < n ? first : -1;
}

vgg_status vgg_weights_load(const vgg_model *m, const char *path, int threads, vgg_weights **out, vgg_error *err) {
  *out = NULL;
  st_file *sf = calloc(1, sizeof *sf);
  if (!sf) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  vgg_status s = st_open_any(path, 1, sf, err);
  if (s) {
    free(sf);
    return s;
  }
  vgg_naming naming;
  int has_top;
  vgg_weights *w = NULL;
  if ((s = detect_naming(sf, &naming, &has_top, err))) goto done;
  /* A conv base may come from a file that also holds the classifier: the classifier's tensors are checked for
   * names and shapes, and never read (their pages of the mapping are never touched). */
  vgg_model *full = NULL;
  if (has_top && !m->top && vgg_model_create(m->arch, 1, 224, 224, &full, NULL)) full = NULL;
  /* Every tensor in the file must be one the model expects. */
  for (int i = 0; i < sf->n && !s; i++) {
    int known = 0;
    char name[128];
    for (int p = 0; p < m->nparams && !known; p++)
      for (int b = 0; b < 2 && !known; b++) known = !strcmp(sf->t[i].name, vgg_param_name(m, p, naming, b, name, sizeof name));
    for (int p = m->nparams; full && p < full->nparams && !known; p++)
      for (int b = 0; b < 2 && !known; b++)
        if (!strcmp(sf->t[i].name, vgg_param_name(full, p, naming, b, name, sizeof name))) {
          const vgg_layer *l = vgg_model_param_layer(full, p);
          int64_t shape[4] = {l->biases, 0, 0, 0};
          const int nd = b ? 1 : file_shape(l, naming, shape);
          known = sf->t[i].ndim == nd && !memcmp(sf->t[i].shape, shape, sizeof(int64_t) * (size_t)nd);
          if (!known)
            s = vgg_fail(err, VGG_ERR_FORMAT, "%s: tensor '%s' of the classifier does not have %s's shape", path,
                         sf->t[i].name, vgg_arch_name(m->arch));
        }
    char hint[96];
    if (!known && !s)
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: unexpected tensor '%s' for %s%s%s", path, sf->t[i].name,
                   vgg_arch_name(m->arch), m->top ? " with the classifier" : " (conv base)",
                   arch_hint(sf, m, naming, has_top, hint, sizeof hint)[0] ? hint
                   : has_top && !m->top ? "; the file holds the classifier: use --top" : "");
  }
  vgg_model_free(full);
  if (s) goto done;
  unsigned char in_file[VGG_MAX_PARAMS] = {0};
  for (int p = 0; p < m->nparams; p++) {
    char name[128];
    in_file[p] = (unsigned char)usable_in_place(sf, m, vgg_model_param_layer(m, p), naming,
                                                st_find(sf, vgg_param_name(m, p, naming, 0, name, sizeof name)));
  }
  if ((s = weights_alloc(m, in_file, &w, err))) goto done;
  w->naming = naming;
  w->threads = threads > 0 ? threads : omp_get_num_procs();
  for (int p = 0; p < m->nparams && !s; p++) s = load_param(sf, m, p, naming, w, err);
  /* Non-finite weights would poison every output silently. */
  for (int p = 0; p < m->nparams && !s; p++) {
    const vgg_layer *l = vgg_model_param_layer(m, p);
    float bmax;
    if (first_nonfinite(w->kernel[p], l->weights, w->threads, &w->wmax[p]) >= 0)
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: the kernel of %s holds a non-finite value (NaN or Inf)", path, l->name);
    else if (first_nonfinite(w->bias[p], l->biases, 1, &bmax) >= 0)
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: the bias of %s holds a non-finite value (NaN or Inf)", path, l->name);
  }
done:
  if (s || !w || !memchr(w->in_file, 1, VGG_MAX_PARAMS)) {
    st_close(sf); /* nothing is used from the mapping */
    free(sf);
    sf = NULL;
  }
  if (s) vgg_weights_free(w);
  else {
    w->file = sf;
    *out = w;
  }
  return s;
}

vgg_status vgg_weights_save(const vgg_weights *w, const char *path, vgg_naming naming, vgg_error *err) {
  const vgg_model *m = w->model;
  for (int p = 0; p < m->nparams; p++)
    if (!w->kernel[p]) return vgg_fail(err, VGG_ERR_ARG, "the conv kernels of these weights were released");
  st_tensor *t = calloc((size_t)m->nparams * 2, sizeof *t);
  float *tmp = vgg_alloc(CHUNK_FLOATS + 32768, sizeof(float));
  if (!t || !tmp) {
    free(t);
    vgg_free(tmp);
    return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  }
  for (int p = 0; p < m->nparams; p++) {
    const vgg_layer *l = vgg_model_param_layer(m, p);
    vgg_param_name(m, p, naming, 0, t[2 * p].name, sizeof t[2 * p].name);
    t[2 * p].ndim = file_shape(l, naming, t[2 * p].shape);
    vgg_param_name(m, p, naming, 1, t[2 * p + 1].name, sizeof t[2 * p + 1].name);
    t[2 * p + 1].ndim = 1;
    t[2 * p + 1].shape[0] = l->biases;
  }
  st_writer sw;
  /* Seeded weights say so in the file, so that a run on it knows them for untrained (vgg_weights_seeded). */
  char meta[64] = "";
  if (w->seeded) snprintf(meta, sizeof meta, "\"vggsimd_init_seed\":\"%llu\"", (unsigned long long)w->seed);
  vgg_status s = st_writer_open(&sw, path, t, m->nparams * 2, meta, err);
  for (int p = 0; p < m->nparams && !s; p++) {
    const vgg_layer *l = vgg_model_param_layer(m, p);
    if (l->kind == VGG_LAYER_CONV) {
      float *f = vgg_alloc((size_t)l->weights, sizeof(float));
      if (!f) s = vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
      else {
        convert_conv(l, naming, f, w->kernel[p], 1);
        s = st_writer_data(&sw, f, (size_t)l->weights, err);
        vgg_free(f);
      }
    } else {
      const int64_t rows = file_rows(l, naming), rowlen = l->weights / rows;
      const int64_t step = rowlen >= CHUNK_FLOATS ? 1 : CHUNK_FLOATS / rowlen;
      for (int64_t r0 = 0; r0 < rows && !s; r0 += step) {
        const int64_t r1 = r0 + step < rows ? r0 + step : rows;
        convert_dense_rows(m, l, naming, r0, r1, tmp, w->kernel[p], 1);
        s = st_writer_data(&sw, tmp, (size_t)((r1 - r0) * rowlen), err);
      }
    }
    if (!s) s = st_writer_data(&sw, w->bias[p], (size_t)l->biases, err);
  }
  if (!s) s = st_writer_commit(&sw, err);
  else if (sw.out.f) st_writer_abort(&sw);
  free(t);
  vgg_free(tmp);
  return s;
}
