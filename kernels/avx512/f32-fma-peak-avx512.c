/* FMA peak calibration, avx512. */
#include "kernels.h"
#include "vec-avx512.h"

#include "templates/f32-fma-peak.c.inc"
