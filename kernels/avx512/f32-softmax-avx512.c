/* softmax, avx512. */
#include "kernels.h"
#include "vec-avx512.h"

#include "templates/f32-softmax.c.inc"
