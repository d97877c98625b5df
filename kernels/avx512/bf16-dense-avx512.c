/* The dense layer on bf16 weights (widened to float32), avx512. */
#include "kernels.h"
#include "vec-avx512.h"

#define DENSE_BF16 1
#include "templates/f32-dense.c.inc"
