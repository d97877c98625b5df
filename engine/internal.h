/* Engine internals shared by the engine sources (not installed). */
#ifndef VGG_INTERNAL_H
#define VGG_INTERNAL_H

#include "vggsimd.h"
#include <stdarg.h>
#include <stdio.h>

#define VGG_MAX_LAYERS 64
#define VGG_MAX_PARAMS 24

struct vgg_model {
  vgg_arch arch;
  int top;
  int nlayers;
  vgg_layer layers[VGG_MAX_LAYERS];
  int nparams;
  int param_layer[VGG_MAX_PARAMS]; /* layer index of parameter set p */
  int block_out[6];                /* layer index of block b's output (pool), 1..5 */
};

struct vgg_weights {
  const vgg_model *model;
  vgg_naming naming; /* naming of the file it came from (init: torch) */
  float *kernel[VGG_MAX_PARAMS];
  float *bias[VGG_MAX_PARAMS];
};

/* Fills err with a formatted one-line message and returns s. */
vgg_status vgg_fail(vgg_error *err, vgg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 64-byte aligned allocation; NULL on failure or overflow. */
void *vgg_alloc(size_t count, size_t elem);
void vgg_free(void *p);

/* Atomic file output: write to "<path>.tmp.<pid>", rename on commit. */
typedef struct {
  FILE *f;
  char path[4096];
  char tmp[4200];
} vgg_outfile;
vgg_status vgg_outfile_open(vgg_outfile *o, const char *path, vgg_error *err);
vgg_status vgg_outfile_write(vgg_outfile *o, const void *data, size_t n, vgg_error *err);
vgg_status vgg_outfile_commit(vgg_outfile *o, vgg_error *err);
void vgg_outfile_abort(vgg_outfile *o);

/* The algorithm a conv layer uses at level isa when `want` was asked for (algo.c). */
vgg_algo vgg_plan_algo(int isa, const vgg_layer *l, vgg_algo want);

/* Conversion of a tensor between a file layout and the engine's (weights.c). */
const char *vgg_param_name(const vgg_model *m, int p, vgg_naming naming, int bias, char *buf, size_t n);

#endif
