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
  float *packed[VGG_MAX_PARAMS]; /* conv weights in the kernels' layout */
  float *buf[2];                 /* ping-pong activations */
  double layer_sec[VGG_MAX_LAYERS]; /* of the last forward pass */
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

vgg_status vgg_net_create(const vgg_model *m, const vgg_weights *w, const vgg_options *opt, vgg_net **out,
                          vgg_error *err) {
  *out = NULL;
  vgg_isa isa = vgg_isa_best();
  if (opt && opt->isa >= 0) {
    if (opt->isa >= VGG_ISA_COUNT) return vgg_fail(err, VGG_ERR_ARG, "unknown ISA level %d", opt->isa);
    if (!vgg_isa_available((vgg_isa)opt->isa))
      return vgg_fail(err, VGG_ERR_UNSUPPORTED, "ISA '%s' is not available %s (best here: %s)",
                      vgg_isa_name((vgg_isa)opt->isa),
                      vgg_isa_compiled((vgg_isa)opt->isa) ? "on this CPU" : "in this build",
                      vgg_isa_name(vgg_isa_best()));
    isa = (vgg_isa)opt->isa;
  }
  int threads = opt && opt->threads > 0 ? opt->threads : omp_get_num_procs();
  if (threads > 1024) return vgg_fail(err, VGG_ERR_ARG, "%d threads is too many (at most 1024)", threads);
  vgg_net *net = calloc(1, sizeof *net);
  if (!net) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  net->m = m, net->w = w, net->k = vgg_kernels_get(isa), net->threads = threads;
  const size_t act = vgg_model_max_activation(m);
  net->buf[0] = vgg_alloc(act, sizeof(float));
  net->buf[1] = vgg_alloc(act, sizeof(float));
  vgg_status s = net->buf[0] && net->buf[1] ? VGG_OK : vgg_fail(err, VGG_ERR_NOMEM, "out of memory for activations");
  for (int p = 0; p < m->nparams && !s; p++) {
    const vgg_layer *l = vgg_model_param_layer(m, p);
    if (l->kind != VGG_LAYER_CONV) continue;
    net->packed[p] = vgg_alloc(net->k->conv3x3_packed_size(l->in_c, l->out_c), sizeof(float));
    if (!net->packed[p]) s = vgg_fail(err, VGG_ERR_NOMEM, "out of memory packing %s", l->name);
    else net->k->conv3x3_pack(w->kernel[p], l->in_c, l->out_c, net->packed[p]);
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
  free(net);
}

const char *vgg_net_isa(const vgg_net *net) { return net->k->isa_name; }
int vgg_net_threads(const vgg_net *net) { return net->threads; }
const double *vgg_net_layer_seconds(const vgg_net *net) { return net->layer_sec; }

double vgg_level_peak_gflops(int level, int threads) {
  const vgg_kernel_table *k = vgg_kernels_get((vgg_isa)level);
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

static void pool(const vgg_net *net, const vgg_layer *l, const float *in, float *out) {
  const vgg_maxpool2x2_fn fn = net->k->maxpool2x2;
  const int H = l->out_h;
#pragma omp parallel for num_threads(net->threads) schedule(static)
  for (int y = 0; y < H; y++) fn(in, out, l->in_h, l->in_w, l->in_c, y, y + 1);
}

static void dense(const vgg_net *net, const vgg_layer *l, const float *in, float *out, int p) {
  const vgg_dense_fn fn = net->k->dense;
  const int step = 64, n = (l->out_c + step - 1) / step;
#pragma omp parallel for num_threads(net->threads) schedule(static)
  for (int t = 0; t < n; t++) {
    const int o1 = (t + 1) * step < l->out_c ? (t + 1) * step : l->out_c;
    fn(in, net->w->kernel[p], net->w->bias[p], out, l->in_c, l->out_c, l->relu && !l->softmax, t * step, o1);
  }
}

vgg_status vgg_net_forward(vgg_net *net, const vgg_tensor *input, vgg_block_fn on_block, void *user, float *logits,
                           float *probs, vgg_error *err) {
  const vgg_model *m = net->m;
  const vgg_layer *in_l = &m->layers[0];
  if (input->n != 1 || input->h != in_l->out_h || input->w != in_l->out_w || input->c != 3)
    return vgg_fail(err, VGG_ERR_SHAPE, "input is %dx%dx%dx%d; this model takes 1x%dx%dx3", input->n, input->h,
                    input->w, input->c, in_l->out_h, in_l->out_w);
  const float *cur = input->data;
  int side = 0;
  double t0 = now();
  for (int i = 1; i < m->nlayers; i++) {
    const vgg_layer *l = &m->layers[i];
    float *out = net->buf[side];
    const double ts = now();
    switch (l->kind) {
    case VGG_LAYER_CONV: conv(net, l, cur, out, l->param); break;
    case VGG_LAYER_POOL: pool(net, l, cur, out); break;
    case VGG_LAYER_DENSE:
      dense(net, l, cur, out, l->param);
      if (l->softmax) {
        if (logits) memcpy(logits, out, sizeof(float) * l->out_c);
        if (probs) net->k->softmax(out, probs, l->out_c);
      }
      break;
    case VGG_LAYER_FLATTEN: /* NHWC is already H,W,C order */
    case VGG_LAYER_INPUT: continue;
    }
    net->layer_sec[i] = now() - ts;
    cur = out;
    side ^= 1;
    if (l->kind == VGG_LAYER_POOL && on_block) {
      const double t1 = now();
      const vgg_tensor t = {1, l->out_h, l->out_w, l->out_c, out};
      on_block(user, l->block, &t, t1 - t0);
      t0 = now();
    }
  }
  return VGG_OK;
}
