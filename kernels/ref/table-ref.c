/* The scalar level: every entry is a reference kernel. */
#include "kernels.h"
#include "vec-scalar.h"
#include "ref-config.h"

#define MR VGG_REF_WINO_MR
#define NV VGG_REF_WINO_NV
#include "templates/names.h"

VGG_WINO_DECLS(2)
VGG_WINO_DECLS(4)
VGG_WINO_DECLS(6)

const vgg_kernel_table vgg_kernels_scalar = {
  .level = VGG_LEVEL_SCALAR,
  .conv_oc_block = 1,
  .conv3x3_packed_size = vgg_f32_conv3x3_packed_size_ref,
  .conv3x3_pack = vgg_f32_conv3x3_pack_ref,
  .wino = {VGG_WINO_ENTRY(2, NV), VGG_WINO_ENTRY(4, NV), VGG_WINO_ENTRY(6, NV)},
  VGG_K(conv3x3, vgg_f32_conv3x3_ref),
  VGG_K(conv3x3_c3, vgg_f32_conv3x3_ref),
  VGG_K(maxpool2x2, vgg_f32_maxpool2x2_ref),
  VGG_K(dense, vgg_f32_dense_ref),
  VGG_K(dense_batch, vgg_f32_dense_batch_ref),
  VGG_K(dense_t, vgg_f32_dense_t_ref),
  VGG_K(dense_bf16, vgg_bf16_dense_ref),
  VGG_K(dense_bf16_batch, vgg_bf16_dense_batch_ref),
  VGG_K(softmax, vgg_f32_softmax_ref),
};
