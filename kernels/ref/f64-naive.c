/* float64 naive layers: the yardstick the float32 reference kernels are held
 * to (tests and `vggsimd verify`).  No blocking and no reuse; each output is
 * the bias plus the terms in (ky, kx, cin) order, summed in float64.  A pixel's
 * outputs are summed side by side so that the weights are read along their
 * rows (hwio: output channels contiguous); the order of each sum stays the same. */
#include "kernels.h"

void vgg_f64_conv3x3_naive(const float *in, const float *hwio, const float *bias, double *out, int H, int W, int CI,
                           int CO, int relu) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      double *acc = out + ((size_t)y * W + x) * CO;
      for (int o = 0; o < CO; o++) acc[o] = bias[o];
      for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++) {
          const int iy = y + ky - 1, ix = x + kx - 1;
          if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
          const float *px = in + ((size_t)iy * W + ix) * CI;
          const float *wk = hwio + (size_t)(ky * 3 + kx) * CI * CO;
          for (int i = 0; i < CI; i++) {
            const double v = px[i];
            const float *wr = wk + (size_t)i * CO;
            for (int o = 0; o < CO; o++) acc[o] += v * wr[o];
          }
        }
      for (int o = 0; relu && o < CO; o++) acc[o] = acc[o] < 0 ? 0 : acc[o];
    }
}

void vgg_f64_dense_naive(const float *x, const float *w, const float *bias, double *y, int n_in, int n_out,
                         int relu) {
  for (int o = 0; o < n_out; o++) {
    double acc = bias[o];
    for (int i = 0; i < n_in; i++) acc += (double)w[(size_t)o * n_in + i] * x[i];
    y[o] = relu && acc < 0 ? 0 : acc;
  }
}
