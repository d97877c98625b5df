/* Engine internals shared by the engine sources (not installed). */
#ifndef VGG_INTERNAL_H
#define VGG_INTERNAL_H

#include "vggsimd.h"
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

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
  int threads;       /* for loading and converting */
  float *kernel[VGG_MAX_PARAMS];
  float *bias[VGG_MAX_PARAMS];
  float wmax[VGG_MAX_PARAMS]; /* a bound on |w| of each kernel, at least the largest (the float32 overflow check);
                               * < 0 until known */
  unsigned char in_file[VGG_MAX_PARAMS]; /* kernel[p] points into the mapped file, not owned */
  void *file;                            /* the mapped safetensors file (st_file), or NULL */
  int seeded;                            /* made by vgg_weights_init (untrained), from `seed` */
  uint64_t seed;
};

/* Where conv layer `layer`'s channels start in a channel ranges array (vgg_options.channel_ranges): the output
 * channels of the conv layers before it. */
int vgg_model_channel_offset(const vgg_model *m, int layer);

/* Fills err with a formatted one-line message and returns s. */
vgg_status vgg_fail(vgg_error *err, vgg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 64-byte aligned allocation; NULL on failure or overflow. */
void *vgg_alloc(size_t count, size_t elem);
void vgg_free(void *p);
/* Monotonic seconds. */
double vgg_now(void);
/* Asks for transparent huge pages for the whole pages inside [p, p + bytes), before they are first touched. */
void vgg_advise_huge(void *p, size_t bytes);

#define VGG_MAX_IMAGE_FILE ((size_t)1 << 30) /* bytes of a picture file */
#define VGG_NPY_MAX_ELEMS (1ULL << 34)         /* elements of a .npy array */

/* *out = a * b; 0 when that overflows a size_t. */
int vgg_size_mul(size_t *out, size_t a, size_t b);

/* Opens path for reading as `what` (named in the errors); *sb describes the file opened.  A directory is refused. */
vgg_status vgg_open_read(const char *path, const char *what, FILE **f, struct stat *sb, vgg_error *err);
/* Reads the rest of f, at most max_bytes, into a malloc'd buffer with room for a NUL after the data; an empty read
 * fails.  head (may be NULL) judges the first bytes read before any more are: a stream that is nothing it could
 * be (/dev/zero as an image) is refused after 64 KiB, not at max_bytes. */
typedef vgg_status (*vgg_head_fn)(const unsigned char *data, size_t n, const char *path, vgg_error *err);
vgg_status vgg_read_stream(FILE *f, const struct stat *sb, const char *path, size_t max_bytes, const char *what,
                           vgg_head_fn head, unsigned char **data, size_t *len, vgg_error *err);
/* Reads a whole file of at most max_bytes into a malloc'd buffer. */
vgg_status vgg_read_file(const char *path, size_t max_bytes, const char *what, unsigned char **data, size_t *len,
                         vgg_error *err);

/* A decoded picture: w x h RGB samples 0..255 as floats. */
typedef struct {
  int w, h;
  float *rgb;
  int stored_w, stored_h; /* the size in the file (a JPEG may be decoded smaller) */
} vgg_picture;
vgg_status vgg_picture_alloc(vgg_picture *p, int w, int h, vgg_error *err);
/* The opt->size square the network takes, resized from pic as opt->resize says (values 0..255, not yet
 * preprocessed); NULL and err set when out of memory.  Every size of picture resizes. */
float *vgg_picture_resize(const vgg_picture *pic, const vgg_image_options *opt, vgg_error *err);

typedef struct {
  const char *name; /* for messages */
  const unsigned char *data;
  size_t len;
  int64_t max_pixels; /* of the image as stored */
  int min_w, min_h;   /* a JPEG may be decoded smaller, but not below this */
  int full_size;      /* 1: never decode smaller */
  int keep_orientation; /* 1: ignore a JPEG's EXIF orientation */
} vgg_decode_request;
/* JPEG (libjpeg-turbo), PNG (libspng), BMP/TGA/PNM/GIF/PSD/HDR (stb_image). */
vgg_status vgg_decode_picture(const vgg_decode_request *rq, vgg_picture *out, vgg_error *err);
/* The EXIF orientation (1..8, TIFF tag 0x0112) of the JPEG in d[0..n), 1 when it has none or it cannot be read;
 * reads nothing outside d. */
int vgg_jpeg_orientation(const unsigned char *d, size_t n);
/* 1 when the first n bytes of a file could begin a picture that vgg_decode_picture takes (or n < 18). */
int vgg_picture_signature(const unsigned char *d, size_t n);


/* Conversion of a tensor between a file layout and the engine's (weights.c). */
const char *vgg_param_name(const vgg_model *m, int p, vgg_naming naming, int bias, char *buf, size_t n);

#endif
