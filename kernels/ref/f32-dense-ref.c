/* Reference dense layer: y[o] = b[o] + sum_i W[o][i] x[i], optional ReLU.
 * Accumulates in double: the classifier's rows are 25,088 long, and the
 * reference should be the most accurate thing in the project. */
#include "kernels.h"

void vgg_f32_dense_ref(const float *x, const float *w, const float *bias, float *y,
                       int n_in, int n_out, int relu, int o0, int o1) {
  (void)n_out;
  for (int o = o0; o < o1; o++) {
    const float *row = w + (size_t)o * n_in;
    double acc = bias[o];
    for (int i = 0; i < n_in; i++) acc += (double)row[i] * x[i];
    float v = (float)acc;
    y[o] = relu && v < 0.0f ? 0.0f : v;
  }
}

/* A batch: each image through the reference above. */
void vgg_f32_dense_batch_ref(const float *x, int nb, const float *w, const float *bias, float *y, int n_in,
                             int n_out, int relu, int o0, int o1) {
  for (int b = 0; b < nb; b++)
    vgg_f32_dense_ref(x + (size_t)b * n_in, w, bias, y + (size_t)b * n_out, n_in, n_out, relu, o0, o1);
}

/* The same on bf16 weights, each widened exactly (vgg_f32_from_bf16; the rounded weights are never denormal). */
void vgg_bf16_dense_ref(const float *x, const uint16_t *w, const float *bias, float *y, int n_in, int n_out, int relu,
                        int o0, int o1) {
  (void)n_out;
  for (int o = o0; o < o1; o++) {
    const uint16_t *row = w + (size_t)o * n_in;
    double acc = bias[o];
    for (int i = 0; i < n_in; i++) acc += (double)vgg_f32_from_bf16(row[i]) * x[i];
    const float v = (float)acc;
    y[o] = relu && v < 0.0f ? 0.0f : v;
  }
}

void vgg_bf16_dense_batch_ref(const float *x, int nb, const uint16_t *w, const float *bias, float *y, int n_in,
                              int n_out, int relu, int o0, int o1) {
  for (int b = 0; b < nb; b++)
    vgg_bf16_dense_ref(x + (size_t)b * n_in, w, bias, y + (size_t)b * n_out, n_in, n_out, relu, o0, o1);
}

/* The dense layer transposed: gx[i] = sum over o of g[o] W[o][i], accumulated in double over the rows with
 * g[o] != 0 (the rows an optimised kernel may skip), inputs [i0, i1). */
void vgg_f32_dense_t_ref(const float *g, const float *w, float *gx, int n_in, int n_out, int i0, int i1) {
  for (int i = i0; i < i1; i++) {
    double acc = 0;
    for (int o = 0; o < n_out; o++)
      if (g[o] != 0.0f) acc += (double)g[o] * w[(size_t)o * n_in + i];
    gx[i] = (float)acc;
  }
}
