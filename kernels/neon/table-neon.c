/* The neon level. */
#include "kernels.h"
#include "vec-neon.h"
#include "neon-config.h"

#define LEVEL VGG_LEVEL_NEON
#define TABLE vgg_kernels_neon
#define MR VGG_NEON_CONV_MR
#define NV VGG_NEON_CONV_NV
#include "templates/table.c.inc"
