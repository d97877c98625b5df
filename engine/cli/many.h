/* vggsimd run over many images: the inputs (paths, folders, @lists, an earlier run's JSON lines: many_inputs.c),
 * the decoder thread that fills the next batch while the nets run the current one (many_decode.c), the outputs
 * (many_outputs.c) and the run (run_many.c). */
#ifndef VGG_CLI_MANY_H
#define VGG_CLI_MANY_H

#include "run.h"
#include <pthread.h>
#include <stdio.h>

/* Output paths are checked to fit PATH_MAX (4096) when the run starts; buffers have room to spare. */
#define PBUF 8400
/* Outputs one image can have: with --layer all, every layer's map and array (VGG19: 21 maps, 24 arrays), the
 * report's 21 maps, 3 Grad-CAM overlays, its input and page, Grad-CAM's two files, a features file, and the 3
 * directories that hold them. */
#define MAX_WRITTEN 96

typedef struct {
  char *path;
  const char *name; /* the file's name: names its outputs */
  int skip;         /* --skip-existing: every output is there */
  char *line;       /* its JSON line from the earlier run, when skipped */
  int failed;
  vgg_image_info info;
  char *err; /* why it failed (an item is small: a run may hold millions) */
} item;

/* The item fails, for the reason given (the first one given counts). */
void item_fail(item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Why it failed. */
const char *item_err(const item *it);

typedef struct {
  item *v;
  int n, cap;
} item_list;

/* The inputs: a path; a folder's image files (sorted, not recursive; a link to nothing listed, FIFOs and
 * directories left out); an @list's lines.  0, or a usage or setup error printed and its exit code. */
int add_item(item_list *l, const char *path);
int add_dir(item_list *l, const char *dir);
int add_list(item_list *l, const char *file);
void free_items(item_list *l);
int cmp_str(const void *a, const void *b); /* qsort of char * */

/* s as a JSON string; as a new string (NULL when out of memory). */
void json_str(FILE *f, const char *s);
char *json_str_dup(const char *s);

/* The items' paths as JSON strings, sorted, for looking up the lines of an earlier JSONL output. */
typedef struct {
  const char *key; /* "path", escaped as in the JSONL */
  size_t len;
  int idx;
} done_key;
int cmp_done_key(const void *a, const void *b);
/* The lines of an earlier run's JSONL (file) whose paths are among keys (sorted): kept in the items, to be
 * written again for the images skipped. */
void read_done_lines(const char *file, item_list *l, const done_key *keys);

/* Images a decoded batch holds: a forward pass's batch for each lane. */
#define MAX_IMAGES (RUN_MAX_LANES * VGG_MAX_BATCH)

/* Two batches: the decoder fills one while the nets run the other. */
typedef struct {
  vgg_tensor x;           /* cap x S x S x 3 */
  int idx[MAX_IMAGES]; /* the items decoded into x, in order */
  int n;
  int first, last; /* the items [first, last) this batch accounts for (skipped and failed too) */
  int full;
} batch;

typedef struct {
  const run_conf *c;
  item_list *items;
  int cap; /* images per batch */
  batch b[2];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop; /* the consumer gave up */
} decoder;
/* The decoder thread (arg: a decoder): fills the two batches in turn until the items end or d->stop. */
void *decoder_main(void *arg);

enum { LAYER_BLOCK = 0, LAYER_DENSE = 1, LAYER_PREDICTIONS = 2, LAYER_CONV = 3, LAYER_ALL = 4 };

typedef struct {
  const run_conf *c;
  item_list *items;
  const batch *b;
  const char *features; /* --features DIR */
  int layer_kind, layer_block, layer_index; /* what --layer names for --features */
  const vgg_model *m;
  int watching; /* the nets watch a layer or all (vgg_options.watch_layer): many_on_watch gets their maps */
  int ncam, cam_classes[RUN_GRADCAM_MAX];   /* Grad-CAM: the classes asked for (-k: the k-th most likely) */
  int cam_chosen[MAX_IMAGES][RUN_GRADCAM_MAX]; /* and those each image got */
  double layer_sec[MAX_IMAGES][VGG_MAX_LAYERS]; /* each image's share of its pass's layer times */
  int shapes[6][4];
  double ms[MAX_IMAGES];
  double block_ms[MAX_IMAGES][6];
  char *written[MAX_IMAGES][MAX_WRITTEN]; /* files and directories made per image, removed when a later one fails */
  int nwritten[MAX_IMAGES];
} outputs;

/* One lane's share of a batch: images [base, base + n) run on net, on their own thread. */
typedef struct {
  outputs *o;
  vgg_net *net;
  const float *x;
  float *probs; /* the lane's rows, or NULL */
  int base, n, S, nlayers;
  int shapes[6][4];
  double out_sec; /* time spent writing outputs in the callbacks */
  vgg_status s;
  vgg_error err;
} lane;

/* The outputs (many_outputs.c).  Image k of the current batch: the files and directories written for it are
 * remembered, so that a later failure of the image removes them. */
void forget_written(outputs *o, int k);
void wrote(outputs *o, int k, const char *path);
/* The image fails for msg (the first reason counts) and what was written for it is removed. */
void image_fail(outputs *o, int k, const char *msg);
void write_npy(outputs *o, int k, const char *path, const float *data, const int64_t *shape, int nd);
/* DIR/NAME (an image's maps, dumps and report page) into out, created when missing; -1 fails the image. */
int image_dir(outputs *o, int k, const char *dir, char *out, size_t size);
/* The map t of image k into DIR/NAME/FILE (d: 0 --maps, 1 --report: PNG; 2 --npy: .npy). */
void image_write(outputs *o, int k, int d, const char *file, const vgg_tensor *t, int dense);
/* The net's callbacks (user: a lane): block outputs, watched layers' maps, classifier layers' outputs. */
void many_on_block(void *user, int image, int block, const vgg_tensor *t, double seconds);
void many_on_watch(void *user, int image, int layer, const vgg_tensor *t);
void many_on_dense(void *user, int layer, const vgg_tensor *t);
/* --features DIR/NAME.npy, or with --layer all DIR/LAYER/NAME.npy. */
void feature_path(const outputs *o, int k, const char *layer, char *out, size_t size);
/* What --layer names for --features into o: 0, or a usage error printed and its exit code. */
int layer_parse(const run_conf *c, const char *name, outputs *o);
/* Whether every output of it is there (the last of each kind written: the files are written atomically); the
 * directories they would be in are swept of what a killed run left. */
int outputs_exist(const run_conf *c, const vgg_model *m, const char *features, int feature_all, const char *jsonl,
                  const item *it);
/* Its JSON line (kb: its index in the batch, or -1; probs: its probabilities with the classifier). */
void write_json_line(FILE *f, const item *it, const outputs *o, int kb, const float *probs, int top, double ms);

#endif
