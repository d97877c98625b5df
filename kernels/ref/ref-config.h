/* Tile of the reference Winograd GEMMs (one lane wide, so NR = NV = 4 channels). */
#define VGG_REF_WINO_MR 4
#define VGG_REF_WINO_NV 4
