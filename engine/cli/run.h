/* vggsimd run: what the one-image and the many-image modes share. */
#ifndef VGG_CLI_RUN_H
#define VGG_CLI_RUN_H

#include "args.h"

#ifndef VGG_DATA_DIR
#define VGG_DATA_DIR "engine/data"
#endif

typedef struct {
  vgg_arch arch;
  int top, top5;
  const char *wpath; /* NULL: random init from seed */
  uint64_t seed;     /* the random init's, or that of the seeded weights in wpath */
  int seeded;        /* wpath holds seeded, untrained weights (vggsimd init's) */
  vgg_naming naming;
  const char *preproc_name;
  vgg_image_options io;
  vgg_options eo;
  const char *maps, *npy, *report; /* --maps, --npy, --report directories, or NULL */
  const char *ranges;              /* int8: --ranges FILE, or NULL (calibrate on the bundled photo) */
  /* Grad-CAM (--gradcam, and a report with the classifier: its top 3): the conv layer (0: none) and the class
   * asked for (-1: each image's top-1) */
  int gradcam, gradcam_layer, gradcam_class;
  /* --layer NAME|all with one image: what --maps and --npy write (0: the block outputs; VGG_WATCH_ALL: every
   * layer; else the layer's index) */
  int layer;
} run_conf;

/* The index of the conv, pool or classifier layer named `name` in m, VGG_WATCH_ALL for "all", or 0 with a usage
 * error printed (its message names the choices). */
int run_layer_parse(const vgg_model *m, const char *name);

/* Grad-CAM of a run: the classes each image gets (the one asked for, then the top 3 for a report). */
#define RUN_GRADCAM_MAX 4

#define RUN_MAX_LANES 8

/* The model for h x w inputs, its weights (loaded or initialised) and its nets: one per lane, images running
 * side by side, the threads shared out among them. */
typedef struct {
  vgg_model *m;
  vgg_weights *w;
  vgg_net *net; /* nets[0] */
  vgg_net *nets[RUN_MAX_LANES];
  int lanes;
  double t_load, t_pack; /* seconds */
  float ranges[VGG_MAX_LAYERS]; /* int8: the activation ranges the nets use */
  float *channels;              /* and their channel ranges (vgg_model_num_channels floats) */
} run_engine;

vgg_status run_engine_open(const run_conf *c, int h, int w, int lanes, run_engine *e, vgg_error *err);
void run_engine_close(run_engine *e);
/* One line: model, input, preprocessing, weights, level, threads. */
void run_describe(const run_conf *c, const run_engine *e, int h, int w, char *buf, size_t size);
/* The lines saying what runs: model, input, weights, level, threads; the algorithm per layer. */
void run_print_header(const run_conf *c, const run_engine *e, int h, int w);
/* int8 calibration on photos: ranges (vgg_model_num_layers floats) and channel ranges (vgg_model_num_channels)
 * from a float32 net made with eo. */
vgg_status cli_calibrate(const vgg_model *m, const vgg_weights *w, const vgg_options *eo, const vgg_image_options *io,
                         const char *const *paths, int npaths, float *ranges, float *channels, vgg_error *err);
/* Many images: paths, directories and @lists; see the help of `vggsimd run`. */
int run_many(const run_conf *c, const opt *opts, const char *const *inputs, int ninputs);

#endif
