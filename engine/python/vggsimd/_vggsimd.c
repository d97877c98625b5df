/* The Python binding: a Net type (model, weights and packed net) and image
 * loading, on the CPython and NumPy C APIs.  The Keras-like surface is in
 * __init__.py; this module only converts arguments and arrays.  The GIL is
 * released while images decode, weights load and the net runs; a lock per Net
 * lets several Python threads share one. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "vggsimd.h"

static PyObject *raise_vgg(vgg_status s, const vgg_error *e) {
  PyObject *type = s == VGG_ERR_IO ? PyExc_OSError : s == VGG_ERR_NOMEM ? PyExc_MemoryError : PyExc_ValueError;
  PyErr_SetString(type, e->msg);
  return NULL;
}

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Index of name in a NULL-terminated list, or a ValueError naming the choices. */
static int choice(const char *what, const char *name, const char *const *names) {
  char list[256] = "";
  for (int i = 0; names[i]; i++) {
    if (!strcmp(name, names[i])) return i;
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
  }
  PyErr_Format(PyExc_ValueError, "%s '%s' is not one of: %s", what, name, list);
  return -1;
}

/* ------------------------------------------------------------------ Net -- */

typedef struct {
  PyObject_HEAD vgg_model *m;
  vgg_weights *w;
  vgg_net *net;
  PyThread_type_lock lock;
  double last_forward; /* seconds inside vgg_net_forward_all in the last call */
  vgg_options opt;     /* the options the net was made with (ranges in rg) */
  float rg[64];
  float *ch;           /* and the channel ranges (vgg_model_num_channels floats; NULL: none) */
  int nranges;         /* ranges given as values: their count */
  vgg_net *watch[64];  /* per conv layer asked for by layer_output: a net that writes its map whole */
  vgg_net *gcam[64];   /* per conv layer asked for by gradcam: a net made with it as gradcam_layer */
  vgg_net *watch_all;  /* layer_output(x, "all"): a net that hands out every layer */
} NetObject;

static void Net_dealloc(NetObject *self) {
  for (int i = 0; i < 64; i++) vgg_net_free(self->watch[i]), vgg_net_free(self->gcam[i]);
  vgg_net_free(self->watch_all);
  vgg_net_free(self->net);
  free(self->ch);
  vgg_weights_free(self->w);
  vgg_model_free(self->m);
  if (self->lock) PyThread_free_lock(self->lock);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The engine options (VGG_OPTIONS) among the keywords kw, taken out of it into o: each value's text (a str,
 * or a whole number's digits) read by vgg_options_set; None leaves the default.  -1 with a ValueError. */
static int take_options(PyObject *kw, vgg_options *o) {
  for (const char *const *n = vgg_option_names(); kw && *n; n++) {
    PyObject *v = PyDict_GetItemString(kw, *n); /* borrowed */
    if (!v) continue;
    Py_INCREF(v);
    if (PyDict_DelItemString(kw, *n) < 0) return Py_DECREF(v), -1;
    PyObject *text = v == Py_None ? NULL : PyUnicode_Check(v) ? (Py_INCREF(v), v) : NULL;
    if (v != Py_None && !text && !PyBool_Check(v) && !vgg_option_choices(*n)) { /* a number: whole ones only */
      PyObject *i = PyNumber_Index(v);
      if (!i) PyErr_Clear();
      text = i ? PyObject_Str(i) : NULL;
      Py_XDECREF(i);
    }
    if (v != Py_None && !text) {
      PyErr_Format(PyExc_ValueError, "%s must be None or %s, got %R", *n,
                   vgg_option_choices(*n) ? "a str" : "a whole number", v);
      return Py_DECREF(v), -1;
    }
    Py_DECREF(v);
    const char *s = text ? PyUnicode_AsUTF8(text) : NULL;
    vgg_error oe;
    if (text && (!s || vgg_options_set(o, *n, s, &oe))) {
      if (s) PyErr_Format(PyExc_ValueError, "%s %s", *n, oe.msg);
      Py_DECREF(text);
      return -1;
    }
    Py_XDECREF(text);
  }
  return 0;
}

static int Net_init(NetObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"arch", "weights", "top", "height", "width", "seed", "ranges", "ranges_images", NULL};
  const char *arch = "vgg16", *weights = NULL, *ranges = NULL;
  int top = 0, h = 224, w = 224, images = 0;
  PyObject *seed_obj = NULL, *ranges_obj = NULL;
  if (self->net) {
    PyErr_SetString(PyExc_RuntimeError, "Net is already initialised");
    return -1;
  }
  /* The engine options by name, as the command line reads them (VGG_OPTIONS); the rest as keywords. */
  vgg_options o;
  vgg_options_init(&o);
  PyObject *rest = kw ? PyDict_Copy(kw) : NULL;
  if ((kw && !rest) || take_options(rest, &o) < 0 ||
      !PyArg_ParseTupleAndKeywords(args, rest, "|szpiiOOi", kwlist, &arch, &weights, &top, &h, &w, &seed_obj,
                                   &ranges_obj, &images)) {
    Py_XDECREF(rest);
    return -1;
  }
  Py_XDECREF(rest); /* the values parsed are the caller's objects, alive through the call */
  /* ranges: a ranges file, or the values per layer (as calibrate returns them) */
  PyObject *ranges_seq = NULL;
  if (ranges_obj == Py_None) ranges_obj = NULL;
  if (ranges_obj && PyUnicode_Check(ranges_obj)) {
    if (!(ranges = PyUnicode_AsUTF8(ranges_obj))) return -1;
  } else if (ranges_obj) {
    if (!(ranges_seq = PySequence_Fast(ranges_obj, "ranges must be a ranges file's path or calibrate()'s values")))
      return -1;
  }
  /* The seed is a whole number that fits 64 bits: "K" would wrap -1 to 2^64 - 1. */
  unsigned long long seed = 0;
  if (seed_obj) {
    PyObject *i = PyBool_Check(seed_obj) ? NULL : PyNumber_Index(seed_obj);
    seed = i ? PyLong_AsUnsignedLongLong(i) : (unsigned long long)-1;
    Py_XDECREF(i);
    if (!i || PyErr_Occurred()) {
      PyErr_Clear();
      PyErr_SetString(PyExc_ValueError, "seed must be a whole number from 0 to 18446744073709551615");
      return -1;
    }
  }
  const int a = choice("arch", arch, vgg_arch_names());
  const int bad = a < 0, pr = (int)o.precision;
  if (bad || (pr == VGG_PRECISION_INT8) != (ranges_obj != NULL)) {
    if (!bad)
      PyErr_SetString(PyExc_ValueError, ranges_obj ? "ranges applies to precision='int8'"
                                                   : "precision='int8' needs ranges= (a ranges file or calibrate()'s values)");
    Py_XDECREF(ranges_seq);
    return -1;
  }
  float *rg = self->rg, *vals = NULL; /* the values given, split into rg and ch once the model is made */
  if (ranges_seq) {
    const Py_ssize_t nr = PySequence_Fast_GET_SIZE(ranges_seq);
    if (nr > 1 << 20 || !(vals = malloc(sizeof(float) * (size_t)(nr + 1)))) {
      Py_DECREF(ranges_seq);
      return PyErr_SetString(PyExc_ValueError, "ranges holds too many values"), -1;
    }
    for (Py_ssize_t i = 0; i < nr; i++) {
      const double v = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(ranges_seq, i));
      if (v == -1.0 && PyErr_Occurred()) {
        Py_DECREF(ranges_seq);
        free(vals);
        return -1;
      }
      vals[i] = (float)v;
    }
    self->nranges = (int)nr;
    Py_DECREF(ranges_seq);
  }
  /* The conv kernels stay with the weights: layer_output makes more nets from them. */
  o.ranges = ranges_obj ? rg : NULL;
  o.ranges_images = images > 0 ? images : 0; /* values: the caller's count; a file: its own */
  const int threads = o.threads;
  vgg_error err;
  vgg_status s = VGG_OK;
  if (weights) {
    vgg_naming naming;
    int has_top;
    Py_BEGIN_ALLOW_THREADS
    s = vgg_weights_probe(weights, &naming, &has_top, &err);
    Py_END_ALLOW_THREADS
    if (s) return raise_vgg(s, &err), -1;
    if (top && !has_top) {
      PyErr_Format(PyExc_ValueError, "include_top: %s holds no classifier (conv base only)", weights);
      return -1;
    }
  }
  if ((s = vgg_model_create((vgg_arch)a, top, h, w, &self->m, &err))) return free(vals), raise_vgg(s, &err), -1;
  /* One value per layer, or per conv-base layer for a model with the classifier (its layers take none: each
   * image's input is quantised on its own scale), then optionally each conv layer's channels, as calibrate()
   * gives them for either. */
  const int nbase = (int)(vgg_model_block_output(self->m, 5) - vgg_model_layer(self->m, 0)) + 1;
  const int nl = vgg_model_num_layers(self->m), nch = vgg_model_num_channels(self->m), nr = self->nranges;
  const int per = nr == nl || nr == nl + nch ? nl : nr == nbase || nr == nbase + nch ? nbase : 0;
  if (nr && !per) {
    free(vals);
    PyErr_Format(PyExc_ValueError, "ranges holds %d values; this model has %d layers and %d conv channels "
                 "(calibrate() gives one per layer, then one per channel)", nr, nl, nch);
    return -1;
  }
  if (!(self->ch = calloc((size_t)nch, sizeof(float)))) return free(vals), PyErr_NoMemory(), -1;
  for (int i = 0; i < per; i++) rg[i] = vals[i];
  for (int i = 0; per && nr > per && i < nch; i++) self->ch[i] = vals[per + i];
  free(vals);
  if (ranges_obj) o.channel_ranges = self->ch;
  Py_BEGIN_ALLOW_THREADS
  s = weights ? vgg_weights_load(self->m, weights, threads, &self->w, &err)
              : vgg_weights_init(self->m, seed, threads, &self->w, &err);
  if (!s && ranges) s = vgg_ranges_load_for(self->m, self->w, ranges, rg, self->ch, &o.ranges_images, &err);
  if (!s) s = vgg_net_create(self->m, self->w, &o, &self->net, &err);
  Py_END_ALLOW_THREADS
  if (s) return raise_vgg(s, &err), -1;
  self->opt = o;
  if (!(self->lock = PyThread_allocate_lock())) {
    PyErr_NoMemory();
    return -1;
  }
  return 0;
}

static int ready(NetObject *self) {
  if (self->net) return 1;
  PyErr_SetString(PyExc_RuntimeError, "Net is not initialised");
  return 0;
}

/* Copies each block's output into its array at its image. */
typedef struct {
  float *blocks[6]; /* 1..5, NULL when not wanted */
  int base;         /* image index of the chunk's first image */
  int dense_layer;  /* a classifier layer to copy out (-1: none) */
  float *dense;
} fwd_ctx;

static void on_watch(void *user, int image, int layer, const vgg_tensor *t) {
  fwd_ctx *c = user;
  (void)layer;
  const size_t n = (size_t)t->h * t->w * t->c;
  memcpy(c->dense + (size_t)(c->base + image) * n, t->data, n * sizeof(float));
}

static void on_dense(void *user, int layer, const vgg_tensor *t) {
  fwd_ctx *c = user;
  if (layer == c->dense_layer) memcpy(c->dense + (size_t)c->base * t->c, t->data, sizeof(float) * (size_t)t->n * t->c);
}

static void on_block(void *user, int image, int block, const vgg_tensor *t, double seconds) {
  (void)seconds;
  fwd_ctx *c = user;
  if (!c->blocks[block]) return;
  const size_t n = (size_t)t->h * t->w * t->c;
  memcpy(c->blocks[block] + (size_t)(c->base + image) * n, t->data, n * sizeof(float));
}

/* x as the (N, H, W, 3) C-ordered float32 array of finite values the model takes (a new reference), or NULL
 * with a ValueError saying what is wrong. */
static PyArrayObject *input_array(NetObject *self, PyObject *xin) {
  if (PyArray_Check(xin) && !PyArray_ISNUMBER((PyArrayObject *)xin) && !PyArray_ISBOOL((PyArrayObject *)xin)) {
    PyErr_SetString(PyExc_ValueError, "input must be an array of numbers (float32 or convertible), got another dtype");
    return NULL;
  }
  if (PyArray_Check(xin) && PyArray_ISCOMPLEX((PyArrayObject *)xin)) {
    PyErr_SetString(PyExc_ValueError, "input is complex; the model takes real numbers");
    return NULL;
  }
  PyArrayObject *x = (PyArrayObject *)PyArray_FROM_OTF(xin, NPY_FLOAT32, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
  if (!x) return NULL;
  const vgg_layer *in = vgg_model_layer(self->m, 0);
  const npy_intp *d = PyArray_DIMS(x);
  if (PyArray_NDIM(x) != 4 || d[1] != in->out_h || d[2] != in->out_w || d[3] != 3 || d[0] < 1) {
    char got[96] = "";
    for (int i = 0; i < PyArray_NDIM(x) && i < 6; i++)
      snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)d[i]);
    PyErr_Format(PyExc_ValueError, "input has shape (%s); this model takes (N, %d, %d, 3) with N >= 1", got,
                 in->out_h, in->out_w);
    Py_DECREF(x);
    return NULL;
  }
  /* Every value finite, as the command line asks of a .npy input (a NaN would run to NaN outputs silently). */
  const float *xv = PyArray_DATA(x);
  const npy_intp nx = PyArray_SIZE(x);
  for (npy_intp i = 0; i < nx; i++)
    if (!isfinite(xv[i])) {
      const npy_intp c = i % 3, px = i / 3, xx = px % d[2], yy = px / d[2] % d[1], nn = px / d[2] / d[1];
      PyErr_Format(PyExc_ValueError, "input[%lld, %lld, %lld, %lld] is %s after conversion to float32; every value "
                   "must be finite", (long long)nn, (long long)yy, (long long)xx, (long long)c,
                   isnan(xv[i]) ? "NaN" : "infinite");
      Py_DECREF(x);
      return NULL;
    }
  return x;
}

/* The net of this model's options with one more (watch_layer, or gradcam_layer when gradcam > 0; every layer
 * watched when gradcam < 0) set to `layer`, from nets[layer] or made there on first use; NULL with the engine's
 * error raised. */
static vgg_net *side_net(NetObject *self, vgg_net **nets, int layer, int gradcam) {
  if (!nets[layer]) {
    vgg_options o = self->opt;
    if (gradcam < 0) o.watch_layer = VGG_WATCH_ALL;
    else *(gradcam ? &o.gradcam_layer : &o.watch_layer) = layer;
    vgg_error err;
    vgg_status s;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    s = nets[layer] ? VGG_OK : vgg_net_create(self->m, self->w, &o, &nets[layer], &err);
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (s) return raise_vgg(s, &err), NULL;
  }
  return nets[layer];
}

/* forward(x, blocks=False, dense=None) -> (tuple of the five block outputs or None, probabilities or None,
 * block5 output, the output of classifier layer `dense` ("fc1", "fc2", "predictions": logits) or None)
 * x: (N, H, W, 3) array, converted to C-ordered float32. */
static PyObject *Net_forward(NetObject *self, PyObject *args) {
  PyObject *xin;
  int want_blocks = 0;
  const char *dense_name = NULL;
  if (!ready(self) || !PyArg_ParseTuple(args, "O|pz", &xin, &want_blocks, &dense_name)) return NULL;
  int dense_layer = -1, watched = 0;
  if (dense_name) {
    for (int i = 0; i < vgg_model_num_layers(self->m); i++) {
      const vgg_layer *l = vgg_model_layer(self->m, i);
      if ((l->kind == VGG_LAYER_DENSE || l->kind == VGG_LAYER_CONV || l->kind == VGG_LAYER_POOL) &&
          !strcmp(l->name, dense_name))
        dense_layer = i, watched = l->kind != VGG_LAYER_DENSE;
    }
    if (dense_layer < 0) {
      PyErr_Format(PyExc_ValueError, "'%s' is not a conv, pool or classifier layer of this model", dense_name);
      return NULL;
    }
    if (watched && dense_layer >= 64) {
      PyErr_Format(PyExc_ValueError, "'%s': too many layers", dense_name);
      return NULL;
    }
  }
  vgg_net *net = watched ? side_net(self, self->watch, dense_layer, 0) : self->net;
  if (!net) return NULL;
  PyArrayObject *x = input_array(self, xin);
  if (!x) return NULL;
  const vgg_layer *in = vgg_model_layer(self->m, 0);
  const npy_intp *d = PyArray_DIMS(x);
  const int n = (int)d[0];
  PyObject *blocks[6] = {NULL}, *probs = NULL, *dense = NULL, *ret = NULL;
  fwd_ctx c;
  memset(&c, 0, sizeof c);
  c.dense_layer = dense_layer;
  if (dense_layer >= 0) {
    const vgg_layer *dl = vgg_model_layer(self->m, dense_layer);
    const npy_intp dims[4] = {n, watched ? dl->out_h : dl->out_c, dl->out_w, dl->out_c};
    if (!(dense = PyArray_SimpleNew(watched ? 4 : 2, dims, NPY_FLOAT32))) goto done;
    c.dense = PyArray_DATA((PyArrayObject *)dense);
  }
  for (int b = 1; b <= 5; b++) {
    if (!want_blocks && b != 5) continue;
    const vgg_layer *o = vgg_model_block_output(self->m, b);
    const npy_intp dims[4] = {n, o->out_h, o->out_w, o->out_c};
    if (!(blocks[b] = PyArray_SimpleNew(4, dims, NPY_FLOAT32))) goto done;
    c.blocks[b] = PyArray_DATA((PyArrayObject *)blocks[b]);
  }
  const int top = vgg_model_top(self->m);
  if (top) {
    const npy_intp dims[2] = {n, 1000};
    if (!(probs = PyArray_SimpleNew(2, dims, NPY_FLOAT32))) goto done;
  }
  vgg_status s = VGG_OK;
  vgg_error err;
  const size_t img = (size_t)in->out_h * in->out_w * 3;
  float *xd = PyArray_DATA(x), *pd = probs ? PyArray_DATA((PyArrayObject *)probs) : NULL;
  double sec = 0;
  /* Chunks of FORWARD_CHUNK images, the GIL released while each runs; between two, signals are checked (with
   * the GIL, as Python's handlers need it), so Ctrl-C raises KeyboardInterrupt within a chunk's time and the
   * net, left between two forward passes, stays usable.  Every image's result is the same whatever the chunk. */
  enum { FORWARD_CHUNK = 16 };
  for (int b0 = 0; b0 < n; b0 += FORWARD_CHUNK) {
    const int nb = n - b0 < FORWARD_CHUNK ? n - b0 : FORWARD_CHUNK;
    const vgg_tensor t = {nb, in->out_h, in->out_w, 3, xd + (size_t)b0 * img};
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    c.base = b0;
    const double t0 = seconds_now();
    s = watched ? vgg_net_forward_watch(net, &t, on_watch, &c, &err)
                : vgg_net_forward_all(net, &t, on_block, dense ? on_dense : NULL, &c, NULL,
                                      pd ? pd + (size_t)b0 * 1000 : NULL, &err);
    sec += seconds_now() - t0;
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (s) break;
    if (b0 + nb < n && PyErr_CheckSignals() < 0) goto done; /* KeyboardInterrupt, or what a handler raised */
  }
  self->last_forward = sec;
  if (s) {
    raise_vgg(s, &err);
    goto done;
  }
  PyObject *bt = Py_None;
  Py_INCREF(Py_None);
  if (want_blocks) {
    Py_DECREF(Py_None);
    if (!(bt = PyTuple_Pack(5, blocks[1], blocks[2], blocks[3], blocks[4], blocks[5]))) goto done;
  }
  ret = Py_BuildValue("(NOOO)", bt, probs ? probs : Py_None, blocks[5], dense ? dense : Py_None);
done:
  Py_XDECREF(dense);
  for (int b = 1; b <= 5; b++) Py_XDECREF(blocks[b]);
  Py_XDECREF(probs);
  Py_DECREF(x);
  return ret;
}

/* Copies every watched layer's map and every classifier layer's output into its array at its image. */
typedef struct {
  float *out[64]; /* by layer index, NULL when not given out */
  int base;
} every_ctx;

static void on_watch_every(void *user, int image, int layer, const vgg_tensor *t) {
  every_ctx *c = user;
  const size_t n = (size_t)t->h * t->w * t->c;
  if (layer < 64 && c->out[layer]) memcpy(c->out[layer] + (size_t)(c->base + image) * n, t->data, n * sizeof(float));
}

static void on_dense_every(void *user, int layer, const vgg_tensor *t) {
  every_ctx *c = user;
  if (layer < 64 && c->out[layer])
    memcpy(c->out[layer] + (size_t)c->base * t->c, t->data, sizeof(float) * (size_t)t->n * t->c);
}

/* every(x) -> {name: output} of every conv (after its ReLU), pool and classifier layer (predictions: the
 * probabilities), from one pass of a net that fuses nothing. */
static PyObject *Net_every(NetObject *self, PyObject *xin) {
  if (!ready(self)) return NULL;
  const int nl = vgg_model_num_layers(self->m);
  if (nl > 64) {
    PyErr_SetString(PyExc_ValueError, "too many layers");
    return NULL;
  }
  vgg_net *net = side_net(self, &self->watch_all, 0, -1);
  if (!net) return NULL;
  PyArrayObject *x = input_array(self, xin);
  if (!x) return NULL;
  const vgg_layer *in = vgg_model_layer(self->m, 0);
  const int n = (int)PyArray_DIMS(x)[0], top = vgg_model_top(self->m);
  PyObject *arrays[64] = {NULL}, *ret = NULL;
  every_ctx c;
  memset(&c, 0, sizeof c);
  for (int i = 1; i < nl; i++) {
    const vgg_layer *l = vgg_model_layer(self->m, i);
    if (l->kind != VGG_LAYER_CONV && l->kind != VGG_LAYER_POOL && l->kind != VGG_LAYER_DENSE) continue;
    const int dense = l->kind == VGG_LAYER_DENSE;
    const npy_intp dims[4] = {n, dense ? l->out_c : l->out_h, l->out_w, l->out_c};
    if (!(arrays[i] = PyArray_SimpleNew(dense ? 2 : 4, dims, NPY_FLOAT32))) goto done;
    /* predictions: the probabilities, written by the forward pass itself */
    if (!(top && i == nl - 1)) c.out[i] = PyArray_DATA((PyArrayObject *)arrays[i]);
  }
  float *xd = PyArray_DATA(x), *pd = top ? PyArray_DATA((PyArrayObject *)arrays[nl - 1]) : NULL;
  const size_t img = (size_t)in->out_h * in->out_w * 3;
  vgg_status s = VGG_OK;
  vgg_error err;
  enum { EVERY_CHUNK = 16 }; /* as forward: Ctrl-C between chunks */
  for (int b0 = 0; b0 < n && !s; b0 += EVERY_CHUNK) {
    const int nb = n - b0 < EVERY_CHUNK ? n - b0 : EVERY_CHUNK;
    const vgg_tensor t = {nb, in->out_h, in->out_w, 3, xd + (size_t)b0 * img};
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    c.base = b0;
    s = vgg_net_watch(net, on_watch_every, &c, &err);
    if (!s) s = vgg_net_forward_all(net, &t, NULL, on_dense_every, &c, NULL, pd ? pd + (size_t)b0 * 1000 : NULL, &err);
    vgg_net_watch(net, NULL, NULL, NULL);
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (!s && b0 + nb < n && PyErr_CheckSignals() < 0) goto done;
  }
  if (s) {
    raise_vgg(s, &err);
    goto done;
  }
  if (!(ret = PyDict_New())) goto done;
  for (int i = 1; i < nl; i++)
    if (arrays[i] && PyDict_SetItemString(ret, vgg_model_layer(self->m, i)->name, arrays[i]) < 0) {
      Py_CLEAR(ret);
      break;
    }
done:
  for (int i = 0; i < 64; i++) Py_XDECREF(arrays[i]);
  Py_DECREF(x);
  return ret;
}

/* gradcam(x, classes, layer) -> (maps (N, K, H, W) float32, classes used (N, K) int32, probabilities (N, 1000)):
 * Grad-CAM of conv layer `layer` for the K classes (each an index, or -k for an image's k-th most likely). */
static PyObject *Net_gradcam(NetObject *self, PyObject *args) {
  PyObject *xin, *cls_obj;
  const char *layer_name;
  if (!ready(self) || !PyArg_ParseTuple(args, "OOs", &xin, &cls_obj, &layer_name)) return NULL;
  if (!vgg_model_top(self->m)) {
    PyErr_SetString(PyExc_ValueError, "Grad-CAM needs the classifier: a model made with include_top=True");
    return NULL;
  }
  int layer = -1;
  for (int i = 0; i < vgg_model_num_layers(self->m) && i < 64; i++)
    if (vgg_model_layer(self->m, i)->kind == VGG_LAYER_CONV && !strcmp(vgg_model_layer(self->m, i)->name, layer_name))
      layer = i;
  if (layer < 0) {
    PyErr_Format(PyExc_ValueError, "'%s' is not a conv layer of this model (Grad-CAM takes block1_conv1 .. the last "
                 "conv)", layer_name);
    return NULL;
  }
  PyObject *seq = PySequence_Fast(cls_obj, "classes must be a sequence of class indices");
  if (!seq) return NULL;
  const Py_ssize_t k = PySequence_Fast_GET_SIZE(seq);
  int classes[VGG_GRADCAM_MAX_CLASSES];
  if (k < 1 || k > VGG_GRADCAM_MAX_CLASSES) {
    PyErr_Format(PyExc_ValueError, "Grad-CAM takes 1 to %d classes, got %zd", VGG_GRADCAM_MAX_CLASSES, k);
    Py_DECREF(seq);
    return NULL;
  }
  for (Py_ssize_t i = 0; i < k; i++) {
    PyObject *it = PySequence_Fast_GET_ITEM(seq, i);
    const long v = PyBool_Check(it) ? -100000 : PyLong_AsLong(it);
    if ((v == -1 && PyErr_Occurred()) || v < -1000 || v > 999) {
      PyErr_Clear();
      PyErr_SetString(PyExc_ValueError, "a class must be an index from 0 to 999 (or a label)");
      Py_DECREF(seq);
      return NULL;
    }
    classes[i] = (int)v;
  }
  Py_DECREF(seq);
  vgg_net *net = side_net(self, self->gcam, layer, 1);
  if (!net) return NULL;
  PyArrayObject *x = input_array(self, xin);
  if (!x) return NULL;
  const npy_intp *d = PyArray_DIMS(x);
  const int n = (int)d[0], h = (int)d[1], w = (int)d[2];
  const npy_intp md[4] = {n, k, h, w}, cd[2] = {n, k}, pdims[2] = {n, 1000};
  PyObject *maps = PyArray_SimpleNew(4, md, NPY_FLOAT32), *chosen = PyArray_SimpleNew(2, cd, NPY_INT32);
  PyObject *probs = PyArray_SimpleNew(2, pdims, NPY_FLOAT32), *ret = NULL;
  if (!maps || !chosen || !probs) goto done;
  const size_t img = (size_t)h * w * 3;
  float *xd = PyArray_DATA(x), *mp = PyArray_DATA((PyArrayObject *)maps), *pp = PyArray_DATA((PyArrayObject *)probs);
  int *cp = PyArray_DATA((PyArrayObject *)chosen);
  vgg_status s = VGG_OK;
  vgg_error err;
  double sec = 0;
  for (int b0 = 0; b0 < n; b0 += 16) { /* chunks, signals checked between them (as forward) */
    const int nb = n - b0 < 16 ? n - b0 : 16;
    const vgg_tensor t = {nb, h, w, 3, xd + (size_t)b0 * img};
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    const double t0 = seconds_now();
    s = vgg_net_gradcam(net, &t, classes, (int)k, NULL, NULL, NULL, pp + (size_t)b0 * 1000, cp + (size_t)b0 * k,
                        mp + (size_t)b0 * k * h * w, &err);
    sec += seconds_now() - t0;
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (s) break;
    if (b0 + nb < n && PyErr_CheckSignals() < 0) goto done;
  }
  self->last_forward = sec;
  if (s) {
    raise_vgg(s, &err);
    goto done;
  }
  ret = Py_BuildValue("(OOO)", maps, chosen, probs);
done:
  Py_XDECREF(maps), Py_XDECREF(chosen), Py_XDECREF(probs);
  Py_DECREF(x);
  return ret;
}

/* calibrate(x) -> the largest output value of each layer over the images x (0 for layers without one), then of
 * each conv layer's channels, as vgg_net_calibrate measures them on this float32 net. */
static PyObject *Net_calibrate(NetObject *self, PyObject *xin) {
  if (!ready(self)) return NULL;
  if (self->opt.precision != VGG_PRECISION_F32) {
    PyErr_SetString(PyExc_ValueError, "calibration runs on a float32 model (precision='f32')");
    return NULL;
  }
  PyArrayObject *x = input_array(self, xin);
  if (!x) return NULL;
  const int nl = vgg_model_num_layers(self->m), nch = vgg_model_num_channels(self->m), n = (int)PyArray_DIMS(x)[0];
  const vgg_layer *in = vgg_model_layer(self->m, 0);
  float rg[64] = {0}, *ch = calloc((size_t)nch, sizeof(float));
  if (!ch) return Py_DECREF(x), PyErr_NoMemory();
  vgg_status s = VGG_OK;
  vgg_error err;
  for (int b0 = 0; b0 < n && !s; b0 += 16) {
    const vgg_tensor t = {n - b0 < 16 ? n - b0 : 16, in->out_h, in->out_w, 3,
                          (float *)PyArray_DATA(x) + (size_t)b0 * in->out_h * in->out_w * 3};
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    s = vgg_net_calibrate(self->net, &t, rg, ch, &err);
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (!s && b0 + 16 < n && PyErr_CheckSignals() < 0) {
      Py_DECREF(x);
      free(ch);
      return NULL;
    }
  }
  Py_DECREF(x);
  if (s) return free(ch), raise_vgg(s, &err);
  PyObject *out = PyList_New(nl + nch);
  for (int i = 0; out && i < nl + nch; i++) PyList_SET_ITEM(out, i, PyFloat_FromDouble(i < nl ? rg[i] : ch[i - nl]));
  free(ch);
  return out;
}

/* save_ranges(values, path, images=0): a ranges file of calibrate()'s values for this net's weights, measured on
 * `images` images (0: not recorded), written atomically. */
static PyObject *Net_save_ranges(NetObject *self, PyObject *args) {
  PyObject *vals;
  const char *path;
  int images = 0;
  if (!ready(self) || !PyArg_ParseTuple(args, "Os|i", &vals, &path, &images)) return NULL;
  PyObject *seq = PySequence_Fast(vals, "values must be a sequence of floats");
  if (!seq) return NULL;
  const int nl = vgg_model_num_layers(self->m), nch = vgg_model_num_channels(self->m);
  const Py_ssize_t nv = PySequence_Fast_GET_SIZE(seq);
  if (nv != nl && nv != nl + nch) {
    PyErr_Format(PyExc_ValueError, "values holds %zd values; this model has %d layers and %d conv channels", nv, nl, nch);
    Py_DECREF(seq);
    return NULL;
  }
  float rg[64], *ch = calloc((size_t)nch, sizeof(float));
  if (!ch) return Py_DECREF(seq), PyErr_NoMemory();
  for (Py_ssize_t i = 0; i < nv; i++) {
    const float v = (float)PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
    if (v == -1.0f && PyErr_Occurred()) {
      Py_DECREF(seq);
      free(ch);
      return NULL;
    }
    if (i < nl) rg[i] = v;
    else ch[i - nl] = v;
  }
  Py_DECREF(seq);
  vgg_error err;
  vgg_status s;
  Py_BEGIN_ALLOW_THREADS
  s = vgg_ranges_save_for(self->m, self->w, rg, ch, images, path, &err);
  Py_END_ALLOW_THREADS
  free(ch);
  if (s) return raise_vgg(s, &err);
  Py_RETURN_NONE;
}

static PyObject *Net_summary(NetObject *self, PyObject *unused) {
  (void)unused;
  if (!ready(self)) return NULL;
  char buf[16384];
  vgg_model_summary(self->m, buf, sizeof buf);
  return PyUnicode_FromString(buf);
}

/* [(name, kind, (h, w, c), params), ...] */
static PyObject *Net_layers(NetObject *self, PyObject *unused) {
  (void)unused;
  if (!ready(self)) return NULL;
  static const char *const kinds[] = {"InputLayer", "Conv2D", "MaxPooling2D", "Flatten", "Dense"};
  const int n = vgg_model_num_layers(self->m);
  PyObject *list = PyList_New(n);
  for (int i = 0; list && i < n; i++) {
    const vgg_layer *l = vgg_model_layer(self->m, i);
    PyObject *shape = l->kind == VGG_LAYER_FLATTEN || l->kind == VGG_LAYER_DENSE
                          ? Py_BuildValue("(i)", l->out_c)
                          : Py_BuildValue("(iii)", l->out_h, l->out_w, l->out_c);
    PyObject *item = shape ? Py_BuildValue("(ssNL)", l->name, kinds[l->kind], shape, (long long)(l->weights + l->biases)) : NULL;
    if (!item) {
      Py_DECREF(list);
      return NULL;
    }
    PyList_SET_ITEM(list, i, item);
  }
  return list;
}

static PyObject *Net_steps(NetObject *self, PyObject *unused) {
  (void)unused;
  if (!ready(self)) return NULL;
  vgg_step_info st[VGG_MAX_STEPS_INFO];
  const int n = vgg_net_steps(self->net, st, VGG_MAX_STEPS_INFO);
  PyObject *list = PyList_New(0);
  for (int i = 0; list && i < n; i++) {
    PyObject *d = Py_BuildValue("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:d}", "layer", st[i].layer, "op", st[i].op, "algo",
                                st[i].algo, "dtype", st[i].dtype, "fused", st[i].fused, "kernel", st[i].kernel,
                                "tasks", st[i].tasks, "seconds", st[i].seconds);
    if (!d || PyList_Append(list, d)) {
      Py_XDECREF(d);
      Py_DECREF(list);
      return NULL;
    }
    Py_DECREF(d);
  }
  return list;
}

static PyObject *Net_get_isa(NetObject *self, void *closure) {
  (void)closure;
  return ready(self) ? PyUnicode_FromString(vgg_net_isa(self->net)) : NULL;
}
static PyObject *Net_get_threads(NetObject *self, void *closure) {
  (void)closure;
  return ready(self) ? PyLong_FromLong(vgg_net_threads(self->net)) : NULL;
}
static PyObject *Net_get_params(NetObject *self, void *closure) {
  (void)closure;
  return ready(self) ? PyLong_FromLongLong(vgg_model_total_params(self->m)) : NULL;
}
static PyObject *Net_get_last_forward(NetObject *self, void *closure) {
  (void)closure;
  return PyFloat_FromDouble(self->last_forward);
}

static PyMethodDef Net_methods[] = {
    {"forward", (PyCFunction)Net_forward, METH_VARARGS,
     "forward(x, blocks=False, dense=None) -> (five block outputs or None, probabilities or None, block5 output, "
     "dense layer output or None)"},
    {"every", (PyCFunction)Net_every, METH_O,
     "every(x) -> {name: output} of every conv, pool and classifier layer, from one pass"},
    {"gradcam", (PyCFunction)Net_gradcam, METH_VARARGS,
     "gradcam(x, classes, layer) -> (maps (N, K, H, W), classes used (N, K), probabilities)"},
    {"summary", (PyCFunction)Net_summary, METH_NOARGS, "the Keras-style summary table"},
    {"calibrate", (PyCFunction)Net_calibrate, METH_O, "calibrate(x): each layer's largest output value over x, then each conv channel's"},
    {"save_ranges", (PyCFunction)Net_save_ranges, METH_VARARGS, "save_ranges(values, path, images=0): a ranges file"},
    {"layers", (PyCFunction)Net_layers, METH_NOARGS, "[(name, kind, output shape, params), ...]"},
    {"steps", (PyCFunction)Net_steps, METH_NOARGS, "the plan the net runs, step by step"},
    {NULL, NULL, 0, NULL}};

static PyObject *Net_get_ranges_widened(NetObject *self, void *closure) {
  (void)closure;
  return ready(self) ? PyLong_FromLong(vgg_net_ranges_widened(self->net)) : NULL;
}

static PyGetSetDef Net_getset[] = {
    {"ranges_widened", (getter)Net_get_ranges_widened, NULL, "int8: ranges widened in the last forward pass", NULL},
    {"isa", (getter)Net_get_isa, NULL, "the kernel level in use", NULL},
    {"threads", (getter)Net_get_threads, NULL, "worker threads", NULL},
    {"params", (getter)Net_get_params, NULL, "parameter count", NULL},
    {"last_forward_seconds", (getter)Net_get_last_forward, NULL, "time inside the engine in the last forward()",
     NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject NetType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vggsimd._vggsimd.Net",
    .tp_basicsize = sizeof(NetObject),
    .tp_dealloc = (destructor)Net_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Net(arch='vgg16', weights=None, top=False, height=224, width=224, seed=0, ranges=None, **options): "
              "options are the engine's (OPTIONS: isa, threads, algo, precision, ...), each a str or a whole number "
              "as the command line takes it; None: the default",
    .tp_methods = Net_methods,
    .tp_getset = Net_getset,
    .tp_init = (initproc)Net_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------ functions -- */

/* The preprocessings load_image and image_from_array take, in vgg_preproc order. */
static const char *const preprocs[] = {"caffe", "torch", "none", NULL};

/* A (1, H, W, 3) float32 array of an image tensor, which it frees. */
static PyObject *image_array(vgg_tensor *t) {
  const npy_intp dims[4] = {1, t->h, t->w, 3};
  PyObject *a = PyArray_SimpleNew(4, dims, NPY_FLOAT32);
  if (a) memcpy(PyArray_DATA((PyArrayObject *)a), t->data, sizeof(float) * (size_t)t->h * t->w * 3);
  vgg_tensor_free(t);
  return a;
}

static PyObject *load_image(PyObject *mod, PyObject *args, PyObject *kw) {
  (void)mod;
  static char *kwlist[] = {"path", "size", "resize", "preprocess", "max_pixels", "full_decode", "exif", NULL};
  PyObject *path_obj;
  const char *resize = "direct", *pre = "caffe";
  int size = 224, full = 0, exif = 1;
  long long max_pixels = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|issLpp", kwlist, PyUnicode_FSConverter, &path_obj, &size, &resize,
                                   &pre, &max_pixels, &full, &exif))
    return NULL;
  const int r = choice("resize", resize, vgg_resize_names()), p = r < 0 ? -1 : choice("preprocess", pre, preprocs);
  if (r < 0 || p < 0) {
    Py_DECREF(path_obj);
    return NULL;
  }
  if (max_pixels < 0) {
    Py_DECREF(path_obj);
    PyErr_SetString(PyExc_ValueError, "max_pixels is negative");
    return NULL;
  }
  const vgg_image_options o = {size, (vgg_resize_mode)r, (vgg_preproc)p, max_pixels, full, !exif};
  vgg_tensor t;
  vgg_error err;
  vgg_status s;
  const char *path = PyBytes_AS_STRING(path_obj);
  Py_BEGIN_ALLOW_THREADS
  s = vgg_image_load(path, &o, &t, &err);
  Py_END_ALLOW_THREADS
  Py_DECREF(path_obj);
  if (s) return raise_vgg(s, &err);
  return image_array(&t);
}

/* image_from_array(a, size, resize, preprocess): a (H, W, 3) array of RGB values 0..255 as load_image's result. */
static PyObject *image_from_array(PyObject *mod, PyObject *args, PyObject *kw) {
  (void)mod;
  static char *kwlist[] = {"array", "size", "resize", "preprocess", NULL};
  PyObject *ain;
  const char *resize = "direct", *pre = "caffe";
  int size = 224;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|iss", kwlist, &ain, &size, &resize, &pre)) return NULL;
  const int r = choice("resize", resize, vgg_resize_names()), p = r < 0 ? -1 : choice("preprocess", pre, preprocs);
  if (r < 0 || p < 0) return NULL;
  PyArrayObject *a = (PyArrayObject *)PyArray_FROM_OTF(ain, NPY_FLOAT32, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
  if (!a) return NULL;
  const npy_intp *d = PyArray_DIMS(a);
  if (PyArray_NDIM(a) != 3 || d[2] != 3 || d[0] < 1 || d[1] < 1 || d[0] > 65535 || d[1] > 65535) {
    Py_DECREF(a);
    PyErr_SetString(PyExc_ValueError, "a picture array must have shape (height, width, 3), RGB, sides up to 65535");
    return NULL;
  }
  const vgg_image_options o = {size, (vgg_resize_mode)r, (vgg_preproc)p, 0, 0};
  vgg_tensor t;
  vgg_error err;
  vgg_status s;
  Py_BEGIN_ALLOW_THREADS
  s = vgg_image_from_rgb(PyArray_DATA(a), (int)d[1], (int)d[0], &o, &t, &err);
  Py_END_ALLOW_THREADS
  Py_DECREF(a);
  if (s) return raise_vgg(s, &err);
  return image_array(&t);
}

/* probe_weights(path) -> ("torch" | "keras", has_classifier, seeded) from the file's header (seeded: vggsimd
 * init's untrained weights). */
static PyObject *probe_weights(PyObject *mod, PyObject *args) {
  (void)mod;
  PyObject *path_obj;
  if (!PyArg_ParseTuple(args, "O&", PyUnicode_FSConverter, &path_obj)) return NULL;
  vgg_naming naming;
  int has_top;
  vgg_error err;
  vgg_status s = vgg_weights_probe(PyBytes_AS_STRING(path_obj), &naming, &has_top, &err);
  const int seeded = s ? 0 : vgg_weights_seeded(PyBytes_AS_STRING(path_obj), NULL);
  Py_DECREF(path_obj);
  if (s) return raise_vgg(s, &err);
  return Py_BuildValue("(sOO)", naming == VGG_NAMING_TORCH ? "torch" : "keras", has_top ? Py_True : Py_False,
                       seeded ? Py_True : Py_False);
}

static PyObject *label(PyObject *mod, PyObject *arg) {
  (void)mod;
  const long i = PyLong_AsLong(arg);
  if (i == -1 && PyErr_Occurred()) return NULL;
  if (i < 0 || i > 999) {
    PyErr_Format(PyExc_ValueError, "class %ld is not from 0 to 999", i);
    return NULL;
  }
  return PyUnicode_FromString(vgg_imagenet_label((int)i));
}

/* The names of a NULL-terminated list as a tuple. */
static PyObject *names_tuple(const char *const *names) {
  Py_ssize_t n = 0;
  while (names[n]) n++;
  PyObject *t = PyTuple_New(n);
  for (Py_ssize_t i = 0; t && i < n; i++) {
    PyObject *s = PyUnicode_FromString(names[i]);
    if (!s) {
      Py_DECREF(t);
      return NULL;
    }
    PyTuple_SET_ITEM(t, i, s);
  }
  return t;
}

static PyObject *levels(PyObject *mod, PyObject *unused) {
  (void)mod, (void)unused;
  PyObject *list = PyList_New(0);
  for (int l = 0; list && l < VGG_LEVEL_COUNT; l++)
    if (vgg_level_usable(l)) {
      PyObject *s = PyUnicode_FromString(vgg_level_name(l));
      if (!s || PyList_Append(list, s)) {
        Py_XDECREF(s);
        Py_DECREF(list);
        return NULL;
      }
      Py_DECREF(s);
    }
  return list;
}

static PyMethodDef module_methods[] = {
    {"load_image", (PyCFunction)(void (*)(void))load_image, METH_VARARGS | METH_KEYWORDS,
     "load_image(path, size=224, resize='direct', preprocess='caffe', max_pixels=0, full_decode=False, exif=True)"},
    {"probe_weights", probe_weights, METH_VARARGS, "probe_weights(path) -> (naming, has_classifier, seeded)"},
    {"image_from_array", (PyCFunction)(void (*)(void))image_from_array, METH_VARARGS | METH_KEYWORDS,
     "image_from_array(array, size=224, resize='direct', preprocess='caffe')"},
    {"label", label, METH_O, "label(i): the ImageNet class name of index i"},
    {"levels", levels, METH_NOARGS, "the kernel levels usable here, best last"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_vggsimd", "vggsimd engine binding", -1, module_methods,
                                    NULL, NULL, NULL, NULL};

/* ((name, metavar, help, choices or None), ...): the engine options of VGG_OPTIONS, for the Dask driver's
 * flags. */
static PyObject *options_tuple(void) {
  const char *const *n = vgg_option_names();
  Py_ssize_t k = 0;
  while (n[k]) k++;
  PyObject *t = PyTuple_New(k);
  for (Py_ssize_t i = 0; t && i < k; i++) {
    const char *const *ch = vgg_option_choices(n[i]);
    PyObject *c = ch ? names_tuple(ch) : (Py_INCREF(Py_None), Py_None);
    PyObject *row = c ? Py_BuildValue("(sssN)", n[i], vgg_option_metavar(n[i]), vgg_option_help(n[i]), c) : NULL;
    if (!row) {
      Py_DECREF(t);
      return NULL;
    }
    PyTuple_SET_ITEM(t, i, row);
  }
  return t;
}

PyMODINIT_FUNC PyInit__vggsimd(void) {
  import_array();
  if (PyType_Ready(&NetType) < 0) return NULL;
  PyObject *m = PyModule_Create(&module);
  if (!m) return NULL;
  Py_INCREF(&NetType);
  PyObject *lists[] = {names_tuple(vgg_resize_names()), names_tuple(vgg_algo_names()),
                       names_tuple(vgg_precision_names()), names_tuple(vgg_arch_names()), options_tuple()};
  static const char *const list_names[] = {"RESIZE_MODES", "ALGOS", "PRECISIONS", "ARCHS", "OPTIONS"};
  for (int i = 0; i < 5; i++)
    if (!lists[i] || PyModule_AddObject(m, list_names[i], lists[i]) < 0) {
      Py_XDECREF(lists[i]);
      Py_DECREF(m);
      return NULL;
    }
  if (PyModule_AddObject(m, "Net", (PyObject *)&NetType) < 0 ||
      PyModule_AddStringConstant(m, "__version__", VGGSIMD_VERSION) < 0 ||
      PyModule_AddIntConstant(m, "CHANNEL_MANY", VGG_CHANNEL_MANY) < 0) {
    Py_DECREF(&NetType);
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
