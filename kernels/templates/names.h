/* Kernel symbols, in one place: the templates define their functions under
 * these names and the tables print them stringified, so every kernel name
 * `vggsimd cpu` shows is a symbol of the library.  A name says data type,
 * operation, fusion, register tile and level, in XNNPACK's manner:
 * vgg_f32_conv3x3_relu_ukernel_6x4v__avx512 is MR = 6 pixels x NV = 4 vectors.
 * Needs SUFFIX (the level's vector layer) and, for tiled kernels, MR and NV. */
#ifndef VGG_KERNEL_NAMES_H
#define VGG_KERNEL_NAMES_H

#define VGG_STR2(x) #x
#define VGG_STR(x) VGG_STR2(x)
#define VGG_TILED(base) VGG_CAT(VGG_CAT(VGG_CAT(VGG_CAT(VGG_CAT(base, _), MR), x), NV), v)

#define K_CONV3X3 SUFFIX(VGG_TILED(vgg_f32_conv3x3_relu_ukernel))
#define K_CONV3X3_C3 SUFFIX(VGG_TILED(vgg_f32_conv3x3_c3_relu_ukernel))
#define K_CONV3X3_PACK SUFFIX(vgg_f32_conv3x3_pack)
#define K_CONV3X3_PACKED_SIZE SUFFIX(vgg_f32_conv3x3_packed_size)
/* F(m x m, 3x3) with bias, ReLU and max-pool fused: vgg_f32_wino2x2_relu_pool_ukernel_6x4v__avx512 */
#define K_WINO_CONV(m) SUFFIX(VGG_TILED(VGG_CAT(VGG_CAT(vgg_f32_wino, m), VGG_CAT(x, VGG_CAT(m, _relu_pool_ukernel)))))
/* Four rows of W at a time, two vectors of x per step */
#define K_DENSE SUFFIX(vgg_f32_gemv_relu_4x2v)
/* Up to four images per pass over W, two vectors per step */
#define K_DENSE_BATCH SUFFIX(vgg_f32_gemm_relu_4bx2v)
/* The dense layer transposed (gradients): four rows of W per pass down the inputs, one vector at a time */
#define K_DENSE_T SUFFIX(vgg_f32_gemv_t_4x1v)
/* The same on bf16 weights, widened to float32 (kernels.h, vgg_dense_bf16_fn) */
#define K_BF16_DENSE SUFFIX(vgg_bf16_gemv_relu_4x2v)
#define K_BF16_DENSE_BATCH SUFFIX(vgg_bf16_gemm_relu_4bx2v)
#define K_MAXPOOL SUFFIX(vgg_f32_maxpool2x2)
#define K_SOFTMAX SUFFIX(vgg_f32_softmax_sleef_u10)
#define K_FMA_PEAK SUFFIX(vgg_f32_fma_peak)

/* bf16 Winograd (bf16 GEMMs, f32 transforms): vgg_bf16_wino4x4_relu_pool_ukernel_6x4v__avx512bf16 */
#define K_BF16_WINO_CONV(m) \
  SUFFIX(VGG_TILED(VGG_CAT(VGG_CAT(vgg_bf16_wino, m), VGG_CAT(x, VGG_CAT(m, _relu_pool_ukernel)))))
#define VGG_BF16_WINO_DECLS(WMV)                                                                   \
  size_t SUFFIX(vgg_bf16_wino##WMV##_packed_size)(int cin, int cout);                            \
  size_t SUFFIX(vgg_bf16_wino##WMV##_scratch_size)(int cin, int cout);                           \
  void SUFFIX(vgg_bf16_wino##WMV##_pack)(const float *hwio, int cin, int cout, float *u);        \
  void SUFFIX(vgg_bf16_wino##WMV##_input)(const vgg_wino_args *a, int t0, int nt, float *v);     \
  void K_BF16_WINO_CONV(WMV)(const vgg_wino_args *a, int ty0, int ty1, int oc0, int oc1);
#define VGG_BF16_WINO_ENTRY(WMV, NRV)                                                              \
  {WMV, NRV, SUFFIX(vgg_bf16_wino##WMV##_packed_size), SUFFIX(vgg_bf16_wino##WMV##_scratch_size),      \
   SUFFIX(vgg_bf16_wino##WMV##_pack), SUFFIX(vgg_bf16_wino##WMV##_input), K_BF16_WINO_CONV(WMV),        \
   VGG_STR(K_BF16_WINO_CONV(WMV))}
/* A bf16 set's entry: F(2x2) and F(4x4), its peak loop (12 chains of 2-way dots on VL lanes). */
#define VGG_BF16_ENTRY(DOT_PEAK)                                                                     \
  {.wino = {VGG_BF16_WINO_ENTRY(2, NR), VGG_BF16_WINO_ENTRY(4, NR)}, .dot_peak = DOT_PEAK, .dot_peak_flops = 12 * VL * 4}

/* int8: vgg_i8_conv3x3_relu_ukernel_6x4v__avx512vnni (SUFFIX of the int8 vector layer). */
#define K_I8_CONV3X3 SUFFIX(VGG_TILED(vgg_i8_conv3x3_relu_ukernel))
#define K_I8_PACK SUFFIX(vgg_i8_conv3x3_pack)
#define K_I8_PACKED_SIZE SUFFIX(vgg_i8_conv3x3_packed_size)
#define K_I8_DOT_PEAK SUFFIX(vgg_i8_dot_peak)
/* The int8 kernels' entry (after the templates), then any more fields. */
#define VGG_I8_ENTRY(...)                                                                              \
  {.oc_block = NV * IVL, .packed_size = K_I8_PACKED_SIZE, .pack = K_I8_PACK,                   \
   .conv = K_I8_CONV3X3, .name = VGG_STR(K_I8_CONV3X3), .dot_peak = K_I8_DOT_PEAK, .dot_peak_ops = 12 * IVL * 8, \
   .dense_pack = K_I8_DENSE_PACK, .dense = K_I8_DENSE, .dense_name = VGG_STR(K_I8_DENSE), __VA_ARGS__}

/* int8 dense (the classifier): four rows of W per pass for one image, up to four images per row for a batch */
#define K_I8_DENSE SUFFIX(vgg_i8_gemv_4x1v)
#define K_I8_DENSE_PACK SUFFIX(vgg_i8_dense_pack)
/* A table entry: the function and its name. */
#define VGG_K(op, sym) .op = sym, .op##_name = VGG_STR(sym)

#endif
