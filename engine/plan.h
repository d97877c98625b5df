/* The plan: what a net runs, as data.  vgg_plan_steps turns a model, a level,
 * an algorithm choice and a thread count into steps; vgg_net_create gives the
 * steps their buffers and packed weights; vgg_net_forward runs them in one
 * loop; printing, timing and tests read the same steps. */
#ifndef VGG_PLAN_H
#define VGG_PLAN_H

#include "internal.h"
#include "kernels.h"

#define VGG_MAX_STEPS VGG_MAX_LAYERS
/* Images per group in the grouped steps of the conv base. */
#define VGG_GROUP 8

typedef enum { VGG_STEP_CONV, VGG_STEP_WINO, VGG_STEP_POOL, VGG_STEP_DENSE } vgg_step_op;

typedef struct {
  vgg_step_op op;
  vgg_precision dtype;
  int layer;      /* the model layer it computes (conv, pool or dense) */
  int last_layer; /* the layer whose output it writes: layer + 1 when a pool is fused in */
  vgg_algo algo;  /* conv: VGG_ALGO_DIRECT, _WINO2, _WINO4 or _WINO6 */
  int relu, pool, softmax; /* fused operations */
  int block_end;  /* 1..5: its output is that block's output; 0 otherwise */
  const char *kernel; /* symbol of the kernel it calls */
  const vgg_wino_kernels *wino;
  /* Work split: tasks = rsplit x noc, task t covers rows (or tile rows) r = t / noc
   * of `rows` in rsplit near-equal parts, and output channels [c * oc_step, ...) */
  int rows, rsplit, noc, oc_step;
  /* int8: the input is float32 (a float32 layer's output), quantised before the kernel runs: by the step
   * before when that has quant_out, else by the net in a pass of its own */
  int quant_in;
  /* A float32 direct conv whose output only a quant_in step reads: it computes a few rows at a time into
   * per-thread scratch and quantises them into the net's u8 buffer, the float32 map never written whole */
  int quant_out;
  /* A float32 direct conv whose output only the next step reads, a Winograd conv whose threads split tile rows
   * alone: the two run as one, each thread computing this step's rows a few at a time into its scratch and the
   * next step's tile rows from there as soon as their input rows are in (the map is never written whole) */
  int band_out;
  /* Runs on groups of VGG_GROUP images at a time (the conv base from the first step that reads a map of 56x56
   * or less: VGG16 at 224x224, blocks 3-5, where the weights are large and the maps small) */
  int grouped;
  /* Set by vgg_net_create: */
  const float *in; /* NULL: the input image */
  float *out;      /* int8 steps: u8 values in the same buffers */
  const float *weights, *bias;
  const int8_t *weights_i8;     /* int8 conv: packed s8 weights; int8 dense: packed s8 rows */
  const float *qscale, *qbias;  /* int8 conv: requantisation per output channel (kernels.h); int8 dense: row scales */
  const uint16_t *weights_bf16; /* bf16 dense: the rows rounded to bf16 */
  float in_scale, out_scale;    /* int8: real value of one unit of the u8 input and output, as calibrated */
  int rin, rout;                /* int8: the layers whose ranges those are (the net widens them per image) */
} vgg_step;

/* The algorithm rule for a conv layer at `level` (algo.c's table). */
vgg_algo vgg_plan_algo(int level, const vgg_layer *l, vgg_algo want);

/* Fills steps (VGG_MAX_STEPS) for m on the kernels k with `threads`, in float32 or, with i8 (the level's
 * int8 kernels) int8 where it applies, with bf (its bf16 kernels) bf16 Winograd; returns their count.  The
 * maps of layer `watch` and of every layer from keep_from on (0: none) are written whole: no pool is fused into
 * them, nothing bands or quantises them into the next step.  w4_exact (int8, per layer; NULL: every layer
 * does): whether the layer's s8 weights meet the exact F(4x4)'s bound (vgg_i8_w4_exact); a layer that
 * misses it runs direct. */
int vgg_plan_steps(const vgg_model *m, const vgg_kernel_table *k, const vgg_i8_kernels *i8,
                   const vgg_bf16_kernels *bf, vgg_algo want, int threads, int watch, int keep_from,
                   const unsigned char *w4_exact, vgg_step *steps);
/* The first layer of m that an int8 net runs in int8 (m->nlayers: none). */
int vgg_plan_first_int8(const vgg_model *m);
/* int8 conv layer l: the exact Winograd F(4x4) or direct, for `want` (vgg_plan_steps takes F(4x4) only where
 * the level has it and the weights meet its bound). */
vgg_algo vgg_plan_i8_algo(const vgg_layer *l, vgg_algo want);
/* The conv layer whose output layer `layer` reads (through max-pools), or -1. */
int vgg_plan_producer(const vgg_model *m, int layer);

/* "direct", "wino2", "wino4", "wino6" with "+pool" when a pool is fused; "" for steps that are not convolutions. */
const char *vgg_step_algo_name(const vgg_step *s);

/* The public description of step s of model m. */
void vgg_step_describe(const vgg_model *m, const vgg_step *s, double seconds, vgg_step_info *o);

#endif
