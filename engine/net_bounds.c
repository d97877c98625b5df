/* float32 overflow: the bound on a net's input for which no float step can compute a value past
 * VGG_VALUE_MAX (when the net is made), and the check of each step's real input for an input past it. */
#include "net.h"
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

/* The largest sum of |w| over an output channel's filter (hwio: rows of cout) and max |bias|, in *l1 and *bmax;
 * 0 when out of memory. */
int vgg_net_filter_sums(const float *hwio, const float *bias, const vgg_layer *l, double *l1, double *bmax) {
  double *sum = calloc((size_t)l->out_c, sizeof(double));
  if (!sum) return 0;
  for (size_t r = 0; r < (size_t)9 * l->in_c; r++)
    for (int o = 0; o < l->out_c; o++) sum[o] += fabs((double)hwio[r * l->out_c + o]);
  *l1 = *bmax = 0;
  for (int o = 0; o < l->out_c; o++) {
    *l1 = sum[o] > *l1 ? sum[o] : *l1;
    *bmax = fabs((double)bias[o]) > *bmax ? fabs((double)bias[o]) : *bmax;
  }
  free(sum);
  return 1;
}

/* How far a float conv step's values can grow past its filters' sums of |w| times max |input| (1: direct). */
double vgg_net_growth(const vgg_step *s) { return s->wino ? vgg_wino_growth(s->wino->m) : 1.0; }

/* The largest max |input| for which no float conv or dense step can compute a value past VGG_VALUE_MAX: the
 * bound on each map, B_i = l1_i B_i-1 + bmax_i from B_0 = max |input| (ReLU and pooling keep it), is affine in
 * B_0; each step's values stay within growth x l1 x B_i-1 + bmax (a dense step's l1: n_in x a bound on |w|).  int8
 * steps compute in saturating integers: their outputs are at most 255 units whatever the input. */
double vgg_net_input_bound(const vgg_net *net) {
  double p = 1, c = 0, lim = INFINITY; /* B_i = p B_0 + c */
  for (int i = 0; i < net->nsteps; i++) {
    const vgg_step *s = &net->steps[i];
    const int i8conv = s->dtype == VGG_PRECISION_INT8 && s->op != VGG_STEP_DENSE; /* an int8 dense step's sums
      are bounded as a float one's: each image's input scale is its own largest value over 255 */
    if (i8conv && s->op != VGG_STEP_POOL) p = 0, c = 255.0 * s->out_scale * GROW_MAX;
    if (i8conv || s->op == VGG_STEP_POOL) continue;
    const double k = vgg_net_growth(s) * net->l1[i], room = VGG_VALUE_MAX - net->bmax[i] - k * c;
    const double b = k * p > 0 ? room / (k * p) : room >= 0 ? INFINITY : 0;
    lim = b < lim ? b : lim;
    p *= net->l1[i], c = net->l1[i] * c + net->bmax[i];
  }
  return lim > 0 ? lim : 0;
}

/* max |x| of n floats on `threads` threads; infinite when one is not finite. */
double vgg_net_max_abs(const float *x, size_t n, int threads) {
  float m = 0;
#pragma omp parallel for num_threads(threads) reduction(max : m) schedule(static)
  for (size_t i = 0; i < n; i++) {
    const float a = fabsf(x[i]);
    m = a <= FLT_MAX ? (a > m ? a : m) : INFINITY;
  }
  return m;
}


/* With net->guard (an input past net->limit): step i's input (nb images at in) measured, and the step refused
 * when its values could pass VGG_VALUE_MAX.  The bound before the pass is for any image, so an input past it
 * is not refused before each step has seen the real values. */
vgg_status vgg_net_values_fit(vgg_net *net, int i, const float *in, int nb, vgg_error *err) {
  const vgg_step *s = &net->steps[i];
  if (!net->guard || s->op == VGG_STEP_POOL || (s->dtype == VGG_PRECISION_INT8 && s->op != VGG_STEP_DENSE)) return VGG_OK;
  const vgg_layer *l = &net->m->layers[s->layer];
  const double mx = vgg_net_max_abs(in, (size_t)l->in_h * l->in_w * l->in_c * nb, net->threads);
  if (vgg_net_growth(s) * net->l1[i] * mx + net->bmax[i] <= VGG_VALUE_MAX) return VGG_OK;
  if (!isfinite(mx)) return vgg_fail(err, VGG_ERR_RANGE, "the input holds a non-finite value (NaN or Inf)");
  if (net->bmax[i] >= VGG_VALUE_MAX) /* no input is small enough: the layer's biases alone reach the limit */
    return vgg_fail(err, VGG_ERR_RANGE, "these weights would overflow float32 in %s for any input: its biases reach "
                    "%.3g", l->name, net->bmax[i]);
  if (i == 0)
    return vgg_fail(err, VGG_ERR_RANGE, "input values up to %.3g would overflow float32 in %s with these weights "
                    "(they take inputs up to %.3g in magnitude)", mx, l->name, net->limit);
  return vgg_fail(err, VGG_ERR_RANGE, "%s could overflow float32 with these weights: its input reaches %.3g and its "
                  "weights can multiply that by up to %.3g", l->name, mx, vgg_net_growth(s) * net->l1[i]);
}

