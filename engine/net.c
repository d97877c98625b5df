/* The net: the plan's steps with their buffers and packed weights, and the
 * forward pass, one loop over the steps.  The steps read like the
 * architecture (block 1: conv, conv+pool, block 2: ...; then fc1, fc2,
 * predictions); after each block's last step the block output goes to the
 * caller. */
#include "plan.h"
#include <omp.h>
#include <stdlib.h>
#include <string.h>

struct vgg_net {
  const vgg_model *m;
  const vgg_weights *w;
  const vgg_kernel_table *k;
  int threads;
  int nsteps, nbase;              /* steps; the first nbase are the conv base */
  vgg_step steps[VGG_MAX_STEPS];
  double step_sec[VGG_MAX_STEPS]; /* of the last forward pass, summed over its images */
  double layer_sec[VGG_MAX_LAYERS];
  float *packed[VGG_MAX_PARAMS];  /* conv weights in the layout of the layer's kernel */
  float *buf[2];                  /* conv base: ping-pong activations */
  float *scratch;                 /* Winograd: scratch_floats per thread */
  size_t scratch_floats;
  float *cls[2];                  /* classifier: VGG_MAX_BATCH rows of its widest layer, each */
};

/* Zeroes n floats at p on `threads` threads, in static shares, after asking
 * for huge pages: first touch places each share's pages near its thread. */
static void touch(float *p, size_t n, int threads) {
  vgg_advise_huge(p, n * sizeof(float));
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t c = 0; c < n; c += 16384) memset(p + c, 0, sizeof(float) * (n - c < 16384 ? n - c : 16384));
}

/* Buffers and packed weights for the planned steps; every buffer touched. */
static vgg_status provision(vgg_net *net, int release, vgg_error *err) {
  const vgg_model *m = net->m;
  const vgg_weights *w = net->w;
  const size_t act = vgg_model_max_activation(m);
  if (!(net->buf[0] = vgg_alloc(act, sizeof(float))) || !(net->buf[1] = vgg_alloc(act, sizeof(float))))
    return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for activations");
  size_t widest = 0;
  int side = 0, conv[VGG_MAX_STEPS], nconv = 0;
  for (int i = 0; i < net->nsteps; i++) {
    vgg_step *s = &net->steps[i];
    const vgg_layer *l = &m->layers[s->layer];
    if (s->op == VGG_STEP_DENSE) {
      /* The classifier reads the last pool's output, copied per image into cls[0]. */
      widest = widest > (size_t)l->in_c ? widest : (size_t)l->in_c;
      widest = widest > (size_t)l->out_c ? widest : (size_t)l->out_c;
      s->weights = w->kernel[l->param], s->bias = w->bias[l->param];
      continue;
    }
    s->in = i ? net->steps[i - 1].out : NULL;
    s->out = net->buf[side], side ^= 1;
    if (s->op == VGG_STEP_POOL) continue;
    const size_t n = s->wino ? s->wino->packed_size(l->in_c, l->out_c) : net->k->conv3x3_packed_size(l->in_c, l->out_c);
    if (!(net->packed[l->param] = vgg_alloc(n, sizeof(float))))
      return vgg_fail(err, VGG_ERR_NOMEM, "out of memory packing %s", l->name);
    vgg_advise_huge(net->packed[l->param], n * sizeof(float));
    s->weights = net->packed[l->param], s->bias = w->bias[l->param];
    if (s->wino) {
      const size_t sc = s->wino->scratch_size(l->in_c, l->out_c);
      net->scratch_floats = sc > net->scratch_floats ? sc : net->scratch_floats;
    }
    conv[nconv++] = i;
  }
  if (net->scratch_floats) {
    net->scratch_floats = (net->scratch_floats + 15) & ~(size_t)15; /* each thread's on its own cache lines */
    if (!(net->scratch = vgg_alloc(net->scratch_floats * (size_t)net->threads, sizeof(float))))
      return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for Winograd scratch");
  }
  if (widest) {
    for (int b = 0; b < 2; b++)
      if (!(net->cls[b] = vgg_alloc(widest * VGG_MAX_BATCH, sizeof(float))))
        return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for the classifier's buffers");
    for (int i = net->nbase; i < net->nsteps; i++) {
      const int k = i - net->nbase;
      net->steps[i].in = net->cls[k & 1], net->steps[i].out = net->cls[(k + 1) & 1];
    }
  }
  /* Layers packed side by side, the largest first (filter transforms dominate). */
#pragma omp parallel for num_threads(net->threads) schedule(dynamic, 1)
  for (int j = nconv - 1; j >= 0; j--) {
    const vgg_step *s = &net->steps[conv[j]];
    const vgg_layer *l = &m->layers[s->layer];
    if (s->wino) s->wino->pack(w->kernel[l->param], l->in_c, l->out_c, net->packed[l->param]);
    else net->k->conv3x3_pack(w->kernel[l->param], l->in_c, l->out_c, net->packed[l->param]);
    if (release) { /* asked for: the kernel, packed, is not needed again (each layer its own) */
      vgg_free(w->kernel[l->param]);
      ((vgg_weights *)w)->kernel[l->param] = NULL;
    }
  }
  /* The first forward pass should not pay for page faults. */
  touch(net->buf[0], act, net->threads);
  touch(net->buf[1], act, net->threads);
  if (net->scratch) touch(net->scratch, net->scratch_floats * (size_t)net->threads, net->threads);
  /* The classifier's rows for one image: a batch touches the rest of its buffers when it first comes. */
  for (int b = 0; b < 2 && widest; b++) touch(net->cls[b], widest, net->threads);
  return VGG_OK;
}

vgg_status vgg_net_create(const vgg_model *m, const vgg_weights *w, const vgg_options *opt, vgg_net **out,
                          vgg_error *err) {
  *out = NULL;
  int level = vgg_level_best();
  if (opt && opt->isa >= 0) {
    if (opt->isa >= VGG_LEVEL_COUNT) return vgg_fail(err, VGG_ERR_ARG, "unknown ISA level %d", opt->isa);
    if (!vgg_level_usable(opt->isa))
      return vgg_fail(err, VGG_ERR_UNSUPPORTED, "ISA '%s' is not available %s (best here: %s)",
                      vgg_level_name(opt->isa), vgg_level_compiled(opt->isa) ? "on this CPU" : "in this build",
                      vgg_level_name(vgg_level_best()));
    level = opt->isa;
  }
  const int threads = opt && opt->threads > 0 ? opt->threads : omp_get_num_procs();
  if (threads > 1024) return vgg_fail(err, VGG_ERR_ARG, "%d threads is too many (at most 1024)", threads);
  const vgg_algo want = opt ? opt->algo : VGG_ALGO_AUTO;
  if ((unsigned)want > VGG_ALGO_FAST) return vgg_fail(err, VGG_ERR_ARG, "unknown algorithm %d", (int)want);
  for (int p = 0; p < m->nparams; p++)
    if (!w->kernel[p]) return vgg_fail(err, VGG_ERR_ARG, "the conv kernels of these weights were released");
  vgg_net *net = calloc(1, sizeof *net);
  if (!net) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  net->m = m, net->w = w, net->k = vgg_kernels_get(level), net->threads = threads;
  net->nsteps = vgg_plan_steps(m, net->k, want, threads, net->steps);
  while (net->nbase < net->nsteps && net->steps[net->nbase].op != VGG_STEP_DENSE) net->nbase++;
  vgg_status s = provision(net, opt && opt->release_conv, err);
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
  vgg_free(net->cls[0]);
  vgg_free(net->cls[1]);
  free(net);
}

const char *vgg_net_isa(const vgg_net *net) { return vgg_level_name(net->k->level); }
int vgg_net_threads(const vgg_net *net) { return net->threads; }
const double *vgg_net_layer_seconds(const vgg_net *net) { return net->layer_sec; }

const char *vgg_net_layer_algo(const vgg_net *net, int layer) {
  for (int i = 0; i < net->nbase; i++)
    if (net->steps[i].layer == layer && net->steps[i].op != VGG_STEP_POOL) return vgg_step_algo_name(&net->steps[i]);
  return NULL;
}

int vgg_net_steps(const vgg_net *net, vgg_step_info *out, int max) {
  for (int i = 0; i < net->nsteps && i < max; i++) vgg_step_describe(net->m, &net->steps[i], net->step_sec[i], &out[i]);
  return net->nsteps;
}

/* One step on nb images (nb > 1 only for the classifier's steps). */
static void run_step(const vgg_net *net, const vgg_step *s, const float *in, int nb) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const int ntask = s->rsplit * s->noc;
  switch (s->op) {
  case VGG_STEP_CONV: {
    const vgg_conv3x3_args a = {in, s->out, s->weights, s->bias, l->in_h, l->in_w, l->in_c, l->out_c, s->relu};
    const vgg_conv3x3_fn fn = l->in_c == 3 ? net->k->conv3x3_c3 : net->k->conv3x3;
#pragma omp parallel for num_threads(net->threads) schedule(static)
    for (int t = 0; t < ntask; t++) {
      const int r = t / s->noc, c = t % s->noc, oc0 = c * s->oc_step;
      fn(&a, (int)((long)s->rows * r / s->rsplit), (int)((long)s->rows * (r + 1) / s->rsplit), oc0,
         oc0 + s->oc_step < l->out_c ? oc0 + s->oc_step : l->out_c);
    }
    break;
  }
  case VGG_STEP_WINO: {
    const vgg_wino_args base = {in, s->out, s->weights, s->bias, l->in_h, l->in_w, l->in_c, l->out_c, s->relu, s->pool, NULL};
#pragma omp parallel for num_threads(net->threads) schedule(static)
    for (int t = 0; t < ntask; t++) {
      vgg_wino_args a = base;
      a.scratch = net->scratch + net->scratch_floats * (size_t)omp_get_thread_num();
      const int r = t / s->noc, c = t % s->noc, oc0 = c * s->oc_step;
      s->wino->conv(&a, (int)((long)s->rows * r / s->rsplit), (int)((long)s->rows * (r + 1) / s->rsplit), oc0,
                    oc0 + s->oc_step < l->out_c ? oc0 + s->oc_step : l->out_c);
    }
    break;
  }
  case VGG_STEP_POOL:
#pragma omp parallel for num_threads(net->threads) schedule(static)
    for (int y = 0; y < s->rows; y++) net->k->maxpool2x2(in, s->out, l->in_h, l->in_w, l->in_c, y, y + 1);
    break;
  case VGG_STEP_DENSE:
#pragma omp parallel for num_threads(net->threads) schedule(static)
    for (int t = 0; t < ntask; t++) {
      const int o0 = t * s->oc_step, o1 = o0 + s->oc_step < l->out_c ? o0 + s->oc_step : l->out_c;
      if (nb == 1) net->k->dense(in, s->weights, s->bias, s->out, l->in_c, l->out_c, s->relu, o0, o1);
      else net->k->dense_batch(in, nb, s->weights, s->bias, s->out, l->in_c, l->out_c, s->relu, o0, o1);
    }
    break;
  }
}

/* The conv base's steps on one image; calls on_block after each block. */
static void conv_base(vgg_net *net, const float *image, vgg_block_fn on_block, void *user, int first_image) {
  double block_sec = 0;
  for (int i = 0; i < net->nbase; i++) {
    const vgg_step *s = &net->steps[i];
    const double t0 = vgg_now();
    run_step(net, s, s->in ? s->in : image, 1);
    const double sec = vgg_now() - t0;
    net->step_sec[i] = first_image ? sec : net->step_sec[i] + sec;
    block_sec += sec;
    if (s->block_end && on_block) {
      const vgg_layer *o = &net->m->layers[s->last_layer];
      const vgg_tensor t = {1, o->out_h, o->out_w, o->out_c, s->out};
      on_block(user, s->block_end, &t, block_sec);
      block_sec = 0;
    }
  }
}

vgg_status vgg_net_forward(vgg_net *net, const vgg_tensor *input, vgg_block_fn on_block, void *user, float *logits,
                           float *probs, vgg_error *err) {
  return vgg_net_forward_all(net, input, on_block, NULL, user, logits, probs, err);
}

vgg_status vgg_net_forward_all(vgg_net *net, const vgg_tensor *input, vgg_block_fn on_block, vgg_layer_fn on_dense,
                               void *user, float *logits, float *probs, vgg_error *err) {
  const vgg_model *m = net->m;
  const vgg_layer *in_l = &m->layers[0];
  if (input->n < 1 || input->n > VGG_MAX_BATCH || input->h != in_l->out_h || input->w != in_l->out_w ||
      input->c != 3)
    return vgg_fail(err, VGG_ERR_SHAPE, "input is %dx%dx%dx%d; this model takes Nx%dx%dx3 with N from 1 to %d",
                    input->n, input->h, input->w, input->c, in_l->out_h, in_l->out_w, VGG_MAX_BATCH);
  const int nb = input->n;
  const size_t img = (size_t)in_l->out_h * in_l->out_w * 3;
  /* The classifier takes the images' flattened features side by side, so it
   * streams its weights once for the batch. */
  const vgg_layer *flat = vgg_model_block_output(m, 5);
  const size_t nf = (size_t)flat->out_h * flat->out_w * flat->out_c;
  for (int b = 0; b < nb; b++) {
    conv_base(net, input->data + b * img, on_block, user, b == 0);
    if (net->nsteps > net->nbase) memcpy(net->cls[0] + b * nf, net->steps[net->nbase - 1].out, nf * sizeof(float));
  }
  for (int i = net->nbase; i < net->nsteps; i++) {
    const vgg_step *s = &net->steps[i];
    const vgg_layer *l = &m->layers[s->layer];
    const double t0 = vgg_now();
    run_step(net, s, s->in, nb);
    if (on_dense) {
      const vgg_tensor t = {nb, 1, 1, l->out_c, s->out};
      on_dense(user, s->layer, &t);
    }
    for (int b = 0; b < nb && s->softmax; b++) {
      if (logits) memcpy(logits + (size_t)b * l->out_c, s->out + (size_t)b * l->out_c, sizeof(float) * l->out_c);
      if (probs) net->k->softmax(s->out + (size_t)b * l->out_c, probs + (size_t)b * l->out_c, l->out_c);
    }
    net->step_sec[i] = vgg_now() - t0;
  }
  for (int i = 0; i < net->nsteps; i++) {
    net->layer_sec[net->steps[i].layer] = net->step_sec[i];
    if (net->steps[i].last_layer != net->steps[i].layer) net->layer_sec[net->steps[i].last_layer] = 0;
  }
  return VGG_OK;
}
