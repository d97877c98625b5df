/* Direct 3x3 conv + bias + ReLU, neon: micro-tile 5 pixels x 4 vectors. */
#include "kernels.h"
#include "vec-neon.h"
#include "neon-config.h"

#define MR VGG_NEON_CONV_MR
#define NV VGG_NEON_CONV_NV
#define KC VGG_NEON_CONV_KC
#define VGG_M(M) VGG_TILE_CASE(M, 1) VGG_TILE_CASE(M, 2) VGG_TILE_CASE(M, 3) VGG_TILE_CASE(M, 4)
#define VGG_TILE_CASES VGG_M(1) VGG_M(2) VGG_M(3) VGG_M(4) VGG_M(5)
#include "templates/f32-conv3x3-direct.c.inc"
