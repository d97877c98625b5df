/* Grad-CAM: the backward pass from one class's logit to a conv layer's output, and the class activation map.
 *
 * The forward pass is the net's own (the plan keeps every map from the Grad-CAM layer on whole, and the net
 * copies them here as they are made).  Backward, layer by layer from the logits: a dense layer is its kernel
 * transposed (the level's dense_t, which skips the rows a ReLU cut), the flatten is free (the classifier reads
 * NHWC maps as H,W,C), a max-pool hands each window's gradient to its first largest input, and a 3x3 conv is
 * the level's direct conv kernel run on filters flipped in space with their channels swapped (packed once when
 * the net is made), zero bias, no ReLU.  Each ReLU multiplies the gradient by its output's mask (output > 0). */
#include "net.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

int vgg_net_gradcam_layer(const vgg_net *net) { return net->gc_layer; }

static size_t out_floats(const vgg_layer *l) { return (size_t)l->out_h * l->out_w * l->out_c; }
static size_t in_floats(const vgg_layer *l) { return (size_t)l->in_h * l->in_w * l->in_c; }

void vgg_net_keep(vgg_net *net, int layer, const float *out) {
  if (net->keep[layer]) memcpy(net->keep[layer], out, sizeof(float) * out_floats(&net->m->layers[layer]));
}

vgg_status vgg_gradcam_provision(vgg_net *net, int layer, vgg_error *err) {
  const vgg_model *m = net->m;
  if (layer <= 0 || layer >= m->nlayers || m->layers[layer].kind != VGG_LAYER_CONV)
    return vgg_fail(err, VGG_ERR_ARG, "gradcam_layer %d is not a conv layer of the model", layer);
  if (!m->top) return vgg_fail(err, VGG_ERR_ARG, "Grad-CAM needs the classifier: a model made with top");
  if (net->i8) return vgg_fail(err, VGG_ERR_UNSUPPORTED, "Grad-CAM runs on float32 and bf16 nets, not int8");
  net->gc_layer = layer;
  size_t widest = 0, cmax = 0;
  for (int i = layer; i < m->nlayers; i++) {
    const vgg_layer *l = &m->layers[i];
    widest = in_floats(l) > widest ? in_floats(l) : widest;
    widest = out_floats(l) > widest ? out_floats(l) : widest;
    if ((l->kind == VGG_LAYER_CONV || l->kind == VGG_LAYER_DENSE) && !l->softmax &&
        !(net->keep[i] = vgg_alloc(out_floats(l), sizeof(float))))
      return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for Grad-CAM's maps");
    if (l->kind != VGG_LAYER_CONV || i == layer) continue;
    /* The transposed conv: out[y][x][ci] = sum over ky, kx, co of g[y+ky-1][x+kx-1][co] w[2-ky][2-kx][ci][co]. */
    const int cin = l->in_c, cout = l->out_c;
    const float *w = net->w->kernel[l->param];
    float *t = vgg_alloc((size_t)9 * cin * cout, sizeof(float));
    net->tpacked[l->param] = vgg_alloc(net->k->conv3x3_packed_size(cout, cin), sizeof(float));
    if (!t || !net->tpacked[l->param]) {
      vgg_free(t);
      return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for Grad-CAM's filters");
    }
    for (int k = 0; k < 9; k++)
      for (int co = 0; co < cout; co++)
        for (int ci = 0; ci < cin; ci++)
          t[((size_t)k * cout + co) * cin + ci] = w[((size_t)(8 - k) * cin + ci) * cout + co];
    net->k->conv3x3_pack(t, cout, cin, net->tpacked[l->param]);
    vgg_free(t);
    cmax = (size_t)cin > cmax ? (size_t)cin : cmax;
  }
  if (!(net->zeros = vgg_alloc(cmax + 1, sizeof(float))) || !(net->grad[0] = vgg_alloc(widest, sizeof(float))) ||
      !(net->grad[1] = vgg_alloc(widest, sizeof(float))))
    return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for Grad-CAM's gradients");
  memset(net->zeros, 0, sizeof(float) * (cmax + 1));
  return VGG_OK;
}

void vgg_gradcam_free(vgg_net *net) {
  for (int i = 0; i < VGG_MAX_LAYERS; i++) vgg_free(net->keep[i]);
  for (int p = 0; p < VGG_MAX_PARAMS; p++) vgg_free(net->tpacked[p]);
  vgg_free(net->zeros);
  vgg_free(net->grad[0]);
  vgg_free(net->grad[1]);
}

/* g times the mask of a ReLU's output a (a > 0), n values, in place. */
static void relu_mask(float *g, const float *a, size_t n, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t i = 0; i < n; i++) g[i] = a[i] > 0.0f ? g[i] : 0.0f;
}

/* A 2x2/2 max-pool backward (floor): gi (h x w x c) gets, at each window's first largest input of a in row
 * order (the input PyTorch's max-pool records), the gradient gp of the window's output; zero elsewhere. */
static void pool_back(const float *a, const float *gp, float *gi, int h, int w, int c, int threads) {
  const int oh = h / 2, ow = w / 2;
  const size_t row = (size_t)w * c;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int y = 0; y < h; y++) memset(gi + y * row, 0, sizeof(float) * row);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      for (int ch = 0; ch < c; ch++) {
        const size_t p[4] = {(2 * y) * row + (size_t)(2 * x) * c + ch, (2 * y) * row + (size_t)(2 * x + 1) * c + ch,
                             (2 * y + 1) * row + (size_t)(2 * x) * c + ch,
                             (2 * y + 1) * row + (size_t)(2 * x + 1) * c + ch};
        int best = 0;
        for (int k = 1; k < 4; k++)
          if (a[p[k]] > a[p[best]]) best = k;
        gi[p[best]] = gp[((size_t)y * ow + x) * c + ch];
      }
}

/* Conv layer l backward: g, the gradient of its output before the ReLU (h x w x cout) -> gi, of its input
 * (h x w x cin), by the direct kernel on the transposed filters; work split in row ranges x channel ranges. */
static void conv_back(const vgg_net *net, const vgg_layer *l, const float *g, float *gi) {
  const int T = net->threads, h = l->out_h, ocb = net->k->conv_oc_block;
  const int nblk = (l->in_c + ocb - 1) / ocb;
  int noc = (4 * T + h - 1) / h;
  noc = noc < 1 ? 1 : noc > nblk ? nblk : noc;
  const int step = (nblk + noc - 1) / noc * ocb;
  noc = (l->in_c + step - 1) / step;
  int rsplit = (4 * T + noc - 1) / noc;
  rsplit = rsplit > h ? h : rsplit;
  const vgg_conv3x3_args a = {g, gi, net->tpacked[l->param], net->zeros, h, l->out_w, l->out_c, l->in_c, 0};
#pragma omp parallel for num_threads(T) schedule(dynamic, 1)
  for (int t = 0; t < rsplit * noc; t++) {
    const int r = t / noc, oc0 = t % noc * step;
    net->k->conv3x3(&a, h * r / rsplit, h * (r + 1) / rsplit, oc0, oc0 + step < l->in_c ? oc0 + step : l->in_c);
  }
}

/* Dense layer l backward: g (out_c) -> gx (in_c), the inputs split among the threads in whole cache lines. */
static void dense_back(const vgg_net *net, const vgg_layer *l, const float *g, float *gx) {
  const int T = net->threads, n = l->in_c, parts = (n + 15) / 16;
#pragma omp parallel for num_threads(T) schedule(static)
  for (int t = 0; t < T; t++) {
    const int i0 = (int)((long)parts * t / T) * 16, i1 = (int)((long)parts * (t + 1) / T) * 16;
    if (i0 < n) net->k->dense_t(g, net->w->kernel[l->param], gx, n, l->out_c, i0, i1 < n ? i1 : n);
  }
}

/* The gradient of logit `cls` with respect to the output of the net's Grad-CAM layer, in net->grad[side]. */
static int backward(vgg_net *net, int cls) {
  const vgg_model *m = net->m;
  const int last = m->nlayers - 1;
  int side = 0;
  memset(net->grad[0], 0, sizeof(float) * m->layers[last].out_c);
  net->grad[0][cls] = 1.0f;
  for (int i = last; i > net->gc_layer; i--) {
    const vgg_layer *l = &m->layers[i];
    float *g = net->grad[side], *gi = net->grad[side ^ 1];
    switch (l->kind) {
    case VGG_LAYER_DENSE:
      if (l->relu && !l->softmax) relu_mask(g, net->keep[i], (size_t)l->out_c, net->threads);
      dense_back(net, l, g, gi);
      break;
    case VGG_LAYER_CONV:
      relu_mask(g, net->keep[i], out_floats(l), net->threads);
      conv_back(net, l, g, gi);
      break;
    case VGG_LAYER_POOL:
      pool_back(net->keep[i - 1], g, gi, l->in_h, l->in_w, l->in_c, net->threads);
      break;
    default: /* the flatten: the same values */
      continue;
    }
    side ^= 1;
  }
  return side;
}

/* The class activation map of layer l (a: its output, g: the gradient there) into cam (h x w): ReLU(sum over
 * channels of mean(g) x a), over its largest value; all in double. */
static void class_map(const vgg_layer *l, const float *a, const float *g, double *alpha, double *cam, int threads) {
  const int c = l->out_c;
  const size_t hw = (size_t)l->out_h * l->out_w;
  for (int ch = 0; ch < c; ch++) alpha[ch] = 0;
  for (size_t p = 0; p < hw; p++)
    for (int ch = 0; ch < c; ch++) alpha[ch] += g[p * c + ch];
  for (int ch = 0; ch < c; ch++) alpha[ch] /= (double)hw;
  double top = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(max : top)
  for (size_t p = 0; p < hw; p++) {
    double v = 0;
    for (int ch = 0; ch < c; ch++) v += alpha[ch] * a[p * c + ch];
    cam[p] = v > 0 ? v : 0;
    top = cam[p] > top ? cam[p] : top;
  }
  for (size_t p = 0; p < hw; p++) cam[p] = top > 0 ? cam[p] / top : 0;
}

/* Bilinear resize of src (sh x sw) to out (dh x dw), half-pixel centres, as PyTorch's
 * interpolate(mode="bilinear", align_corners=False): source = (dest + 0.5) x sh / dh - 0.5, clamped at 0. */
static void bilinear(const double *src, int sh, int sw, float *out, int dh, int dw) {
  for (int y = 0; y < dh; y++) {
    double fy = ((double)sh / dh) * (y + 0.5) - 0.5;
    fy = fy < 0 ? 0 : fy;
    const int y0 = (int)fy, y1 = y0 + (y0 < sh - 1);
    const double ly = fy - y0;
    for (int x = 0; x < dw; x++) {
      double fx = ((double)sw / dw) * (x + 0.5) - 0.5;
      fx = fx < 0 ? 0 : fx;
      const int x0 = (int)fx, x1 = x0 + (x0 < sw - 1);
      const double lx = fx - x0;
      out[(size_t)y * dw + x] =
          (float)((1 - ly) * ((1 - lx) * src[(size_t)y0 * sw + x0] + lx * src[(size_t)y0 * sw + x1]) +
                  ly * ((1 - lx) * src[(size_t)y1 * sw + x0] + lx * src[(size_t)y1 * sw + x1]));
    }
  }
}

/* The class of request k for an image with these logits: k >= 0 itself, -r the r-th largest logit (ties: the
 * lower index first). */
static int class_of(int k, const float *logits, int n) {
  if (k >= 0) return k;
  int best = -1;
  for (int r = 0; r < -k; r++) {
    int next = -1;
    for (int i = 0; i < n; i++) {
      /* the largest below (logits[best], best) in the order (value descending, index ascending) */
      if (best >= 0 && (logits[i] > logits[best] || (logits[i] == logits[best] && i <= best))) continue;
      if (next < 0 || logits[i] > logits[next]) next = i;
    }
    best = next;
  }
  return best;
}

typedef struct {
  vgg_block_fn fn;
  void *user;
  int image;
} block_relay;

static void relay(void *user, int image, int block, const vgg_tensor *out, double seconds) {
  (void)image;
  const block_relay *r = user;
  r->fn(r->user, r->image, block, out, seconds);
}

vgg_status vgg_net_gradcam(vgg_net *net, const vgg_tensor *input, const int *classes, int nclasses,
                           vgg_block_fn on_block, void *user, float *logits, float *probs, int *chosen, float *maps,
                           vgg_error *err) {
  const vgg_model *m = net->m;
  if (!net->gc_layer) return vgg_fail(err, VGG_ERR_ARG, "this net has no Grad-CAM layer (vgg_options.gradcam_layer)");
  const int ncls = m->layers[m->nlayers - 1].out_c;
  if (nclasses < 1 || nclasses > VGG_GRADCAM_MAX_CLASSES || !classes || !maps)
    return vgg_fail(err, VGG_ERR_ARG, "Grad-CAM takes 1 to %d classes and room for their maps (got %d)",
                    VGG_GRADCAM_MAX_CLASSES, nclasses);
  for (int k = 0; k < nclasses; k++)
    if (classes[k] >= ncls || classes[k] < -ncls)
      return vgg_fail(err, VGG_ERR_ARG, "class %d is not one of the model's %d classes (0..%d, or -1..-%d for the "
                      "top-1..top-%d)", classes[k], ncls, ncls - 1, ncls, ncls);
  const vgg_layer *in_l = &m->layers[0], *l = &m->layers[net->gc_layer];
  if (input->n < 1 || input->n > VGG_MAX_BATCH || input->h != in_l->out_h || input->w != in_l->out_w || input->c != 3)
    return vgg_fail(err, VGG_ERR_SHAPE, "input is %dx%dx%dx%d; this model takes Nx%dx%dx3 with N from 1 to %d",
                    input->n, input->h, input->w, input->c, in_l->out_h, in_l->out_w, VGG_MAX_BATCH);
  const size_t img = (size_t)input->h * input->w * 3, hw = (size_t)l->out_h * l->out_w;
  const size_t map = (size_t)input->h * input->w;
  float *lg = malloc(sizeof(float) * ncls);
  double *alpha = malloc(sizeof(double) * l->out_c), *cam = malloc(sizeof(double) * hw);
  vgg_status st = lg && alpha && cam ? VGG_OK : vgg_fail(err, VGG_ERR_NOMEM, "out of memory for Grad-CAM");
  for (int b = 0; b < input->n && !st; b++) {
    const vgg_tensor one = {1, input->h, input->w, 3, input->data + b * img};
    block_relay r = {on_block, user, b};
    net->keeping = 1;
    st = vgg_net_forward_all(net, &one, on_block ? relay : NULL, NULL, &r, lg, probs ? probs + (size_t)b * ncls : NULL,
                             err);
    net->keeping = 0;
    if (st) break;
    if (logits) memcpy(logits + (size_t)b * ncls, lg, sizeof(float) * ncls);
    for (int k = 0; k < nclasses; k++) {
      const int c = class_of(classes[k], lg, ncls);
      if (chosen) chosen[(size_t)b * nclasses + k] = c;
      const int side = backward(net, c);
      class_map(l, net->keep[net->gc_layer], net->grad[side], alpha, cam, net->threads);
      bilinear(cam, l->out_h, l->out_w, maps + ((size_t)b * nclasses + k) * map, input->h, input->w);
    }
  }
  free(lg), free(alpha), free(cam);
  return st;
}
