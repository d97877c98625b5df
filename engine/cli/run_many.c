/* vggsimd run over many images: the weights are loaded and packed once, a decoder thread (many_decode.c) fills
 * the next batch while the lanes compute the current one, and every image gets its own outputs
 * (many_outputs.c).  A bad image is reported and the run goes on.  This file: the lanes' passes and the run. */
#include "many.h"
#include "report.h"
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Grad-CAM of the lane's images (one forward pass each, shared by its classes): the class asked for into
 * --maps (gradcam-CLASS.png over the input and gradcam-CLASS.npy), the top 3 into the report's directory. */
static vgg_status lane_gradcam(lane *ln, const vgg_tensor *x) {
  outputs *o = ln->o;
  const int K = o->ncam, S = ln->S;
  const size_t px = (size_t)S * S;
  float *cams = malloc(sizeof(float) * px * (size_t)K * (size_t)x->n);
  int *chosen = malloc(sizeof(int) * (size_t)K * (size_t)x->n);
  vgg_status s = VGG_ERR_NOMEM;
  if (!cams || !chosen) {
    snprintf(ln->err.msg, sizeof ln->err.msg, "out of memory for Grad-CAM's maps of %d images", x->n);
    goto out;
  }
  const double t0 = cli_now(), out0 = ln->out_sec;
  s = vgg_net_gradcam(ln->net, x, o->cam_classes, K, many_on_block, ln, NULL, ln->probs, chosen, cams, &ln->err);
  if (s) goto out;
  const double ms = (cli_now() - t0 - (ln->out_sec - out0)) * 1e3 / x->n;
  for (int i = 0; i < x->n; i++) {
    const int k = ln->base + i;
    o->ms[k] = ms; /* the pass with its Grad-CAM, per image */
    memcpy(o->cam_chosen[k], chosen + (size_t)i * K, sizeof(int) * (size_t)K);
    const vgg_tensor one = {1, S, S, 3, x->data + (size_t)i * px * 3};
    for (int j = 0; j < K; j++) {
      const int asked = o->c->gradcam && j == 0; /* the first class is --gradcam's, the rest the report's */
      const char *dir = asked ? o->c->maps : o->c->report;
      char path[PBUF + 64];
      if (!dir || o->items->v[o->b->idx[k]].failed || image_dir(o, k, dir, path, PBUF)) continue;
      const size_t end = strlen(path);
      const float *map = cams + ((size_t)i * K + j) * px;
      vgg_error err;
      snprintf(path + end, 64, "/gradcam-%d.png", chosen[(size_t)i * K + j]);
      if (vgg_gradcam_write_png(path, &one, o->c->io.preproc, map, &err)) {
        image_fail(o, k, err.msg);
        continue;
      }
      wrote(o, k, path);
      if (!asked) continue;
      const int64_t shape[2] = {S, S};
      snprintf(path + end, 64, "/gradcam-%d.npy", chosen[(size_t)i * K + j]);
      write_npy(o, k, path, map, shape, 2);
    }
  }
out:
  free(cams);
  free(chosen);
  return s;
}

/* A lane's forward pass(es), with each image's classifier time added to its ms. */
static void *lane_main(void *arg) {
  lane *ln = arg;
  outputs *o = ln->o;
  const size_t img = (size_t)ln->S * ln->S * 3;
  const vgg_tensor x = {ln->n, ln->S, ln->S, 3, (float *)ln->x + ln->base * img};
  ln->s = o->watching ? vgg_net_watch(ln->net, many_on_watch, ln, &ln->err) : VGG_OK;
  if (!ln->s)
    ln->s = o->ncam ? lane_gradcam(ln, &x)
                    : vgg_net_forward_all(ln->net, &x, many_on_block, many_on_dense, ln, NULL, ln->probs, &ln->err);
  if (ln->s == VGG_ERR_RANGE && ln->n > 1) {
    /* An image whose values would overflow float32 with these weights: each image again on its own, so that
     * only such images fail (what the first pass wrote is written again, or removed with a failed image). */
    lane one = *ln;
    one.n = 1;
    for (int k = ln->base; k < ln->base + ln->n; k++) {
      forget_written(ln->o, k);
      ln->o->ms[k] = 0;
      one.base = k, one.x = ln->x, one.probs = ln->probs ? ln->probs + (size_t)(k - ln->base) * 1000 : NULL;
      lane_main(&one); /* fails the image itself when its values would overflow */
      if ((ln->s = one.s)) {
        ln->err = one.err;
        return NULL;
      }
      memcpy(ln->shapes, one.shapes, sizeof ln->shapes);
    }
    return NULL;
  }
  if (!ln->s) { /* each image's share of the layer times (the report's) */
    const double *ls = vgg_net_layer_seconds(ln->net);
    for (int k = ln->base; k < ln->base + ln->n; k++)
      for (int i = 0; i < ln->nlayers && i < VGG_MAX_LAYERS; i++) o->layer_sec[k][i] = ls[i] / ln->n;
  }
  if (!ln->s && o->c->top && !o->ncam) { /* fc1, fc2, predictions: the model's last three layers, run on the lane's batch */
    const double *ls = vgg_net_layer_seconds(ln->net);
    const double cls = (ls[ln->nlayers - 3] + ls[ln->nlayers - 2] + ls[ln->nlayers - 1]) * 1e3 / ln->n;
    for (int k = ln->base; k < ln->base + ln->n; k++) ln->o->ms[k] += cls;
  }
  if (ln->s == VGG_ERR_RANGE) { /* one image: it fails, the run goes on */
    image_fail(ln->o, ln->base, ln->err.msg);
    ln->s = VGG_OK;
  }
  return NULL;
}

/* -------------------------------------------------------------- the run -- */

typedef struct {
  int tty;
  double t0;
  int done, total;
} progress;

static void progress_show(progress *p) {
  if (!p->tty) return;
  const double el = cli_now() - p->t0, rate = el > 0 ? p->done / el : 0;
  const double eta = rate > 0 ? (p->total - p->done) / rate : 0;
  fprintf(stderr, "\r\033[K%d/%d images  %.2f images/s  ETA %d:%02d", p->done, p->total, rate, (int)eta / 60,
          (int)eta % 60);
  fflush(stderr);
}

static void progress_clear(const progress *p) {
  if (p->tty) fputs("\r\033[K", stderr);
}

int run_many(const run_conf *c, const opt *opts, const char *const *inputs, int ninputs) {
  long batch_n = 1;
  int rc;
  if ((rc = opt_int("run", opts, "batch", 1, VGG_MAX_BATCH, &batch_n))) return rc;
  /* Lanes: images computed side by side, each on its share of the threads.  Two by default on two or more
   * threads: one image's pass then never waits at a step's end for a thread that lost its core (to the
   * decoder, or anything else running). */
  const int threads = c->eo.threads > 0 ? c->eo.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
  long lanes = threads >= 2 ? 2 : 1;
  if ((rc = opt_int("run", opts, "lanes", 1, RUN_MAX_LANES, &lanes))) return rc;
  if (lanes > threads) {
    cli_error("run", "--lanes %ld needs at least %ld threads (this run has %d; see --threads)", lanes, lanes, threads);
    return EXIT_USAGE;
  }
  const char *jsonl = opt_get(opts, "jsonl"), *features = opt_get(opts, "features"), *layer = opt_get(opts, "layer");
  const int skip_existing = opt_get(opts, "skip-existing") != NULL, quiet = opt_get(opts, "quiet") != NULL;
  outputs *o = calloc(1, sizeof *o);
  item_list items = {0};
  char **keys = NULL;
  done_key *sorted_keys = NULL;
  FILE *jf = NULL;
  char jpart[PBUF] = "", jfinal[PBUF] = "";
  int jsonl_in_place = 0; /* a device or a pipe: written there, no .part */
  decoder d;
  memset(&d, 0, sizeof d);
  int started = 0, made[4] = {0, 0, 0, 0};
  const char *dirs[4] = {features, c->maps, c->npy, c->report}, *flags[4] = {"features", "maps", "npy", "report"};
  report_entry *entries = NULL;
  vgg_model *model = NULL;
  char about[4600] = "";
  run_engine e = {0};
  float *probs = NULL;
  if (!o) {
    cli_error("run", "out of memory");
    return EXIT_FAIL;
  }
  o->c = c;
  o->items = &items;
  o->features = features;
  rc = EXIT_USAGE;
  if ((rc = layer_parse(c, features && layer ? layer : "block5_pool", o))) goto done;
  vgg_error err;
  const int S = c->io.size;
  if (vgg_model_create(c->arch, c->top, S, S, &model, &err)) { /* the layers' names, before the nets exist */
    cli_error("run", "%s", err.msg);
    goto done;
  }
  o->m = model;
  if (skip_existing && !jsonl && !features && !c->maps && !c->npy && !c->report) {
    cli_error("run", "--skip-existing needs an output to look for: --jsonl, --features, --maps, --npy or --report");
    rc = EXIT_USAGE;
    goto done;
  }
  for (int i = 0; i < ninputs && !rc; i++) {
    struct stat sb;
    if (inputs[i][0] == '@') rc = add_list(&items, inputs[i] + 1);
    else if (stat(inputs[i], &sb) == 0 && S_ISDIR(sb.st_mode)) rc = add_dir(&items, inputs[i]);
    else if (add_item(&items, inputs[i])) {
      cli_error("run", "out of memory");
      rc = EXIT_FAIL;
    }
  }
  if (rc) goto done;
  if (!items.n) {
    cli_error("run", "no images to run");
    rc = EXIT_USAGE;
    goto done;
  }
  /* Per-image files are named after the image's file name: two images must not share one. */
  if (features || c->maps || c->npy || c->report) {
    const char **names = malloc((size_t)items.n * sizeof *names);
    if (!names) {
      cli_error("run", "out of memory");
      rc = EXIT_FAIL;
      goto done;
    }
    for (int i = 0; i < items.n; i++) names[i] = items.v[i].name;
    qsort(names, (size_t)items.n, sizeof *names, cmp_str);
    for (int i = 1; i < items.n && !rc; i++)
      if (!strcmp(names[i - 1], names[i])) {
        cli_error("run", "two inputs are named '%s': their outputs would overwrite each other (rename one)", names[i]);
        rc = EXIT_USAGE;
      }
    free(names);
    if (rc) goto done;
  }
  for (int i = 0; i < items.n; i++)
    for (int k = 0; k < 4; k++)
      if (dirs[k] && strlen(dirs[k]) + strlen(items.v[i].name) + 32 >= 4096) { /* room for a layer's name */
        cli_error("run", "--%s %s: the path of %s's output would be longer than 4096 bytes", flags[k], dirs[k],
                  items.v[i].name);
        rc = EXIT_USAGE;
        goto done;
      }
  if (jsonl && strlen(jsonl) + 6 >= 4096) {
    cli_error("run", "--jsonl: the path is longer than 4096 bytes");
    rc = EXIT_USAGE;
    goto done;
  }
  rc = EXIT_FAIL;
  for (int k = 0; k < 4; k++)
    if (dirs[k] && cli_prepare_dir("run", flags[k], dirs[k], &made[k])) goto done;
  for (int i = 1; o->layer_kind == LAYER_ALL && i < vgg_model_num_layers(model); i++) { /* DIR/LAYER/ */
    const vgg_layer *l = vgg_model_layer(model, i);
    char ldir[PBUF];
    snprintf(ldir, sizeof ldir, "%s/%s", features, l->name);
    if (l->kind != VGG_LAYER_FLATTEN && mkdir(ldir, 0777) != 0 && errno != EEXIST) {
      cli_error("run", "--features %s: cannot create directory %s: %s", features, ldir, strerror(errno));
      goto done;
    }
  }
  if (jsonl) {
    vgg_error te;
    if (vgg_output_target(jsonl, jfinal, sizeof jfinal - 5, &jsonl_in_place, &te)) { /* room for .part */
      cli_error("run", "--jsonl %s", te.msg);
      goto done;
    }
    snprintf(jpart, sizeof jpart, "%s", jfinal);
    if (!jsonl_in_place) strcat(jpart, ".part");
  }
  if (skip_existing) {
    if (!(keys = calloc((size_t)items.n, sizeof *keys))) goto done;
    for (int i = 0; i < items.n; i++)
      if (!(keys[i] = json_str_dup(items.v[i].path))) goto done;
    if (!(sorted_keys = malloc((size_t)items.n * sizeof *sorted_keys + 1))) goto done;
    for (int i = 0; i < items.n; i++) sorted_keys[i] = (done_key){keys[i], strlen(keys[i]), i};
    qsort(sorted_keys, (size_t)items.n, sizeof *sorted_keys, cmp_done_key);
    if (jsonl && !jsonl_in_place)
      read_done_lines(jfinal, &items, sorted_keys), read_done_lines(jpart, &items, sorted_keys);
    for (int i = 0; i < items.n; i++)
      items.v[i].skip = outputs_exist(c, model, features, o->layer_kind == LAYER_ALL, jsonl, &items.v[i]);
  }
  if (jsonl && !(jf = jsonl_in_place ? fopen(jpart, "w") : vgg_open_new(jpart, 0))) {
    cli_error("run", "--jsonl %s: cannot write %s: %s", jsonl, jpart,
              errno == ELOOP ? "a symbolic link is there (not written through)" : strerror(errno));
    goto done;
  }

  if (items.n < 2) lanes = 1;
  run_conf oc = *c; /* --features of a conv layer: nets that write its map whole and hand it out */
  if (o->layer_kind == LAYER_CONV && !oc.eo.watch_layer) oc.eo.watch_layer = o->layer_index;
  if (o->layer_kind == LAYER_ALL) oc.eo.watch_layer = VGG_WATCH_ALL;
  o->watching = oc.eo.watch_layer != 0;
  /* Grad-CAM: the class asked for, then the top 3 for the report's pages. */
  if (c->gradcam) o->cam_classes[o->ncam++] = c->gradcam_class;
  for (int k = 1; k <= 3 && c->gradcam_layer && c->report; k++) o->cam_classes[o->ncam++] = -k;
  if (run_engine_open(&oc, S, S, (int)lanes, &e, &err)) {
    cli_error("run", "%s", err.msg);
    goto done;
  }
  if (o->layer_kind == LAYER_DENSE || o->layer_kind == LAYER_PREDICTIONS) /* the model's last three layers */
    o->layer_index = vgg_model_num_layers(e.m) - 3 + o->layer_block;
  run_print_header(c, &e, S, S);
  run_describe(c, &e, S, S, about, sizeof about);
  if (c->report) {
    if (!(entries = calloc((size_t)items.n, sizeof *entries))) goto done;
    for (int i = 0; i < items.n; i++) entries[i].image = items.v[i].path, entries[i].name = items.v[i].name;
  }
  if (c->top && !(probs = malloc(sizeof(float) * 1000 * (size_t)batch_n * (size_t)e.lanes))) goto done;
  d.c = c, d.items = &items, d.cap = (int)batch_n * e.lanes;
  for (int k = 0; k < 2; k++)
    if (vgg_tensor_alloc(&d.b[k].x, d.cap, S, S, 3, &err)) {
      cli_error("run", "%s", err.msg);
      goto done;
    }
  pthread_mutex_init(&d.mu, NULL);
  pthread_cond_init(&d.cv, NULL);
  pthread_t th;
  if (pthread_create(&th, NULL, decoder_main, &d) != 0) {
    cli_error("run", "cannot start the decoder thread");
    goto done;
  }
  started = 1;
  progress p = {isatty(2) && !quiet, cli_now(), 0, 0};
  for (int i = 0; i < items.n; i++) p.total += !items.v[i].skip;
  int nok = 0, nfailed = 0, nskipped = 0, fatal = 0;
  const double t_start = cli_now();
  for (int k = 0, pos = 0; pos < items.n && !fatal; k ^= 1) {
    batch *b = &d.b[k];
    pthread_mutex_lock(&d.mu);
    while (!b->full) pthread_cond_wait(&d.cv, &d.mu);
    pthread_mutex_unlock(&d.mu);
    o->b = b;
    memset(o->ms, 0, sizeof o->ms);
    if (b->n) {
      /* The batch in one contiguous share per lane, each share at most --batch images. */
      const int per = (b->n + e.lanes - 1) / e.lanes;
      lane ln[RUN_MAX_LANES];
      pthread_t lt[RUN_MAX_LANES];
      int nl = 0, started_l[RUN_MAX_LANES] = {0};
      for (int l = 0; l < e.lanes && l * per < b->n; l++, nl++) {
        memset(&ln[l], 0, sizeof ln[l]);
        ln[l].o = o, ln[l].net = e.nets[l], ln[l].x = b->x.data, ln[l].S = S, ln[l].nlayers = vgg_model_num_layers(e.m);
        ln[l].base = l * per, ln[l].n = b->n - l * per < per ? b->n - l * per : per;
        ln[l].probs = probs ? probs + (size_t)ln[l].base * 1000 : NULL;
      }
      for (int l = 1; l < nl; l++) started_l[l] = pthread_create(&lt[l], NULL, lane_main, &ln[l]) == 0;
      lane_main(&ln[0]);
      for (int l = 1; l < nl; l++) {
        if (started_l[l]) pthread_join(lt[l], NULL);
        else lane_main(&ln[l]); /* no thread to be had: run it here */
      }
      memcpy(o->shapes, ln[0].shapes, sizeof o->shapes);
      for (int l = 0; l < nl && !fatal; l++)
        if (ln[l].s) {
          progress_clear(&p);
          cli_error("run", "%s", ln[l].err.msg);
          fatal = 1;
        }
      if (fatal) break;
      if (features && (o->layer_kind == LAYER_PREDICTIONS || (o->layer_kind == LAYER_ALL && c->top)))
        for (int j = 0; j < b->n; j++) {
          char path[PBUF];
          const int64_t shape[2] = {1, 1000};
          feature_path(o, j, "predictions", path, sizeof path);
          write_npy(o, j, path, probs + (size_t)j * 1000, shape, 2);
        }
    }
    if (c->report) /* each image's page: its input as the net saw it, then the page */
      for (int j = 0; j < b->n; j++) {
        item *it = &items.v[b->idx[j]];
        char dir[PBUF], path[PBUF + 32];
        if (it->failed || image_dir(o, j, c->report, dir, sizeof dir)) continue;
        const vgg_tensor one = {1, S, S, 3, b->x.data + (size_t)j * S * S * 3};
        snprintf(path, sizeof path, "%s/input.png", dir);
        if (vgg_image_write_png(path, &one, c->io.preproc, &err)) {
          image_fail(o, j, err.msg);
          continue;
        }
        wrote(o, j, path);
        report_page pg = {it->path, about, e.m, e.net, {{0}}, {0}, probs ? probs + (size_t)j * 1000 : NULL,
                          o->ms[j], "../index.html", 0, {0}, NULL, c->eo.watch_layer == VGG_WATCH_ALL, o->layer_sec[j]};
        for (int k = c->gradcam; k < o->ncam; k++) pg.cam_class[pg.ncam++] = o->cam_chosen[j][k];
        if (pg.ncam) pg.cam_layer = vgg_model_layer(e.m, c->gradcam_layer)->name;
        memcpy(pg.shapes, o->shapes, sizeof pg.shapes);
        memcpy(pg.block_ms, o->block_ms[j], sizeof pg.block_ms);
        if (report_page_write(dir, &pg)) image_fail(o, j, "cannot write its report page");
      }
    /* Results in input order: skipped, failed and computed images alike. */
    for (int i = b->first, j = 0; i < b->last; i++) {
      item *it = &items.v[i];
      if (it->skip) {
        if (jf) fputs(it->line ? it->line : "", jf);
        nskipped++;
        continue;
      }
      const int kb = j < b->n && b->idx[j] == i ? j++ : -1;
      const float *pr = kb >= 0 && probs ? probs + (size_t)kb * 1000 : NULL;
      const double ms = kb >= 0 ? o->ms[kb] : 0;
      progress_clear(&p);
      if (it->failed) {
        if (strstr(item_err(it), it->path)) cli_error("run", "%s", item_err(it));
        else cli_error("run", "%s: %s", it->path, item_err(it));
        nfailed++;
      } else {
        printf("%s  ", it->path);
        if (c->top) {
          int idx[5];
          vgg_top_k(pr, 1000, 5, idx);
          for (int t = 0; t < (c->top5 ? 5 : 1); t++)
            printf("%s%s %.5f", t ? ", " : "", vgg_imagenet_label(idx[t]), pr[idx[t]]);
        } else {
          printf("[%d, %d, %d, %d]", o->shapes[5][0], o->shapes[5][1], o->shapes[5][2], o->shapes[5][3]);
        }
        printf("  %.2f ms\n", ms);
        fflush(stdout);
        nok++;
      }
      if (jf) write_json_line(jf, it, o, kb, pr, c->top, ms);
      if (entries) {
        report_entry *en = &entries[i];
        en->ms = ms;
        if (it->failed) en->error = item_err(it);
        else {
          char res[160];
          if (c->top) {
            int idx[5];
            vgg_top_k(pr, 1000, 5, idx);
            snprintf(res, sizeof res, "%s %.4f", vgg_imagenet_label(idx[0]), pr[idx[0]]);
          } else
            snprintf(res, sizeof res, "[%d, %d, %d, %d]", o->shapes[5][0], o->shapes[5][1], o->shapes[5][2],
                     o->shapes[5][3]);
          en->result = strdup(res);
        }
      }
      p.done++;
      progress_show(&p);
    }
    if (jf && (fflush(jf) != 0 || ferror(jf))) {
      progress_clear(&p);
      cli_error("run", "--jsonl %s: write error: %s", jpart, strerror(errno));
      fatal = 1;
    }
    for (int j = 0; j < b->n; j++) forget_written(o, j);
    pos = b->last;
    pthread_mutex_lock(&d.mu);
    b->full = 0;
    pthread_cond_broadcast(&d.cv);
    pthread_mutex_unlock(&d.mu);
  }
  pthread_mutex_lock(&d.mu);
  d.stop = 1;
  pthread_cond_broadcast(&d.cv);
  pthread_mutex_unlock(&d.mu);
  pthread_join(th, NULL);
  started = 0;
  progress_clear(&p);
  if (fatal) goto done; /* the .part file stays: --skip-existing resumes from it */
  if (jf) {
    const int bad = fclose(jf) != 0;
    jf = NULL;
    if (bad || (!jsonl_in_place && rename(jpart, jfinal) != 0)) {
      cli_error("run", "--jsonl %s: cannot write: %s", jsonl, strerror(errno));
      goto done;
    }
  }
  if (c->report) {
    char ipath[PBUF];
    snprintf(ipath, sizeof ipath, "%s/index.html", c->report);
    if (report_index_write(c->report, about, entries, items.n)) goto done;
    printf("wrote %s\n", ipath);
  }
  const double el = cli_now() - t_start;
  printf("%d image%s: %d done, %d failed, %d skipped (outputs already there); %.2f images/s\n", items.n,
         items.n == 1 ? "" : "s", nok, nfailed, nskipped, el > 0 ? nok / el : 0.0);
  if (jsonl) printf("wrote %s\n", jsonl);
  rc = nfailed ? EXIT_FAIL : 0;
done:
  if (started) {
    pthread_mutex_lock(&d.mu);
    d.stop = 1;
    pthread_cond_broadcast(&d.cv);
    pthread_mutex_unlock(&d.mu);
  }
  if (rc == EXIT_FAIL && made[0] && o->layer_kind == LAYER_ALL && model) /* --features' layer directories */
    for (int i = 1; i < vgg_model_num_layers(model); i++) {
      char ldir[PBUF];
      snprintf(ldir, sizeof ldir, "%s/%s", features, vgg_model_layer(model, i)->name);
      rmdir(ldir);
    }
  if (rc == EXIT_FAIL) /* directories this run made and left empty */
    for (int k = 0; k < 4; k++)
      if (made[k]) rmdir(dirs[k]);
  free(probs);
  if (entries)
    for (int i = 0; i < items.n; i++) free((char *)entries[i].result);
  free(entries);
  run_engine_close(&e);
  vgg_model_free(model);
  for (int k = 0; k < 2; k++) vgg_tensor_free(&d.b[k].x);
  if (jf) fclose(jf);
  if (keys)
    for (int i = 0; i < items.n; i++) free(keys[i]);
  free(keys);
  free(sorted_keys);
  free_items(&items);
  free(o);
  return rc;
}
