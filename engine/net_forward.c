/* The net's forward pass: one loop over the plan's steps, each run by the kernel its operation and data type
 * name.  The steps read like the architecture (block 1: conv, conv+pool, block 2: ...; then fc1, fc2,
 * predictions); after each block's last step the block output goes to the caller. */
#include "net.h"
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* One step on nb images, one after the other in `in` and `out`.  Winograd
 * steps take them in one call (tile rows follow each other across images);
 * direct conv and pool steps split each task's rows at image boundaries; the
 * classifier's steps take the batch side by side. */
/* Task t of a direct conv step on a batch of `rows` rows (rsplit row ranges x
 * noc channel ranges): its output channels, and its rows cut at image
 * boundaries, one image's piece per task_next: image b, its rows [r0, r1). */
typedef struct {
  long y, y1;
  int oc0, oc1, b, r0, r1;
} conv_task;

static conv_task task_of(const vgg_step *s, const vgg_layer *l, int t, long rows) {
  const int r = t / s->noc, oc0 = t % s->noc * s->oc_step;
  return (conv_task){rows * r / s->rsplit, rows * (r + 1) / s->rsplit, oc0,
                     oc0 + s->oc_step < l->out_c ? oc0 + s->oc_step : l->out_c, 0, 0, 0};
}

static int task_next(const vgg_step *s, conv_task *k) {
  if (k->y >= k->y1) return 0;
  k->b = (int)(k->y / s->rows);
  const long base = (long)k->b * s->rows;
  k->r0 = (int)(k->y - base);
  k->r1 = (int)(k->y1 - base < s->rows ? k->y1 - base : s->rows);
  k->y = base + k->r1;
  return 1;
}

/* The largest of n u8 values of `layer`'s output (255: the range was reached or passed), from each channel's
 * largest byte; *used, the largest value in units of the layer's unit: that byte, or with channel ranges
 * (net->gch) the largest byte of a channel times its unit over the layer's.  (A VGG layer has at most 512
 * channels: VGG_MAX_CH bounds the per-thread maxima.) */
static int max_u8(const vgg_net *net, int layer, const uint8_t *p, size_t n, float *used) {
  const float *g = net->gch[layer];
  const int c = net->m->layers[layer].out_c;
  int m = 0;
  float u = 0;
  const size_t px = n / (size_t)c, chunk = 256;
#pragma omp parallel num_threads(net->threads) reduction(max : m, u)
  {
    uint8_t t[VGG_MAX_CH];
    memset(t, 0, (size_t)c);
#pragma omp for schedule(static)
    for (size_t q0 = 0; q0 < px; q0 += chunk)
      for (size_t q = q0; q < px && q < q0 + chunk; q++) {
        const uint8_t *row = p + q * c;
        int k = 0;
        for (; k + 64 <= c; k += 64) /* a fixed width the compiler vectorises (u8 max) */
          for (int j = 0; j < 64; j++) t[k + j] = row[k + j] > t[k + j] ? row[k + j] : t[k + j];
        for (; k < c; k++) t[k] = row[k] > t[k] ? row[k] : t[k];
      }
    for (int k = 0; k < c; k++) {
      const float v = g ? t[k] * g[k] : t[k];
      m = t[k] > m ? t[k] : m;
      u = v > u ? v : u;
    }
  }
  *used = u;
  return m;
}

/* The requantisation (kernels.h: scale and bias per output channel) of int8 conv step s for image `slot`: the
 * step's own, or from the image's units (pack_int8's arithmetic) into the image's scratch. */
static void image_requant(vgg_net *net, const vgg_step *s, int slot, const float **qs, const float **qb) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const float si = net->scale[slot][s->rin], so = net->scale[slot][s->rout];
  *qs = s->qscale, *qb = s->qbias;
  if (si == s->in_scale && so == s->out_scale) return;
  const float *sw = s->qscale + 2 * l->out_c, *g = net->gch[s->layer];
  float *t = net->qtmp + (size_t)slot * net->qtmp_stride;
  for (int o = 0; o < l->out_c; o++) {
    const float sou = g ? so * g[o] : so;
    t[o] = si * sw[o] / sou, t[l->out_c + o] = s->bias[o] / sou;
  }
  *qs = t, *qb = t + l->out_c;
}

/* The range guard's exact fit for int8 conv step s on image `slot` (input in, output map p): the largest
 * requantised value y (kernels.h, before the clamp) of the outputs that reached 255, each from its exact sum
 * over in and the filters net->qf; -1 without the filters or when more than 1 in PEEK_SHARE outputs reached
 * 255 (a probe run of the layer then costs less). */
#define PEEK_SHARE 64
static float saturated_max(vgg_net *net, const vgg_step *s, int slot, const uint8_t *in, const uint8_t *p) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const int8_t *f = net->qf[l->param];
  if (!f) return -1;
  const int H = l->in_h, W = l->in_w, C = l->out_c, ci = l->in_c;
  const size_t n = (size_t)H * W * C;
  size_t hits = 0;
#pragma omp parallel for num_threads(net->threads) reduction(+ : hits) schedule(static)
  for (size_t i = 0; i < n; i++) hits += p[i] == 255;
  if (hits > n / PEEK_SHARE) return -1;
  const float *qs, *qb;
  image_requant(net, s, slot, &qs, &qb);
  float y = -1;
#pragma omp parallel for num_threads(net->threads) reduction(max : y) schedule(dynamic, 4)
  for (int r = 0; r < H; r++)
    for (int x = 0; x < W; x++)
      for (int o = 0; o < C; o++) {
        if (p[((size_t)r * W + x) * C + o] != 255) continue;
        int32_t acc = 0;
        for (int t = 0; t < 9; t++) {
          const int yy = r + t / 3 - 1, xx = x + t % 3 - 1;
          if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
          const uint8_t *a = in + ((size_t)yy * W + xx) * ci;
          const int8_t *w = f + (size_t)o * 9 * ci + t; /* [cout][cin][3][3] */
          for (int c = 0; c < ci; c++) acc += a[c] * w[(size_t)c * 9];
        }
        const float v = fmaf((float)acc, qs[o], qb[o]);
        y = v > y ? v : y;
      }
  return y;
}

/* The range guard, after a step wrote the n u8 values at p of `layer`'s output for image `slot`: 1 when the
 * step must run again for that image, with the unit net->scale[slot][layer] widen has set.  A map without a
 * 255 stands (its largest value is kept for narrow()).  One with a 255 may have been clipped.  For int8 conv
 * step s (with its u8 input `in`; NULL elsewhere) the largest value y of the outputs that reached 255 comes from
 * their exact sums (saturated_max), and the range is set to (y + 1/2) / 254 of it: one more run, the largest
 * value just below 255.  Otherwise (no step, or too many outputs at 255) the range is made 4 times wider (a
 * probe), and from the probe's largest value m < 255 the range that holds that largest value just below 255,
 * (m + 1) / 254 of the probe's (the true largest value is at most m + 1/2 probe units); a probe that saturates
 * again widens 4 times more.  Either way up to GROW_MAX.  So no value is clipped, and the range is within a
 * unit of the image's own largest value.  With `fit` (the float32 layer whose output int8 reads first: no
 * range before it to narrow it from), a map using less than half its range is made again on the range
 * (m + 1) / 254 of it, as a probe's.  With channel ranges every channel's unit moves with the layer's. */
static int widen(vgg_net *net, int slot, int layer, const uint8_t *p, size_t n, int fit, const vgg_step *s,
                 const uint8_t *in) {
  unsigned char *st = &net->widen_state[slot][layer];
  float *peak = &net->peak[slot][layer], *sc = &net->scale[slot][layer];
  if (*st == 2 && !net->gch[layer]) return *peak = 254, 0;
  float used;
  const int m = max_u8(net, layer, p, n, &used);
  if (*st == 2) return *peak = used, 0;
  if (*st == 0 && m < 255 && !(fit && m < 127 && m > 0)) return *peak = used, 0;
  const float cap = net->base_scale[layer] * GROW_MAX;
  const float y = m == 255 && *st == 0 && s ? saturated_max(net, s, slot, in, p) : -1;
  if (y > 0) { /* the exact largest value: the range that holds it just below 255, in one run */
    if (*sc >= cap) return *peak = used, 0;
    const float g = (y + 0.5f) / 254.0f;
    *sc = *sc * g < cap ? *sc * g : cap, *st = 2;
    net->regrown++;
    return 1;
  }
  if (m == 255 && *sc * 4 > cap) return *peak = used, 0;
  if (m == 255) *sc *= 4, *st = 1;
  else *sc = *sc * (float)(m + 1) / 254.0f, *st = 2;
  net->regrown++;
  return 1;
}

/* Before int8 conv step s first runs on image `slot`: its output range narrowed to the image.  The share of
 * the input's calibrated range the image used (its largest byte times its unit, over the calibrated range's
 * 254 units) predicts the output's: a photo darker or plainer than the calibration photos uses less of every
 * range, and a calibrated range it does not use costs it precision (held out, the ranges of other photos
 * left block 5's relative L2 error up to 2.3 times the one of the image's own ranges).  NARROW_MARGIN covers
 * the share growing from one layer to the next; where it grows more, the guard widens the range as for any
 * range passed, so nothing is clipped either way.  Each image's range depends only on that image. */
static void narrow(vgg_net *net, const vgg_step *s, int slot) {
  const float used = net->peak[slot][s->rin] * net->scale[slot][s->rin] / (254.0f * net->base_scale[s->rin]);
  float f = NARROW_MARGIN * used;
  if (used > 1) /* the input passed its range: the output's widened ahead */
    f = f < GROW_MAX ? f : GROW_MAX;
  else
    f = f > 1 ? 1 : f < NARROW_MIN ? NARROW_MIN : f;
  net->scale[slot][s->rout] = net->base_scale[s->rout] * f;
}

/* The conv of int8 step s on nb images (in, out: u8), image b the group's slot0 + b, each with its units. */
static void run_conv_i8(vgg_net *net, const vgg_step *s, const uint8_t *in, uint8_t *out, int nb, int slot0) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const int ntask = s->rsplit * s->noc;
  const long rows = (long)s->rows * nb;
  const size_t in_img = (size_t)l->in_h * l->in_w * l->in_c, out_img = (size_t)l->out_h * l->out_w * l->out_c;
  const float *qs[VGG_GROUP], *qb[VGG_GROUP];
  for (int b = 0; b < nb; b++) image_requant(net, s, slot0 + b, &qs[b], &qb[b]);
  const vgg_i8_conv3x3_fn fn = s->algo == VGG_ALGO_WINO4 ? net->i8->w4_conv : net->i8->conv;
#pragma omp parallel for num_threads(net->threads) schedule(static)
  for (int t = 0; t < ntask; t++)
    for (conv_task k = task_of(s, l, t, rows); task_next(s, &k);) {
      const vgg_i8_conv3x3_args a = {in + k.b * in_img, out + k.b * out_img, s->weights_i8, qs[k.b], qb[k.b],
                                     l->in_h, l->in_w, l->in_c, l->out_c,
                                     net->scratch ? net->scratch + net->scratch_floats * (size_t)omp_get_thread_num() : NULL};
      fn(&a, k.r0, k.r1, k.oc0, k.oc1);
    }
}

/* vgg_u8_quantize, by the int8 kernels' own where they have one (the same bits). */
static void u8_quantize(const vgg_net *net, const float *x, uint8_t *q, size_t n, float inv_scale) {
  (net->i8->quantize ? net->i8->quantize : vgg_u8_quantize)(x, q, n, inv_scale);
}

/* n float32 values quantised to u8 with the unit `scale`. */
static void quantize(const vgg_net *net, const float *in, uint8_t *out, size_t n, float scale) {
  const size_t chunk = 65536;
  const float inv = 1.0f / scale;
#pragma omp parallel for num_threads(net->threads) schedule(static)
  for (size_t c = 0; c < n; c += chunk) u8_quantize(net, in + c, out + c, n - c < chunk ? n - c : chunk, inv);
}

static void run_step_i8(vgg_net *net, const vgg_step *s, const float *in_f, float *out_f, int nb, int slot0) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const size_t in_img = (size_t)l->in_h * l->in_w * l->in_c, out_img = (size_t)l->out_h * l->out_w * l->out_c;
  const uint8_t *in = (const uint8_t *)in_f;
  uint8_t *out = (uint8_t *)out_f;
  if (s->quant_in && s[-1].quant_out) {
    in = net->qbuf; /* quantised by the step before, a few rows at a time */
  } else if (s->quant_in) { /* each image quantised with its range, widened while it saturates */
    for (int b = 0; b < nb; b++)
      do quantize(net, in_f + b * in_img, net->qbuf + b * in_img, in_img, net->scale[slot0 + b][s->rin]);
      while (widen(net, slot0 + b, s->rin, net->qbuf + b * in_img, in_img, 1, NULL, NULL));
    in = net->qbuf;
  }
  if (s->op == VGG_STEP_POOL) {
    const long rows = (long)s->rows * nb;
#pragma omp parallel for num_threads(net->threads) schedule(static)
    for (long y = 0; y < rows; y++) {
      const long b = y / s->rows;
      vgg_u8_maxpool2x2(in + b * in_img, out + b * out_img, l->in_h, l->in_w, l->in_c, (int)(y - b * s->rows),
                        (int)(y - b * s->rows) + 1);
    }
    return;
  }
  for (int b = 0; b < nb; b++) narrow(net, s, slot0 + b);
  run_conv_i8(net, s, in, out, nb, slot0);
  for (int b = 0; b < nb; b++) /* the range guard */
    while (widen(net, slot0 + b, s->rout, out + b * out_img, out_img, 0, s, in + b * in_img))
      run_conv_i8(net, s, in + b * in_img, out + b * out_img, 1, slot0 + b);
}

/* The Winograd stage profile of a step: the threads' counters zeroed before it, added to its layer's after. */
static void stages_begin(vgg_net *net) {
  if (net->profile) memset(net->stage_tmp, 0, sizeof *net->stage_tmp * (size_t)net->threads);
}

static void stages_end(vgg_net *net, int layer) {
  for (int t = 0; net->profile && t < net->threads; t++)
    for (int k = 0; k < 3; k++) net->stage_sec[layer][k] += net->stage_tmp[t][k];
}

/* The direct conv kernel of layer l (the first layer, 3 input channels, has its own). */
static vgg_conv3x3_fn direct_fn(const vgg_net *net, const vgg_layer *l) {
  return l->in_c == 3 ? net->k->conv3x3_c3 : net->k->conv3x3;
}

/* Output rows [y, y1), channels [oc0, oc1), of direct conv step s on one image (img: its input), row y
 * written at out_y (a row's room before it: the kernel's view starts a row above).  The kernel sees a view of
 * the input rows they need, one more above and below where the image has them, so its zero padding falls only
 * on the image's own edges: the same values as a pass over the whole map. */
static void conv_rows(const vgg_net *net, const vgg_step *s, const float *img, int y, int y1, int oc0, int oc1,
                      float *out_y) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const int H = l->in_h, v0 = y > 0 ? y - 1 : 0, v1 = y1 < H ? y1 + 1 : H;
  const size_t in_row = (size_t)l->in_w * l->in_c, row = (size_t)l->out_w * l->out_c;
  const vgg_conv3x3_args a = {img + v0 * in_row, out_y - (y - v0) * row, s->weights, s->bias, v1 - v0,
                              l->in_w, l->in_c, l->out_c, s->relu};
  direct_fn(net, l)(&a, y - v0, y1 - v0, oc0, oc1);
}

/* A quant_out step on nb images (image b the group's slot0 + b): QROWS output rows at a time into the thread's
 * scratch (conv_rows), quantised from there into q (the net's u8 buffer) with the range of the step's layer;
 * an image whose u8 map saturates runs again with that range doubled (the range guard). */
static void conv_quant(vgg_net *net, const vgg_step *s, const float *in, uint8_t *q, int nb, int slot0) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const int H = l->in_h, ntask = s->rsplit * s->noc;
  const long rows = (long)s->rows * nb;
  const size_t in_img = (size_t)H * l->in_w * l->in_c, row = (size_t)l->out_w * l->out_c;
#pragma omp parallel for num_threads(net->threads) schedule(static)
  for (int t = 0; t < ntask; t++) {
    float *f = net->scratch + net->scratch_floats * (size_t)omp_get_thread_num() + row; /* QROWS rows, one before */
    for (conv_task k = task_of(s, l, t, rows); task_next(s, &k);) {
      const float inv = 1.0f / net->scale[slot0 + k.b][s->layer];
      for (int y = k.r0; y < k.r1; y += QROWS) {
        const int y1 = k.r1 - y < QROWS ? k.r1 : y + QROWS;
        conv_rows(net, s, in + k.b * in_img, y, y1, k.oc0, k.oc1, f);
        uint8_t *qy = q + ((size_t)k.b * H + y) * row;
        if (k.oc1 - k.oc0 == l->out_c)
          u8_quantize(net, f, qy, (size_t)(y1 - y) * row, inv);
        else
          for (size_t p = 0; p < (size_t)(y1 - y) * l->out_w; p++)
            u8_quantize(net, f + p * l->out_c + k.oc0, qy + p * l->out_c + k.oc0, (size_t)(k.oc1 - k.oc0), inv);
      }
    }
  }
}

static void run_conv_quant(vgg_net *net, const vgg_step *s, const float *in, uint8_t *q, int nb, int slot0) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const size_t in_img = (size_t)l->in_h * l->in_w * l->in_c, out_img = (size_t)l->out_h * l->out_w * l->out_c;
  conv_quant(net, s, in, q, nb, slot0);
  for (int b = 0; b < nb; b++) /* the range guard */
    while (widen(net, slot0 + b, s->layer, q + b * out_img, out_img, 1, NULL, NULL))
      conv_quant(net, s, in + b * in_img, q + b * out_img, 1, slot0 + b);
}

/* A Winograd step writes its outputs past the caches (vgg_wino_args.stream) when a pass writes at least
 * this many bytes: more than a core's L2, the map is out of it before the next layer reads it, and a
 * streamed store skips reading each line before overwriting it (docs/performance-history.md, "Outputs streamed"). */
#define STREAM_MIN_BYTES ((size_t)1 << 20)

static int stream_out(const vgg_net *net, const vgg_step *s, int nb) {
  const vgg_layer *o = &net->m->layers[s->last_layer];
  return (size_t)o->out_h * o->out_w * o->out_c * sizeof(float) * (size_t)nb >= STREAM_MIN_BYTES;
}

/* A band_out step s and the Winograd step after it on nb images (in: s's input, out: the Winograd step's
 * output).  Each thread takes its share of the Winograd step's tile rows, and for each tile row computes the
 * rows of s's output it reads that its band lacks (through a view of the input rows they need, one more above
 * and below where the image has them, as in run_conv_quant), then the tile row from the band.  A full band
 * keeps the rows the next tile row shares with this one and starts again from them.  Every value is the
 * one the two steps give run apart. */
static void run_band(vgg_net *net, const vgg_step *s, const float *in, float *out, int nb) {
  const vgg_step *w = &s[1];
  const vgg_layer *l = &net->m->layers[s->layer], *wl = &net->m->layers[w->layer], *o = &net->m->layers[w->last_layer];
  const int H = l->out_h, M = w->wino->m, th = w->rows, cap = (BAND_TILE_ROWS + 1) * M + 2;
  const size_t row = (size_t)l->out_w * l->out_c, in_img = (size_t)l->in_h * l->in_w * l->in_c;
  const size_t out_img = (size_t)o->out_h * o->out_w * o->out_c, wsc = w->wino->scratch_size(wl->in_c, wl->out_c);
  const long rows = (long)th * nb;
  stages_begin(net);
#pragma omp parallel for num_threads(net->threads) schedule(static)
  for (int t = 0; t < w->rsplit; t++) {
    float *sc = net->scratch + net->scratch_floats * (size_t)omp_get_thread_num(), *band = sc + wsc;
    vgg_wino_args a = {NULL, NULL, w->weights, w->bias, wl->in_h, wl->in_w, wl->in_c, wl->out_c, w->relu, w->pool, sc,
                       net->profile ? net->stage_tmp[omp_get_thread_num()] : NULL, 0, stream_out(net, w, nb)};
    int img = -1, b0 = 0, b1 = 0; /* the band: rows [b0, b1) of image img, row y at band + (1 + y - b0) * row */
    for (long ty = rows * t / w->rsplit; ty < rows * (t + 1) / w->rsplit; ty++) {
      const int b = (int)(ty / th), r = (int)(ty % th);
      const int n0 = r * M > 0 ? r * M - 1 : 0, n1 = r * M + M + 1 < H ? r * M + M + 1 : H;
      if (b != img || n0 < b0 || n0 > b1) {
        img = b, b0 = b1 = n0;
      } else if (n1 - b0 > cap) {
        memmove(band + row, band + (size_t)(1 + n0 - b0) * row, sizeof(float) * (size_t)(b1 - n0) * row);
        b0 = n0;
      }
      if (n1 > b1) {
        conv_rows(net, s, in + b * in_img, b1, n1, 0, l->out_c, band + (size_t)(1 + b1 - b0) * row);
        b1 = n1;
      }
      a.in = band + row, a.row0 = b0, a.out = out + b * out_img;
      w->wino->conv(&a, r, r + 1, 0, wl->out_c);
    }
  }
  stages_end(net, w->layer);
}

/* A classifier step on nb images (in: nb rows of its inputs).  int8: each image's input quantised to u8 first,
 * on the unit of the conv base's output for the first layer (its values are those bytes times that unit: the
 * same bytes come back) and on its own largest value / 255 after (nothing clipped). */
static void run_dense(vgg_net *net, const vgg_step *s, const float *in, float *out, int nb) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const int ntask = s->rsplit * s->noc, ni = l->in_c, no = l->out_c;
  if (s->dtype == VGG_PRECISION_INT8) {
    const size_t st = vgg_i8_dense_stride(ni);
    const int first = s == &net->steps[net->nbase] && net->steps[net->nbase - 1].dtype == VGG_PRECISION_INT8;
    const float *g = first ? net->feat_g : NULL;
    const int C = net->feat_c;
    for (int b = 0; b < nb; b++) {
      const float *x = in + (size_t)b * ni;
      float m = 0;
      for (int i = 0; !first && i < ni; i++) m = x[i] > m ? x[i] : m;
      const float unit = first ? net->featxs[b] : m / 255.0f;
      net->clsxs[b] = unit;
      if (g) { /* channel ranges: each channel's bytes back from its unit (pack_dense folded them in the weights) */
        float inv[VGG_MAX_CH];
        for (int k = 0; k < C; k++) inv[k] = unit > 0 ? 1.0f / vgg_net_channel_unit(unit, g, k) : 0.0f;
        for (size_t p = 0; p < (size_t)ni; p += (size_t)C)
          for (int k = 0; k < C; k++) vgg_u8_quantize(x + p + k, net->clsq + b * st + p + k, 1, inv[k]);
        continue;
      }
      u8_quantize(net, x, net->clsq + b * st, (size_t)ni, unit > 0 ? (first ? 1.0f / unit : 255.0f / m) : 0.0f);
    }
  }
#pragma omp parallel for num_threads(net->threads) schedule(static)
  for (int t = 0; t < ntask; t++) {
    const int o0 = t * s->oc_step, o1 = o0 + s->oc_step < no ? o0 + s->oc_step : no;
    if (s->dtype == VGG_PRECISION_INT8)
      net->i8->dense(net->clsq, net->clsxs, nb, s->weights_i8, s->qscale, s->bias, out, ni, no, s->relu, o0, o1);
    else if (s->dtype == VGG_PRECISION_BF16 && nb == 1)
      net->k->dense_bf16(in, s->weights_bf16, s->bias, out, ni, no, s->relu, o0, o1);
    else if (s->dtype == VGG_PRECISION_BF16)
      net->k->dense_bf16_batch(in, nb, s->weights_bf16, s->bias, out, ni, no, s->relu, o0, o1);
    else if (nb == 1) net->k->dense(in, s->weights, s->bias, out, ni, no, s->relu, o0, o1);
    else net->k->dense_batch(in, nb, s->weights, s->bias, out, ni, no, s->relu, o0, o1);
  }
}

/* Step s on nb images, image b the running group's slot0 + b. */
static void run_step(vgg_net *net, const vgg_step *s, const float *in, float *out, int nb, int slot0) {
  const vgg_layer *l = &net->m->layers[s->layer];
  const int ntask = s->rsplit * s->noc;
  const long rows = (long)s->rows * nb;
  if (s->op == VGG_STEP_DENSE) {
    run_dense(net, s, in, out, nb);
    return;
  }
  if (s->dtype == VGG_PRECISION_INT8) {
    run_step_i8(net, s, in, out, nb, slot0);
    return;
  }
  if (s->quant_out) {
    run_conv_quant(net, s, in, net->qbuf, nb, slot0);
    return;
  }
  switch (s->op) {
  case VGG_STEP_CONV: {
    const size_t in_img = (size_t)l->in_h * l->in_w * l->in_c, out_img = (size_t)l->out_h * l->out_w * l->out_c;
    const vgg_conv3x3_fn fn = direct_fn(net, l);
#pragma omp parallel for num_threads(net->threads) schedule(static)
    for (int t = 0; t < ntask; t++)
      for (conv_task k = task_of(s, l, t, rows); task_next(s, &k);) {
        const vgg_conv3x3_args a = {in + k.b * in_img, out + k.b * out_img, s->weights, s->bias,
                                    l->in_h, l->in_w, l->in_c, l->out_c, s->relu};
        fn(&a, k.r0, k.r1, k.oc0, k.oc1);
      }
    break;
  }
  case VGG_STEP_WINO: {
    const vgg_wino_args base = {in, out, s->weights, s->bias, l->in_h, l->in_w, l->in_c, l->out_c, s->relu, s->pool,
                                NULL, NULL, 0, stream_out(net, s, nb)};
    stages_begin(net);
#pragma omp parallel for num_threads(net->threads) schedule(static)
    for (int t = 0; t < ntask; t++) {
      vgg_wino_args a = base;
      a.scratch = net->scratch + net->scratch_floats * (size_t)omp_get_thread_num();
      a.stage = net->profile ? net->stage_tmp[omp_get_thread_num()] : NULL;
      const int r = t / s->noc, c = t % s->noc, oc0 = c * s->oc_step;
      s->wino->conv(&a, (int)(rows * r / s->rsplit), (int)(rows * (r + 1) / s->rsplit), oc0,
                    oc0 + s->oc_step < l->out_c ? oc0 + s->oc_step : l->out_c);
    }
    stages_end(net, s->layer);
    break;
  }
  case VGG_STEP_POOL: {
    const size_t in_img = (size_t)l->in_h * l->in_w * l->in_c, out_img = (size_t)l->out_h * l->out_w * l->out_c;
#pragma omp parallel for num_threads(net->threads) schedule(static)
    for (long y = 0; y < rows; y++) {
      const long b = y / s->rows;
      net->k->maxpool2x2(in + b * in_img, out + b * out_img, l->in_h, l->in_w, l->in_c, (int)(y - b * s->rows),
                         (int)(y - b * s->rows) + 1);
    }
    break;
  }
  case VGG_STEP_DENSE: /* run_dense */
    break;
  }
}



/* The grouped steps' buffers, made (and touched) the first time a batch comes. */
static vgg_status group_buffers(vgg_net *net, vgg_error *err) {
  if (net->gbuf[0] || net->first_group >= net->nbase) return VGG_OK;
  const size_t n = net->group_floats * VGG_GROUP;
  for (int b = 0; b < 2; b++) {
    if (!(net->gbuf[b] = vgg_alloc(n, sizeof(float)))) {
      vgg_free(net->gbuf[0]);
      net->gbuf[0] = NULL;
      return vgg_fail(err, VGG_ERR_NOMEM, "out of memory for a batch's activations");
    }
    vgg_net_touch(net->gbuf[b], n, net->threads);
  }
  return VGG_OK;
}

/* After step s on n images (out): the block output as floats (int8: dequantised
 * into deq), to the caller; the largest value of a conv step's output when calibrating. */
static const float *step_done(vgg_net *net, const vgg_step *s, const float *out, int image0, int slot0, int n,
                              vgg_block_fn on_block, void *user, double sec) {
  const vgg_layer *o = &net->m->layers[s->last_layer];
  const size_t img = (size_t)o->out_h * o->out_w * o->out_c;
  if (net->observe && s->op != VGG_STEP_POOL) {
    float mx = net->observe[s->layer];
#pragma omp parallel for num_threads(net->threads) reduction(max : mx) schedule(static)
    for (size_t i = 0; i < img * n; i++) mx = out[i] > mx ? out[i] : mx;
    net->observe[s->layer] = mx;
    if (net->observe_ch) /* per channel: each thread's maxima over its pixels, then the largest of them */
#pragma omp parallel num_threads(net->threads)
    {
      const int c = o->out_c;
      float *chm = net->observe_ch + vgg_model_channel_offset(net->m, s->layer), *t = malloc(sizeof(float) * c);
      if (t) {
        for (int k = 0; k < c; k++) t[k] = 0;
#pragma omp for schedule(static)
        for (size_t p = 0; p < img / c * n; p++)
          for (int k = 0; k < c; k++) t[k] = out[p * c + k] > t[k] ? out[p * c + k] : t[k];
#pragma omp critical(vgg_observe_ch)
        for (int k = 0; k < c; k++) chm[k] = t[k] > chm[k] ? t[k] : chm[k];
        free(t);
      }
    }
  }
  if (net->keeping && s->op != VGG_STEP_POOL) vgg_net_keep(net, s->last_layer, out);
  for (int b = 0; net->watch_fn && (s->last_layer == net->watch || net->watch == VGG_WATCH_ALL) && b < n; b++) {
    const vgg_tensor t = {1, o->out_h, o->out_w, o->out_c, (float *)out + b * img};
    net->watch_fn(net->watch_user, image0 + b, s->last_layer, &t);
  }
  if (!s->block_end) return out;
  /* int8: dequantised for the caller's callback, or as the conv base's result (its last step). */
  if (s->dtype == VGG_PRECISION_INT8 && (on_block || s == &net->steps[net->nbase - 1])) {
    const size_t chunk = 65536;
    const float *g = net->gch[s->rout];
    const int C = o->out_c;
    for (int b = 0; b < n; b++) {
      const float sc = net->scale[slot0 + b][s->rout];
      const uint8_t *q = (const uint8_t *)out + b * img;
      float *d = net->deq + b * img;
      if (g) { /* each channel on its unit (vgg_net_channel_unit) */
        float u[VGG_MAX_CH];
        for (int k = 0; k < C; k++) u[k] = vgg_net_channel_unit(sc, g, k);
#pragma omp parallel for num_threads(net->threads) schedule(static)
        for (size_t p = 0; p < img / C; p++)
          for (int k = 0; k < C; k++) d[p * C + k] = (float)q[p * C + k] * u[k];
        continue;
      }
#pragma omp parallel for num_threads(net->threads) schedule(static)
      for (size_t c = 0; c < img; c += chunk) vgg_u8_dequantize(q + c, d + c, img - c < chunk ? img - c : chunk, sc);
    }
    out = net->deq;
  }
  for (int b = 0; on_block && b < n; b++) {
    const vgg_tensor t = {1, o->out_h, o->out_w, o->out_c, (float *)out + b * img};
    on_block(user, image0 + b, s->block_end, &t, sec / n);
  }
  return out;
}

/* Bytes per element of a step's output. */
static size_t out_bytes(const vgg_step *s) { return s->dtype == VGG_PRECISION_INT8 ? 1 : sizeof(float); }

/* 1 when step i runs together with the next (band_out; not while calibrating, which looks at every output, nor
 * while each step's input is checked). */
static int fused(const vgg_net *net, int i) { return net->steps[i].band_out && !net->observe && !net->guard; }

/* Steps i..e (e = i + fused(net, i)) on nb images: in, step i's input; out, step e's output. */
static void run_at(vgg_net *net, int i, int e, const float *in, float *out, int nb, int slot0) {
  if (e > i) run_band(net, &net->steps[i], in, out, nb);
  else run_step(net, &net->steps[i], in, out, nb, slot0);
}

/* The conv base on images [image0, image0 + n) of `images`: with one image
 * every step in turn; with a group, the steps before first_group image after
 * image (large maps, small weights), the last of them writing into the
 * group's buffer, then the rest on the whole group, each pass over a layer's
 * weights serving every image.  Returns the block-5 output of the images
 * as floats, image b at + b * its size. */
static const float *conv_base(vgg_net *net, const float *images, int image0, int n, vgg_block_fn on_block,
                              void *user, vgg_error *err) {
  const vgg_layer *in_l = &net->m->layers[0];
  const size_t img = (size_t)in_l->out_h * in_l->out_w * 3;
  const int grouped = n > 1 ? net->first_group : net->nbase;
  const float *result = NULL;
  for (int b = 0; b < VGG_GROUP && net->i8; b++) /* each image starts from the calibrated ranges */
    memcpy(net->scale[b], net->base_scale, sizeof net->base_scale);
  memset(net->widen_state, 0, sizeof net->widen_state);
  for (int b = 0; b < VGG_GROUP; b++)
    for (int i = 0; i < VGG_MAX_LAYERS; i++) net->peak[b][i] = 254;
  for (int b = 0; b < n; b++) {
    double sec = 0;
    for (int i = 0; i < grouped; i++) {
      const int e = i + fused(net, i); /* the step whose output this writes */
      const vgg_step *s = &net->steps[e];
      const vgg_layer *o = &net->m->layers[s->last_layer];
      float *out = e == grouped - 1 && grouped < net->nbase
                       ? (float *)((char *)net->gbuf[0] + b * (size_t)o->out_h * o->out_w * o->out_c * out_bytes(s))
                       : s->out;
      const float *in = i ? net->steps[i - 1].out : images + (image0 + b) * img;
      if (vgg_net_values_fit(net, i, in, 1, err)) return NULL;
      const double t0 = vgg_now();
      run_at(net, i, e, in, out, 1, b);
      const double dt = vgg_now() - t0;
      net->step_sec[e] += dt;
      sec += dt;
      result = step_done(net, s, out, image0 + b, b, 1, on_block, user, sec);
      if (s->block_end) sec = 0;
      i = e;
    }
  }
  const float *in = grouped < net->nbase ? net->gbuf[0] : NULL;
  double sec = 0;
  for (int i = grouped, side = 1; i < net->nbase; i++, side ^= 1) {
    const int e = i + fused(net, i);
    const vgg_step *s = &net->steps[e];
    float *out = net->gbuf[side];
    if (vgg_net_values_fit(net, i, in, n, err)) return NULL;
    const double t0 = vgg_now();
    run_at(net, i, e, in, out, n, 0);
    const double dt = vgg_now() - t0;
    net->step_sec[e] += dt;
    sec += dt;
    result = step_done(net, s, out, image0, 0, n, on_block, user, sec);
    if (s->block_end) sec = 0;
    in = out;
    i = e;
  }
  return result;
}

vgg_status vgg_net_watch(vgg_net *net, vgg_watch_fn fn, void *user, vgg_error *err) {
  if (!net->watch && fn) return vgg_fail(err, VGG_ERR_ARG, "this net watches no layer (vgg_options.watch_layer)");
  net->watch_fn = fn, net->watch_user = user;
  return VGG_OK;
}

vgg_status vgg_net_forward_watch(vgg_net *net, const vgg_tensor *input, vgg_watch_fn fn, void *user, vgg_error *err) {
  if (!net->watch) return vgg_fail(err, VGG_ERR_ARG, "this net watches no layer (vgg_options.watch_layer)");
  net->watch_fn = fn, net->watch_user = user;
  const vgg_status s = vgg_net_forward_all(net, input, NULL, NULL, NULL, NULL, NULL, err);
  net->watch_fn = NULL, net->watch_user = NULL;
  return s;
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
  /* The classifier takes the images' flattened features side by side, so it
   * streams its weights once for the batch. */
  const vgg_layer *flat = vgg_model_block_output(m, 5);
  const size_t nf = (size_t)flat->out_h * flat->out_w * flat->out_c;
  for (int i = 0; i < net->nbase; i++) net->step_sec[i] = 0;
  memset(net->stage_sec, 0, sizeof net->stage_sec);
  net->regrown = 0;
  const int group = net->first_group < net->nbase ? VGG_GROUP : 1;
  vgg_status st;
  if (nb > 1 && (st = group_buffers(net, err))) return st;
  /* Inputs past the bound that holds for any image, or weights with no such bound (a bias alone past it, 0): each
   * conv step's real input checked before it runs. */
  net->guard = !(net->limit > 0) ||
               vgg_net_max_abs(input->data, (size_t)nb * input->h * input->w * 3, net->threads) > net->limit;
  for (int g0 = 0; g0 < nb; g0 += group) {
    const int n = nb - g0 < group ? nb - g0 : group;
    const float *feat = conv_base(net, input->data, g0, n, on_block, user, err);
    if (!feat) return VGG_ERR_RANGE;
    if (net->nsteps > net->nbase) memcpy(net->cls[0] + (size_t)g0 * nf, feat, (size_t)n * nf * sizeof(float));
    for (int b = 0; b < n && net->nsteps > net->nbase; b++) /* int8: the unit of each image's features */
      net->featxs[g0 + b] = net->scale[b][net->steps[net->nbase - 1].rout];
  }
  for (int i = net->nbase; i < net->nsteps; i++) {
    const vgg_step *s = &net->steps[i];
    const vgg_layer *l = &m->layers[s->layer];
    if (vgg_net_values_fit(net, i, s->in, nb, err)) return VGG_ERR_RANGE;
    const double t0 = vgg_now();
    run_step(net, s, s->in, s->out, nb, 0);
    if (net->keeping) vgg_net_keep(net, s->layer, s->out);
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

vgg_status vgg_net_calibrate(vgg_net *net, const vgg_tensor *images, float *ranges, float *channels, vgg_error *err) {
  if (net->i8) return vgg_fail(err, VGG_ERR_ARG, "calibration runs on a float32 net");
  net->observe = ranges, net->observe_ch = channels;
  const vgg_status st = vgg_net_forward(net, images, NULL, NULL, NULL, NULL, err);
  net->observe = NULL, net->observe_ch = NULL;
  return st;
}
