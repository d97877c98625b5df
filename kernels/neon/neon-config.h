/* Tile sizes of the NEON kernels.  5 pixels x 4 vectors (16 channels) is 20
 * accumulators of the 32 q registers, with 4 for weights and 5 for the input
 * values (GCC keeps each broadcast value in its own register and uses the
 * by-element FMA): 29 registers, no spills.  6 pixels would need 34 and spill
 * accumulators in the inner loop.  A pass over 256 input channels keeps
 * 9x256x16 weights (147 KB) in L2. */
#define VGG_NEON_CONV_MR 5
#define VGG_NEON_CONV_NV 4
#define VGG_NEON_CONV_KC 256
/* Winograd tiles per block (see kernels/avx512/avx512-config.h). */
#define VGG_NEON_WINO2_TB 64
#define VGG_NEON_WINO4_TB 24
#define VGG_NEON_WINO6_TB 16
