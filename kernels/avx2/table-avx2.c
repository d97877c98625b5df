/* The avx2 level. */
#include "kernels.h"
#include "vec-avx2.h"
#include "avx2-config.h"

#define TABLE vgg_kernels_avx2
#define ISA_ENUM VGG_ISA_AVX2
#define ISA_NAME "avx2"
#define ISA_TAG "avx2"
#define CONV_MR VGG_AVX2_CONV_MR
#define CONV_NV VGG_AVX2_CONV_NV
#include "templates/table.c.inc"
