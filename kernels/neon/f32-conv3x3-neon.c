/* Direct 3x3 conv + bias + ReLU, neon: micro-tile 5 pixels x 4 vectors. */
#include "kernels.h"
#include "vec-neon.h"
#include "neon-config.h"

#define MR VGG_NEON_CONV_MR
#define NV VGG_NEON_CONV_NV
#define KC VGG_NEON_CONV_KC
#include "templates/f32-conv3x3-direct.c.inc"
