/* vggsimd — VGG inference on the CPU.  Public API.
 *
 * Every function that can fail returns a vgg_status and, on failure, writes
 * one line of explanation into a caller-provided vgg_error.  The library never
 * exits, aborts or prints.
 *
 * Tensors are NHWC float32.  The forward pass hands every block's output to a
 * callback as soon as it is computed.
 */
#ifndef VGGSIMD_H
#define VGGSIMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* FILE: vgg_open_new, vgg_outfile */

#include "vggsimd-levels.h" /* vgg_level: VGG_LEVEL_SCALAR, VGG_LEVEL_AVX2, VGG_LEVEL_AVX512, VGG_LEVEL_NEON */

#ifdef __cplusplus
extern "C" {
#endif

#define VGGSIMD_VERSION "0.1.0"

typedef enum {
  VGG_OK = 0,
  VGG_ERR_ARG,         /* an argument or option value is not valid */
  VGG_ERR_IO,          /* a file cannot be opened, read or written */
  VGG_ERR_FORMAT,      /* a file's contents are malformed */
  VGG_ERR_SHAPE,       /* a shape the architecture does not allow */
  VGG_ERR_NOMEM,       /* out of memory */
  VGG_ERR_UNSUPPORTED, /* e.g. an ISA this CPU or build lacks */
  VGG_ERR_RANGE,       /* input values that would overflow float32 with these weights (vgg_net_input_limit) */
} vgg_status;

typedef struct {
  char msg[512];
} vgg_error;

const char *vgg_status_str(vgg_status s);

/* ---------------------------------------------------------------- model -- */

/* X(ID, name, convolutions in blocks 1..5): the architectures (Simonyan & Zisserman's configurations A, B, D,
 * E), the one list that the model, the weights' naming, the command line, the Python package and the Dask
 * driver expand.  A new variant is a row here. */
#define VGG_ARCHS(X)              \
  X(VGG11, vgg11, 1, 1, 2, 2, 2) \
  X(VGG13, vgg13, 2, 2, 2, 2, 2) \
  X(VGG16, vgg16, 2, 2, 3, 3, 3) \
  X(VGG19, vgg19, 2, 2, 4, 4, 4)

/* Layers a model has at most (VGG19 with the classifier has 30). */
#define VGG_MAX_LAYERS 64

typedef enum {
#define VGG_X_ARCH(id, name, b1, b2, b3, b4, b5) id,
  VGG_ARCHS(VGG_X_ARCH)
#undef VGG_X_ARCH
  VGG_ARCH_COUNT
} vgg_arch;
/* " vgg11 vgg13 vgg16 vgg19", for help texts. */
#define VGG_X_ARCH_SP(id, name, b1, b2, b3, b4, b5) " " #name
#define VGG_ARCH_NAMES VGG_ARCHS(VGG_X_ARCH_SP)

/* "vgg11", "vgg13", "vgg16", "vgg19" -> arch; -1 when unknown. */
int vgg_arch_parse(const char *name);
const char *vgg_arch_name(vgg_arch arch);
/* The architectures' names in enum order, NULL-terminated. */
const char *const *vgg_arch_names(void);

typedef enum {
  VGG_LAYER_INPUT,
  VGG_LAYER_CONV,    /* 3x3, stride 1, same padding, + bias + ReLU */
  VGG_LAYER_POOL,    /* 2x2 max, stride 2 */
  VGG_LAYER_FLATTEN, /* H,W,C order */
  VGG_LAYER_DENSE,   /* + bias, ReLU (fc1, fc2) or softmax (predictions) */
} vgg_layer_kind;

typedef struct {
  char name[32];        /* Keras name: block1_conv1 ... block5_pool, flatten, fc1, fc2, predictions */
  vgg_layer_kind kind;
  int block;            /* 1..5 in the conv base, 0 otherwise */
  int in_h, in_w, in_c;
  int out_h, out_w, out_c; /* flatten and dense: 1 x 1 x units */
  int relu, softmax;
  int64_t weights, biases; /* parameter counts */
  int64_t flops;        /* a multiply-add counts as 2 */
  int param;            /* index of this layer's parameters (conv/dense), else -1 */
} vgg_layer;

typedef struct vgg_model vgg_model;

/* Shape inference for arch at input h x w x 3.  The conv base takes any
 * h, w >= 32; the classifier (top) needs a 7x7 final map (224x224 input). */
vgg_status vgg_model_create(vgg_arch arch, int top, int h, int w, vgg_model **out, vgg_error *err);
void vgg_model_free(vgg_model *m);
vgg_arch vgg_model_arch(const vgg_model *m);
int vgg_model_top(const vgg_model *m);
int vgg_model_num_layers(const vgg_model *m);
/* The output channels of every conv layer, summed: the length of a channel ranges array
 * (vgg_options.channel_ranges), each conv layer's channels in layer order. */
int vgg_model_num_channels(const vgg_model *m);
const vgg_layer *vgg_model_layer(const vgg_model *m, int i);
/* Layers with parameters (conv and dense), in order. */
int vgg_model_num_params(const vgg_model *m);
const vgg_layer *vgg_model_param_layer(const vgg_model *m, int p);
int64_t vgg_model_total_params(const vgg_model *m);
int64_t vgg_model_total_flops(const vgg_model *m);
/* Output of block b (1..5): the block's pool layer. */
const vgg_layer *vgg_model_block_output(const vgg_model *m, int b);
/* Largest activation (floats) of any layer, and of the conv base. */
size_t vgg_model_max_activation(const vgg_model *m);

/* Keras-style summary table into buf (NUL-terminated, truncated to size). */
size_t vgg_model_summary(const vgg_model *m, char *buf, size_t size);

/* -------------------------------------------------------------- weights -- */

typedef enum { VGG_NAMING_TORCH = 0, VGG_NAMING_KERAS = 1 } vgg_naming;

typedef struct vgg_weights vgg_weights;

/* Seeded Glorot-uniform kernels and zero biases (Keras defaults); the same
 * values for the same seed on every run and thread count.  threads <= 0:
 * online cores. */
vgg_status vgg_weights_init(const vgg_model *m, uint64_t seed, int threads, vgg_weights **out, vgg_error *err);
/* Loads a safetensors file in torchvision or Keras naming (detected) and
 * converts to the engine's layout.  F32, F16 and BF16 are accepted.  The file
 * is mapped read-only, not read: the classifier's fc2 and predictions kernels
 * of an F32 torchvision file are used from the mapping as they are (the file
 * must not be modified while the weights live); everything else is converted
 * on `threads` threads (<= 0: online cores).  One weights object serves any
 * number of nets, at once and from several threads: each net packs its own
 * conv kernels and shares the dense ones. */
vgg_status vgg_weights_load(const vgg_model *m, const char *path, int threads, vgg_weights **out, vgg_error *err);
/* Writes a safetensors file (atomically: nothing is left on failure). */
vgg_status vgg_weights_save(const vgg_weights *w, const char *path, vgg_naming naming, vgg_error *err);
void vgg_weights_free(vgg_weights *w);
vgg_naming vgg_weights_naming(const vgg_weights *w);
/* Engine layout: conv kernel [3][3][cin][cout]; dense kernel [out][in] with
 * the inputs of fc1 in H,W,C order. */
float *vgg_weights_kernel(const vgg_weights *w, int p);
float *vgg_weights_bias(const vgg_weights *w, int p);

/* Frees the conv kernels (not biases, not dense layers): a net packs its own
 * copy, so a program that builds its nets first saves their memory.  Nets
 * cannot be created from w afterwards, nor can w be saved. */
void vgg_weights_release_conv(vgg_weights *w);

/* Reads only a safetensors header: its naming, and whether it holds the classifier. */
vgg_status vgg_weights_probe(const char *path, vgg_naming *naming, int *has_top, vgg_error *err);
/* 1 when the file holds seeded, untrained weights (written by vgg_weights_save of vgg_weights_init's, as
 * `vggsimd init` does; *seed, if not NULL, gets the seed), 0 otherwise or when it cannot be read. */
int vgg_weights_seeded(const char *path, uint64_t *seed);

/* ---------------------------------------------------------------- images -- */

typedef struct {
  int n, h, w, c;
  float *data; /* n*h*w*c floats, 64-byte aligned when allocated by the library */
} vgg_tensor;

vgg_status vgg_tensor_alloc(vgg_tensor *t, int n, int h, int w, int c, vgg_error *err);
void vgg_tensor_free(vgg_tensor *t);

/* caffe: Keras' VGG preprocessing; torch: torchvision's; none: the resized RGB values 0..255 as they are. */
typedef enum { VGG_PREPROC_CAFFE = 0, VGG_PREPROC_TORCH = 1, VGG_PREPROC_NONE = 2 } vgg_preproc;
/* The resize modes, one row each: enumerator, name.  direct: squash to size x size (stb_image_resize, linear
 * light); crop: shorter side to size*256/224, centre crop (the same resampler); torchvision: what
 * transforms.Resize(size*256/224) + CenterCrop(size) give a PIL image (antialiased bilinear on 8-bit sRGB values,
 * rounded to 8 bits after each pass); keras: what keras' load_img(target_size=(size, size)) gives (PIL's nearest
 * neighbour, squashed).  torchvision and keras decode a JPEG at its full size, as PIL does. */
#define VGG_RESIZE_MODES(X) \
  X(VGG_RESIZE_DIRECT, "direct") \
  X(VGG_RESIZE_CROP, "crop") \
  X(VGG_RESIZE_TORCHVISION, "torchvision") \
  X(VGG_RESIZE_KERAS, "keras")
#define VGG_RESIZE_ENUM_(e, name) e,
typedef enum { VGG_RESIZE_MODES(VGG_RESIZE_ENUM_) VGG_RESIZE_COUNT } vgg_resize_mode;
/* The names of the resize modes, in enum order, NULL-terminated. */
const char *const *vgg_resize_names(void);

/* Pixels an image may be decoded to when the options say 0: 8192 x 8192. */
#define VGG_DEFAULT_MAX_PIXELS (1LL << 26)

typedef struct {
  int size;               /* output is size x size */
  vgg_resize_mode resize; /* see VGG_RESIZE_MODES */
  vgg_preproc preproc;
  int64_t max_pixels;     /* most pixels decoded (0: VGG_DEFAULT_MAX_PIXELS); larger images are refused */
  int full_decode;        /* 1: decode a JPEG at its full size even when 1/2, 1/4 or 1/8 would do */
  int keep_orientation;   /* 1: a JPEG as stored; 0: turned upright as its EXIF orientation says (as PIL's
                             ImageOps.exif_transpose does) */
} vgg_image_options;

/* Loads a picture and preprocesses it to 1 x size x size x 3; or loads a .npy
 * float32 array of shape (H,W,3) or (1,H,W,3) as-is (already preprocessed).
 * Pictures: JPEG (libjpeg-turbo; a large one is decoded at 1/2, 1/4 or 1/8 of
 * its size when that still covers the output), PNG (libspng), and BMP, TGA,
 * PNM, GIF (first frame), PSD and HDR (stb_image); 1-4 channels, 8 or 16 bit,
 * alpha dropped.  Refused with VGG_ERR_FORMAT: a file cut short, or a header
 * claiming more pixels than the file's bytes can encode; with VGG_ERR_SHAPE:
 * more than max_pixels pixels to decode, or a file over 1 GiB. */
vgg_status vgg_image_load(const char *path, const vgg_image_options *opt, vgg_tensor *out, vgg_error *err);
/* The same for a picture already in memory: w x h RGB values from 0 to 255 (row by row, 3 floats a pixel; a
 * value outside is refused).  opt->max_pixels and full_decode do not apply. */
vgg_status vgg_image_from_rgb(const float *rgb, int w, int h, const vgg_image_options *opt, vgg_tensor *out,
                              vgg_error *err);
/* The size of the picture as stored in its file (an .npy: its H and W). */
typedef struct {
  int width, height;
} vgg_image_info;
/* vgg_image_load, and the stored size into *info. */
vgg_status vgg_image_load_info(const char *path, const vgg_image_options *opt, vgg_tensor *out, vgg_image_info *info,
                               vgg_error *err);
/* The same for a picture held in memory (not .npy); name is used in messages. */
vgg_status vgg_image_decode(const char *name, const unsigned char *data, size_t len, const vgg_image_options *opt,
                            vgg_tensor *out, vgg_error *err);

/* .npy float32, C order. */
vgg_status vgg_npy_write(const char *path, const float *data, const int64_t *shape, int ndim, vgg_error *err);
vgg_status vgg_npy_read(const char *path, float **data, int64_t *shape, int *ndim, vgg_error *err);

/* A grid of the first min(c, 64) channels of a 1 x h x w x c map (8 columns),
 * each channel min-max normalised, viridis colours, thin gaps, upscaled so a
 * channel is at least 96 pixels wide.  Written as PNG, atomically. */
vgg_status vgg_maps_write_png(const char *path, const vgg_tensor *t, vgg_error *err);

/* The first image of an N x H x W x 3 input as the picture the network sees:
 * the preprocessing undone, clamped to 0..255, 8-bit RGB PNG, written atomically. */
vgg_status vgg_image_write_png(const char *path, const vgg_tensor *t, vgg_preproc preproc, vgg_error *err);
/* The same picture with a map (H x W values from 0 to 1, as vgg_net_gradcam gives) laid over it in the jet
 * colours (blue 0, red 1), from 25% opaque at 0 to 60% at 1. */
vgg_status vgg_gradcam_write_png(const char *path, const vgg_tensor *t, vgg_preproc preproc, const float *map,
                                 vgg_error *err);

/* ------------------------------------------------------------ inference -- */

/* Convolution algorithm.  auto: per layer, the fastest of direct and Winograd
 * F(2x2)/F(4x4)/F(6x6) that keeps every block within 1e-5 of float64 (a
 * table of measured choices per level); fast: the fastest within 1e-4;
 * direct/wino2/wino4/wino6 force one for every layer. */
#define VGG_ALGOS(X) X(AUTO, auto) X(DIRECT, direct) X(WINO2, wino2) X(WINO4, wino4) X(FAST, fast) X(WINO6, wino6)
typedef enum {
#define VGG_X_ALGO(id, name) VGG_ALGO_##id,
  VGG_ALGOS(VGG_X_ALGO)
#undef VGG_X_ALGO
  VGG_ALGO_COUNT
} vgg_algo;
/* "auto", "direct", "wino2", "wino4", "fast", "wino6": the names of the
 * algorithms in enum order, NULL-terminated. */
const char *const *vgg_algo_names(void);

/* Data type of the convolutions.  f32: everything in float32 (the default,
 * with every accuracy guarantee above).  int8: every conv layer whose input
 * is the output of a ReLU conv (VGG16: all but the first) runs on u8
 * activations x s8 weights with exact 32-bit sums (AVX512-VNNI, AVX-VNNI,
 * Arm i8mm or dotprod; the reference kernel elsewhere); weights get one scale per
 * output channel at net creation, activations one scale per layer from
 * calibration ranges (vgg_calibrate); the first layer, whose input is
 * signed, stays float32; block outputs are dequantised.  The classifier's
 * layers run on s8 rows (one scale each) and u8 inputs, each image's input
 * on its own scale (the first layer's: the conv base's output unit; then
 * its largest value / 255), exact 32-bit sums, float32 outputs and softmax.
 * bf16: the conv layers after the first run Winograd F(2x2) (auto, fast,
 * wino2) or F(4x4) (wino4) with bfloat16 GEMM operands (transformed filters
 * and inputs) and float32 sums, transforms and activations (AVX512-BF16, Arm
 * bf16; the reference kernel elsewhere); direct and wino6 have no bf16 kernels;
 * the classifier's weights are rounded to bfloat16 and widened to float32 as
 * they stream (the float32 dense layer of the rounded weights, half the bytes). */
#define VGG_PRECISIONS(X) X(F32, f32) X(INT8, int8) X(BF16, bf16)
typedef enum {
#define VGG_X_PRECISION(id, name) VGG_PRECISION_##id,
  VGG_PRECISIONS(VGG_X_PRECISION)
#undef VGG_X_PRECISION
  VGG_PRECISION_COUNT
} vgg_precision;
/* "f32", "int8", "bf16": in enum order, NULL-terminated. */
const char *const *vgg_precision_names(void);

typedef struct {
  int isa;       /* -1: best available; else a vgg_level */
  int threads;   /* <= 0: online cores */
  vgg_algo algo; /* default (0): auto */
  int release_conv; /* 1: free each conv kernel of the weights once packed (less peak memory); the
                       weights then make no other net, as after vgg_weights_release_conv */
  vgg_precision precision; /* default (0): f32 */
  const float *ranges;      /* int8: per model layer (vgg_model_layer's index), the largest output value
                               of each conv layer, as vgg_calibrate measures it; required for int8 (the
                               starting ranges: each image widens those it passes, vgg_net_ranges_widened) */
  const float *channel_ranges; /* int8, optional (NULL: none): each conv layer's largest output value per
                               channel (vgg_model_num_channels floats, as vgg_net_calibrate measures them).
                               With them a layer's output gets a unit per channel, the layer's unit times
                               (channel's range / layer's)^alpha (at least VGG_CHANNEL_FLOOR^alpha, alpha as
                               vgg_channel_alpha(ranges_images) gives it),
                               folded into the next layer's weights before their s8 rounding: the same
                               kernels, finer steps for the channels of small values (docs/precision.md,
                               "Channel ranges").  A layer whose channel values are all 0 keeps one unit. */
  int ranges_images;        /* int8: how many images the ranges were measured on (0: not known) */
  int watch_layer;          /* a conv or pool layer (vgg_model_layer's index) whose output
                               vgg_net_forward_watch hands out: the plan then fuses no pool into it and
                               writes its map whole (0: none; VGG_WATCH_ALL: every conv and pool layer,
                               nothing fused); float32 and bf16 layers only */
  int gradcam_layer;        /* a conv layer (vgg_model_layer's index) for vgg_net_gradcam (0: none): the plan
                               then fuses no pool into it or any conv layer after it, and the net packs the
                               filters of the conv layers after it a second time, transposed (the backward
                               pass); needs the classifier, float32 or bf16 */
} vgg_options;

/* X(name, metavar, help): the options a user sets by name (the command line's --name, the Python package's
 * keyword, the Dask driver's flag), each read from text by vgg_options_set; the one place an option is
 * declared for every front end. */
#define VGG_OPTIONS(X)                                                                                          \
  X(isa, "LEVEL", "the kernel level: auto (the best this CPU has) or one it has")                              \
  X(threads, "N", "worker threads, 1 to 1024 (default: online cores)")                                        \
  X(algo, "ALGO",                                                                                               \
    "auto (per layer the fastest of direct and Winograd F(2x2)/F(4x4)/F(6x6) within 1e-5 of float64, "          \
    "measured) | fast (the fastest within 1e-4) | direct | wino2 | wino4 | wino6")                              \
  X(precision, "P",                                                                                             \
    "f32 (default) | int8: u8 activations x s8 weights on every conv after the first and the classifier (VNNI, " \
    "i8mm or dotprod) | bf16: Winograd F(2x2) with bfloat16 GEMMs (AVX512-BF16, Arm bf16) on every conv after "   \
    "the first, the classifier on bfloat16 weights")

/* o's defaults: the best level, online cores, auto, f32, nothing watched. */
void vgg_options_init(vgg_options *o);
/* Sets option `name` (a VGG_OPTIONS name) of o from its text ("auto", "2", "wino4", "int8").  VGG_ERR_ARG with a
 * message that a front end prefixes with the option's spelling: "'avx9' is not one of: auto, scalar, ...",
 * "'avx512' is not available on this CPU (best here: avx2)", "'0' is not a whole number from 1 to 1024". */
vgg_status vgg_options_set(vgg_options *o, const char *name, const char *value, vgg_error *err);
/* The options' names, metavars and help texts in list order, NULL-terminated; an option's choices
 * (NULL-terminated; NULL for a number). */
const char *const *vgg_option_names(void);
const char *vgg_option_metavar(const char *name);
const char *vgg_option_help(const char *name);
const char *const *vgg_option_choices(const char *name);

typedef struct vgg_net vgg_net;

/* Packs the weights for the chosen kernels, on the net's threads, and touches
 * every buffer the forward pass uses (activations, scratch, the classifier's),
 * so the first pass runs as fast as later ones.  The net keeps pointers into
 * w's dense kernels: w must outlive the net.  Any number of nets may be made
 * from one w (unless opt->release_conv) and used at the same time. */
vgg_status vgg_net_create(const vgg_model *m, const vgg_weights *w, const vgg_options *opt,
                          vgg_net **out, vgg_error *err);
void vgg_net_free(vgg_net *net);
/* int8: the layer runs the range guard added in the last forward pass (a layer whose u8 output reaches 255 for
 * an image, the largest value its range holds, runs again for that image with the range fitted to that image's
 * largest value, found from the exact sums of the outputs that reached 255, or where many did by a run with the
 * range 4 times wider first; up to 4096 times the calibrated one: no value is clipped, and each image's result
 * is the same alone or in a batch); 0 for other precisions. */
int vgg_net_ranges_widened(const vgg_net *net);
/* The level and kernel names in use, e.g. for `vggsimd cpu`. */
const char *vgg_net_isa(const vgg_net *net);
int vgg_net_threads(const vgg_net *net);
/* The largest max |input value| for which no float32 value the net computes can overflow, whatever the image
 * (from the filters' sums of |w|, the dense layers' inputs x a bound on |w|, the biases and how far each algorithm's
 * stages can grow).  A forward pass on an input past it checks each float layer's real input before the layer
 * runs and fails with VGG_ERR_RANGE, naming the layer, where its values could overflow (a float32 overflow in a
 * convolution would otherwise end as NaN, which ReLU turns into silent zeros). */
double vgg_net_input_limit(const vgg_net *net);
/* The algorithm a net at `level` (-1: best) would use for conv layer `layer`
 * when `want` is asked for (names as vgg_net_layer_algo); NULL for other layers. */
const char *vgg_plan_layer_algo(const vgg_model *m, int layer, int level, vgg_algo want);
/* The algorithm of conv layer `layer` ("direct", "wino2", "wino2+pool", "wino4",
 * "wino4+pool", "wino6", "wino6+pool": +pool when the following max-pool is
 * fused in); NULL otherwise. */
const char *vgg_net_layer_algo(const vgg_net *net, int layer);
/* The plan a net runs, step by step: conv steps fuse bias and ReLU (and the
 * next max-pool with Winograd), the flatten is free (the classifier reads
 * the last pool's NHWC output as H,W,C).  Fills up to max entries and returns
 * the number of steps.  Strings live as long as the net. */
typedef struct {
  const char *op;     /* "conv", "pool", "dense" */
  const char *layer;  /* Keras name of the layer computed, e.g. "block1_conv2" */
  const char *algo;   /* conv: "direct", "wino2", "wino4", "wino6", with "+pool" when fused; else "" */
  const char *dtype;  /* "f32" */
  const char *fused;  /* "relu", "relu+pool", "softmax" or "" */
  const char *kernel; /* the kernel's symbol */
  int tasks;          /* work items the step is split into across threads */
  double seconds;     /* in the last forward pass, summed over its images */
} vgg_step_info;
int vgg_net_steps(const vgg_net *net, vgg_step_info *out, int max);
/* The steps a net for m with these options would run (no weights needed;
 * seconds 0); 0 when the level is not usable or vgg_plan_check refuses the options. */
int vgg_plan(const vgg_model *m, const vgg_options *opt, vgg_step_info *out, int max);
/* VGG_OK when the options' precision has kernels for their algorithm (bf16 has Winograd
 * F(2x2) and F(4x4) only: direct and wino6 are refused, VGG_ERR_UNSUPPORTED), as
 * vgg_net_create checks them. */
vgg_status vgg_plan_check(const vgg_options *opt, vgg_error *err);
#define VGG_MAX_STEPS_INFO 64
/* Seconds each layer (indexed as vgg_model_layer) took in the last forward pass,
 * summed over its images (a pool fused into the conv before it shows 0). */
const double *vgg_net_layer_seconds(const vgg_net *net);
/* Winograd stage profile: with it on, each forward pass records, per Winograd
 * layer, the thread seconds (summed over threads) of its input transforms,
 * GEMMs and output transforms; vgg_net_stage_seconds gives those 3 values for
 * a layer of the last pass (zeros for other layers; NULL for a bad index).
 * Off by default: it reads the clock around every stage of every block of tiles. */
vgg_status vgg_net_set_profile(vgg_net *net, int on, vgg_error *err);
const double *vgg_net_stage_seconds(const vgg_net *net, int layer);
/* Measured FMA peak of `level` on `threads` cores (<= 0: all online), GFLOP/s;
 * 0 for a level without a calibration loop (scalar) or not usable. */
double vgg_level_peak_gflops(int level, int threads);
/* The same for the int8 dot product of `level` (u8*s8 multiply-adds counted as 2 operations), GOP/s;
 * 0 when int8 runs on the reference kernel there. */
double vgg_level_peak_int8_gops(int level, int threads);
/* And for the bf16 dot product (vdpbf16ps), GFLOP/s; 0 when bf16 runs on the reference kernel there. */
double vgg_level_peak_bf16_gflops(int level, int threads);
/* The peak of the arithmetic `precision` computes with (FMA, int8 or bf16 dot product) from tries of about
 * 10 ms for at least `seconds` (at least 3 tries); the three above take 0.2 s.  Best called several times
 * between the runs it is set against, keeping the largest: the host's noise only ever lowers it. */
double vgg_level_peak(int level, int threads, vgg_precision precision, double seconds);

/* Called for each image (0..N-1 of the batch) and block (1..5) with that
 * image's block output (1 x H x W x C) and the time the block took for it
 * (its share when images ran together). */
typedef void (*vgg_block_fn)(void *user, int image, int block, const vgg_tensor *out, double seconds);

#define VGG_MAX_BATCH 64

/* Runs N images (input N x H x W x 3, N <= VGG_MAX_BATCH, H and W those of the
 * model).  The conv base takes the images in groups of up to 8: the layers on
 * large maps (VGG16 at 224x224: blocks 1 and 2) image after image, the rest
 * (blocks 3-5) on the whole group, so each pass over their weights serves
 * every image; each image's results are bit-identical to a batch of one.
 * on_block is called for each image and block, in the order they complete
 * (with several images: blocks 1-2 image by image, then block 3 of each
 * image, ...).  The classifier runs on the whole batch, streaming its weights
 * once per 4 images.  With the classifier, logits and probs (N x 1000 floats
 * each, either may be NULL) are filled. */
vgg_status vgg_net_forward(vgg_net *net, const vgg_tensor *input, vgg_block_fn on_block, void *user,
                           float *logits, float *probs, vgg_error *err);

/* Called after each classifier layer (fc1, fc2, predictions; `layer` indexes
 * vgg_model_layer) with its output for the whole batch, N x 1 x 1 x units
 * (predictions: the logits, before the softmax). */
typedef void (*vgg_layer_fn)(void *user, int layer, const vgg_tensor *out);
/* vgg_net_forward with a callback for the classifier's layers too (either callback may be NULL). */
vgg_status vgg_net_forward_all(vgg_net *net, const vgg_tensor *input, vgg_block_fn on_block, vgg_layer_fn on_dense,
                               void *user, float *logits, float *probs, vgg_error *err);

/* Called for each image (0..N-1 of the batch) with the output of the net's watched layer (1 x H x W x C). */
typedef void (*vgg_watch_fn)(void *user, int image, int layer, const vgg_tensor *out);
#define VGG_WATCH_ALL (-1)
/* Runs N images (as vgg_net_forward) on a net made with opt->watch_layer, handing that layer's output to fn. */
vgg_status vgg_net_forward_watch(vgg_net *net, const vgg_tensor *input, vgg_watch_fn fn, void *user, vgg_error *err);
/* Hands the watched layer's (or every watched layer's) output to fn in every later forward pass of the net
 * (vgg_net_forward, _all, vgg_net_gradcam), until called with fn NULL. */
vgg_status vgg_net_watch(vgg_net *net, vgg_watch_fn fn, void *user, vgg_error *err);

/* Grad-CAM (Selvaraju et al., 2017) on a net made with opt->gradcam_layer = L: for each image and each class
 * asked for, the gradient of the class's score before the softmax (its logit) with respect to L's output (after
 * its ReLU), back through the classifier (the dense layers transposed, the ReLUs' masks), the max-pools (each
 * window's gradient to its first largest input, in row order, as PyTorch's max-pool routes it) and the 3x3
 * convolutions after L (each a convolution with its filters flipped and their channels swapped, run by the
 * level's direct kernel); channel weights = the spatial mean of that gradient; map = ReLU(sum over channels of
 * weight x L's output), divided by its largest value (an all-zero map stays zero), resized to the input's
 * H x W bilinearly with half-pixel centres (PyTorch's interpolate(mode="bilinear", align_corners=False)).
 * classes: nclasses values (1..VGG_GRADCAM_MAX_CLASSES), the same for each image: a class index, or -k for the
 * image's k-th most likely class (-1: its top-1).  maps: N x nclasses x H x W floats, image-major; chosen
 * (N x nclasses, may be NULL): the class each map is of; logits and probs (N x classes, may be NULL) and
 * on_block as vgg_net_forward.  The images run one at a time, each forward pass shared by its classes. */
#define VGG_GRADCAM_MAX_CLASSES 1000
vgg_status vgg_net_gradcam(vgg_net *net, const vgg_tensor *input, const int *classes, int nclasses,
                           vgg_block_fn on_block, void *user, float *logits, float *probs, int *chosen, float *maps,
                           vgg_error *err);
/* The net's Grad-CAM layer (vgg_options.gradcam_layer; 0: none). */
int vgg_net_gradcam_layer(const vgg_net *net);

/* int8 calibration: runs `images` through a float32 net and raises
 * ranges[layer] (vgg_model_num_layers floats, zero them before the first
 * call) to the largest output value of each conv layer seen (after ReLU;
 * with a fused pool, after it: the values a following int8 layer reads),
 * and channels (NULL: not measured; else vgg_model_num_channels floats,
 * zeroed before the first call) to each conv layer's per channel.
 * Call it once per batch of images; both then go in vgg_options. */
vgg_status vgg_net_calibrate(vgg_net *net, const vgg_tensor *images, float *ranges, float *channels, vgg_error *err);
/* The per-channel rule of vgg_options.channel_ranges: a channel's unit is the layer's unit times
 * max(channel's range / layer's, VGG_CHANNEL_FLOOR)^alpha: VGG_CHANNEL_ALPHA (the range ratio shared equally
 * between the activations and the next layer's weights, as in cross-layer equalisation), and
 * VGG_CHANNEL_ALPHA_MANY, finer units for the quiet channels, for ranges measured on VGG_CHANNEL_MANY images or
 * more (their quiet channels' values are better known: few images underestimate them, and an image that passes
 * a channel's range widens its whole layer). */
#define VGG_CHANNEL_ALPHA 0.5f
#define VGG_CHANNEL_ALPHA_MANY 0.75f
#define VGG_CHANNEL_MANY 8
#define VGG_CHANNEL_FLOOR (1.0f / 32)
/* alpha for ranges measured on `images` images (0: not known). */
float vgg_channel_alpha(int images);
/* Ranges files (docs/precision.md): a text file with a header line
 * "vggsimd-ranges V ARCH" (V 1 or 2), optionally "weights HEX" and "images N" (vgg_ranges_save_for), and one
 * line "LAYER VALUE [CHANNEL...]" per conv layer: its largest
 * value, and optionally (version 2 files) the largest value of each of its output channels; '#' starts a
 * comment.  Save writes atomically (version 2 when channels are given); load checks the architecture, that
 * every conv layer of m has exactly one line, of finite values >= 0, with none or all of its channels, and that
 * no other name appears.  ranges: vgg_model_num_layers floats (0 for other layers); channels: NULL, or
 * vgg_model_num_channels floats (load: 0 for a layer the file gives none). */
vgg_status vgg_ranges_save(const vgg_model *m, const float *ranges, const float *channels, const char *path,
                           vgg_error *err);
vgg_status vgg_ranges_load(const vgg_model *m, const char *path, float *ranges, float *channels, vgg_error *err);
/* A fingerprint of the conv base's weights (every kernel and bias value, whatever the file's naming); 0 when the
 * conv kernels were released.  Ranges fit the weights they were measured with: */
uint64_t vgg_weights_fingerprint(const vgg_weights *w);
/* vgg_ranges_save that also records w's fingerprint ("weights HEX" after the header), how many images the
 * ranges were measured on ("images N", when images > 0) and the channels, and vgg_ranges_load that reads them
 * (*images: 0 when the file does not say) and refuses, with VGG_ERR_ARG, a file that records another
 * fingerprint than w's (a file without one is taken). */
vgg_status vgg_ranges_save_for(const vgg_model *m, const vgg_weights *w, const float *ranges, const float *channels,
                               int images, const char *path, vgg_error *err);
vgg_status vgg_ranges_load_for(const vgg_model *m, const vgg_weights *w, const char *path, float *ranges,
                               float *channels, int *images, vgg_error *err);

/* ------------------------------------------------------- CPU and levels -- */

/* Levels (vgg_level, listed in vggsimd-levels.h). */
int vgg_level_parse(const char *name);   /* -1 when unknown */
const char *vgg_level_name(int level);
int vgg_level_compiled(int level);       /* built into this library */
int vgg_level_usable(int level);         /* built in and the CPU (and OS) support it */
int vgg_level_best(void);
/* Detected CPU features, the level that `level` (-1: best) resolves to, and
 * the kernel chosen for every operation at each usable level. */
size_t vgg_cpu_report(int level, char *buf, size_t size);

/* ---------------------------------------------------------- verification -- */

typedef struct {
  const char *kernel; /* conv3x3, conv3x3_c3, wino2, wino2+pool, wino4, wino4+pool, maxpool2x2, dense, softmax */
  const char *level;
  char shape[80];
  double max_abs_err;
  double max_rel_err; /* max |got - ref| / max |ref| */
  double tol;         /* 1e-5; 1e-4 for Winograd F(4x4) */
  int pass;           /* max_rel_err <= tol */
} vgg_verify_row;

typedef void (*vgg_verify_fn)(void *user, const vgg_verify_row *row);

/* Every kernel of `level` (-1: every usable level) against the scalar
 * reference (SIMD levels) or float64 (the scalar level): direct and
 * Winograd convolution (pooled for the last conv of a block) on the 13 VGG16 conv
 * shapes (SIMD at full size unless `reduced`; the scalar level at 16x16),
 * awkward channel counts and sizes, pooling, dense (the VGG16 classifier
 * shapes unless reduced) and softmax.  One callback per row; *failures counts
 * the rows that did not pass. */
vgg_status vgg_verify_run(int level, int reduced, vgg_verify_fn fn, void *user, int *failures, vgg_error *err);

/* ------------------------------------------------------------------ misc -- */

/* Indices of the k largest of v[0..n), largest first (ties: lower index first). */
void vgg_top_k(const float *v, int n, int k, int *idx);

/* ImageNet class name for index 0..999 (the label file built in). */
const char *vgg_imagenet_label(int index);
/* The index of an ImageNet class name (case and '_' for ' ' ignored: "tiger_cat" is 282), or -1. */
int vgg_imagenet_class(const char *label);

/* ---------------------------------------------------------------- files -- */

/* Where an output goes. An output is written beside its final name and renamed over it, so that a reader
 * never sees half of it and a failed run leaves the old file (or none). A symbolic link is followed: the file
 * it names is replaced and the link stays. Something that is neither a file nor a directory (a device such as
 * /dev/stdout or /dev/null, a pipe) is written in place (*in_place = 1): renaming over it would replace the
 * node itself. A directory is refused. final gets the path to write (cap bytes). */
vgg_status vgg_output_target(const char *path, char *final, size_t cap, int *in_place, vgg_error *err);
/* A new file for writing that never follows a link planted at path; exclusive: fail if it exists (one left by
 * a dead run is removed first). NULL with errno on failure. */
FILE *vgg_open_new(const char *path, int exclusive);

/* Atomic file output: write to "<final>.tmp.<pid>", rename on commit (in place for a device or pipe). */
typedef struct {
  FILE *f; /* write through vgg_outfile_write */
  int in_place;
  int live; /* its slot among the temporary names a fatal signal removes, or -1 */
  char path[4096];
  char tmp[4200];
} vgg_outfile;
vgg_status vgg_outfile_open(vgg_outfile *o, const char *path, vgg_error *err);
/* Removes from dir the temporaries of our naming ("<name>.tmp.<pid>", regular files) whose process no longer
 * exists: what a run killed with SIGKILL left.  Each directory once per process (vgg_outfile_open sweeps the
 * directory it writes in). */
void vgg_sweep_stale_temporaries(const char *dir);
vgg_status vgg_outfile_write(vgg_outfile *o, const void *data, size_t n, vgg_error *err);
vgg_status vgg_outfile_commit(vgg_outfile *o, vgg_error *err);
void vgg_outfile_abort(vgg_outfile *o);
/* From then on SIGINT, SIGTERM, SIGHUP and SIGPIPE (those not ignored) first remove the temporary files of the
 * outputs being written, then end the process as they would have (for the command line; a library's host
 * owns its signals). */
void vgg_outfile_clean_on_signals(void);

#ifdef __cplusplus
}
#endif
#endif
