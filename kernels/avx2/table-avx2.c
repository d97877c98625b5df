/* The avx2 level. */
#include "kernels.h"
#include "vec-avx2.h"
#include "avx2-config.h"

#define LEVEL VGG_LEVEL_AVX2
#define TABLE vgg_kernels_avx2
#define MR VGG_AVX2_CONV_MR
#define NV VGG_AVX2_CONV_NV
#include "templates/table.c.inc"
