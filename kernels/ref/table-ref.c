/* The scalar level: every entry is a reference kernel. */
#include "kernels.h"
#include "vec-scalar.h"

VGG_WINO_DECLS(2)
VGG_WINO_DECLS(4)

const vgg_kernel_table vgg_kernels_scalar = {
  .isa = VGG_ISA_SCALAR,
  .isa_name = "scalar",
  .conv_oc_block = 1,
  .conv3x3_packed_size = vgg_f32_conv3x3_packed_size_ref,
  .conv3x3_pack = vgg_f32_conv3x3_pack_ref,
  .wino = {VGG_WINO_ENTRY(2, 4, "vgg_f32_wino2x2_relu_pool__ref"), VGG_WINO_ENTRY(4, 4, "vgg_f32_wino4x4_relu_pool__ref")},
  .conv3x3 = vgg_f32_conv3x3_ref, .conv3x3_name = "vgg_f32_conv3x3_relu__ref",
  .conv3x3_c3 = vgg_f32_conv3x3_ref, .conv3x3_c3_name = "vgg_f32_conv3x3_relu__ref",
  .maxpool2x2 = vgg_f32_maxpool2x2_ref, .maxpool2x2_name = "vgg_f32_maxpool2x2__ref",
  .dense = vgg_f32_dense_ref, .dense_name = "vgg_f32_dense_relu__ref",
  .dense_batch = vgg_f32_dense_batch_ref, .dense_batch_name = "vgg_f32_dense_batch_relu__ref",
  .softmax = vgg_f32_softmax_ref, .softmax_name = "vgg_f32_softmax__ref",
};
