/* Direct 3x3 conv + bias + ReLU, avx512: micro-tile 6 pixels x 4 vectors. */
#include "kernels.h"
#include "vec-avx512.h"
#include "avx512-config.h"

#define MR VGG_AVX512_CONV_MR
#define NV VGG_AVX512_CONV_NV
#define KC VGG_AVX512_CONV_KC
#include "templates/f32-conv3x3-direct.c.inc"
