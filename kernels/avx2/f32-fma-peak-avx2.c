/* FMA peak calibration, avx2. */
#include "kernels.h"
#include "vec-avx2.h"

#include "templates/f32-fma-peak.c.inc"
