/* maxpool, avx2. */
#include "kernels.h"
#include "vec-avx2.h"

#include "templates/f32-maxpool.c.inc"
