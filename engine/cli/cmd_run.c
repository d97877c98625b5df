/* vggsimd run IMAGE: block shapes and times, feature-map PNGs, .npy dumps, top-5. */
#include "run.h"
#include "report.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static const char help[] =
    "usage: vggsimd run [IMAGE | DIR | @LIST ...] [options]\n"
    "  IMAGE            JPEG/PNG/BMP/... (1-4 channels, 8/16 bit) or a .npy float32 (H,W,3)/(1,H,W,3) array\n"
    "                   used as-is; default: the bundled photo " VGG_DATA_DIR "/chelsea.png\n"
    "  DIR, @LIST       the image files of a directory (sorted, not recursive), the paths listed in a\n"
    "                   file (one per line; # comments).  Several images, a DIR or a @LIST make a\n"
    "                   many-image run: weights loaded once, one line per image, options below\n"
    "  --weights FILE   safetensors (torchvision or Keras naming), Keras .h5 or ONNX (default: random init, see --seed)\n"
    "  --seed N         seed of the random init when no --weights (default 0)\n"
    "  --arch NAME      one of" VGG_ARCH_NAMES " (default vgg16)\n"
    "  --top            include the classifier (implied by --top5 or a classifier --layer when --weights\n"
    "                   holds it; without them a full weights file runs its conv base, the classifier unread)\n"
    "  --top5           print the five most likely ImageNet classes (needs the classifier)\n"
    "  --size N         resize to N x N (default 224; the classifier needs 224..255)\n"
    "  --resize MODE    torchvision (Resize(N*256/224) + CenterCrop(N) on a PIL image) | keras\n"
    "                   (load_img(target_size): PIL nearest, squashed) | direct (stb_image_resize, squashed) |\n"
    "                   crop (stb_image_resize, shorter side to N*256/224, centre crop); default: torchvision\n"
    "                   for torchvision-named weights, keras for Keras-named and random weights\n"
    "  --max-pixels N   refuse pictures that decode to more than N pixels (default 67108864 = 8192x8192)\n"
    "  --full-decode    decode a JPEG at full size (default: at 1/2, 1/4 or 1/8 when that still covers --size)\n"
    "  --no-exif        keep a JPEG as stored (default: turned upright as its EXIF orientation says)\n"
    "  --preproc MODE   caffe (BGR, mean subtracted) | torch (RGB/255, ImageNet mean/std);\n"
    "                   default: torch for torchvision weights, caffe otherwise\n"
    "  --maps DIR       write blockN.png: first 64 channels of each block output, viridis grid\n"
    "  --npy DIR        write blockN.npy: each block output, NHWC float32\n"
    "  --report DIR     write DIR/index.html: the input as the network saw it, every layer's maps with its shape\n"
    "                   and time, the plan, the model summary and each layer's arithmetic; with the classifier\n"
    "                   the top-5 chart and the top 3's Grad-CAM (a page per image and an index page when there\n"
    "                   are several)\n"
    "  --layer NAME     what --maps, --npy and --features write instead of the block outputs: a layer by its\n"
    "                   Keras name (block3_conv3: after its ReLU; block3_pool; fc1, fc2, predictions: .npy only)\n"
    "                   or all (every layer; --features then writes DIR/LAYER/NAME.npy); --features'\n"
    "                   default: block5_pool\n"
    ;
/* (the engine options: cli_print_options) */
static const char help_tail[] =
    "                   error and speed of int8 and bf16: docs/precision.md\n"
    "  --ranges FILE    int8 activation ranges from `vggsimd calibrate`; without it int8 calibrates on the\n"
    "                   bundled photo first and says so\n"
    "  --gradcam        Grad-CAM (needs the classifier and --maps DIR): where in the picture the network found\n"
    "                   its evidence for a class; writes gradcam-CLASS.png (the map over the input) and\n"
    "                   gradcam-CLASS.npy (the map, H x W, 0..1); f32 or bf16\n"
    "  --gradcam-class C  the class: an index 0..999 or an ImageNet label (tabby, tiger_cat); default: top-1\n"
    "  --gradcam-layer L  the conv layer whose output it explains (default the last: block5_conv3 in VGG16)\n"
    "  --repeat N       run the forward pass N more times and report the fastest (default 0; one image)\n"
    "many images (--maps, --npy and --report then write one subdirectory per image, named after its file):\n"
    "  --batch N        images per forward pass, 1 to 64 (default 1); decoding runs ahead on its own thread\n"
    "  --lanes N        images computed side by side, each on its share of the threads (default 2 with 2 or\n"
    "                   more threads, else 1): more images/s, each image's own pass slower\n"
    "  --jsonl FILE     one JSON line per image: path, input size, block shapes, top-5 with the classifier,\n"
    "                   milliseconds, or the image's error\n"
    "  --features DIR   DIR/NAME.npy per image (NAME: the image's file name) of the layer --layer\n"
    "  --skip-existing  leave out images whose outputs are all there (resumes an interrupted run)\n"
    "  --quiet, -q      no progress line (shown on stderr when it is a terminal); changes nothing else\n"
    "An image that fails is reported on its own line and the run goes on; the exit code is then 1.\n";

#define MAX_OUT 80 /* --layer all: 2 files for each of VGG19's 26 layers, and the rest */


typedef struct {
  const char *maps, *npy, *report;
  int layer; /* --layer: 0, VGG_WATCH_ALL or a layer's index */
  const vgg_model *m;
  int shapes[6][4];
  double block_ms[6];
  int quiet;      /* repeated passes: no printing, no files */
  double out_sec; /* time spent writing outputs */
  char written[MAX_OUT][4200];
  int nwritten;
  int failed;
  vgg_error err;
  double total;
} run_ctx;

static void on_block(void *user, int image, int block, const vgg_tensor *t, double seconds) {
  run_ctx *c = user;
  (void)image; /* one image */
  c->total += seconds;
  if (c->quiet) return;
  const double t0 = cli_now();
  printf("block%d  [%d, %d, %d, %d]  %9.2f ms\n", block, t->n, t->h, t->w, t->c, seconds * 1e3);
  fflush(stdout);
  c->shapes[block][0] = t->n, c->shapes[block][1] = t->h, c->shapes[block][2] = t->w, c->shapes[block][3] = t->c;
  c->block_ms[block] = seconds * 1e3;
  const char *dirs[3] = {c->layer ? NULL : c->maps, c->layer ? NULL : c->npy, c->report};
  for (int k = 0; k < 3 && !c->failed; k++) {
    if (!dirs[k]) continue;
    char *path = c->written[c->nwritten];
    snprintf(path, sizeof c->written[0], "%s/block%d.%s", dirs[k], block, k == 1 ? "npy" : "png");
    vgg_status s;
    if (k != 1) s = vgg_maps_write_png(path, t, &c->err);
    else {
      const int64_t shape[4] = {t->n, t->h, t->w, t->c};
      s = vgg_npy_write(path, t->data, shape, 4, &c->err);
    }
    if (s) c->failed = 1;
    else c->nwritten++;
  }
  c->out_sec += cli_now() - t0;
}

/* A layer's output (--layer) into --maps (NAME.png: conv and pool maps) and --npy (NAME.npy). */
static void write_layer(run_ctx *c, int layer, const vgg_tensor *t) {
  if (c->quiet || c->failed || (c->layer != VGG_WATCH_ALL && layer != c->layer)) return;
  const double t0 = cli_now();
  const char *name = vgg_model_layer(c->m, layer)->name;
  const int dense = t->h == 1 && t->w == 1 && vgg_model_layer(c->m, layer)->kind == VGG_LAYER_DENSE;
  for (int k = 0; k < 2 && !c->failed; k++) {
    const char *dir = k ? c->npy : c->maps;
    if (!dir || (!k && dense) || c->nwritten >= MAX_OUT) continue;
    char *path = c->written[c->nwritten];
    snprintf(path, sizeof c->written[0], "%s/%s.%s", dir, name, k ? "npy" : "png");
    const int64_t shape[4] = {1, t->h, t->w, t->c}, dshape[2] = {1, t->c};
    if (k ? vgg_npy_write(path, t->data, dense ? dshape : shape, dense ? 2 : 4, &c->err)
          : vgg_maps_write_png(path, t, &c->err))
      c->failed = 1;
    else c->nwritten++;
  }
  c->out_sec += cli_now() - t0;
}

static void on_watch(void *user, int image, int layer, const vgg_tensor *t) {
  (void)image; /* one image */
  run_ctx *c = user;
  if (c->layer) write_layer(c, layer, t);
  /* The report: each conv layer's maps beside the block outputs (its pools are those). */
  if (!c->report || c->quiet || c->failed || vgg_model_layer(c->m, layer)->kind != VGG_LAYER_CONV ||
      c->nwritten >= MAX_OUT)
    return;
  const double t0 = cli_now();
  char *path = c->written[c->nwritten];
  snprintf(path, sizeof c->written[0], "%s/%s.png", c->report, vgg_model_layer(c->m, layer)->name);
  if (vgg_maps_write_png(path, t, &c->err)) c->failed = 1;
  else c->nwritten++;
  c->out_sec += cli_now() - t0;
}

static void on_dense(void *user, int layer, const vgg_tensor *t) { write_layer(user, layer, t); }

/* ------------------------------------------------------------ one image -- */

static int run_one(const run_conf *c, const char *path, long repeat) {
  run_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.maps = c->maps;
  ctx.npy = c->npy;
  ctx.report = c->report;
  ctx.layer = c->layer;
  int rc, made_maps = 0, made_npy = 0, made_report = 0;
  if (ctx.maps && (rc = cli_prepare_dir("run", "maps", ctx.maps, &made_maps))) return rc;
  if (ctx.npy && (rc = cli_prepare_dir("run", "npy", ctx.npy, &made_npy))) {
    if (made_maps) rmdir(ctx.maps);
    return rc;
  }
  if (ctx.report && (rc = cli_prepare_dir("run", "report", ctx.report, &made_report))) {
    if (made_maps) rmdir(ctx.maps);
    if (made_npy) rmdir(ctx.npy);
    return rc;
  }
  vgg_tensor in = {0};
  run_engine e = {0};
  vgg_error err;
  float *cams = NULL;
  rc = EXIT_FAIL;
  /* The time of every stage a user waits for, so the slow one shows. */
  double t = cli_now(), t_decode, t_first;
  if (vgg_image_load(path, &c->io, &in, &err)) goto fail;
  t_decode = cli_now() - t;
  if (run_engine_open(c, in.h, in.w, 1, &e, &err)) goto fail;
  run_print_header(c, &e, in.h, in.w);
  const int top = c->top;
  vgg_net *net = e.net;
  float logits[1000], probs[1000];
  ctx.m = e.m;
  if (c->eo.watch_layer && vgg_net_watch(net, on_watch, &ctx, &err)) goto fail;
  t = cli_now();
  /* Grad-CAM: the class asked for, then the top 3 for the report, from the one forward pass. */
  int classes[RUN_GRADCAM_MAX], chosen[RUN_GRADCAM_MAX], ncam = 0;
  if (c->gradcam) classes[ncam++] = c->gradcam_class;
  for (int k = 1; k <= 3 && c->gradcam_layer && ctx.report; k++) classes[ncam++] = -k;
  if (ncam && !(cams = malloc(sizeof(float) * (size_t)ncam * in.h * in.w))) {
    snprintf(err.msg, sizeof err.msg, "out of memory for Grad-CAM's maps");
    goto fail;
  }
  if (ncam ? vgg_net_gradcam(net, &in, classes, ncam, on_block, &ctx, logits, probs, chosen, cams, &err)
           : vgg_net_forward_all(net, &in, on_block, ctx.layer ? on_dense : NULL, &ctx, top ? logits : NULL,
                                 top ? probs : NULL, &err))
    goto fail;
  if (ctx.failed) {
    err = ctx.err;
    goto fail;
  }
  t_first = cli_now() - t - ctx.out_sec;
  printf("conv base %9.2f ms\n", ctx.total * 1e3);
  if (ncam) {
    const vgg_layer *gl = vgg_model_layer(e.m, c->gradcam_layer);
    printf("Grad-CAM of %s [%d, %d, %d]: %d class%s, with the forward pass %.2f ms\n", gl->name, gl->out_h, gl->out_w,
           gl->out_c, ncam, ncam > 1 ? "es" : "", t_first * 1e3);
  }
  const size_t cam_px = (size_t)in.h * in.w;
  for (int k = 0; k < ncam && ctx.maps && c->gradcam; k += ncam) { /* the class asked for, into --maps */
    const double t0 = cli_now();
    printf("  class %d (%s), p %.5f\n", chosen[0], vgg_imagenet_label(chosen[0]), probs[chosen[0]]);
    char *pp = ctx.written[ctx.nwritten];
    snprintf(pp, sizeof ctx.written[0], "%s/gradcam-%d.png", ctx.maps, chosen[0]);
    if (vgg_gradcam_write_png(pp, &in, c->io.preproc, cams, &err)) goto fail;
    ctx.nwritten++;
    char *np = ctx.written[ctx.nwritten];
    snprintf(np, sizeof ctx.written[0], "%s/gradcam-%d.npy", ctx.maps, chosen[0]);
    const int64_t shape[2] = {in.h, in.w};
    if (vgg_npy_write(np, cams, shape, 2, &err)) goto fail;
    ctx.nwritten++;
    ctx.out_sec += cli_now() - t0;
  }
  if (repeat > 0) {
    const double first_base = ctx.total;
    double best = 1e30, best_base = 1e30;
    ctx.quiet = 1;
    for (long r = 0; r < repeat; r++) {
      ctx.total = 0;
      t = cli_now();
      if (vgg_net_forward(net, &in, on_block, &ctx, top ? logits : NULL, top ? probs : NULL, &err)) goto fail;
      const double f = cli_now() - t;
      best = f < best ? f : best;
      best_base = ctx.total < best_base ? ctx.total : best_base;
    }
    printf("repeat: first pass %.2f ms (conv base %.2f), fastest of %ld more %.2f ms (conv base %.2f): first/fastest %.2f\n",
           t_first * 1e3, first_base * 1e3, repeat, best * 1e3, best_base * 1e3, t_first / best);
  }
  if (c->top5) {
    int idx[5];
    vgg_top_k(probs, 1000, 5, idx);
    if (c->wpath && !c->seeded) printf("top-5:\n");
    else /* a seeded init: the classes say nothing about the picture */
      printf("top-5 (untrained weights: Glorot-uniform from seed %llu; these classes mean nothing):\n",
             (unsigned long long)c->seed);
    for (int k = 0; k < 5; k++)
      printf("  %d. %-30s %8.5f  (class %d, logit %.6g)\n", k + 1, vgg_imagenet_label(idx[k]), probs[idx[k]], idx[k],
             logits[idx[k]]);
  }
  if (ctx.report) {
    char about[4600];
    run_describe(c, &e, in.h, in.w, about, sizeof about);
    report_page p = {path, about, e.m, net, {{0}}, {0}, top ? probs : NULL, t_first * 1e3, NULL, 0, {0}, NULL,
                     c->eo.watch_layer == VGG_WATCH_ALL};
    for (int k = c->gradcam; k < ncam; k++) { /* the top 3's Grad-CAM over the input */
      char *gp = ctx.written[ctx.nwritten];
      snprintf(gp, sizeof ctx.written[0], "%s/gradcam-%d.png", ctx.report, chosen[k]);
      if (vgg_gradcam_write_png(gp, &in, c->io.preproc, cams + (size_t)k * cam_px, &err)) goto fail;
      ctx.nwritten++;
      p.cam_class[p.ncam++] = chosen[k];
      p.cam_layer = vgg_model_layer(e.m, c->gradcam_layer)->name;
    }
    memcpy(p.shapes, ctx.shapes, sizeof p.shapes);
    memcpy(p.block_ms, ctx.block_ms, sizeof p.block_ms);
    char *ip = ctx.written[ctx.nwritten];
    snprintf(ip, sizeof ctx.written[0], "%s/input.png", ctx.report);
    if (vgg_image_write_png(ip, &in, c->io.preproc, &err)) goto fail;
    ctx.nwritten++;
    if (report_page_write(ctx.report, &p)) {
      rc = EXIT_FAIL;
      for (int i = 0; i < ctx.nwritten; i++) remove(ctx.written[i]);
      if (made_report) rmdir(ctx.report);
      goto done;
    }
    snprintf(ctx.written[ctx.nwritten++], sizeof ctx.written[0], "%s/index.html", ctx.report);
  }
  for (int i = 0; i < ctx.nwritten; i++) printf("wrote %s\n", ctx.written[i]);
  printf("time: decode %.1f ms, load %.1f ms, pack %.1f ms, forward %.1f ms, outputs %.1f ms\n", t_decode * 1e3,
         e.t_load * 1e3, e.t_pack * 1e3, t_first * 1e3, ctx.out_sec * 1e3);
  rc = 0;
fail:
  if (rc) {
    cli_error("run", "%s", err.msg);
    for (int i = 0; i < ctx.nwritten; i++) remove(ctx.written[i]); /* no partial output */
    if (made_maps) rmdir(ctx.maps);
    if (made_npy) rmdir(ctx.npy);
    if (made_report) rmdir(ctx.report);
  }
done:
  free(cams);
  run_engine_close(&e);
  vgg_tensor_free(&in);
  return rc;
}

/* ------------------------------------------------------------- command -- */

/* --gradcam, --gradcam-class and --gradcam-layer into c (m: the run's model); a report with the classifier
 * shows Grad-CAM too.  0 or the exit code. */
static int gradcam_options(const opt *opts, const vgg_model *m, run_conf *c) {
  const char *cls = opt_get(opts, "gradcam-class"), *layer = opt_get(opts, "gradcam-layer");
  if ((cls || layer) && !c->gradcam) {
    cli_error("run", "--gradcam-%s applies to --gradcam", cls ? "class" : "layer");
    return EXIT_USAGE;
  }
  c->gradcam_class = -1;
  if (cls) {
    char *end;
    const long v = strtol(cls, &end, 10);
    c->gradcam_class = *cls && !*end ? (v >= 0 && v < 1000 ? (int)v : -2) : vgg_imagenet_class(cls);
    if (c->gradcam_class < 0) {
      cli_error("run", "--gradcam-class '%s' is not a class index from 0 to 999 or an ImageNet class name", cls);
      return EXIT_USAGE;
    }
  }
  const int report = opt_get(opts, "report") != NULL;
  if (c->gradcam && !opt_get(opts, "maps") && !report) {
    cli_error("run", "--gradcam writes gradcam-CLASS.png and .npy into --maps DIR (or shows them in --report DIR)");
    return EXIT_USAGE;
  }
  if (!c->gradcam && !(report && c->top)) return 0;
  if (c->eo.precision == VGG_PRECISION_INT8) {
    if (!c->gradcam) return 0; /* an int8 report goes without Grad-CAM */
    cli_error("run", "--gradcam runs in f32 or bf16, not int8");
    return EXIT_USAGE;
  }
  for (int i = 0; i < vgg_model_num_layers(m); i++) {
    const vgg_layer *l = vgg_model_layer(m, i);
    if (l->kind == VGG_LAYER_CONV && (layer ? !strcmp(layer, l->name) : 1)) c->gradcam_layer = i;
  }
  if (!c->gradcam_layer) {
    cli_error("run", "--gradcam-layer '%s' is not a conv layer of %s (block1_conv1 ...)", layer,
              vgg_arch_name(vgg_model_arch(m)));
    return EXIT_USAGE;
  }
  return 0;
}

/* Options checked once for both modes; then one image or many. */
static int cmd_run_inputs(const opt *opts, const char *const *pos, int npos) {
  run_conf c;
  memset(&c, 0, sizeof c);
  long size = 224, max_pixels = VGG_DEFAULT_MAX_PIXELS, repeat = 0;
  int resize = -1, preproc = -1, rc;
  static const char *const preprocs[] = {"caffe", "torch", NULL};
  const char *const *resizes = vgg_resize_names();
  if ((rc = opt_arch("run", opts, &c.arch)) || (rc = opt_u64("run", opts, "seed", &c.seed)) ||
      (rc = opt_int("run", opts, "size", 32, 4096, &size)) ||
      (rc = opt_int("run", opts, "max-pixels", 1, 1L << 31, &max_pixels)) ||
      (rc = opt_int("run", opts, "repeat", 0, 100000, &repeat)) ||
      (rc = opt_choice("run", opts, "resize", resizes, &resize)) ||
      (rc = opt_choice("run", opts, "preproc", preprocs, &preproc)) || (rc = opt_engine("run", opts, &c.eo)))
    return rc;
  c.wpath = opt_get(opts, "weights");
  if (c.wpath && opt_get(opts, "seed")) {
    cli_error("run", "--seed applies to the random init; it cannot be used with --weights");
    return EXIT_USAGE;
  }
  c.top5 = opt_get(opts, "top5") != NULL;
  c.top = opt_get(opts, "top") != NULL;
  /* A weights file that holds the classifier serves a conv-base run too (its classifier never read); it runs
   * the classifier when asked for: --top, or --top5 or a --layer in the classifier. */
  const char *layer = opt_get(opts, "layer");
  c.gradcam = opt_get(opts, "gradcam") != NULL;
  const int wants_top = c.top5 || c.gradcam || (layer && (!strcmp(layer, "fc1") || !strcmp(layer, "fc2") ||
                                                          !strcmp(layer, "predictions")));
  c.naming = VGG_NAMING_KERAS;
  vgg_error err;
  if (c.wpath) {
    int has_top;
    if (vgg_weights_probe(c.wpath, &c.naming, &has_top, &err)) {
      cli_error("run", "%s", err.msg);
      return EXIT_FAIL;
    }
    if (c.top && !has_top) {
      cli_error("run", "--top: %s holds no classifier (conv base only)", c.wpath);
      return EXIT_USAGE;
    }
    c.top = c.top || (has_top && wants_top);
    c.seeded = vgg_weights_seeded(c.wpath, &c.seed);
  }
  if ((c.top5 || c.gradcam) && !c.top) {
    cli_error("run", "%s needs the classifier: add --top (random init) or use weights that hold it",
              c.top5 ? "--top5" : "--gradcam");
    return EXIT_USAGE;
  }
  vgg_model *shape_check; /* --size against --top (and the weights' classifier): a usage error, caught here */
  if (vgg_model_create(c.arch, c.top, (int)size, (int)size, &shape_check, &err)) {
    cli_error("run", "%s", err.msg);
    return EXIT_USAGE;
  }
  /* Several inputs, a directory, a list or a many-image option: the many-image mode. */
  static const char *const many_opts[] = {"batch", "lanes", "jsonl", "features", "skip-existing", NULL};
  int many = npos > 1;
  struct stat sb;
  for (int i = 0; i < npos; i++) many |= pos[i][0] == '@' || (stat(pos[i], &sb) == 0 && S_ISDIR(sb.st_mode));
  for (int i = 0; many_opts[i]; i++) many |= opt_get(opts, many_opts[i]) != NULL;
  /* What --maps and --npy write (--features' layer: run_many's) */
  const char *layer_name = opt_get(opts, "maps") || opt_get(opts, "npy") ? opt_get(opts, "layer") : NULL;
  if (layer_name && !(c.layer = run_layer_parse(shape_check, layer_name)))
    rc = EXIT_USAGE;
  else if (c.layer && c.gradcam) {
    cli_error("run", "--layer and --gradcam: one at a time");
    rc = EXIT_USAGE;
  } else if (c.layer && c.eo.precision == VGG_PRECISION_INT8) {
    cli_error("run", "--layer with --maps or --npy writes float maps: f32 or bf16, not int8");
    rc = EXIT_USAGE;
  } else if (opt_get(opts, "layer") && !opt_get(opts, "maps") && !opt_get(opts, "npy") &&
             !opt_get(opts, "features")) {
    cli_error("run", "--layer chooses what --maps, --npy or --features write; add one of them");
    rc = EXIT_USAGE;
  }
  if (c.layer && (c.layer == VGG_WATCH_ALL || vgg_model_layer(shape_check, c.layer)->kind != VGG_LAYER_DENSE))
    c.eo.watch_layer = c.layer; /* the plan writes those maps whole */
  /* A report shows every layer's maps: a net that hands them all out. */
  if (opt_get(opts, "report") && c.eo.precision != VGG_PRECISION_INT8) c.eo.watch_layer = VGG_WATCH_ALL;
  if (rc || (rc = gradcam_options(opts, shape_check, &c))) {
    vgg_model_free(shape_check);
    return rc;
  }
  vgg_model_free(shape_check);
  /* Defaults follow the weights' origin: torchvision's names take torchvision's input (its resize and
   * normalisation), Keras' names and random weights Keras' (load_img's nearest neighbour, caffe). */
  const int torch_origin = c.wpath && c.naming == VGG_NAMING_TORCH && !c.seeded;
  if (preproc < 0) preproc = torch_origin ? VGG_PREPROC_TORCH : VGG_PREPROC_CAFFE;
  if (resize < 0) resize = torch_origin ? VGG_RESIZE_TORCHVISION : VGG_RESIZE_KERAS;
  c.preproc_name = preprocs[preproc];
  const vgg_image_options io = {(int)size, (vgg_resize_mode)resize, (vgg_preproc)preproc, max_pixels,
                                opt_get(opts, "full-decode") != NULL, opt_get(opts, "no-exif") != NULL};
  c.io = io;
  c.maps = opt_get(opts, "maps");
  c.npy = opt_get(opts, "npy");
  c.report = opt_get(opts, "report");
  c.ranges = opt_get(opts, "ranges");
  if (c.ranges && c.eo.precision != VGG_PRECISION_INT8) {
    cli_error("run", "--ranges applies to --precision int8");
    return EXIT_USAGE;
  }

  if (!many) return run_one(&c, pos[0], repeat);
  if (repeat) {
    cli_error("run", "--repeat times one image; it cannot be used with several images");
    return EXIT_USAGE;
  }
  return run_many(&c, opts, pos, npos);
}

int cmd_run(int argc, char **argv) {
  opt opts[] = {CLI_ENGINE_OPTS {"weights", OPT_VALUE}, {"seed", OPT_VALUE},        {"arch", OPT_VALUE},
                {"top", OPT_FLAG},         {"top5", OPT_FLAG},         {"size", OPT_VALUE},    {"resize", OPT_VALUE},
                {"preproc", OPT_VALUE},    {"maps", OPT_VALUE},        {"npy", OPT_VALUE},     {"max-pixels", OPT_VALUE},
                {"full-decode", OPT_FLAG}, {"no-exif", OPT_FLAG},      {"repeat", OPT_VALUE},  {"batch", OPT_VALUE},
                {"jsonl", OPT_VALUE},      {"features", OPT_VALUE},    {"layer", OPT_VALUE},   {"skip-existing", OPT_FLAG},
                {"quiet", OPT_FLAG},       {"report", OPT_VALUE},      {"lanes", OPT_VALUE},   {"ranges", OPT_VALUE},
                {"gradcam", OPT_FLAG},     {"gradcam-class", OPT_VALUE}, {"gradcam-layer", OPT_VALUE}, {0}};
  for (int i = 2; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      cli_print_options(opts);
      fputs(help_tail, stdout);
      return 0;
    }
  const char **pos = calloc((size_t)argc + 1, sizeof *pos);
  if (!pos) {
    cli_error("run", "out of memory");
    return EXIT_FAIL;
  }
  int npos, rc = args_parse("run", argc, argv, 2, opts, pos, argc, &npos);
  if (!rc) {
    if (npos == 0) pos[npos++] = VGG_DATA_DIR "/chelsea.png";
    rc = cmd_run_inputs(opts, pos, npos);
  }
  free(pos);
  return rc;
}
