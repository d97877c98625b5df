/* The net made: the plan's steps with their weights quantised and packed for their kernels, their buffers and
 * scratch, the float32 overflow bound (net_bounds.c) and the int8 guard's state; what it reports.  The forward
 * pass that runs it is net_forward.c. */
#include "net.h"
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Zeroes n floats at p on `threads` threads, in static shares, after asking
 * for huge pages: first touch places each share's pages near its thread. */
void vgg_net_touch(float *p, size_t n, int threads) {
  vgg_advise_huge(p, n * sizeof(float));
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t c = 0; c < n; c += 16384) memset(p + c, 0, sizeof(float) * (n - c < 16384 ? n - c : 16384));
}

/* A band_out step's band (run_band): the input rows of BAND_TILE_ROWS + 1 tile rows of the Winograd step w
 * reading it (layer l), and one row more in front. */
static size_t band_floats(const vgg_step *w, const vgg_layer *l) {
  return (size_t)((BAND_TILE_ROWS + 1) * w->wino->m + 3) * l->in_w * l->in_c;
}

/* Buffers and packed weights for the planned steps; every buffer touched. */
/* Real value of one u8 unit of conv layer `layer`'s output: its calibrated range, 1/32 wider, over 254, so the
 * calibrated largest value stays below 255, the byte the range guard (widen) reads as "maybe clipped", even
 * where the int8 net's values run a little past the float32 ones it was calibrated on. */
static float act_scale(const float *ranges, int layer) {
  const float r = ranges[layer];
  return (r > 1e-30f ? r : 1e-30f) * 1.03125f / 254.0f;
}

/* The s8 rule of weights, per output channel or row: a scale that maps its largest |w| to 127, each weight
 * divided by it and rounded by vgg_s8_round_filter (in [-127, 127]). */
static float s8_scale(float maxabs) { return maxabs > 0 ? maxabs / 127.0f : 1.0f; }

/* Turns the largest |k| errors of one sign among e[0..n) the other way: k > 0, the largest positive ones (weights
 * rounded up) down by one; k < 0, the most negative ones up; the earlier of equal errors first.  A weight at
 * +-127 is not turned past it. */
static inline void s8_turn(int8_t *q, float *e, int n, int k) {
  enum { BATCH = 64 };
  const float sign = k > 0 ? 1.0f : -1.0f; /* sign * e > 0: a candidate; the largest (nearest a half) first */
  const int8_t lim = k > 0 ? -127 : 127;
  if (k == 1 || k == -1) { /* the usual case (a window's one turn): the largest candidate, found without branches */
    int best = -1;
    float bx = 0;
    for (int i = 0; i < n; i++) {
      const float x = sign * e[i];
      const int take = (x > bx) & (q[i] != lim);
      bx = take ? x : bx, best = take ? i : best;
    }
    if (best >= 0) q[best] = (int8_t)(q[best] - k), e[best] -= sign;
    return;
  }
  for (int left = k > 0 ? k : -k; left > 0;) {
    int idx[BATCH], m = 0;
    const int want = left < BATCH ? left : BATCH;
    float thr = 0; /* the gain to beat: 0 until idx is full, then its last */
    for (int i = 0; i < n; i++) {
      const float x = sign * e[i];
      if (!(x > thr) || q[i] == lim) continue;
      int j = m < want ? m++ : want - 1; /* insertion, idx kept in descending gain */
      for (; j > 0 && x > sign * e[idx[j - 1]]; j--) idx[j] = idx[j - 1];
      idx[j] = i;
      if (m == want) thr = sign * e[idx[m - 1]];
    }
    for (int j = 0; j < m; j++) q[idx[j]] = (int8_t)(q[idx[j]] - (int)sign), e[idx[j]] -= sign;
    if (m < want) break;
    left -= m;
  }
}

/* The s8 rounding of one filter that keeps its sums (net.h). */
void vgg_s8_round_filter(const float *v, int n, int t, int8_t *q, float *e) {
  const float half_even = 12582912.0f; /* 1.5 x 2^23: x + it - it is x rounded to nearest even, |x| < 2^22 */
  for (int i = 0; i < n; i++) {
    const float r = (v[i] + half_even) - half_even; /* |v| <= 127 (the scale's rule; weights are finite) */
    q[i] = (int8_t)r;
    e[i] = r - v[i];
  }
  if (t > 1)
    for (int g = 0; g + t <= n; g += t) {
      float s = 0;
      for (int i = g; i < g + t; i++) s += e[i];
      const int k = (int)((s + half_even) - half_even);
      if (k) s8_turn(q + g, e + g, t, k);
    }
  float s = 0;
  for (int i = 0; i < n; i++) s += e[i];
  s8_turn(q, e, n, (int)((s + half_even) - half_even));
}

/* int8 with channel ranges (opt->channel_ranges): per conv layer whose output int8 reads — every int8 conv, and
 * the float conv right before the first when no one sees its map (not watched; no pool between, so not a block
 * output: its filters are scaled per channel, pack's loop) — each channel's unit over the layer's, max(channel's range / layer's,
 * VGG_CHANNEL_FLOOR)^vgg_channel_alpha(opt->ranges_images), at most 1, into net->gch (NULL: the layer keeps one
 * unit).  1 when out of memory. */
float vgg_channel_alpha(int images) { return images >= VGG_CHANNEL_MANY ? VGG_CHANNEL_ALPHA_MANY : VGG_CHANNEL_ALPHA; }

static int channel_units(vgg_net *net, const vgg_options *opt, vgg_error *err) {
  const vgg_model *m = net->m;
  if (!opt || !opt->channel_ranges || !opt->ranges) return 0;
  const float alpha = vgg_channel_alpha(opt->ranges_images);
  const int first = vgg_plan_first_int8(m), p = first < m->nlayers ? vgg_plan_producer(m, first) : -1;
  for (int i = 0; i < m->nlayers; i++) {
    const vgg_layer *l = &m->layers[i];
    const int reads = i >= first || (i == p && p == first - 1 && opt->watch_layer != p && opt->watch_layer >= 0);
    const float R = opt->ranges[i], *c = opt->channel_ranges + vgg_model_channel_offset(m, i);
    if (l->kind != VGG_LAYER_CONV || !reads || !(R > 0) || !isfinite(R) || l->out_c > VGG_MAX_CH) continue;
    int any = 0;
    for (int k = 0; k < l->out_c; k++) any |= c[k] > 0;
    if (!any) continue;
    if (!(net->gch[i] = malloc(sizeof(float) * l->out_c))) {
      vgg_fail(err, VGG_ERR_NOMEM, "out of memory for the channel ranges");
      return 1;
    }
    for (int k = 0; k < l->out_c; k++) {
      const float r = c[k] / R; /* NaN (a bad value) -> the floor */
      const float g = powf(r > VGG_CHANNEL_FLOOR ? r : VGG_CHANNEL_FLOOR, alpha);
      net->gch[i][k] = g < 1 ? g : 1;
    }
  }
  return 0;
}

/* The s8 weights of every conv layer an int8 net runs in int8, before the plan (which takes whether each meets
 * the exact F(4x4)'s bound, into w4_exact, where the kernels have it): one scale per output channel (its largest
 * |w| maps to 127), each filter rounded by vgg_s8_round_filter, s8 hwio, into net->q8 and q8s; pack_int8 packs
 * and frees them.  The filters are taken QOB output channels at a time, so that hwio is read and written in
 * runs of QOB values rather than one value per row. */
#define QOB 16
static vgg_status quantise_convs(vgg_net *net, unsigned char *w4_exact, vgg_error *err) {
  const vgg_model *m = net->m;
  vgg_status st = VGG_OK;
#pragma omp parallel for num_threads(net->threads) schedule(dynamic, 1)
  for (int i = m->nlayers - 1; i >= vgg_plan_first_int8(m); i--) {
    const vgg_layer *l = &m->layers[i];
    if (l->kind != VGG_LAYER_CONV) continue;
    const float *hwio = net->w->kernel[l->param];
    const int ci = l->in_c, co = l->out_c, n = 9 * ci;
    int8_t *q = net->q8[l->param] = malloc((size_t)n * co);
    int8_t *keep = net->qf[l->param] = malloc((size_t)n * co); /* the range guard's (NULL: it probes) */
    float *sw = net->q8s[l->param] = malloc(sizeof(float) * co);
    float *f = malloc(sizeof(float) * n * QOB), *e = malloc(sizeof(float) * n);
    int8_t *qf = malloc((size_t)n * QOB);
    if (!q || !sw || !f || !e || !qf) {
#pragma omp critical(vgg_pack_err)
      if (!st) st = vgg_fail(err, VGG_ERR_NOMEM, "out of memory quantising %s", l->name);
      free(f), free(e), free(qf);
      continue;
    }
    /* With channel ranges, input channel c's bytes count in units of the producer's unit times gin[c]: its
     * weights are multiplied by gin[c] before the rounding, so the kernel sees one unit per layer.  f: the
     * block's filters [o][c][tap], each rounded as one (vgg_s8_round_filter) in groups of its 9 taps per input
     * channel, into qf in the same order. */
    const float *gin = net->gch[vgg_plan_producer(m, i)];
    for (int o0 = 0; o0 < co; o0 += QOB) {
      const int nb = co - o0 < QOB ? co - o0 : QOB;
      for (int t = 0; t < 9; t++)
        for (int c = 0; c < ci; c++) {
          const float *r = hwio + ((size_t)t * ci + c) * co + o0;
          for (int j = 0; j < nb; j++) f[(size_t)j * n + c * 9 + t] = gin ? r[j] * gin[c] : r[j];
        }
      for (int j = 0; j < nb; j++) {
        float *v = f + (size_t)j * n, m[16] = {0}, mx = 0; /* the largest |w|: 16 lanes, which vectorise */
        int k = 0;
        for (; k + 16 <= n; k += 16)
          for (int z = 0; z < 16; z++) m[z] = fabsf(v[k + z]) > m[z] ? fabsf(v[k + z]) : m[z];
        for (; k < n; k++) m[0] = fabsf(v[k]) > m[0] ? fabsf(v[k]) : m[0];
        for (int z = 0; z < 16; z++) mx = m[z] > mx ? m[z] : mx;
        sw[o0 + j] = s8_scale(mx);
        for (int k = 0; k < n; k++) v[k] /= sw[o0 + j];
        vgg_s8_round_filter(v, n, 9, qf + (size_t)j * n, e);
      }
      for (int t = 0; t < 9; t++)
        for (int c = 0; c < ci; c++) {
          int8_t *r = q + ((size_t)t * ci + c) * co + o0;
          for (int j = 0; j < nb; j++) r[j] = qf[(size_t)j * n + c * 9 + t];
        }
      if (keep) memcpy(keep + (size_t)o0 * n, qf, (size_t)nb * n); /* filter by filter, as rounded */
    }
    free(f), free(e), free(qf);
    w4_exact[i] = (unsigned char)(net->i8->w4_conv && vgg_i8_w4_exact(q, l->in_c, l->out_c));
  }
  return st;
}
#undef QOB

/* int8 conv step s: its s8 weights (quantise_convs) packed for the kernels of its algorithm; the
 * requantisation scale and bias per channel into qsb (kernels.h). */
static void pack_int8(vgg_net *net, const vgg_step *s) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const float *bias = net->w->bias[l->param];
  int8_t *q = net->q8[l->param];
  float *sw = net->q8s[l->param];
  if (s->algo == VGG_ALGO_WINO4) net->i8->w4_pack(q, l->in_c, l->out_c, net->packed[l->param]);
  else net->i8->pack(q, l->in_c, l->out_c, net->packed[l->param]);
  float *qs = net->qsb[l->param];
  const float *g = net->gch[s->layer]; /* channel ranges: each output channel on its own unit */
  for (int o = 0; o < l->out_c; o++) {
    const float so = g ? s->out_scale * g[o] : s->out_scale;
    qs[o] = s->in_scale * sw[o] / so;
    qs[l->out_c + o] = bias[o] / so;
    qs[2 * l->out_c + o] = sw[o]; /* for requantisation with widened ranges (run_conv_i8) */
  }
  free(q), free(sw);
  net->q8[l->param] = NULL, net->q8s[l->param] = NULL;
}

/* A classifier layer in the net's precision (step s): its rows rounded to bf16, or s8 rows with one scale each
 * (the conv layers' rule) in the int8 kernels' layout. */
static vgg_status pack_dense(vgg_net *net, vgg_step *s, vgg_error *err) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const float *w = net->w->kernel[l->param];
  const int ni = l->in_c, no = l->out_c;
  if (s->dtype == VGG_PRECISION_BF16) {
    uint16_t *h = vgg_alloc((size_t)ni * no, sizeof(uint16_t));
    if (!h) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory packing %s", l->name);
    vgg_advise_huge(h, (size_t)ni * no * sizeof(uint16_t));
    net->packed[l->param] = h, s->weights_bf16 = h;
#pragma omp parallel for num_threads(net->threads) schedule(static)
    for (int o = 0; o < no; o++)
      for (int i = 0; i < ni; i++) h[(size_t)o * ni + i] = vgg_bf16_from_f32(w[(size_t)o * ni + i]);
    return VGG_OK;
  }
  if (ni > VGG_I8_DENSE_MAX_IN)
    return vgg_fail(err, VGG_ERR_UNSUPPORTED, "%s takes %d inputs: int8 takes at most %d", l->name, ni,
                    VGG_I8_DENSE_MAX_IN);
  const size_t st = vgg_i8_dense_stride(ni);
  int8_t *q = vgg_alloc((size_t)no * st, 1);
  float *ws = vgg_alloc((size_t)no, sizeof(float));
  net->packed[l->param] = q, net->qsb[l->param] = ws;
  if (!q || !ws) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory packing %s", l->name);
  vgg_advise_huge(q, (size_t)no * st);
  /* The first layer reads the conv base's bytes: with channel ranges, input i (NHWC, channel i % C) in units of
   * the conv base's unit times g[i % C], folded into its weights as into a conv layer's. */
  const float *g = s == &net->steps[net->nbase] ? net->feat_g : NULL;
  const int C = net->feat_c;
  int bad = 0;
#pragma omp parallel num_threads(net->threads) reduction(| : bad)
  {
    int8_t *row = malloc((size_t)ni), *qr = malloc((size_t)ni);
    float *r = malloc(sizeof(float) * (size_t)ni), *e = malloc(sizeof(float) * (size_t)ni);
    bad |= !row || !qr || !r || !e;
    /* The first layer reads the conv base's map (NHWC, flattened): its row rounded in groups of one channel's
     * positions (r in channel-major order), as a conv's filter; later layers' rows as one group. */
    const int P = s == &net->steps[net->nbase] && ni % C == 0 ? ni / C : 1, cs = ni / P;
#pragma omp for schedule(static)
    for (int o = 0; o < no; o++) {
      if (!row || !qr || !r || !e) continue;
      const float *wo = w + (size_t)o * ni;
      float m = 0;
      for (int p = 0, i = 0; p < P; p++)
        for (int c = 0; c < cs; c++, i++) { /* i = p cs + c */
          const float x = !g ? wo[i] : wo[i] * g[P > 1 ? c : i % C]; /* P > 1: cs = C */
          r[(size_t)c * P + p] = x;
          m = fabsf(x) > m ? fabsf(x) : m;
        }
      ws[o] = s8_scale(m);
      for (int i = 0; i < ni; i++) r[i] /= ws[o];
      vgg_s8_round_filter(r, ni, P, qr, e);
      for (int p = 0, i = 0; p < P; p++)
        for (int c = 0; c < cs; c++, i++) row[i] = qr[(size_t)c * P + p];
      net->i8->dense_pack(row, 1, ni, q + (size_t)o * st);
    }
    free(row), free(qr), free(r), free(e);
  }
  if (bad) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory packing %s", l->name);
  s->weights_i8 = q, s->qscale = ws;
  return VGG_OK;
}

static vgg_status provision(vgg_net *net, int release, const float *ranges, vgg_error *err) {
  const vgg_model *m = net->m;
  const vgg_weights *w = net->w;
  const size_t act = vgg_model_max_activation(m);
  if (!(net->buf[0] = vgg_alloc(act, sizeof(float))) || !(net->buf[1] = vgg_alloc(act, sizeof(float))))
    return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for activations");
  size_t widest = 0, widest_in = 0;
  int side = 0, conv[VGG_MAX_STEPS], nconv = 0, dense[VGG_MAX_STEPS], ndense = 0, i8dense = 0;
  for (int i = 0; i < net->nsteps; i++) {
    vgg_step *s = &net->steps[i];
    const vgg_layer *l = &m->layers[s->layer];
    if (s->op == VGG_STEP_DENSE) {
      /* The classifier reads the last pool's output, copied per image into cls[0]. */
      widest = widest > (size_t)l->in_c ? widest : (size_t)l->in_c;
      widest = widest > (size_t)l->out_c ? widest : (size_t)l->out_c;
      s->weights = w->kernel[l->param], s->bias = w->bias[l->param];
      /* Its float32 bound (vgg_net_input_bound): n_in x a bound on |w| (the load's, the seed's, or measured here), max |bias|. */
      const double wm = w->wmax[l->param] >= 0 ? w->wmax[l->param] : vgg_net_max_abs(s->weights, (size_t)l->weights, net->threads);
      net->l1[i] = l->in_c * wm, net->bmax[i] = vgg_net_max_abs(s->bias, (size_t)l->out_c, 1);
      if (s->dtype != VGG_PRECISION_F32) dense[ndense++] = i;
      i8dense |= s->dtype == VGG_PRECISION_INT8;
      widest_in = widest_in > (size_t)l->in_c ? widest_in : (size_t)l->in_c;
      continue;
    }
    s->in = i ? net->steps[i - 1].out : NULL;
    s->out = net->buf[side], side ^= 1;
    if (s->dtype == VGG_PRECISION_INT8) {
      const int src = s->op == VGG_STEP_POOL ? s->layer - 1 : vgg_plan_producer(m, s->layer);
      if (!ranges) return vgg_fail(err, VGG_ERR_ARG, "int8 needs the activation ranges of calibration (vgg_calibrate)");
      const int chk[2] = {src, s->op == VGG_STEP_CONV ? s->layer : src};
      for (int j = 0; j < 2; j++)
        if (!(ranges[chk[j]] >= 0) || !isfinite(ranges[chk[j]]))
          return vgg_fail(err, VGG_ERR_ARG, "the calibrated range of %s is not a finite value >= 0",
                          m->layers[chk[j]].name);
      s->in_scale = act_scale(ranges, src);
      s->out_scale = act_scale(ranges, chk[1]);
      s->rin = src, s->rout = chk[1];
      net->base_scale[src] = s->in_scale, net->base_scale[chk[1]] = s->out_scale;
      if (s->op != VGG_STEP_POOL && 2 * l->out_c > net->qtmp_stride) net->qtmp_stride = 2 * l->out_c;
    }
    if (s->op == VGG_STEP_POOL) continue;
    const size_t n8 = s->dtype != VGG_PRECISION_INT8 ? 0
                      : s->algo == VGG_ALGO_WINO4 ? net->i8->w4_packed_size(l->in_c, l->out_c)
                                                  : net->i8->packed_size(l->in_c, l->out_c);
    const size_t n = s->dtype == VGG_PRECISION_INT8 ? (n8 + 3) / 4
                     : s->wino ? s->wino->packed_size(l->in_c, l->out_c)
                               : net->k->conv3x3_packed_size(l->in_c, l->out_c);
    if (!(net->packed[l->param] = vgg_alloc(n, sizeof(float))))
      return vgg_fail(err, VGG_ERR_NOMEM, "out of memory packing %s", l->name);
    vgg_advise_huge(net->packed[l->param], n * sizeof(float));
    s->bias = w->bias[l->param];
    if (s->dtype == VGG_PRECISION_INT8) {
      if (!(net->qsb[l->param] = vgg_alloc(3 * (size_t)l->out_c, sizeof(float))))
        return vgg_fail(err, VGG_ERR_NOMEM, "out of memory packing %s", l->name);
      s->weights_i8 = net->packed[l->param];
      s->qscale = net->qsb[l->param], s->qbias = net->qsb[l->param] + l->out_c;
    } else s->weights = net->packed[l->param];
    /* An int8 conv's kernel may need scratch (bytes): the exact F(4x4)'s, or a direct kernel's (AMX's padded rows). */
    size_t (*const i8_scratch)(int, int) = s->dtype != VGG_PRECISION_INT8 ? NULL
                                           : s->algo == VGG_ALGO_WINO4   ? net->i8->w4_scratch_size
                                                                         : net->i8->scratch_size;
    if (s->wino || s->quant_out || i8_scratch) {
      const size_t sc = s->wino        ? s->wino->scratch_size(l->in_c, l->out_c)
                        : s->quant_out ? (size_t)(QROWS + 1) * l->out_w * l->out_c
                                       : (i8_scratch(l->in_w, l->in_c) + sizeof(float) - 1) / sizeof(float);
      net->scratch_floats = sc > net->scratch_floats ? sc : net->scratch_floats;
    }
    if (s->band_out) {
      const vgg_layer *nl = &m->layers[s[1].layer];
      const size_t sc = s[1].wino->scratch_size(nl->in_c, nl->out_c) + band_floats(&s[1], nl);
      net->scratch_floats = sc > net->scratch_floats ? sc : net->scratch_floats;
    }
    conv[nconv++] = i;
  }
  /* The grouped steps (the plan's): their largest input or output per image. */
  net->first_group = net->nbase;
  for (int i = 0; i < net->nbase; i++) {
    const vgg_layer *l = &m->layers[net->steps[i].layer], *o = &m->layers[net->steps[i].last_layer];
    if (net->first_group == net->nbase && net->steps[i].grouped) net->first_group = i;
    if (net->steps[i].grouped) {
      const size_t a = (size_t)l->in_h * l->in_w * l->in_c, b = (size_t)o->out_h * o->out_w * o->out_c;
      net->group_floats = a > net->group_floats ? a : net->group_floats;
      net->group_floats = b > net->group_floats ? b : net->group_floats;
    }
  }
  /* int8: the quantised input of a quant_in step, and the dequantised block outputs (a group's for grouped steps). */
  size_t nq = 0, nd = 0;
  for (int i = 0; i < net->nbase; i++) {
    const vgg_step *s = &net->steps[i];
    const vgg_layer *l = &m->layers[s->layer], *o = &m->layers[s->last_layer];
    const size_t imgs = i >= net->first_group ? VGG_GROUP : 1;
    if (s->quant_in && (size_t)l->in_h * l->in_w * l->in_c * imgs > nq) nq = (size_t)l->in_h * l->in_w * l->in_c * imgs;
    if (s->dtype == VGG_PRECISION_INT8 && s->block_end && (size_t)o->out_h * o->out_w * o->out_c * imgs > nd)
      nd = (size_t)o->out_h * o->out_w * o->out_c * imgs;
  }
  if ((nq && !(net->qbuf = vgg_alloc(nq, 1))) || (nd && !(net->deq = vgg_alloc(nd, sizeof(float)))) ||
      (net->qtmp_stride && !(net->qtmp = vgg_alloc((size_t)VGG_GROUP * net->qtmp_stride, sizeof(float)))))
    return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for int8 activations");
  /* Touched now, not in the first pass: their pages' first faults are part of making the net. */
  if (net->qbuf) memset(net->qbuf, 0, nq);
  if (net->deq) memset(net->deq, 0, nd * sizeof(float));
  if (net->qtmp) memset(net->qtmp, 0, (size_t)VGG_GROUP * net->qtmp_stride * sizeof(float));
  if (net->scratch_floats) {
    net->scratch_floats = (net->scratch_floats + 15) & ~(size_t)15; /* each thread's on its own cache lines */
    if (!(net->scratch = vgg_alloc(net->scratch_floats * (size_t)net->threads, sizeof(float))))
      return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for the kernels' scratch");
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
  vgg_status st = VGG_OK;
#pragma omp parallel for num_threads(net->threads) schedule(dynamic, 1)
  for (int j = nconv - 1; j >= 0; j--) {
    const vgg_step *s = &net->steps[conv[j]];
    const vgg_layer *l = &m->layers[s->layer];
    /* The float layer int8 reads first, with channel ranges: its filters and bias over each channel's unit
     * (ReLU commutes with the positive factor), so its output is quantised with the layer's unit. */
    const float *g = s->dtype == VGG_PRECISION_INT8 ? NULL : net->gch[s->layer];
    float *hwio = w->kernel[l->param];
    if (g && (hwio = malloc(sizeof(float) * (size_t)l->weights)) && (net->fbias[l->param] = malloc(sizeof(float) * l->out_c))) {
      for (int64_t r = 0; r < l->weights; r++) hwio[r] = w->kernel[l->param][r] / g[r % l->out_c];
      for (int o = 0; o < l->out_c; o++) net->fbias[l->param][o] = w->bias[l->param][o] / g[o];
      ((vgg_step *)s)->bias = net->fbias[l->param];
    }
    if (s->dtype == VGG_PRECISION_INT8) pack_int8(net, s);
    else if (!hwio || (g && !net->fbias[l->param]) || !vgg_net_filter_sums(hwio, s->bias, l, &net->l1[conv[j]], &net->bmax[conv[j]])) {
      if (hwio != w->kernel[l->param]) free(hwio);
#pragma omp critical(vgg_pack_err)
      if (!st) st = vgg_fail(err, VGG_ERR_NOMEM, "out of memory packing %s", l->name);
      continue;
    } else if (s->wino) s->wino->pack(hwio, l->in_c, l->out_c, net->packed[l->param]);
    else net->k->conv3x3_pack(hwio, l->in_c, l->out_c, net->packed[l->param]);
    if (hwio != w->kernel[l->param]) free(hwio);
    if (release) { /* asked for: the kernel, packed, is not needed again (each layer its own) */
      vgg_free(w->kernel[l->param]);
      ((vgg_weights *)w)->kernel[l->param] = NULL;
    }
  }
  if (st) return st;
  const vgg_step *last = &net->steps[net->nbase - 1];
  if (last->dtype == VGG_PRECISION_INT8) /* the conv base's output units, for the classifier (run_dense) */
    net->feat_g = net->gch[last->rout], net->feat_c = m->layers[last->last_layer].out_c;
  for (int j = 0; j < ndense; j++)
    if ((st = pack_dense(net, &net->steps[dense[j]], err))) return st;
  if (i8dense) {
    const size_t n = (size_t)VGG_MAX_BATCH * vgg_i8_dense_stride((int)widest_in);
    if (!(net->clsq = vgg_alloc(n, 1))) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for the classifier's buffers");
    memset(net->clsq, 0, n);
  }
  net->limit = vgg_net_input_bound(net);
  /* The first forward pass should not pay for page faults. */
  vgg_net_touch(net->buf[0], act, net->threads);
  vgg_net_touch(net->buf[1], act, net->threads);
  if (net->scratch) vgg_net_touch(net->scratch, net->scratch_floats * (size_t)net->threads, net->threads);
  /* The classifier's rows for one image: a batch touches the rest of its buffers when it first comes. */
  for (int b = 0; b < 2 && widest; b++) vgg_net_touch(net->cls[b], widest, net->threads);
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
  if ((unsigned)want >= VGG_ALGO_COUNT) return vgg_fail(err, VGG_ERR_ARG, "unknown algorithm %d", (int)want);
  for (int p = 0; p < m->nparams; p++)
    if (!w->kernel[p]) return vgg_fail(err, VGG_ERR_ARG, "the conv kernels of these weights were released");
  vgg_net *net = calloc(1, sizeof *net);
  if (!net) return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  net->m = m, net->w = w, net->k = vgg_kernels_get(level), net->threads = threads;
  if (opt && (unsigned)opt->precision >= VGG_PRECISION_COUNT) {
    free(net);
    return vgg_fail(err, VGG_ERR_ARG, "unknown precision %d", (int)opt->precision);
  }
  net->i8 = opt && opt->precision == VGG_PRECISION_INT8 ? vgg_i8_kernels_get(level) : NULL;
  const vgg_bf16_kernels *bf = opt && opt->precision == VGG_PRECISION_BF16 ? vgg_bf16_kernels_get(level) : NULL;
  const vgg_status refused = vgg_plan_check(opt, err);
  if (refused) {
    free(net);
    return refused;
  }
  const int watch = opt ? opt->watch_layer : 0;
  const int gc = opt ? opt->gradcam_layer : 0;
  unsigned char w4_exact[VGG_MAX_LAYERS] = {0};
  if (net->i8) {
    const vgg_status qs = channel_units(net, opt, err) ? VGG_ERR_NOMEM : quantise_convs(net, w4_exact, err);
    if (qs) {
      vgg_net_free(net);
      return qs;
    }
  }
  net->nsteps = vgg_plan_steps(m, net->k, net->i8, bf, want, threads, watch, gc, w4_exact, net->steps);
  while (net->nbase < net->nsteps && net->steps[net->nbase].op != VGG_STEP_DENSE) net->nbase++;
  if (watch) {
    int found = -1, int8 = -1;
    for (int i = 0; i < net->nbase; i++) {
      if (net->steps[i].last_layer == watch) found = i;
      if (net->steps[i].dtype == VGG_PRECISION_INT8 && int8 < 0) int8 = i;
    }
    if (watch == VGG_WATCH_ALL) found = int8 >= 0 ? int8 : 0;
    const vgg_status ws = watch < VGG_WATCH_ALL || watch >= m->nlayers || found < 0
                              ? vgg_fail(err, VGG_ERR_ARG, "watch_layer %d is not a conv or pool layer of the model",
                                         watch)
                          : net->steps[found].dtype == VGG_PRECISION_INT8
                              ? vgg_fail(err, VGG_ERR_UNSUPPORTED,
                                         "%s runs in int8 in this net: its output can be watched in f32 or bf16",
                                         m->layers[net->steps[found].last_layer].name)
                              : VGG_OK;
    if (ws) {
      vgg_net_free(net);
      return ws;
    }
    net->watch = watch;
  }
  if (gc) {
    const vgg_status gs = vgg_gradcam_provision(net, gc, err);
    if (gs) {
      vgg_net_free(net);
      return gs;
    }
  }
  vgg_status s = provision(net, opt && opt->release_conv, opt ? opt->ranges : NULL, err);
  if (s) {
    vgg_net_free(net);
    return s;
  }
  *out = net;
  return VGG_OK;
}

void vgg_net_free(vgg_net *net) {
  if (!net) return;
  for (int p = 0; p < VGG_MAX_PARAMS; p++)
    vgg_free(net->packed[p]), vgg_free(net->qsb[p]), free(net->q8[p]), free(net->q8s[p]), free(net->qf[p]),
        free(net->fbias[p]);
  for (int i = 0; i < VGG_MAX_LAYERS; i++) free(net->gch[i]);
  vgg_free(net->qtmp);
  vgg_free(net->qbuf);
  vgg_free(net->deq);
  vgg_free(net->buf[0]);
  vgg_free(net->buf[1]);
  vgg_free(net->gbuf[0]);
  vgg_free(net->gbuf[1]);
  vgg_free(net->scratch);
  free(net->stage_tmp);
  vgg_free(net->cls[0]);
  vgg_free(net->cls[1]);
  vgg_free(net->clsq);
  vgg_gradcam_free(net);
  free(net);
}

const char *vgg_net_isa(const vgg_net *net) { return vgg_level_name(net->k->level); }
int vgg_net_ranges_widened(const vgg_net *net) { return net->regrown; }

int vgg_net_threads(const vgg_net *net) { return net->threads; }
double vgg_net_input_limit(const vgg_net *net) { return net->limit; }
const double *vgg_net_layer_seconds(const vgg_net *net) { return net->layer_sec; }

vgg_status vgg_net_set_profile(vgg_net *net, int on, vgg_error *err) {
  if (on && !net->stage_tmp && !(net->stage_tmp = calloc((size_t)net->threads, sizeof *net->stage_tmp)))
    return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  net->profile = on;
  return VGG_OK;
}

const double *vgg_net_stage_seconds(const vgg_net *net, int layer) {
  return layer >= 0 && layer < net->m->nlayers ? net->stage_sec[layer] : NULL;
}

const char *vgg_net_layer_algo(const vgg_net *net, int layer) {
  for (int i = 0; i < net->nbase; i++)
    if (net->steps[i].layer == layer && net->steps[i].op != VGG_STEP_POOL) return vgg_step_algo_name(&net->steps[i]);
  return NULL;
}

int vgg_net_steps(const vgg_net *net, vgg_step_info *out, int max) {
  for (int i = 0; i < net->nsteps && i < max; i++) vgg_step_describe(net->m, &net->steps[i], net->step_sec[i], &out[i]);
  return net->nsteps;
}
