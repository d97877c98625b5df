/* vggsimd calibrate: int8 activation ranges from a set of photos, written as
 * a ranges file; and the calibration `run --precision int8` does itself when
 * given no ranges file. */
#include "run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: vggsimd calibrate [IMAGE ...] -o FILE [options]\n"
    "  IMAGE            photos to measure the activations on (default: the bundled photo\n"
    "                   " VGG_DATA_DIR "/chelsea.png); any format `vggsimd run` reads;\n"
    "                   8 or more give the quiet channels finer int8 steps (the file records the count)\n"
    "  -o, --output FILE  the ranges file to write (atomically): per conv layer the largest output\n"
    "                   value over the photos, and of each of its channels (format:\n"
    "                   docs/precision.md); use it with\n"
    "                   `vggsimd run --precision int8 --ranges FILE`\n"
    "  --weights FILE   safetensors, Keras .h5 or ONNX, as run takes (default: random init, see --seed)\n"
    "  --seed N         seed of the random init when no --weights (default 0)\n"
    "  --arch NAME      one of" VGG_ARCH_NAMES " (default vgg16)\n"
    "  --size N         resize to N x N (default 224)\n"
    "  --resize MODE    torchvision | keras | direct | crop (as run; default: torchvision for torchvision\n"
    "                   weights, keras otherwise)\n"
    "  --preproc MODE   caffe | torch (default: torch for torchvision weights, caffe otherwise)\n";

int cmd_calibrate(int argc, char **argv) {
  /* -o is the one short option: spelled out before parsing. */
  for (int i = 2; i < argc; i++)
    if (!strcmp(argv[i], "-o")) argv[i] = (char *)"--output";
  opt opts[] = {{"output", OPT_VALUE}, {"weights", OPT_VALUE}, {"seed", OPT_VALUE},  {"arch", OPT_VALUE},
                {"size", OPT_VALUE},   {"resize", OPT_VALUE},  {"preproc", OPT_VALUE}, {"isa", OPT_VALUE},
                {"threads", OPT_VALUE}, {0}};
  for (int i = 2; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      cli_print_options(opts);
      return 0;
    }
  const char **pos = calloc((size_t)argc + 1, sizeof *pos);
  if (!pos) {
    cli_error("calibrate", "out of memory");
    return EXIT_FAIL;
  }
  int npos, rc = args_parse("calibrate", argc, argv, 2, opts, pos, argc, &npos);
  vgg_arch arch = VGG16;
  uint64_t seed = 0;
  long size = 224;
  int resize = -1, preproc = -1;
  static const char *const preprocs[] = {"caffe", "torch", NULL};
  const char *const *resizes = vgg_resize_names();
  vgg_options eo;
  if (!rc && ((rc = opt_arch("calibrate", opts, &arch)) || (rc = opt_u64("calibrate", opts, "seed", &seed)) ||
              (rc = opt_int("calibrate", opts, "size", 32, 4096, &size)) ||
              (rc = opt_choice("calibrate", opts, "resize", resizes, &resize)) ||
              (rc = opt_choice("calibrate", opts, "preproc", preprocs, &preproc)) ||
              (rc = opt_engine("calibrate", opts, &eo)))) {
  }
  const char *out = opt_get(opts, "output"), *wpath = opt_get(opts, "weights");
  if (!rc && !out) {
    cli_error("calibrate", "-o FILE is required (the ranges file to write)");
    rc = EXIT_USAGE;
  }
  if (!rc && wpath && opt_get(opts, "seed")) {
    cli_error("calibrate", "--seed applies to the random init; it cannot be used with --weights");
    rc = EXIT_USAGE;
  }
  if (rc) {
    free(pos);
    return rc;
  }
  if (npos == 0) pos[npos++] = VGG_DATA_DIR "/chelsea.png";
  vgg_error err;
  vgg_model *m = NULL;
  vgg_weights *w = NULL;
  vgg_naming naming = VGG_NAMING_KERAS;
  int has_top;
  float ranges[VGG_MAX_LAYERS], *channels = NULL;
  vgg_status s = wpath ? vgg_weights_probe(wpath, &naming, &has_top, &err) : VGG_OK;
  const int torch_origin = wpath && naming == VGG_NAMING_TORCH && !vgg_weights_seeded(wpath, NULL);
  if (preproc < 0) preproc = torch_origin ? VGG_PREPROC_TORCH : VGG_PREPROC_CAFFE;
  if (resize < 0) resize = torch_origin ? VGG_RESIZE_TORCHVISION : VGG_RESIZE_KERAS;
  const vgg_image_options io = {(int)size, (vgg_resize_mode)resize, (vgg_preproc)preproc, VGG_DEFAULT_MAX_PIXELS, 0};
  if (!s) s = vgg_model_create(arch, 0, (int)size, (int)size, &m, &err);
  if (!s) s = wpath ? vgg_weights_load(m, wpath, eo.threads, &w, &err) : vgg_weights_init(m, seed, eo.threads, &w, &err);
  if (!s && !(channels = calloc((size_t)vgg_model_num_channels(m), sizeof(float)))) snprintf(err.msg, sizeof err.msg, "out of memory"), s = VGG_ERR_NOMEM;
  if (!s) s = cli_calibrate(m, w, &eo, &io, pos, npos, ranges, channels, &err);
  if (!s) s = vgg_ranges_save_for(m, w, ranges, channels, npos, out, &err);
  if (s) cli_error("calibrate", "%s", err.msg);
  else {
    printf("calibrated on %d photo%s; wrote %s\n", npos, npos > 1 ? "s" : "", out);
    for (int i = 0; i < vgg_model_num_layers(m); i++)
      if (vgg_model_layer(m, i)->kind == VGG_LAYER_CONV) printf("  %-14s %10.4g\n", vgg_model_layer(m, i)->name, ranges[i]);
  }
  vgg_weights_free(w);
  vgg_model_free(m);
  free(channels);
  free(pos);
  return s ? EXIT_FAIL : 0;
}
