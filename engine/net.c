/* The plan (kernel table, packed weights, activation buffers) and the
 * forward pass.  The pass reads like the architecture: for each layer in the
 * model's table, call the kernel for its kind; after each block's pool, hand
 * the block output to the caller. */
#include "internal.h"
#include "kernels.h"
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vgg_net {
  const vgg_model *m;
  const vgg_weights *w;
  const vgg_kernel_table *k;
  int threads;
  vgg_algo want;                    /* as asked for */
  vgg_algo algo[VGG_MAX_LAYERS];    /* per conv layer: direct, wino2 or wino4 */
  int fused_pool[VGG_MAX_LAYERS];   /* conv layer writes the next layer's (pool) output */
  float *packed[VGG_MAX_PARAMS];    /* conv weights in the layout of the layer's kernel */
  float *buf[2];                    /* ping-pong activations */
  float *scratch;                   /* Winograd: scratch_floats per thread */
  float *cls_x, *cls_tmp;           /* classifier: VGG_MAX_BATCH rows of its widest layer, each */
  size_t scratch_floats;
  double layer_sec[VGG_MAX_LAYERS]; /* of the last forward pass */
};

static const vgg_wino_kernels *wino_of(const vgg_kernel_table *k, vgg_algo a) {
  return a == VGG_ALGO_WINO2 ? &k->wino[0] : a == VGG_ALGO_WINO4 ? &k->wino[1] : NULL;
}

/* Zeroes n floats at p on `threads` threads, in static shares, after asking for huge pages. */
static void touch(float *p, size_t n, int threads) {
  vgg_advise_huge(p, n * sizeof(float));
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t c = 0; c < n; c += 16384) memset(p + c, 0, sizeof(float) * (n - c < 16384 ? n - c : 16384));
}

/* The classifier's two ping-pong buffers, for the largest batch. */
static vgg_status classifier_buffers(vgg_net *net, vgg_error *err) {
  const vgg_model *m = net->m;
  const vgg_layer *flat = vgg_model_block_output(m, 5);
  size_t widest = (size_t)flat->out_h * flat->out_w * flat->out_c;
  for (int i = 0; i < m->nlayers; i++)
    if (m->layers[i].kind == VGG_LAYER_DENSE && (size_t)m->layers[i].out_c > widest) widest = m->layers[i].out_c;
  net->cls_x = vgg_alloc(widest * VGG_MAX_BATCH, sizeof(float));
  net->cls_tmp = vgg_alloc(widest * VGG_MAX_BATCH, sizeof(float));
  if (!net->cls_x || !net->cls_tmp) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for the classifier's buffers");
  return VGG_OK;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

vgg_status vgg_net_create(const vgg_model *m, const vgg_weights *w, const vgg_options *opt, vgg_net **out,
                          vgg_error *err) {
  *out = NULL;
  int isa = vgg_level_best();
  if (opt && opt->isa >= 0) {
    if (opt->isa >= VGG_LEVEL_COUNT) return vgg_fail(err, VGG_ERR_ARG, "unknown ISA level %d", opt->isa);
    if (!vgg_level_usable(opt->isa))
      return vgg_fail(err, VGG_ERR_UNSUPPORTED, "ISA '%s' is not available %s (best here: %s)",
                      vgg_level_name(opt->isa),
                      vgg_level_compiled(opt->isa) ? "on this CPU" : "in this build",
                      vgg_level_name(vgg_level_best()));
    isa = opt->isa;
  }
  int threads = opt && opt->threads > 0 ? opt->threads : omp_get_num_procs();
  if (threads > 1024) return vgg_fail(err, VGG_ERR_ARG, "%d threads is too many (at most 1024)", threads);
  const vgg_algo want = opt ? opt->algo : VGG_ALGO_AUTO;
  const int release = opt && opt->release_conv;
  for (int p = 0; p < m->nparams; p++)
    if (!w->kernel[p]) return vgg_fail(err, VGG_ERR_ARG, "the conv kernels of these weights were released");
  if ((unsigned)want > VGG_ALGO_FAST) return vgg_fail(err, VGG_ERR_ARG, "unknown algorithm %d", (int)want);
  vgg_net *net = calloc(1, sizeof *net);
  if (!net) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  net->m = m, net->w = w, net->k = vgg_kernels_get(isa), net->threads = threads, net->want = want;
  const size_t act = vgg_model_max_activation(m);
  net->buf[0] = vgg_alloc(act, sizeof(float));
  net->buf[1] = vgg_alloc(act, sizeof(float));
  vgg_status s = net->buf[0] && net->buf[1] ? VGG_OK : vgg_fail(err, VGG_ERR_NOMEM, "out of memory for activations");
  /* Per conv layer: the algorithm, the size of its packed weights, and pooling
   * fused into a Winograd output transform when a pool follows. */
  int conv_layers[VGG_MAX_LAYERS], nconv = 0;
  for (int i = 0; i < m->nlayers && !s; i++) {
    const vgg_layer *l = &m->layers[i];
    if (l->kind != VGG_LAYER_CONV) continue;
    const vgg_algo a = vgg_plan_algo(isa, l, want);
    const vgg_wino_kernels *wk = wino_of(net->k, a);
    net->algo[i] = a;
    net->fused_pool[i] = wk && i + 1 < m->nlayers && m->layers[i + 1].kind == VGG_LAYER_POOL;
    const size_t n = wk ? wk->packed_size(l->in_c, l->out_c) : net->k->conv3x3_packed_size(l->in_c, l->out_c);
    if (!(net->packed[l->param] = vgg_alloc(n, sizeof(float))))
      s = vgg_fail(err, VGG_ERR_NOMEM, "out of memory packing %s", l->name);
    else vgg_advise_huge(net->packed[l->param], n * sizeof(float));
    if (wk) {
      const size_t sc = wk->scratch_size(l->in_c, l->out_c);
      net->scratch_floats = sc > net->scratch_floats ? sc : net->scratch_floats;
    }
    conv_layers[nconv++] = i;
  }
  if (!s && net->scratch_floats) {
    net->scratch_floats = (net->scratch_floats + 15) & ~(size_t)15; /* each thread's on its own cache lines */
    net->scratch = vgg_alloc(net->scratch_floats * (size_t)threads, sizeof(float));
    if (!net->scratch) s = vgg_fail(err, VGG_ERR_NOMEM, "out of memory for Winograd scratch");
  }
  if (!s) {
    /* Layers packed side by side, the largest first (filter transforms dominate). */
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int j = nconv - 1; j >= 0; j--) {
      const vgg_layer *l = &m->layers[conv_layers[j]];
      const vgg_wino_kernels *wk = wino_of(net->k, net->algo[conv_layers[j]]);
      if (wk) wk->pack(w->kernel[l->param], l->in_c, l->out_c, net->packed[l->param]);
      else net->k->conv3x3_pack(w->kernel[l->param], l->in_c, l->out_c, net->packed[l->param]);
      if (release) { /* asked for: the kernel, packed, is not needed again (each layer its own) */
        vgg_free(w->kernel[l->param]);
        ((vgg_weights *)w)->kernel[l->param] = NULL;
      }
    }
    /* The first forward pass should not pay for page faults: every buffer is
     * touched now, each thread's share of it by that thread (first touch
     * places the pages near it), with huge pages where the OS gives them. */
    touch(net->buf[0], act, threads);
    touch(net->buf[1], act, threads);
    if (net->scratch) {
#pragma omp parallel num_threads(threads)
      {
        const int t = omp_get_thread_num();
        if (t < threads) memset(net->scratch + net->scratch_floats * (size_t)t, 0, net->scratch_floats * sizeof(float));
      }
    }
    if (m->top) s = classifier_buffers(net, err);
  }
  if (s) {
    vgg_net_free(net);
    return s;
  }
  *out = net;
  return VGG_OK;
}

void vgg_net_free(vgg_net *net) {
  if (!net) return;
  for (int p = 0; p < VGG_MAX_PARAMS; p++) vgg_free(net->packed[p]);
  vgg_free(net->buf[0]);
  vgg_free(net->buf[1]);
  vgg_free(net->scratch);
  vgg_free(net->cls_x);
  vgg_free(net->cls_tmp);
  free(net);
}

const char *vgg_net_isa(const vgg_net *net) { return vgg_level_name(net->k->level); }
int vgg_net_threads(const vgg_net *net) { return net->threads; }
const double *vgg_net_layer_seconds(const vgg_net *net) { return net->layer_sec; }

const char *vgg_net_layer_algo(const vgg_net *net, int layer) {
  return vgg_plan_layer_algo(net->m, layer, net->k->level, net->want);
}

double vgg_level_peak_gflops(int level, int threads) {
  const vgg_kernel_table *k = vgg_kernels_get(level);
  if (!k || !k->fma_peak) return 0.0;
  if (threads <= 0) threads = omp_get_num_procs();
  /* About 20 ms a try; the best of 5 tries. */
  const int64_t iters = 2000000;
  double best = 1e30;
  volatile float sink = 0;
  for (int r = 0; r < 5; r++) {
    double t0 = now();
#pragma omp parallel num_threads(threads)
    {
      float v = k->fma_peak(iters);
#pragma omp atomic
      sink += v;
    }
    double t = now() - t0;
    best = t < best ? t : best;
  }
  (void)sink;
  return (double)iters * k->fma_peak_flops * threads / best / 1e9;
}

/* Work is split into (row range, output-channel range) tasks, one or a few per
 * thread, static schedule.  Rows are contiguous so a thread reuses each pass
 * of packed weights over many rows; channels are split too when rows alone
 * would leave threads idle.  Each output element is computed by one task in
 * a fixed order, so the result does not depend on the thread count. */
static void conv(const vgg_net *net, const vgg_layer *l, const float *in, float *out, int p) {
  const vgg_kernel_table *k = net->k;
  const vgg_conv3x3_args a = {in, out, net->packed[p], net->w->bias[p], l->in_h, l->in_w, l->in_c, l->out_c,
                              l->relu};
  const vgg_conv3x3_fn fn = l->in_c == 3 ? k->conv3x3_c3 : k->conv3x3;
  const int H = l->out_h, T = net->threads;
  const int blocks = (l->out_c + k->conv_oc_block - 1) / k->conv_oc_block;
  /* Channel groups: enough that groups x rows covers the threads evenly. */
  int groups = 1;
  while (groups < blocks && H * groups < 4 * T) groups++;
  const int oc_step = ((blocks + groups - 1) / groups) * k->conv_oc_block;
  const int noc = (l->out_c + oc_step - 1) / oc_step;
  const int rsplit = H < T ? H : T, ntask = rsplit * noc;
#pragma omp parallel for num_threads(T) schedule(static)
  for (int t = 0; t < ntask; t++) {
    const int r = t / noc, c = t % noc;
    const int y0 = (int)((long)H * r / rsplit), y1 = (int)((long)H * (r + 1) / rsplit);
    const int oc0 = c * oc_step, oc1 = oc0 + oc_step < l->out_c ? oc0 + oc_step : l->out_c;
    fn(&a, y0, y1, oc0, oc1);
  }
}

/* Winograd: tile rows x channel groups, like direct convolution; each task
 * uses its thread's scratch.  With pool, out is the pooled map. */
static void wino(const vgg_net *net, const vgg_layer *l, const float *in, float *out, int i) {
  const vgg_wino_kernels *wk = wino_of(net->k, net->algo[i]);
  const vgg_wino_args base = {in, out, net->packed[l->param], net->w->bias[l->param], l->in_h, l->in_w, l->in_c,
                              l->out_c, l->relu, net->fused_pool[i], NULL};
  const int T = net->threads, TH = (l->out_h + wk->m - 1) / wk->m, TW = (l->out_w + wk->m - 1) / wk->m;
  const int blocks = (l->out_c + wk->nr - 1) / wk->nr;
  /* Every task streams the transformed filters of its channels: when they
   * outweigh the transformed inputs (more channels than tiles), threads split
   * channels and each streams only its share; otherwise they split tiles. */
  const int by_channels = l->out_c > TH * TW;
  int groups = 1;
  if (by_channels) groups = blocks < T ? blocks : T;
  else
    while (groups < blocks && TH * groups < 4 * T) groups++;
  const int oc_step = ((blocks + groups - 1) / groups) * wk->nr;
  const int noc = (l->out_c + oc_step - 1) / oc_step;
  const int rsplit = by_channels ? 1 : TH < T ? TH : T, ntask = rsplit * noc;
#pragma omp parallel for num_threads(T) schedule(static)
  for (int t = 0; t < ntask; t++) {
    vgg_wino_args a = base;
    a.scratch = net->scratch + net->scratch_floats * (size_t)omp_get_thread_num();
    const int r = t / noc, c = t % noc;
    const int y0 = (int)((long)TH * r / rsplit), y1 = (int)((long)TH * (r + 1) / rsplit);
    const int oc0 = c * oc_step, oc1 = oc0 + oc_step < l->out_c ? oc0 + oc_step : l->out_c;
    wk->conv(&a, y0, y1, oc0, oc1);
  }
}

static void pool(const vgg_net *net, const vgg_layer *l, const float *in, float *out) {
  const vgg_maxpool2x2_fn fn = net->k->maxpool2x2;
  const int H = l->out_h;
#pragma omp parallel for num_threads(net->threads) schedule(static)
  for (int y = 0; y < H; y++) fn(in, out, l->in_h, l->in_w, l->in_c, y, y + 1);
}

/* Output ranges of 64 per task; one image through the GEMV, more through the small-batch GEMM. */
static void dense(const vgg_net *net, const vgg_layer *l, const float *in, float *out, int p, int nb) {
  const int step = 64, n = (l->out_c + step - 1) / step, relu = l->relu && !l->softmax;
  const float *w = net->w->kernel[p], *b = net->w->bias[p];
#pragma omp parallel for num_threads(net->threads) schedule(static)
  for (int t = 0; t < n; t++) {
    const int o1 = (t + 1) * step < l->out_c ? (t + 1) * step : l->out_c;
    if (nb == 1) net->k->dense(in, w, b, out, l->in_c, l->out_c, relu, t * step, o1);
    else net->k->dense_batch(in, nb, w, b, out, l->in_c, l->out_c, relu, t * step, o1);
  }
}

/* The conv base on one image (layers up to the flatten); returns where the
 * last pool's output is (one of the ping-pong buffers). */
static const float *conv_base(vgg_net *net, const float *image, vgg_block_fn on_block, void *user, int first_image) {
  const vgg_model *m = net->m;
  const float *cur = image;
  int side = 0;
  double t0 = now();
  for (int i = 1; i < m->nlayers && m->layers[i].block; i++) {
    const vgg_layer *l = &m->layers[i];
    float *out = net->buf[side];
    const double ts = now();
    int skip_pool = 0;
    if (l->kind == VGG_LAYER_CONV && net->algo[i] == VGG_ALGO_DIRECT) conv(net, l, cur, out, l->param);
    else if (l->kind == VGG_LAYER_CONV) {
      wino(net, l, cur, out, i);
      skip_pool = net->fused_pool[i];
    } else pool(net, l, cur, out);
    const double sec = now() - ts;
    net->layer_sec[i] = first_image ? sec : net->layer_sec[i] + sec;
    if (skip_pool) { /* the pool ran inside the conv */
      l = &m->layers[++i];
      if (first_image) net->layer_sec[i] = 0;
    }
    cur = out;
    side ^= 1;
    if (l->kind == VGG_LAYER_POOL && on_block) {
      const vgg_tensor t = {1, l->out_h, l->out_w, l->out_c, out};
      on_block(user, l->block, &t, now() - t0);
      t0 = now();
    }
  }
  return cur;
}

/* The classifier on nb flattened images x [nb][25088]: fc1, fc2, predictions. */
static void classifier(vgg_net *net, float *x, float *tmp, int nb, float *logits, float *probs) {
  const vgg_model *m = net->m;
  float *cur = x, *out = tmp;
  for (int i = 1; i < m->nlayers; i++) {
    const vgg_layer *l = &m->layers[i];
    if (l->kind != VGG_LAYER_DENSE) continue;
    const double ts = now();
    dense(net, l, cur, out, l->param, nb);
    for (int b = 0; b < nb && l->softmax; b++) {
      if (logits) memcpy(logits + (size_t)b * l->out_c, out + (size_t)b * l->out_c, sizeof(float) * l->out_c);
      if (probs) net->k->softmax(out + (size_t)b * l->out_c, probs + (size_t)b * l->out_c, l->out_c);
    }
    net->layer_sec[i] = now() - ts;
    float *t = cur;
    cur = out;
    out = t;
  }
}

vgg_status vgg_net_forward(vgg_net *net, const vgg_tensor *input, vgg_block_fn on_block, void *user, float *logits,
                           float *probs, vgg_error *err) {
  const vgg_model *m = net->m;
  const vgg_layer *in_l = &m->layers[0];
  if (input->n < 1 || input->n > VGG_MAX_BATCH || input->h != in_l->out_h || input->w != in_l->out_w ||
      input->c != 3)
    return vgg_fail(err, VGG_ERR_SHAPE, "input is %dx%dx%dx%d; this model takes Nx%dx%dx3 with N from 1 to %d",
                    input->n, input->h, input->w, input->c, in_l->out_h, in_l->out_w, VGG_MAX_BATCH);
  const int nb = input->n;
  const size_t img = (size_t)in_l->out_h * in_l->out_w * 3;
  if (!m->top) {
    for (int b = 0; b < nb; b++) conv_base(net, input->data + b * img, on_block, user, b == 0);
    return VGG_OK;
  }
  /* The images' flattened features side by side, so the classifier streams
   * its weights once for the batch. */
  const vgg_layer *flat = vgg_model_block_output(m, 5);
  const size_t nf = (size_t)flat->out_h * flat->out_w * flat->out_c;
  for (int b = 0; b < nb; b++)
    memcpy(net->cls_x + b * nf, conv_base(net, input->data + b * img, on_block, user, b == 0), nf * sizeof(float));
  classifier(net, net->cls_x, net->cls_tmp, nb, logits, probs);
  return VGG_OK;
}
