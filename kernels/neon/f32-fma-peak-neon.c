/* FMA peak calibration, neon. */
#include "kernels.h"
#include "vec-neon.h"

#include "templates/f32-fma-peak.c.inc"
