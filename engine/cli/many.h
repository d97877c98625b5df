/* vggsimd run over many images: the inputs (paths, folders, @lists, an earlier run's JSON lines), the decoder
 * thread that fills the next batch while the nets run the current one, and the outputs (run_many.c). */
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

#endif
