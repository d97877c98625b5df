/* Reference 3x3 convolution, stride 1, 'same' padding, NHWC, + bias (+ ReLU).
 * Weights stay in HWIO ([3][3][cin][cout]).  Each output is accumulated in
 * the order ky, kx, ci starting from the bias, the order every optimized
 * kernel is compared against. */
#include "kernels.h"
#include <string.h>

size_t vgg_f32_conv3x3_packed_size_ref(int cin, int cout) {
  return (size_t)9 * cin * cout;
}

void vgg_f32_conv3x3_pack_ref(const float *hwio, int cin, int cout, float *packed) {
  memcpy(packed, hwio, sizeof(float) * 9 * (size_t)cin * cout);
}

void vgg_f32_conv3x3_ref(const vgg_conv3x3_args *a, int y0, int y1, int oc0, int oc1) {
  const int H = a->h, W = a->w, CI = a->cin, CO = a->cout;
  float acc[512];
  for (int y = y0; y < y1; y++) {
    for (int x = 0; x < W; x++) {
      /* Channels go in chunks of 512 so the accumulator stays on the stack. */
      for (int c0 = oc0; c0 < oc1; c0 += 512) {
        const int nc = oc1 - c0 < 512 ? oc1 - c0 : 512;
        for (int o = 0; o < nc; o++) acc[o] = a->bias[c0 + o];
        for (int ky = 0; ky < 3; ky++) {
          const int iy = y + ky - 1;
          if (iy < 0 || iy >= H) continue;
          for (int kx = 0; kx < 3; kx++) {
            const int ix = x + kx - 1;
            if (ix < 0 || ix >= W) continue;
            const float *px = a->in + ((size_t)iy * W + ix) * CI;
            const float *wk = a->weights + (size_t)(ky * 3 + kx) * CI * CO + c0;
            for (int ci = 0; ci < CI; ci++) {
              const float v = px[ci];
              const float *wr = wk + (size_t)ci * CO;
              for (int o = 0; o < nc; o++) acc[o] += v * wr[o];
            }
          }
        }
        float *dst = a->out + ((size_t)y * W + x) * CO + c0;
        if (a->relu)
          for (int o = 0; o < nc; o++) dst[o] = acc[o] > 0.0f ? acc[o] : 0.0f;
        else
          memcpy(dst, acc, sizeof(float) * nc);
      }
    }
  }
}
