/* Reference int8 dense layer (kernels.h, vgg_i8_dense_fn): the plain sum over the row in 32-bit integers,
 * then the output rule every kernel uses.  Rows are stored as they are (s8, padded to the stride with zeros). */
#include "kernels.h"

void vgg_i8_dense_pack_ref(const int8_t *q, int rows, int n_in, int8_t *packed) {
  const size_t st = vgg_i8_dense_stride(n_in);
  for (int r = 0; r < rows; r++) {
    memcpy(packed + (size_t)r * st, q + (size_t)r * n_in, (size_t)n_in);
    memset(packed + (size_t)r * st + n_in, 0, st - (size_t)n_in);
  }
}

void vgg_i8_dense_ref(const uint8_t *x, const float *xs, int nb, const int8_t *w, const float *ws, const float *bias,
                      float *y, int n_in, int n_out, int relu, int o0, int o1) {
  const size_t st = vgg_i8_dense_stride(n_in);
  for (int b = 0; b < nb; b++)
    for (int o = o0; o < o1; o++) {
      const uint8_t *xb = x + (size_t)b * st;
      const int8_t *row = w + (size_t)o * st;
      int32_t sum = 0;
      for (int i = 0; i < n_in; i++) sum += (int32_t)xb[i] * row[i];
      const float v = fmaf((float)sum, xs[b] * ws[o], bias[o]);
      y[(size_t)b * n_out + o] = relu && v < 0.0f ? 0.0f : v;
    }
}
