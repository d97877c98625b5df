/* Shared by tests, verify and the benchmarks (support.h). */
#include "support.h"
#include "internal.h"
#include <math.h>

void vgg_fill(float *p, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) {
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 29;
    p[i] = (float)((double)(x >> 40) / 8388608.0 - 1.0);
  }
}

double vgg_rel_err(const float *got, const double *ref, size_t n, double *max_abs_err) {
  double mr = 0, me = 0;
  for (size_t i = 0; i < n; i++) {
    const double a = fabs(ref[i]), e = fabs((double)got[i] - ref[i]);
    mr = a > mr ? a : mr;
    if (!(e <= me)) me = isnan(e) ? INFINITY : e; /* a NaN sticks */
  }
  if (max_abs_err) *max_abs_err = me;
  return me / (mr > 1e-30 ? mr : 1e-30);
}

int vgg_conv_shapes(vgg_arch arch, int h, int w, vgg_conv_shape *out, int max) {
  vgg_model *m;
  if (vgg_model_create(arch, 0, h, w, &m, NULL)) return 0;
  int n = 0;
  for (int i = 0; i < m->nlayers; i++) {
    const vgg_layer *l = &m->layers[i];
    if (l->kind != VGG_LAYER_CONV || n >= max) continue;
    vgg_conv_shape *s = &out[n++];
    snprintf(s->name, sizeof s->name, "%s", l->name);
    s->h = l->in_h, s->w = l->in_w, s->cin = l->in_c, s->cout = l->out_c;
    s->last_of_block = i + 1 < m->nlayers && m->layers[i + 1].kind == VGG_LAYER_POOL;
  }
  vgg_model_free(m);
  return n;
}
