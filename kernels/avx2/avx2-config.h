/* Tile sizes of the AVX2 kernels.  6 pixels x 2 vectors (16 channels) is 12
 * accumulators of the 16 ymm registers, with 2 for weights and 1 for the
 * broadcast.  A pass over 256 input channels keeps 9x256x16 weights (147 KB) in L2. */
#define VGG_AVX2_CONV_MR 6
#define VGG_AVX2_CONV_NV 2
#define VGG_AVX2_CONV_KC 256
/* Winograd tiles per block (see avx512-config.h). */
#define VGG_AVX2_WINO2_TB 64
#define VGG_AVX2_WINO4_TB 24
#define VGG_AVX2_WINO6_TB 16
