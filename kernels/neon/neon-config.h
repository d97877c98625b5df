/* Tile sizes of the NEON kernels.  6 pixels x 4 vectors (16 channels) is 24
 * accumulators of the 32 q registers, with 4 for weights and 1 for the
 * broadcast: each step is 4 weight loads + 6 broadcasts for 24 FMAs.  A pass
 * over 256 input channels keeps 9x256x16 weights (147 KB) in L2. */
#define VGG_NEON_CONV_MR 6
#define VGG_NEON_CONV_NV 4
#define VGG_NEON_CONV_KC 256
/* Winograd tiles per block (see kernels/avx512/avx512-config.h). */
#define VGG_NEON_WINO2_TB 64
#define VGG_NEON_WINO4_TB 24
