/* Reference 2x2 stride-2 max-pool, NHWC, floor (an odd last row/column is dropped). */
#include "kernels.h"

void vgg_f32_maxpool2x2_ref(const float *in, float *out, int h, int w, int c, int y0, int y1) {
  const int ow = w / 2;
  (void)h;
  for (int y = y0; y < y1; y++) {
    for (int x = 0; x < ow; x++) {
      const float *p00 = in + ((size_t)(2 * y) * w + 2 * x) * c;
      const float *p01 = p00 + c;
      const float *p10 = p00 + (size_t)w * c;
      const float *p11 = p10 + c;
      float *o = out + ((size_t)y * ow + x) * c;
      for (int k = 0; k < c; k++) {
        float m = p00[k];
        if (p01[k] > m) m = p01[k];
        if (p10[k] > m) m = p10[k];
        if (p11[k] > m) m = p11[k];
        o[k] = m;
      }
    }
  }
}
