/* The net's state: made in net.c, run by net_forward.c, bounded by net_bounds.c, read by the backward passes
 * (gradcam.c). */
#ifndef VGG_NET_H
#define VGG_NET_H

#include "plan.h"
#include <float.h>

/* Output rows a quant_out step computes at a time (run_conv_quant). */
#define QROWS 4

/* Tile rows of the next step a band_out step's band holds beyond its first (run_band). */
#define BAND_TILE_ROWS 8

/* What a float conv step may compute: half of float32's largest value, the rest a margin for rounding. */
#define VGG_VALUE_MAX ((double)FLT_MAX / 2)

/* int8 channel ranges: the most channels a layer may have for them (a stack array per call). */
#define VGG_MAX_CH 4096
/* The real value of one byte of channel k of a layer whose unit is `unit` and channel factors g. */
static inline float vgg_net_channel_unit(float unit, const float *g, int k) { return unit * g[k]; }

/* int8 range guard (widen): the widest range a pass may give a layer, as a multiple of its calibrated one. */
#define GROW_MAX 4096.0f
/* An int8 conv's output range, per image, starts at NARROW_MARGIN times the share of its input's calibrated
 * range the image used (at most the calibrated range, at least NARROW_MIN of it): see narrow() in
 * net_forward.c.  1.3 is the largest growth of that share from one layer to the next over the calibration
 * photos of docs/precision.md ("Per-image ranges"), so a range narrowed this way is rarely passed. */
#define NARROW_MARGIN 1.3f
#define NARROW_MIN (1.0f / 16)

struct vgg_net {
  const vgg_model *m;
  const vgg_weights *w;
  const vgg_kernel_table *k;
  int threads;
  int nsteps, nbase;              /* steps; the first nbase are the conv base */
  vgg_step steps[VGG_MAX_STEPS];
  double step_sec[VGG_MAX_STEPS]; /* of the last forward pass, summed over its images */
  double layer_sec[VGG_MAX_LAYERS];
  int profile;                    /* time the Winograd stages (vgg_net_set_profile) */
  double stage_sec[VGG_MAX_LAYERS][3];
  double (*stage_tmp)[8];         /* per thread: input, GEMM, output seconds of the running step (own cache line) */
  void *packed[VGG_MAX_PARAMS];   /* conv weights in the layout of the layer's kernel (f32 or s8) */
  const vgg_i8_kernels *i8;       /* int8 steps' conv kernels (NULL: float32 net) */
  float *qsb[VGG_MAX_PARAMS];     /* int8 conv: requantisation scales and biases, cout each */
  int8_t *q8[VGG_MAX_PARAMS];     /* int8 conv, while the net is made: s8 hwio weights and their scales */
  float *q8s[VGG_MAX_PARAMS];
  int8_t *qf[VGG_MAX_PARAMS];     /* int8 conv: the same s8 weights filter by filter, [cout][cin][3][3] (as
                                   * quantise_convs rounds them), for the range guard's exact sums of the outputs
                                   * that reached 255 (NULL: it probes) */
  uint8_t *qbuf;                  /* int8: a float32 input quantised (the step with quant_in) */
  float *deq;                     /* int8: block outputs dequantised for the caller and the classifier */
  /* int8 range guard (widen): each layer's calibrated unit; per image of the running group, the unit of each
   * layer's output in this pass and how far widen has gone with it; the per-channel requantisation of a
   * widened step (VGG_GROUP x 2 x its cout); the steps run again in the last pass. */
  float base_scale[VGG_MAX_LAYERS];
  float scale[VGG_GROUP][VGG_MAX_LAYERS];
  unsigned char widen_state[VGG_GROUP][VGG_MAX_LAYERS];
  float peak[VGG_GROUP][VGG_MAX_LAYERS]; /* the largest value of each layer's final map in its unit, per image */
  float *qtmp;
  int qtmp_stride;
  int regrown;
  float *observe;                 /* calibration: per layer, the largest output value seen (NULL: off) */
  float *observe_ch;              /* and per channel (vgg_options.channel_ranges' layout; NULL: off) */
  float *gch[VGG_MAX_LAYERS];     /* int8 channel ranges: per conv layer, each channel's unit over the layer's
                                   * (NULL: one unit) */
  const float *feat_g;            /* int8: gch of the conv base's output (the classifier's first input), and its
                                   * channels */
  int feat_c;
  float *fbias[VGG_MAX_PARAMS];   /* the float first layer's bias over its channels' units (its step's bias) */
  int watch;                      /* the watched layer (vgg_options.watch_layer; 0: none) */
  vgg_watch_fn watch_fn;          /* during vgg_net_forward_watch: its callback and user pointer */
  void *watch_user;
  float *buf[2];                  /* conv base: ping-pong activations */
  int first_group;                /* the first step run on a group of images together (nbase: none) */
  size_t group_floats;            /* per image, the largest input or output of the grouped steps */
  float *gbuf[2];                 /* their ping-pong activations, VGG_GROUP images each (made when first needed) */
  float *scratch;                 /* Winograd: scratch_floats per thread */
  size_t scratch_floats;
  float *cls[2];                  /* classifier: VGG_MAX_BATCH rows of its widest layer, each */
  uint8_t *clsq;                  /* int8 classifier: each image's input quantised, VGG_MAX_BATCH rows of the stride */
  float clsxs[VGG_MAX_BATCH];     /* and the real value of one unit of each */
  float featxs[VGG_MAX_BATCH];    /* int8: the unit of each image's conv-base output (the classifier's first input) */
  /* float32 overflow (values_fit): per float conv step, the largest sum of |w| of an output channel's filter
   * and max |bias|; the largest max |input| for which no value of the conv base can reach VGG_VALUE_MAX,
   * whatever the image; and whether this forward pass checks each conv step's input before it runs. */
  double l1[VGG_MAX_STEPS], bmax[VGG_MAX_STEPS];
  double limit;
  int guard;
  /* Grad-CAM (vgg_options.gradcam_layer, gradcam.c): the layer; while a Grad-CAM pass runs its forward pass
   * (keeping), the outputs of that conv layer, every conv layer after it and the classifier's fc layers, for
   * one image; the filters of the conv layers after it, transposed and packed for the direct kernel; zero
   * biases; two gradient buffers of the largest map from the layer on. */
  int gc_layer, keeping;
  float *keep[VGG_MAX_LAYERS];
  float *tpacked[VGG_MAX_PARAMS];
  float *zeros;
  float *grad[2];
};

/* Keeps the output of `layer` (one image) when a Grad-CAM forward pass asks for it (gradcam.c). */
void vgg_net_keep(vgg_net *net, int layer, const float *out);
/* The Grad-CAM state of a net made with opt->gradcam_layer (after the plan, before provision), and its release. */
vgg_status vgg_gradcam_provision(vgg_net *net, int layer, vgg_error *err);
void vgg_gradcam_free(vgg_net *net);

/* Zeroes n floats at p on `threads` threads, in static shares, after asking for huge pages: first touch places
 * each share's pages near its thread (net.c). */
void vgg_net_touch(float *p, size_t n, int threads);

/* float32 overflow (net_bounds.c).  The largest sum of |w| over an output channel's filter (hwio: rows of cout)
 * and max |bias|, in *l1 and *bmax; 0 when out of memory. */
int vgg_net_filter_sums(const float *hwio, const float *bias, const vgg_layer *l, double *l1, double *bmax);
/* How far a float conv step's values can grow past its filters' sums of |w| times max |input| (1: direct). */
double vgg_net_growth(const vgg_step *s);
/* The largest max |input| for which no float conv or dense step of the net can compute a value past
 * VGG_VALUE_MAX. */
double vgg_net_input_bound(const vgg_net *net);
/* max |x| of n floats on `threads` threads; infinite when one is not finite. */
double vgg_net_max_abs(const float *x, size_t n, int threads);
/* With net->guard (an input past net->limit): step i's input (nb images at in) measured, and the step refused
 * (VGG_ERR_RANGE) when its values could pass VGG_VALUE_MAX. */
vgg_status vgg_net_values_fit(vgg_net *net, int i, const float *in, int nb, vgg_error *err);
/* The int8 nets' s8 rounding of one filter (an output channel's or a classifier row's weights): v[0..n) its
 * weights in units of its scale, in groups of t that read one input channel (a 3x3 window; a classifier row's
 * positions of one channel; t = 1: none).  Each weight to nearest (even), then in each group, and over the whole
 * filter, the fewest roundings turned the other way (those nearest a half) that bring the sum of the errors
 * within half a unit.  A map is mostly smooth, and its smooth part (a channel's local mean, the mean of all
 * channels) meets the filter through those sums: keeping them roughly halves the error the rounding adds to a
 * layer's output (docs/precision.md, "Weights rounded to keep their sums").  e: n floats of scratch. */
void vgg_s8_round_filter(const float *v, int n, int t, int8_t *q, float *e);
#endif
