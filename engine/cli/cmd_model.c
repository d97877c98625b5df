/* vggsimd summary / init / cpu */
#include "args.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int wants_help(int argc, char **argv, const char *text) {
  for (int i = 2; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(text, stdout);
      return 1;
    }
  return 0;
}

int cmd_summary(int argc, char **argv) {
  static const char help[] =
      "usage: vggsimd summary [--arch NAME] [--top] [--size N]\n"
      "  Keras-style table: layer, output shape, parameters, FLOPs; totals and memory.\n"
      "  --arch NAME  one of" VGG_ARCH_NAMES " (default vgg16)\n"
      "  --top        with the classifier (fc1, fc2, predictions)\n"
      "  --size N     square input side (conv base: >= 32; with --top: 224..255)\n";
  if (wants_help(argc, argv, help)) return 0;
  opt opts[] = {{"arch", OPT_VALUE}, {"top", OPT_FLAG}, {"size", OPT_VALUE}, {0}};
  const char *pos[1];
  int npos, rc;
  if ((rc = args_parse("summary", argc, argv, 2, opts, pos, 0, &npos))) return rc;
  vgg_arch arch;
  long size = 224;
  if ((rc = opt_arch("summary", opts, &arch)) || (rc = opt_int("summary", opts, "size", 1, 16384, &size))) return rc;
  vgg_model *m;
  vgg_error err;
  if (vgg_model_create(arch, opt_get(opts, "top") != NULL, (int)size, (int)size, &m, &err)) {
    cli_error("summary", "%s", err.msg);
    return EXIT_USAGE;
  }
  size_t n = vgg_model_summary(m, NULL, 0);
  char *buf = malloc(n + 1);
  if (!buf) return EXIT_FAIL;
  vgg_model_summary(m, buf, n + 1);
  fputs(buf, stdout);
  free(buf);
  vgg_model_free(m);
  return 0;
}

int cmd_init(int argc, char **argv) {
  static const char help[] =
      "usage: vggsimd init -o FILE [--arch vgg16] [--top] [--seed N] [--naming torch|keras]\n"
      "  Writes seeded Glorot-uniform kernels and zero biases (Keras defaults) as safetensors.\n"
      "  --naming torch   torchvision names and layouts (features.0.weight, OIHW) [default]\n"
      "  --naming keras   Keras names and layouts (block1_conv1/kernel, HWIO)\n";
  if (wants_help(argc, argv, help)) return 0;
  opt opts[] = {{"arch", OPT_VALUE}, {"top", OPT_FLAG}, {"seed", OPT_VALUE}, {"naming", OPT_VALUE},
                {"output", OPT_VALUE}, {0}};
  /* -o is the one short option. */
  for (int i = 2; i < argc; i++)
    if (!strcmp(argv[i], "-o")) argv[i] = "--output";
  const char *pos[1];
  int npos, rc;
  if ((rc = args_parse("init", argc, argv, 2, opts, pos, 0, &npos))) return rc;
  vgg_arch arch;
  uint64_t seed = 0;
  int naming = 0;
  static const char *const namings[] = {"torch", "keras", NULL};
  if ((rc = opt_arch("init", opts, &arch)) || (rc = opt_u64("init", opts, "seed", &seed)) ||
      (rc = opt_choice("init", opts, "naming", namings, &naming)))
    return rc;
  const char *out = opt_get(opts, "output");
  if (!out) {
    cli_error("init", "missing -o FILE (where to write the weights)");
    return EXIT_USAGE;
  }
  vgg_model *m;
  vgg_weights *w = NULL;
  vgg_error err;
  if (vgg_model_create(arch, opt_get(opts, "top") != NULL, 224, 224, &m, &err)) {
    cli_error("init", "%s", err.msg);
    return EXIT_USAGE;
  }
  rc = 0;
  if (vgg_weights_init(m, seed, 0, &w, &err) || vgg_weights_save(w, out, (vgg_naming)naming, &err)) {
    cli_error("init", "%s", err.msg);
    rc = EXIT_FAIL;
  } else {
    printf("wrote %s: %s%s, %lld parameters, seed %llu, %s naming\n", out, vgg_arch_name(arch),
           vgg_model_top(m) ? " with classifier" : " conv base", (long long)vgg_model_total_params(m),
           (unsigned long long)seed, namings[naming]);
  }
  vgg_weights_free(w);
  vgg_model_free(m);
  return rc;
}

int cmd_cpu(int argc, char **argv) {
  static const char help[] =
      "usage: vggsimd cpu [engine options]\n"
      "  Detected CPU features, usable levels and kernel sets, the kernel for every operation, and the\n"
      "  algorithm, data type and kernel each VGG16 conv layer (224x224) would use with these options:\n";
  opt opts[] = {CLI_ENGINE_OPTS {0}};
  if (wants_help(argc, argv, help)) return cli_print_options(opts), 0;
  const char *pos[1];
  int npos, rc;
  if ((rc = args_parse("cpu", argc, argv, 2, opts, pos, 0, &npos))) return rc;
  vgg_options eo;
  if ((rc = opt_engine("cpu", opts, &eo))) return rc;
  vgg_error err;
  if (vgg_plan_check(&eo, &err)) {
    cli_error("cpu", "%s", err.msg);
    return 1;
  }
  char buf[8192];
  vgg_cpu_report(eo.isa, buf, sizeof buf);
  fputs(buf, stdout);
  const char *const *algos = vgg_algo_names();
  vgg_model *m;
  if (vgg_model_create(VGG16, 0, 224, 224, &m, &err) == VGG_OK) {
    const int level = eo.isa >= 0 ? eo.isa : vgg_level_best();
    vgg_step_info st[VGG_MAX_STEPS_INFO];
    const int n = vgg_plan(m, &eo, st, VGG_MAX_STEPS_INFO);
    printf("plan at %s, --algo %s, --precision %s, %d thread%s (VGG16 224x224): step, algorithm, fused, tasks, "
           "kernel\n",
           vgg_level_name(level), algos[eo.algo], vgg_precision_names()[eo.precision], eo.threads > 0 ? eo.threads : 1,
           eo.threads > 1 ? "s" : "");
    int w4 = 0;
    for (int i = 0; i < n; i++) {
      printf("  %-12s %-5s %-10s %-5s %-9s %4d  %s\n", st[i].layer, st[i].op, st[i].algo, st[i].dtype, st[i].fused,
             st[i].tasks, st[i].kernel);
      w4 |= !strcmp(st[i].dtype, "int8") && !strcmp(st[i].algo, "wino4");
    }
    if (w4)
      printf("  (int8 wino4: where the layer's weights meet the exact kernel's bound, else direct; the line "
             "'algorithms:' of vggsimd run shows the choice)\n");
    vgg_model_free(m);
  }
  return 0;
}
