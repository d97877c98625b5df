/* Direct 3x3 conv + bias + ReLU, avx2: micro-tile 6 pixels x 2 vectors. */
#include "kernels.h"
#include "vec-avx2.h"
#include "avx2-config.h"

#define MR VGG_AVX2_CONV_MR
#define NV VGG_AVX2_CONV_NV
#define KC VGG_AVX2_CONV_KC
#include "templates/f32-conv3x3-direct.c.inc"
