/* softmax, neon. */
#include "kernels.h"
#include "vec-neon.h"

#include "templates/f32-softmax.c.inc"
