/* The dense layer on bf16 weights (widened to float32), neon. */
#include "kernels.h"
#include "vec-neon.h"

#define DENSE_BF16 1
#include "templates/f32-dense.c.inc"
