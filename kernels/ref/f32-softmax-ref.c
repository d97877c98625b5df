/* Reference softmax with SLEEF's scalar exp (1.0 ULP). */
#include "kernels.h"
#include <sleef.h>

void vgg_f32_softmax_ref(const float *x, float *y, int n) {
  float m = x[0];
  for (int i = 1; i < n; i++) if (x[i] > m) m = x[i];
  double sum = 0.0;
  for (int i = 0; i < n; i++) {
    y[i] = Sleef_expf_u10(x[i] - m);
    sum += y[i];
  }
  const float inv = (float)(1.0 / sum);
  for (int i = 0; i < n; i++) y[i] *= inv;
}
