/* The neon level. */
#include "kernels.h"
#include "vec-neon.h"
#include "neon-config.h"

#define TABLE vgg_kernels_neon
#define ISA_ENUM VGG_ISA_NEON
#define ISA_NAME "neon"
#define ISA_TAG "neon"
#define CONV_MR VGG_NEON_CONV_MR
#define CONV_NV VGG_NEON_CONV_NV
#include "templates/table.c.inc"
