/* What the one-image run, the many-image run and calibrate share: the engine of a run (model, weights, nets,
 * int8 ranges), the lines describing it, layer names, and calibration on photos. */
#include "run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int run_layer_parse(const vgg_model *m, const char *name) {
  if (!strcmp(name, "all")) return VGG_WATCH_ALL;
  for (int i = 1; i < vgg_model_num_layers(m); i++)
    if (vgg_model_layer(m, i)->kind != VGG_LAYER_FLATTEN && !strcmp(vgg_model_layer(m, i)->name, name)) return i;
  const int top = vgg_model_top(m);
  cli_error("run", "--layer '%s' is not one of: block1_pool .. block5_pool, a conv layer (block1_conv1 ...)%s or all",
            name, top ? ", fc1, fc2, predictions" : " (fc1, fc2, predictions: with the classifier)");
  return 0;
}

vgg_status run_engine_open(const run_conf *c, int h, int w, int lanes, run_engine *e, vgg_error *err) {
  memset(e, 0, sizeof *e);
  double t = cli_now();
  vgg_status s = vgg_model_create(c->arch, c->top, h, w, &e->m, err);
  if (!s) s = c->wpath ? vgg_weights_load(e->m, c->wpath, c->eo.threads, &e->w, err)
                       : vgg_weights_init(e->m, c->seed, c->eo.threads, &e->w, err);
  e->t_load = cli_now() - t, t = cli_now();
  const int threads = c->eo.threads > 0 ? c->eo.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
  e->lanes = lanes < 1 ? 1 : lanes > RUN_MAX_LANES ? RUN_MAX_LANES : lanes;
  vgg_options eo = c->eo;
  if (!s && eo.precision == VGG_PRECISION_INT8 &&
      !(e->channels = calloc((size_t)vgg_model_num_channels(e->m), sizeof(float))))
    snprintf(err->msg, sizeof err->msg, "out of memory"), s = VGG_ERR_NOMEM;
  if (!s && eo.precision == VGG_PRECISION_INT8) {
    if (c->ranges) s = vgg_ranges_load_for(e->m, e->w, c->ranges, e->ranges, e->channels, &eo.ranges_images, err);
    else {
      static const char *const photo[] = {VGG_DATA_DIR "/chelsea.png"};
      fprintf(stderr, "vggsimd run: int8 without --ranges: calibrating on the bundled photo %s (ranges widened per "
                      "image where it passes them; a ranges file from `vggsimd calibrate` skips this)\n", photo[0]);
      s = cli_calibrate(e->m, e->w, &c->eo, &c->io, photo, 1, e->ranges, e->channels, err);
      eo.ranges_images = 1;
    }
    eo.ranges = e->ranges, eo.channel_ranges = e->channels;
  }
  eo.gradcam_layer = c->gradcam_layer;
  eo.threads = e->lanes > 1 ? (threads / e->lanes > 0 ? threads / e->lanes : 1) : c->eo.threads;
  eo.release_conv = e->lanes == 1; /* one net packs its own copy: the weights' can go as it packs */
  for (int l = 0; l < e->lanes && !s; l++) s = vgg_net_create(e->m, e->w, &eo, &e->nets[l], err);
  if (!s && e->lanes > 1) vgg_weights_release_conv(e->w); /* every net has packed its copy */
  e->net = e->nets[0];
  e->t_pack = cli_now() - t;
  return s;
}

void run_engine_close(run_engine *e) {
  for (int l = 0; l < RUN_MAX_LANES; l++) vgg_net_free(e->nets[l]);
  vgg_weights_free(e->w);
  vgg_model_free(e->m);
  free(e->channels);
  memset(e, 0, sizeof *e);
}

void run_describe(const run_conf *c, const run_engine *e, int h, int w, char *buf, size_t size) {
  vgg_net *net = e->net;
  char wdesc[4200];
  if (c->wpath)
    snprintf(wdesc, sizeof wdesc, "%.4000s (%s naming%s)", c->wpath, c->naming == VGG_NAMING_TORCH ? "torchvision" : "Keras",
             c->seeded ? "; untrained: vggsimd init's Glorot-uniform" : "");
  else snprintf(wdesc, sizeof wdesc, "random Glorot-uniform (seed %llu)", (unsigned long long)c->seed);
  char lanes[64] = "";
  if (e->lanes > 1) snprintf(lanes, sizeof lanes, " per image, %d images side by side", e->lanes);
  snprintf(buf, size, "%s%s, input %dx%d (resize %s), %s preprocessing, weights: %s, isa %s, %d thread%s%s",
           vgg_arch_name(c->arch), c->top ? " with classifier" : " conv base", h, w,
           vgg_resize_names()[c->io.resize], c->preproc_name, wdesc, vgg_net_isa(net),
           vgg_net_threads(net), vgg_net_threads(net) > 1 ? "s" : "", lanes);
}

void run_print_header(const run_conf *c, const run_engine *e, int h, int w) {
  vgg_net *net = e->net;
  char about[4600];
  run_describe(c, e, h, w, about, sizeof about);
  printf("%s\n", about);
  /* The plan, from the net's steps: the algorithm of each conv, block by block. */
  vgg_step_info st[VGG_MAX_STEPS_INFO];
  const int nst = vgg_net_steps(net, st, VGG_MAX_STEPS_INFO);
  printf("algorithms:");
  for (int i = 0, b = 0; i < nst; i++) {
    if (strcmp(st[i].op, "conv") != 0) continue;
    const int blk = st[i].layer[5] - '0'; /* "blockN_convK" */
    if (blk != b) printf("%s block%d", b ? " |" : "", blk);
    b = blk;
    printf(" %s%s%s", st[i].algo, strcmp(st[i].dtype, "f32") ? "/" : "", strcmp(st[i].dtype, "f32") ? st[i].dtype : "");
  }
  printf("\n");
  /* int8 or bf16 on a level without their dot-product kernels: correct, but the plain-C reference. */
  for (int i = 0; i < nst; i++)
    if (strcmp(st[i].dtype, "f32") && strstr(st[i].kernel, "_ref") && strcmp(vgg_net_isa(net), "scalar")) {
      fprintf(stderr, "vggsimd run: note: the %s layers run on the reference kernel (slow): level %s on this CPU "
                      "has no %s dot-product kernel (int8: AVX512-VNNI, AVX-VNNI, Arm i8mm or dotprod; bf16: AVX512-BF16 or Arm "
                      "bf16)\n",
              st[i].dtype, vgg_net_isa(net), st[i].dtype);
      break;
    }
}

vgg_status cli_calibrate(const vgg_model *m, const vgg_weights *w, const vgg_options *eo, const vgg_image_options *io,
                         const char *const *paths, int npaths, float *ranges, float *channels, vgg_error *err) {
  vgg_options fo = *eo;
  fo.precision = VGG_PRECISION_F32, fo.release_conv = 0, fo.ranges = NULL;
  vgg_net *net;
  vgg_status s = vgg_net_create(m, w, &fo, &net, err);
  if (s) return s;
  for (int i = 0; i < vgg_model_num_layers(m); i++) ranges[i] = 0;
  for (int i = 0; channels && i < vgg_model_num_channels(m); i++) channels[i] = 0;
  const vgg_layer *in = vgg_model_layer(m, 0);
  for (int i = 0; i < npaths && !s; i++) {
    vgg_tensor t = {0};
    s = vgg_image_load(paths[i], io, &t, err);
    if (!s && (t.h != in->out_h || t.w != in->out_w)) {
      snprintf(err->msg, sizeof err->msg, "%.300s: %dx%d after resizing, the model takes %dx%d", paths[i], t.h, t.w,
               in->out_h, in->out_w);
      s = VGG_ERR_SHAPE;
    }
    if (!s) s = vgg_net_calibrate(net, &t, ranges, channels, err);
    vgg_tensor_free(&t);
  }
  vgg_net_free(net);
  return s;
}
