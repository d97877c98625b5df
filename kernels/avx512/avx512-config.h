/* Tile sizes of the AVX-512 kernels.  6 pixels x 4 vectors (64 channels) is
 * 24 accumulators of the 32 zmm registers, leaving 4 for weights and 1 for the
 * broadcast; each step is 4 weight loads + 6 broadcasts for 24 FMAs.  A pass
 * over 256 input channels keeps its 9x256x64 weights (590 KB) in L2. */
#define VGG_AVX512_CONV_MR 6
#define VGG_AVX512_CONV_NV 4
#define VGG_AVX512_CONV_KC 256
/* Winograd tiles per block: the transformed inputs of a block,
 * (m+2)^2 x TB x cin floats, stay in L2 while every channel block reuses them. */
#define VGG_AVX512_WINO2_TB 64
#define VGG_AVX512_WINO4_TB 24
#define VGG_AVX512_WINO6_TB 8
