/* The avx512 level. */
#include "kernels.h"
#include "vec-avx512.h"
#include "avx512-config.h"

#define VGG_STR2(x) #x
#define VGG_STR(x) VGG_STR2(x)
#define TILE VGG_STR(VGG_AVX512_CONV_MR) "x" VGG_STR(VGG_AVX512_CONV_NV)

size_t SUFFIX(vgg_f32_conv3x3_packed_size)(int cin, int cout);
void SUFFIX(vgg_f32_conv3x3_pack)(const float *hwio, int cin, int cout, float *packed);
void SUFFIX(vgg_f32_conv3x3)(const vgg_conv3x3_args *a, int y0, int y1, int oc0, int oc1);
void SUFFIX(vgg_f32_conv3x3_c3)(const vgg_conv3x3_args *a, int y0, int y1, int oc0, int oc1);
void SUFFIX(vgg_f32_maxpool2x2)(const float *in, float *out, int h, int w, int c, int y0, int y1);
void SUFFIX(vgg_f32_dense)(const float *x, const float *w, const float *bias, float *y, int n_in, int n_out, int relu,
                           int o0, int o1);
void SUFFIX(vgg_f32_softmax)(const float *x, float *y, int n);
float SUFFIX(vgg_f32_fma_peak)(int64_t iters);
VGG_WINO_DECLS(2)
VGG_WINO_DECLS(4)

const vgg_kernel_table vgg_kernels_avx512 = {
  .isa = VGG_ISA_AVX512,
  .isa_name = "avx512",
  .conv_oc_block = VGG_AVX512_CONV_NV * VL,
  .fma_peak = SUFFIX(vgg_f32_fma_peak),
  .fma_peak_flops = 12 * VL * 2,
  .conv3x3_packed_size = SUFFIX(vgg_f32_conv3x3_packed_size),
  .conv3x3_pack = SUFFIX(vgg_f32_conv3x3_pack),
  .wino = {VGG_WINO_ENTRY(2, VGG_AVX512_CONV_NV * VL, "vgg_f32_wino2x2_relu_pool_ukernel_" TILE "v__avx512f"),
           VGG_WINO_ENTRY(4, VGG_AVX512_CONV_NV * VL, "vgg_f32_wino4x4_relu_pool_ukernel_" TILE "v__avx512f")},
  .conv3x3 = SUFFIX(vgg_f32_conv3x3),
  .conv3x3_name = "vgg_f32_conv3x3_relu_ukernel_" TILE "v__avx512f",
  .conv3x3_c3 = SUFFIX(vgg_f32_conv3x3_c3),
  .conv3x3_c3_name = "vgg_f32_conv3x3_c3_relu_ukernel_" TILE "v__avx512f",
  .maxpool2x2 = SUFFIX(vgg_f32_maxpool2x2),
  .maxpool2x2_name = "vgg_f32_maxpool2x2__avx512f",
  .dense = SUFFIX(vgg_f32_dense),
  .dense_name = "vgg_f32_gemv_relu_4x2v__avx512f",
  .softmax = SUFFIX(vgg_f32_softmax),
  .softmax_name = "vgg_f32_softmax__avx512f_sleef_u10",
};
