/* vggsimd run over many images: each image's outputs (a JSON line, a features file, maps, block dumps and
 * report files in its subdirectory), each written atomically and removed again when the image fails later;
 * what --layer and --features name; whether an earlier run left every output of an image. */
#include "many.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void forget_written(outputs *o, int k) {
  for (int i = 0; i < o->nwritten[k]; i++) free(o->written[k][i]);
  o->nwritten[k] = 0;
}

void wrote(outputs *o, int k, const char *path) {
  char *p = o->nwritten[k] < MAX_WRITTEN ? strdup(path) : NULL;
  if (p) o->written[k][o->nwritten[k]++] = p;
}

void image_fail(outputs *o, int k, const char *msg) {
  item *it = &o->items->v[o->b->idx[k]];
  if (it->failed) return;
  item_fail(it, "%s", msg);
  for (int i = o->nwritten[k] - 1; i >= 0; i--) remove(o->written[k][i]); /* a directory after its files */
  forget_written(o, k);
}

void write_npy(outputs *o, int k, const char *path, const float *data, const int64_t *shape, int nd) {
  vgg_error err;
  if (o->items->v[o->b->idx[k]].failed) return;
  if (vgg_npy_write(path, data, shape, nd, &err)) image_fail(o, k, err.msg);
  else wrote(o, k, path);
}

/* DIR/NAME (an image's maps, dumps and report page) into out, created when missing; -1 fails the image. */
int image_dir(outputs *o, int k, const char *dir, char *out, size_t size) {
  const item *it = &o->items->v[o->b->idx[k]];
  snprintf(out, size, "%s/%s", dir, it->name);
  if (mkdir(out, 0777) == 0) wrote(o, k, out); /* made by this run: removed if the image fails */
  else if (errno != EEXIST) {
    char msg[512];
    snprintf(msg, sizeof msg, "%.400s: cannot create directory: %s", out, strerror(errno));
    image_fail(o, k, msg);
    return -1;
  }
  return 0;
}

/* The map t of image k into DIR/NAME/FILE (dirs: 0 --maps, 1 --report: PNG; 2 --npy: .npy). */
void image_write(outputs *o, int k, int d, const char *file, const vgg_tensor *t, int dense) {
  const char *dirs[3] = {o->c->maps, o->c->report, o->c->npy};
  char path[PBUF + 64];
  if (o->items->v[o->b->idx[k]].failed || image_dir(o, k, dirs[d], path, PBUF)) return;
  snprintf(path + strlen(path), 64, "/%s", file);
  if (d == 2) {
    const int64_t shape[4] = {1, t->h, t->w, t->c}, dshape[2] = {1, t->c};
    write_npy(o, k, path, t->data, dense ? dshape : shape, dense ? 2 : 4);
    return;
  }
  vgg_error err;
  if (vgg_maps_write_png(path, t, &err)) image_fail(o, k, err.msg);
  else wrote(o, k, path);
}

/* --features: DIR/NAME.npy, or with --layer all DIR/LAYER/NAME.npy. */
void feature_path(const outputs *o, int k, const char *layer, char *out, size_t size) {
  const char *name = o->items->v[o->b->idx[k]].name;
  if (o->layer_kind == LAYER_ALL) snprintf(out, size, "%s/%s/%s.npy", o->features, layer, name);
  else snprintf(out, size, "%s/%s.npy", o->features, name);
}

void many_on_block(void *user, int image, int block, const vgg_tensor *t, double seconds) {
  lane *ln = user;
  outputs *o = ln->o;
  const int k = ln->base + image;
  o->ms[k] += seconds * 1e3;
  ln->shapes[block][0] = t->n, ln->shapes[block][1] = t->h, ln->shapes[block][2] = t->w, ln->shapes[block][3] = t->c;
  o->block_ms[k][block] = seconds * 1e3;
  const double t0 = cli_now();
  char file[32];
  /* --maps and --report: blockN.png; --npy: blockN.npy (with --layer, that layer instead: many_on_watch). */
  for (int d = 0; d < 3; d++) {
    const char *dir = d == 0 ? o->c->maps : d == 1 ? o->c->report : o->c->npy;
    if (!dir || (d != 1 && o->c->layer)) continue;
    snprintf(file, sizeof file, "block%d.%s", block, d < 2 ? "png" : "npy");
    image_write(o, k, d, file, t, 0);
  }
  if (o->features && o->layer_kind == LAYER_BLOCK && o->layer_block == block) {
    char path[PBUF];
    const int64_t shape[4] = {t->n, t->h, t->w, t->c};
    feature_path(o, k, NULL, path, sizeof path);
    write_npy(o, k, path, t->data, shape, 4);
  }
  ln->out_sec += cli_now() - t0;
}

/* A watched layer's map: --features of a conv layer, --layer NAME|all into --maps and --npy, and the report's
 * map of every conv layer. */
void many_on_watch(void *user, int image, int layer, const vgg_tensor *t) {
  lane *ln = user;
  outputs *o = ln->o;
  const int k = ln->base + image;
  const vgg_layer *l = vgg_model_layer(o->m, layer);
  const double t0 = cli_now();
  char file[64];
  if (o->features && (o->layer_kind == LAYER_ALL || (o->layer_kind == LAYER_CONV && layer == o->layer_index))) {
    char path[PBUF];
    const int64_t shape[4] = {1, t->h, t->w, t->c};
    feature_path(o, k, l->name, path, sizeof path);
    write_npy(o, k, path, t->data, shape, 4);
  }
  if (o->c->layer == VGG_WATCH_ALL || o->c->layer == layer)
    for (int d = 0; d < 3; d += 2) {
      if (!(d ? o->c->npy : o->c->maps)) continue;
      snprintf(file, sizeof file, "%s.%s", l->name, d ? "npy" : "png");
      image_write(o, k, d, file, t, 0);
    }
  if (o->c->report && l->kind == VGG_LAYER_CONV) {
    snprintf(file, sizeof file, "%s.png", l->name);
    image_write(o, k, 1, file, t, 0);
  }
  ln->out_sec += cli_now() - t0;
}

/* A classifier layer's output for the lane's images: --features fc1|fc2, and --npy with --layer. */
void many_on_dense(void *user, int layer, const vgg_tensor *t) {
  lane *ln = user;
  outputs *o = ln->o;
  const int npy = o->c->npy && (o->c->layer == VGG_WATCH_ALL || o->c->layer == layer);
  /* (predictions: the probabilities, written after the pass) */
  const int feat = o->features && ((o->layer_kind == LAYER_DENSE && layer == o->layer_index) ||
                                   (o->layer_kind == LAYER_ALL && layer < vgg_model_num_layers(o->m) - 1));
  for (int k = ln->base; k < ln->base + t->n && (npy || feat); k++) {
    const vgg_tensor one = {1, 1, 1, t->c, t->data + (size_t)(k - ln->base) * t->c};
    if (feat) {
      char path[PBUF];
      const int64_t shape[2] = {1, t->c};
      feature_path(o, k, vgg_model_layer(o->m, layer)->name, path, sizeof path);
      write_npy(o, k, path, one.data, shape, 2);
    }
    if (npy) {
      char file[64];
      snprintf(file, sizeof file, "%s.npy", vgg_model_layer(o->m, layer)->name);
      image_write(o, k, 2, file, &one, 1);
    }
  }
}

int layer_parse(const run_conf *c, const char *name, outputs *o) {
  static const char *const dense[] = {"fc1", "fc2", "predictions", NULL};
  if (!strcmp(name, "all")) {
    o->layer_kind = LAYER_ALL;
    return 0;
  }
  if (!strncmp(name, "block", 5) && name[5] >= '1' && name[5] <= '5' && !strcmp(name + 6, "_pool")) {
    o->layer_kind = LAYER_BLOCK, o->layer_block = name[5] - '0';
    return 0;
  }
  for (int i = 0; dense[i]; i++)
    if (!strcmp(name, dense[i])) {
      if (!c->top) {
        cli_error("run", "--layer %s is in the classifier: add --top (random init) or use weights that hold it", name);
        return EXIT_USAGE;
      }
      o->layer_kind = i == 2 ? LAYER_PREDICTIONS : LAYER_DENSE;
      o->layer_block = i; /* 0..2: resolved to a model layer once the model exists */
      return 0;
    }
  /* A conv layer: its index in the run's model. */
  vgg_model *m;
  vgg_error err;
  if (vgg_model_create(c->arch, c->top, c->io.size, c->io.size, &m, &err)) {
    cli_error("run", "%s", err.msg);
    return EXIT_USAGE;
  }
  const int i = strstr(name, "_conv") ? run_layer_parse(m, name) : 0;
  vgg_model_free(m);
  if (i > 0) {
    o->layer_kind = LAYER_CONV, o->layer_index = i;
    return 0;
  }
  if (!strstr(name, "_conv"))
    cli_error("run", "--layer '%s' is not one of: block1_pool .. block5_pool, a conv layer (block1_conv1 ...), fc1, fc2, "
              "predictions", name);
  return EXIT_USAGE;
}

/* Whether DIR/NAME holds FILE; with a '*' in FILE, a file of that pattern (gradcam-*.npy: its class is the
 * image's). */
static int has_output(const char *dir, const char *name, const char *file) {
  char path[PBUF];
  struct stat sb;
  const char *star = strchr(file, '*');
  if (!star) return snprintf(path, sizeof path, "%s/%s/%s", dir, name, file), stat(path, &sb) == 0;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  DIR *dd = opendir(path);
  int found = 0;
  for (struct dirent *de; dd && !found && (de = readdir(dd));) {
    const size_t n = strlen(de->d_name), pre = (size_t)(star - file), post = strlen(star + 1);
    found = n >= pre + post && !strncmp(de->d_name, file, pre) && !strcmp(de->d_name + n - post, star + 1);
  }
  if (dd) closedir(dd);
  return found;
}

/* Whether every output of it is there (the last of each kind written: the files are written atomically); the
 * directories they would be in are swept of what a killed run left. */
int outputs_exist(const run_conf *c, const vgg_model *m, const char *features, int feature_all,
                         const char *jsonl, const item *it) {
  char path[PBUF], last[64];
  struct stat sb;
  const char *const dirs[] = {c->maps, c->npy, c->report};
  for (int i = 0; i < 3; i++)
    if (dirs[i] && snprintf(path, sizeof path, "%s/%s", dirs[i], it->name) < (int)sizeof path)
      vgg_sweep_stale_temporaries(path);
  if (features) vgg_sweep_stale_temporaries(features);
  if (jsonl && !it->line) return 0;
  const int nl = vgg_model_num_layers(m);
  if (features && (feature_all ? snprintf(path, sizeof path, "%s/%s/%s.npy", features, vgg_model_layer(m, nl - 1)->name,
                                          it->name)
                               : snprintf(path, sizeof path, "%s/%s.npy", features, it->name),
                   stat(path, &sb) != 0))
    return 0;
  /* --layer: that layer's files (all: the last layer's); else block 5's */
  const int li = c->layer == VGG_WATCH_ALL ? nl - 1 : c->layer;
  const vgg_layer *l = li > 0 ? vgg_model_layer(m, li) : NULL;
  const int dense = l && l->kind == VGG_LAYER_DENSE;
  if (c->maps) {
    const vgg_layer *ml = c->layer == VGG_WATCH_ALL ? vgg_model_layer(m, vgg_model_top(m) ? nl - 5 : nl - 1) : l;
    snprintf(last, sizeof last, "%s.png", ml ? ml->name : "block5");
    if ((!dense || c->layer == VGG_WATCH_ALL) && !has_output(c->maps, it->name, last)) return 0;
    if (c->gradcam && !has_output(c->maps, it->name, "gradcam-*.npy")) return 0;
  }
  if (c->npy && (snprintf(last, sizeof last, "%s.npy", l ? l->name : "block5"), !has_output(c->npy, it->name, last)))
    return 0;
  if (c->report && !has_output(c->report, it->name, "index.html")) return 0;
  return 1;
}

void write_json_line(FILE *f, const item *it, const outputs *o, int kb, const float *probs, int top,
                            double ms) {
  fputs("{\"path\": ", f);
  json_str(f, it->path);
  if (it->failed) {
    fputs(", \"error\": ", f);
    json_str(f, item_err(it));
    fputs("}\n", f);
    return;
  }
  fprintf(f, ", \"input\": [%d, %d], \"blocks\": [", it->info.height, it->info.width);
  for (int b = 1; b <= 5; b++)
    fprintf(f, "%s[%d, %d, %d, %d]", b > 1 ? ", " : "", o->shapes[b][0], o->shapes[b][1], o->shapes[b][2],
            o->shapes[b][3]);
  fputc(']', f);
  if (top) {
    int idx[5];
    vgg_top_k(probs, 1000, 5, idx);
    fputs(", \"top5\": [", f);
    for (int k = 0; k < 5; k++) {
      fprintf(f, "%s{\"class\": %d, \"label\": ", k ? ", " : "", idx[k]);
      json_str(f, vgg_imagenet_label(idx[k]));
      fprintf(f, ", \"prob\": %.6g}", probs[idx[k]]);
    }
    fputc(']', f);
  }
  for (int k = 0; kb >= 0 && k < o->ncam; k++)
    fprintf(f, "%s%d%s", k ? ", " : ", \"gradcam\": [", o->cam_chosen[kb][k], k == o->ncam - 1 ? "]" : "");
  fprintf(f, ", \"ms\": %.3f}\n", ms);
}
