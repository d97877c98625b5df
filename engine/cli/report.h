/* Reports as self-contained HTML pages: no script, no font or file from the
 * network, charts drawn as inline SVG here, pictures as PNG files beside the
 * page.  Pages are built in memory and written atomically. */
#ifndef VGG_CLI_REPORT_H
#define VGG_CLI_REPORT_H

#include <stdio.h>

#include "vggsimd.h"

typedef struct {
  FILE *f; /* write the body here */
  char *buf;
  size_t len;
} html_doc;

/* Starts a page (doctype, head with its style, <body>); 0 or -1 when out of memory. */
int html_open(html_doc *d, const char *title);
/* Ends the page and writes it to path atomically; 0, or prints "vggsimd CMD: ..." and returns -1. */
int html_commit(html_doc *d, const char *cmd, const char *path);
void html_discard(html_doc *d);
/* Text with &, <, >, " escaped. */
void html_esc(FILE *f, const char *s);

/* A horizontal grouped bar chart: for each row, one bar per series (v[row * nseries + s]; a value < 0 is
 * left out), with a legend when there are several series; colors[s] picks series s's colour (NULL: s), so a
 * configuration keeps its colour across charts.  Bars are scaled to vmax (0: the largest value).  title and desc become the SVG's accessible name
 * and description; unit follows each value (e.g. "ms"). */
void svg_bars(FILE *f, const char *title, const char *desc, int nrows, const char *const *rows, int nseries,
              const char *const *series, const int *colors, const double *v, double vmax, const char *unit,
              int decimals);

/* The page of one image: the network's input, each block's map with its shape and time, the plan, the
 * summary table and, with the classifier, the top-5 chart.  input.png and blockN.png are already in dir. */
typedef struct {
  const char *image;       /* the image's path */
  const char *about;       /* model, input, weights, level, threads */
  const vgg_model *m;
  const vgg_net *net;
  int shapes[6][4];        /* block 1..5: N, H, W, C */
  double block_ms[6];
  const float *probs;      /* 1000, or NULL without the classifier */
  double ms;               /* the whole forward pass */
  const char *index_href;  /* link back to the index of a many-image run, or NULL */
  int ncam;                /* Grad-CAM maps over the input, gradcam-CLASS.png in dir, of these classes */
  int cam_class[4];
  const char *cam_layer;   /* the layer they explain */
  int layer_maps;          /* NAME.png of every conv layer is in dir too */
  const double *layer_sec; /* the image's time per layer (NULL: the net's last pass's) */
} report_page;
int report_page_write(const char *dir, const report_page *p);

/* The index of a many-image report: a thumbnail, result and link per image, or its error. */
typedef struct {
  const char *image;   /* path */
  const char *name;    /* its subdirectory */
  const char *result;  /* e.g. "tabby 0.53" or "[1, 7, 7, 512]"; NULL for a page from an earlier run */
  const char *error;   /* NULL unless it failed */
  double ms;
} report_entry;
int report_index_write(const char *dir, const char *about, const report_entry *e, int n);

#endif
