/* Reference Winograd F(2x2,3x3), F(4x4,3x3) and
 * F(6x6,3x3) in plain C: the same
 * algorithm and layouts as the SIMD levels, one lane wide, so each stage can
 * be compared with them and with float64. */
#include "kernels.h"
#include "vec-scalar.h"
#include "ref-config.h"
#include <math.h>
#include <string.h>

#define MR VGG_REF_WINO_MR
#define NV VGG_REF_WINO_NV
#include "templates/f32-gemm-ukernel.c.inc"

#define TB2 64
#define TB4 32
#define TB6 16
#include "templates/f32-winograd-sizes.c.inc"

/* The largest sum of |entries| of a row of a matrix. */
#define MAX_ROW_L1(out, mat)                                                                 \
  do {                                                                                       \
    out = 0;                                                                                 \
    for (size_t i_ = 0; i_ < sizeof mat / sizeof mat[0]; i_++) {                             \
      double s_ = 0;                                                                         \
      for (size_t j_ = 0; j_ < sizeof mat[0] / sizeof mat[0][0]; j_++) s_ += fabs((double)mat[i_][j_]); \
      out = s_ > out ? s_ : out;                                                             \
    }                                                                                        \
  } while (0)

/* (a b g)^2 from the largest row sums a of A^T, b of B^T and g of G: V = B^T d B is at most b^2 max|d|, U = G w G^T
 * at most g^2 max|w|, so a product summed over the channels at most (b g)^2 times the filter's sum of |w| times
 * max|d|, and A^T M A at most a^2 max|M|; every partial sum of the stages is within the same bound. */
double vgg_wino_growth(int m) {
  double a = 1, b = 1, g = 1;
  switch (m) {
  case 2: MAX_ROW_L1(a, vgg_f32_wino2_at__ref); MAX_ROW_L1(b, vgg_f32_wino2_bt__ref); MAX_ROW_L1(g, vgg_f32_wino2_g__ref); break;
  case 4: MAX_ROW_L1(a, vgg_f32_wino4_at__ref); MAX_ROW_L1(b, vgg_f32_wino4_bt__ref); MAX_ROW_L1(g, vgg_f32_wino4_g__ref); break;
  case 6: MAX_ROW_L1(a, vgg_f32_wino6_at__ref); MAX_ROW_L1(b, vgg_f32_wino6_bt__ref); MAX_ROW_L1(g, vgg_f32_wino6_g__ref); break;
  default: break;
  }
  return (a * b * g) * (a * b * g);
}
