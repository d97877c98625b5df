/* The avx512 level. */
#include "kernels.h"
#include "vec-avx512.h"
#include "avx512-config.h"

#define TABLE vgg_kernels_avx512
#define ISA_ENUM VGG_ISA_AVX512
#define ISA_NAME "avx512"
#define ISA_TAG "avx512f"
#define CONV_MR VGG_AVX512_CONV_MR
#define CONV_NV VGG_AVX512_CONV_NV
#include "templates/table.c.inc"
