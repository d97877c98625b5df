/* Which convolution algorithm each layer uses: forced by the caller, or for
 * `auto` and `fast` the first matching row of a table of measured choices.
 *
 * How the table was measured (docs/algorithms.md has the figures):
 *   vggsimd bench --isa LEVEL --algo direct|wino2|wino4 --json
 * at 1 and 2 threads, VGG16 224x224, repeated and interleaved because the host
 * is noisy; a row picks the algorithm that was faster at both thread counts.
 * Findings: the first layer (cin = 3) is a poor GEMM (K = 3) and stays direct;
 * F(2x2) beats direct on every other layer (1.5-2x); F(4x4) beats F(2x2) on
 * maps of 28x28 and more, but not on 14x14 (too few tiles to amortise its 36
 * transformed filters).  The scalar level is the reference and stays direct. */
#include "internal.h"
#include "kernels.h"

static const struct {
  int isa;
  int min_cin, min_side; /* the row applies when cin >= min_cin and min(h, w) >= min_side */
  vgg_algo for_auto, for_fast;
} rules[] = {
  /* level            cin>=  side>=  auto            fast */
  {VGG_LEVEL_AVX512,    4,     28,     VGG_ALGO_WINO2, VGG_ALGO_WINO4},
  {VGG_LEVEL_AVX512,    4,     0,      VGG_ALGO_WINO2, VGG_ALGO_WINO2},
  {VGG_LEVEL_AVX2,      4,     28,     VGG_ALGO_WINO2, VGG_ALGO_WINO4},
  {VGG_LEVEL_AVX2,      4,     0,      VGG_ALGO_WINO2, VGG_ALGO_WINO2},
};

vgg_algo vgg_plan_algo(int isa, const vgg_layer *l, vgg_algo want) {
  if (want == VGG_ALGO_DIRECT || want == VGG_ALGO_WINO2 || want == VGG_ALGO_WINO4) return want;
  const int side = l->out_h < l->out_w ? l->out_h : l->out_w;
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
    if ((int)rules[i].isa == isa && l->in_c >= rules[i].min_cin && side >= rules[i].min_side)
      return want == VGG_ALGO_FAST ? rules[i].for_fast : rules[i].for_auto;
  return VGG_ALGO_DIRECT;
}

const char *vgg_plan_layer_algo(const vgg_model *m, int layer, int level, vgg_algo want) {
  const vgg_layer *l = vgg_model_layer(m, layer);
  if (!l || l->kind != VGG_LAYER_CONV || !vgg_level_usable(level < 0 ? vgg_level_best() : level)) return NULL;
  static const char *const names[2][3] = {{"direct", "wino2", "wino4"}, {"direct", "wino2+pool", "wino4+pool"}};
  const vgg_algo a = vgg_plan_algo(level < 0 ? vgg_level_best() : level, l, want);
  const int pooled = a != VGG_ALGO_DIRECT && layer + 1 < vgg_model_num_layers(m) &&
                     vgg_model_layer(m, layer + 1)->kind == VGG_LAYER_POOL;
  return names[pooled][a - VGG_ALGO_DIRECT];
}
