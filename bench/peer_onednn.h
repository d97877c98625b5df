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

enum class Algo { Direct, Winograd };

class OnednnConvBase {
 public:
  // Builds every primitive once; throws std::runtime_error when oneDNN cannot
  // (e.g. no Winograd implementation on this CPU).
  OnednnConvBase(const vgg_model *m, const vgg_weights *w, Algo algo);
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
