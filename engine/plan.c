/* The plan: per layer the algorithm (forced, or for auto and fast the first
 * matching row of a table of measured choices), the fused operations, the
 * kernel, and how the work is split across threads, decided once.
 *
 * Accuracy budget.  auto may use an algorithm on a layer when its error on
 * that layer alone, against float64, is within 1e-5 of max |output| (the
 * rows of `vggsimd verify` and tests/test_winograd.c, random inputs, every
 * VGG16 shape: direct ~1e-7, F(2x2) 9e-7, F(4x4) 6.2e-6 with the points
 * 0, 1, -1, 1/2, -2; F(6x6) 3.1e-5 is not); fast within 1e-4 (F(6x6) too).
 * Block outputs then stay within the same budget: on the golden photo every
 * block is within 3.1e-6 of float64 with any single algorithm on every layer
 * (tests/test_e2e.c), below the worst single-layer error of that algorithm;
 * errors of the layers do not pile up through the ReLUs and pools.
 *
 * Speed.  Among the allowed algorithms, the fastest per layer, measured with
 *   vggsimd bench --isa LEVEL --algo direct|wino2|wino4|wino6 --json
 * at 1 and 2 threads, VGG16 224x224, 3 alternated rounds (the host is noisy);
 * a row picks what was faster at both thread counts, or on a tie (within
 * 5%) the one with the smaller transformed filters.  docs/performance.md has
 * the figures.  Findings: the first layer (cin = 3) is a poor GEMM (K = 3)
 * and stays direct; F(4x4) is the fastest on maps of 28x28 and more (1.5x
 * F(2x2)); on 14x14 F(4x4) and F(2x2) tie (too few tiles to amortise 36
 * transformed filters, which are also 2.25x the memory), so F(2x2).  F(6x6)
 * (outside auto's budget) leads F(4x4) on the 224 and 112 maps of blocks 1-2
 * at avx512 and avx2 (its 8x8 tiles cover them with 2% waste), so fast takes
 * it there; it ties on 56 and 28 (15% more tiles than the map) and loses on 14.
 * NEON takes F(2x2) until it is measured on Arm hardware (its row says why).
 * The scalar level is the reference and stays direct. */
#include "plan.h"
#include <string.h>

static const struct {
  int level;
  int min_cin, min_side; /* the row applies when cin >= min_cin and min(h, w) >= min_side */
  vgg_algo for_auto, for_fast;
} rules[] = {
  /* level            cin>=  side>=  auto (1e-5)     fast (1e-4) */
  {VGG_LEVEL_AVX512,  4,     112,    VGG_ALGO_WINO4, VGG_ALGO_WINO6},
  {VGG_LEVEL_AVX512,  4,     28,     VGG_ALGO_WINO4, VGG_ALGO_WINO4},
  {VGG_LEVEL_AVX512,  4,     0,      VGG_ALGO_WINO2, VGG_ALGO_WINO2},
  {VGG_LEVEL_AVX2,    4,     112,    VGG_ALGO_WINO4, VGG_ALGO_WINO6},
  {VGG_LEVEL_AVX2,    4,     28,     VGG_ALGO_WINO4, VGG_ALGO_WINO4},
  {VGG_LEVEL_AVX2,    4,     0,      VGG_ALGO_WINO2, VGG_ALGO_WINO2},
  /* NEON: not measured on Arm hardware yet.  F(2x2) on every layer but the
   * first: 2.25x fewer multiplications than direct, the lightest transforms
   * and filters, and under qemu (emulated work, not speed) 0.47-0.58x of
   * direct's time on every such layer of VGG16 at 224x224. */
  {VGG_LEVEL_NEON,    4,     0,      VGG_ALGO_WINO2, VGG_ALGO_WINO2},
};

vgg_algo vgg_plan_algo(int level, const vgg_layer *l, vgg_algo want) {
  if (want != VGG_ALGO_AUTO && want != VGG_ALGO_FAST) return want;
  const int side = l->out_h < l->out_w ? l->out_h : l->out_w;
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
    if (rules[i].level == level && l->in_c >= rules[i].min_cin && side >= rules[i].min_side)
      return want == VGG_ALGO_FAST ? rules[i].for_fast : rules[i].for_auto;
  return VGG_ALGO_DIRECT;
}

/* Rows x channel groups for `rows` rows (or tile rows) and `blocks` channel
 * blocks: rows are contiguous so a task reuses each pass of packed weights
 * over many rows; channels are split too when rows alone would leave threads
 * idle.  With by_channels, threads split channels only (each then streams
 * only its share of weights that outweigh the inputs). */
static void split(vgg_step *s, int rows, int blocks, int block_c, int cout, int threads, int by_channels) {
  int groups = 1;
  if (by_channels) groups = blocks < threads ? blocks : threads;
  else
    while (groups < blocks && rows * groups < 4 * threads) groups++;
  s->rows = rows;
  s->oc_step = ((blocks + groups - 1) / groups) * block_c;
  s->noc = (cout + s->oc_step - 1) / s->oc_step;
  s->rsplit = by_channels ? 1 : rows < threads ? rows : threads;
}

vgg_algo vgg_plan_i8_algo(const vgg_layer *l, vgg_algo want) {
  if (want == VGG_ALGO_WINO4) return VGG_ALGO_WINO4;
  if (want != VGG_ALGO_AUTO && want != VGG_ALGO_FAST) return VGG_ALGO_DIRECT;
  /* Maps of 28x28 and more (VGG16: blocks 1-4); on 14x14 the 36 filter panels (8x the direct kernel's bytes)
   * are streamed for too few tiles (docs/precision.md has the measurements). */
  return l->out_h * l->out_w >= 28 * 28 ? VGG_ALGO_WINO4 : VGG_ALGO_DIRECT;
}

/* An int8 conv step's kernel name and work split for the algorithm it has. */
static void i8_split(vgg_step *s, const vgg_layer *l, const vgg_i8_kernels *i8, int threads) {
  const int ob = i8->oc_block, blocks = (l->out_c + ob - 1) / ob;
  s->kernel = s->algo == VGG_ALGO_WINO4 ? i8->w4_name : i8->name;
  /* Where the weights outweigh the input map (VGG16: blocks 4-5), threads split the channels: each streams
   * its share of the weights, not all of them. */
  const int by_channels = (long)9 * l->out_c > (long)l->in_h * l->in_w;
  split(s, s->algo == VGG_ALGO_WINO4 ? (l->out_h + 3) / 4 : l->out_h, blocks, ob, l->out_c, threads, by_channels);
}

int vgg_plan_producer(const vgg_model *m, int layer) {
  for (int i = layer - 1; i > 0; i--) {
    if (m->layers[i].kind == VGG_LAYER_CONV) return i;
    if (m->layers[i].kind != VGG_LAYER_POOL) return -1;
  }
  return -1;
}

/* int8 applies to a conv layer with ReLU whose input comes from a ReLU conv
 * (u8 with zero point 0 holds it; the image itself is signed), with cin a
 * multiple of 4; and only to a run of such layers to the end of the conv
 * base, so the net quantises once and dequantises only block outputs. */
int vgg_plan_first_int8(const vgg_model *m) {
  int first = m->nlayers;
  for (int i = m->nlayers - 1; i > 0; i--) {
    const vgg_layer *l = &m->layers[i];
    if (l->kind != VGG_LAYER_CONV) continue;
    const int p = vgg_plan_producer(m, i);
    if (!l->relu || l->in_c % 4 || l->in_c > VGG_I8_MAX_CIN || p < 0 || !m->layers[p].relu) break;
    first = i;
  }
  return first;
}

int vgg_plan_steps(const vgg_model *m, const vgg_kernel_table *k, const vgg_i8_kernels *i8,
                   const vgg_bf16_kernels *bf, vgg_algo want, int threads, int watch, int keep_from,
                   const unsigned char *w4_exact, vgg_step *steps) {
  int n = 0;
  /* A layer whose map is read whole after the step: the watched one (every one: VGG_WATCH_ALL), and from keep_from on
   * (Grad-CAM). */
#define KEPT(layer) ((layer) == watch || watch < 0 || (keep_from > 0 && (layer) >= keep_from))
  const int first_i8 = i8 ? vgg_plan_first_int8(m) : m->nlayers;
  for (int i = 1; i < m->nlayers; i++) {
    const vgg_layer *l = &m->layers[i];
    if (l->kind == VGG_LAYER_FLATTEN) continue; /* the classifier reads the last pool's output as it is */
    vgg_step *s = &steps[n++];
    memset(s, 0, sizeof *s);
    s->layer = s->last_layer = i;
    s->dtype = VGG_PRECISION_F32;
    s->relu = l->relu && !l->softmax;
    s->softmax = l->softmax;
    if (i >= first_i8 && l->kind == VGG_LAYER_CONV) {
      /* int8: direct or the exact F(4x4) (vgg_plan_i8_algo); a pool after it is a u8 step of its own. */
      s->dtype = VGG_PRECISION_INT8;
      s->op = VGG_STEP_CONV;
      s->algo = i8->w4_conv && vgg_plan_i8_algo(l, want) == VGG_ALGO_WINO4 && (!w4_exact || w4_exact[i])
                    ? VGG_ALGO_WINO4
                    : VGG_ALGO_DIRECT;
      s->quant_in = vgg_plan_producer(m, i) < first_i8; /* its input is a float32 layer's output */
      i8_split(s, l, i8, threads);
    } else if (l->kind == VGG_LAYER_CONV) {
      s->algo = vgg_plan_algo(k->level, l, want);
      s->wino = s->algo == VGG_ALGO_WINO2   ? &k->wino[0]
                : s->algo == VGG_ALGO_WINO4 ? &k->wino[1]
                : s->algo == VGG_ALGO_WINO6 ? &k->wino[2]
                                            : NULL;
      if (bf && l->in_c >= 4) {
        /* bf16: F(2x2) (F(4x4) magnifies the bf16 rounding past the budget: docs/precision.md), or F(4x4) when forced. */
        s->algo = want == VGG_ALGO_WINO4 ? VGG_ALGO_WINO4 : VGG_ALGO_WINO2;
        s->wino = &bf->wino[want == VGG_ALGO_WINO4];
        s->dtype = VGG_PRECISION_BF16;
      } else if (bf) {
        s->algo = VGG_ALGO_DIRECT, s->wino = NULL; /* the first layer: float32 */
      }
      /* A Winograd output tile covers whole 2x2 pool windows: the pool runs in its output transform. */
      s->pool = s->wino && i + 1 < m->nlayers && m->layers[i + 1].kind == VGG_LAYER_POOL && !KEPT(i);
      if (s->pool) s->last_layer = ++i;
      if (s->wino) {
        s->op = VGG_STEP_WINO;
        s->kernel = s->wino->name;
        const int th = (l->out_h + s->wino->m - 1) / s->wino->m, tw = (l->out_w + s->wino->m - 1) / s->wino->m;
        /* Threads split channels (each transforms every tile's input) when a layer has more than twice as many
         * output channels as tiles, else tiles (each streams every filter panel, fetched ahead: cheaper than
         * the duplicated transforms up to there; block 3 at 2 threads 7.4 -> 6.7 ms, docs/performance-history.md). */
        split(s, th, (l->out_c + s->wino->nr - 1) / s->wino->nr, s->wino->nr, l->out_c, threads, l->out_c > 2 * th * tw);
      } else {
        s->op = VGG_STEP_CONV;
        s->kernel = l->in_c == 3 ? k->conv3x3_c3_name : k->conv3x3_name;
        split(s, l->out_h, (l->out_c + k->conv_oc_block - 1) / k->conv_oc_block, k->conv_oc_block, l->out_c,
              threads, 0);
      }
    } else if (l->kind == VGG_LAYER_POOL) {
      s->op = VGG_STEP_POOL;
      s->dtype = i > first_i8 ? VGG_PRECISION_INT8 : VGG_PRECISION_F32;
      s->kernel = s->dtype == VGG_PRECISION_INT8 ? "vgg_u8_maxpool2x2" : k->maxpool2x2_name;
      s->rows = s->rsplit = l->out_h, s->noc = 1, s->oc_step = l->out_c;
    } else {
      s->op = VGG_STEP_DENSE;
      /* The classifier in the net's precision: s8 rows with each image's input quantised on its own scale
       * (int8), bf16 weights widened to float32 (bf16), or float32. */
      s->dtype = i8 ? VGG_PRECISION_INT8 : bf ? VGG_PRECISION_BF16 : VGG_PRECISION_F32;
      s->kernel = i8 ? i8->dense_name : bf ? k->dense_bf16_name : k->dense_name;
      /* Output ranges of 64. */
      s->rows = s->rsplit = 1, s->oc_step = 64, s->noc = (l->out_c + 63) / 64;
    }
    const vgg_layer *last = &m->layers[s->last_layer];
    if (last->kind == VGG_LAYER_POOL && last->block) s->block_end = last->block;
    /* A watched or kept layer's map is written whole: not quantised or banded into the next step. */
    if (s->quant_in && n > 1 && s[-1].op == VGG_STEP_CONV && s[-1].dtype == VGG_PRECISION_F32 && !s[-1].block_end &&
        !KEPT(s[-1].last_layer))
      s[-1].quant_out = 1;
    if (s->op == VGG_STEP_WINO && s->noc == 1 && n > 1 && s[-1].op == VGG_STEP_CONV && s[-1].dtype == VGG_PRECISION_F32 &&
        !s[-1].block_end && s[-1].last_layer + 1 == s->layer && !KEPT(s[-1].last_layer))
      s[-1].band_out = 1;
  }
#undef KEPT
  /* Groups: from the first step of the conv base (not the first) that reads a map of 56x56 or less.  A step that
   * quantises for the next one, or hands it bands, runs on the same images as it: not when the groups start
   * between them. */
  for (int i = 1; i < n && steps[i].op != VGG_STEP_DENSE; i++) {
    const vgg_layer *l = &m->layers[steps[i].layer];
    steps[i].grouped = steps[i - 1].grouped || l->in_h * l->in_w <= 56 * 56;
    if (steps[i].grouped && !steps[i - 1].grouped) steps[i - 1].quant_out = steps[i - 1].band_out = 0;
  }
  return n;
}

const char *const *vgg_algo_names(void) {
#define VGG_X_NAME(id, name) #name,
  static const char *const names[VGG_ALGO_COUNT + 1] = {VGG_ALGOS(VGG_X_NAME) NULL};
  return names;
}

const char *const *vgg_precision_names(void) {
  static const char *const names[VGG_PRECISION_COUNT + 1] = {VGG_PRECISIONS(VGG_X_NAME) NULL};
#undef VGG_X_NAME
  return names;
}

const char *vgg_step_algo_name(const vgg_step *s) {
  static const char *const names[2][4] = {{"direct", "wino2", "wino4", "wino6"},
                                          {"direct", "wino2+pool", "wino4+pool", "wino6+pool"}};
  if (s->op != VGG_STEP_CONV && s->op != VGG_STEP_WINO) return "";
  if (s->dtype == VGG_PRECISION_INT8) return s->algo == VGG_ALGO_WINO4 ? "wino4" : "direct";
  return names[s->pool][s->wino ? s->wino->m / 2 : 0];
}

const char *vgg_plan_layer_algo(const vgg_model *m, int layer, int level, vgg_algo want) {
  const vgg_kernel_table *k = vgg_kernels_get(level < 0 ? vgg_level_best() : level);
  if (!k || layer < 0 || layer >= m->nlayers || m->layers[layer].kind != VGG_LAYER_CONV) return NULL;
  vgg_step steps[VGG_MAX_STEPS];
  const int n = vgg_plan_steps(m, k, NULL, NULL, want, 1, 0, 0, NULL, steps);
  for (int i = 0; i < n; i++)
    if (steps[i].layer == layer) return vgg_step_algo_name(&steps[i]);
  return NULL;
}

void vgg_step_describe(const vgg_model *m, const vgg_step *s, double seconds, vgg_step_info *o) {
  static const char *const ops[] = {"conv", "conv", "pool", "dense"};
  o->op = ops[s->op];
  o->layer = m->layers[s->layer].name;
  o->algo = vgg_step_algo_name(s);
  o->dtype = vgg_precision_names()[s->dtype];
  o->fused = s->softmax                ? "softmax"
             : s->relu && s->pool      ? "relu+pool"
             : s->relu && s->quant_out ? "relu+u8"
             : s->relu && s->band_out  ? "relu+band"
             : s->relu                 ? "relu"
                                       : "";
  o->kernel = s->kernel;
  o->tasks = s->rsplit * s->noc;
  o->seconds = seconds;
}

vgg_status vgg_plan_check(const vgg_options *opt, vgg_error *err) {
  if (opt && opt->precision == VGG_PRECISION_BF16 && (opt->algo == VGG_ALGO_DIRECT || opt->algo == VGG_ALGO_WINO6))
    return vgg_fail(err, VGG_ERR_UNSUPPORTED, "bf16 has Winograd F(2x2) and F(4x4) kernels only (algo auto, fast, "
                                              "wino2 or wino4)");
  return VGG_OK;
}

int vgg_plan(const vgg_model *m, const vgg_options *opt, vgg_step_info *out, int max) {
  const int level = opt && opt->isa >= 0 ? opt->isa : vgg_level_best();
  const vgg_kernel_table *k = vgg_kernels_get(level);
  if (!k || vgg_plan_check(opt, NULL)) return 0;
  vgg_step steps[VGG_MAX_STEPS];
  const vgg_i8_kernels *i8 = opt && opt->precision == VGG_PRECISION_INT8 ? vgg_i8_kernels_get(k->level) : NULL;
  const vgg_bf16_kernels *bf = opt && opt->precision == VGG_PRECISION_BF16 ? vgg_bf16_kernels_get(k->level) : NULL;
  const int n = vgg_plan_steps(m, k, i8, bf, opt ? opt->algo : VGG_ALGO_AUTO,
                               opt && opt->threads > 0 ? opt->threads : 1, opt ? opt->watch_layer : 0,
                               opt ? opt->gradcam_layer : 0, NULL, steps);
  for (int i = 0; i < n && i < max; i++) vgg_step_describe(m, &steps[i], 0, &out[i]);
  return n;
}
