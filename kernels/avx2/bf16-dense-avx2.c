/* The dense layer on bf16 weights (widened to float32), avx2. */
#include "kernels.h"
#include "vec-avx2.h"

#define DENSE_BF16 1
#include "templates/f32-dense.c.inc"
