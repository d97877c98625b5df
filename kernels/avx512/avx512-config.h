/* Tile sizes of the AVX-512 kernels.  6 pixels x 4 vectors (64 channels) is
 * 24 accumulators of the 32 zmm registers, leaving 4 for weights and 1 for the
 * broadcast; each step is 4 weight loads + 6 broadcasts for 24 FMAs.  A pass
 * over 256 input channels keeps its 9x256x64 weights (590 KB) in L2. */
#define VGG_AVX512_CONV_MR 6
#define VGG_AVX512_CONV_NV 4
#define VGG_AVX512_CONV_KC 256
