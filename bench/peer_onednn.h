// The VGG conv base built with oneDNN (Debian's libdnnl-dev), for side-by-side
// rows in the benchmark harness.  Same weights as ours, NHWC input, oneDNN
// free to pick its own internal layouts (format_tag::any), bias + ReLU as a
// post-op, max-pool as its own primitive.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vggsimd.h"

namespace peer {

// Direct and Winograd in float32; Bf16: direct with bf16 activations and
// weights (f32 bias), the input reordered to bf16; Int8: the first layer in
// float32 like ours, the rest u8 activations x s8 weights quantised exactly
// as ours (per-channel weight scales, activation scales from the same ranges).
enum class Algo { Direct, Winograd, Bf16, Int8 };

class OnednnConvBase {
 public:
  // Builds every primitive once; throws std::runtime_error when oneDNN cannot
  // (e.g. no Winograd implementation on this CPU).
  // ranges: per layer, the calibrated largest output of each conv layer (Int8 only).
  OnednnConvBase(const vgg_model *m, const vgg_weights *w, Algo algo, const float *ranges = nullptr);
  ~OnednnConvBase();
  // One forward pass of a 1 x H x W x 3 NHWC input; per-layer seconds when
  // layer_sec is not null (indexed as the model's layers).
  void forward(const float *input, double *layer_sec = nullptr);
  // Output of block b (1..5) of the last forward pass, as NHWC floats.
  std::vector<float> block_output(int b);
  // The implementation oneDNN chose for conv layer `layer` (e.g. "jit:avx512_core_fp32_wino_conv_4x3").
  std::string impl(int layer) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

}  // namespace peer
