/* The avx512 level. */
#include "kernels.h"
#include "vec-avx512.h"
#include "avx512-config.h"

#define LEVEL VGG_LEVEL_AVX512
#define TABLE vgg_kernels_avx512
#define MR VGG_AVX512_CONV_MR
#define NV VGG_AVX512_CONV_NV
#include "templates/table.c.inc"
