/* What the tests, `vggsimd verify` and the benchmarks share: deterministic
 * data, the error measure against a float64 reference, and the conv layer
 * shapes of a model (taken from vgg_model, never copied). */
#ifndef VGG_SUPPORT_H
#define VGG_SUPPORT_H

#include "vggsimd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Uniform values in [-1, 1), a pure function of (seed, i). */
void vgg_fill(float *p, size_t n, uint64_t seed);

/* max |got - ref| / max |ref| (max |ref| floored at 1e-30); a NaN in got
 * counts as an infinite error.  *max_abs_err (if not NULL) gets max |got - ref|. */
double vgg_rel_err(const float *got, const double *ref, size_t n, double *max_abs_err);

typedef struct {
  char name[32]; /* Keras name, e.g. block3_conv2 */
  int h, w, cin, cout;
  int last_of_block; /* a max-pool follows */
} vgg_conv_shape;

/* The conv layers of arch at h x w input, in order; returns their count (at most max). */
int vgg_conv_shapes(vgg_arch arch, int h, int w, vgg_conv_shape *out, int max);

#ifdef __cplusplus
}
#endif
#endif
