/* vggsimd verify: every kernel x level against the reference, as a table. */
#include "args.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: vggsimd verify [--isa all" VGG_LEVEL_NAMES "] [--reduced]\n"
    "  Runs every kernel of every level this CPU has against the scalar reference (the scalar\n"
    "  level against float64) on the 13 VGG16 conv shapes and on awkward shapes; prints kernel,\n"
    "  level, shape, max abs error, max error relative to max |ref|, tolerance, pass/fail.\n"
    "  Direct and Winograd F(2x2), F(4x4), F(6x6) convolutions (tolerance 1e-5; F(6x6) 1e-4), the bf16\n"
    "  Winograd and int8 kernels (bit for bit against their references), pooling, dense, softmax.\n"
    "  Uses every core.  Exits 1 if any row fails.  --reduced: VGG16 shapes at 8x8 and no\n"
    "  classifier-sized dense rows.\n";

static void row(void *user, const vgg_verify_row *r) {
  (void)user;
  printf("%-11s %-7s %-37s %11.3e %11.3e %7.0e  %s\n", r->kernel, r->level, r->shape, r->max_abs_err, r->max_rel_err,
         r->tol, r->pass ? "pass" : "FAIL");
  fflush(stdout);
}

int cmd_verify(int argc, char **argv) {
  for (int i = 2; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return 0;
    }
  opt opts[] = {{"isa", OPT_VALUE}, {"reduced", OPT_FLAG}, {0}};
  const char *pos[1];
  int npos, rc;
  if ((rc = args_parse("verify", argc, argv, 2, opts, pos, 0, &npos))) return rc;
  int level = -1;
  const char *isa = opt_get(opts, "isa");
  if (isa && strcmp(isa, "all") != 0) {
    vgg_options eo;
    if ((rc = opt_engine("verify", opts, &eo))) return rc;
    level = eo.isa;
  }
  const int reduced = opt_get(opts, "reduced") != NULL;
  printf("levels built in and usable here:");
  for (int l = 0; l < VGG_LEVEL_COUNT; l++)
    if (vgg_level_compiled(l))
      printf(" %s%s", vgg_level_name(l), vgg_level_usable(l) ? "" : " (SKIPPED: not supported by this CPU)");
  if (reduced) printf("\nSIMD levels vs the scalar kernel, scalar vs float64, VGG16 maps reduced to 8x8\n");
  else printf("\nSIMD levels vs the scalar kernel at full VGG16 size; scalar vs float64 with VGG16 maps reduced to 16x16\n");
  printf("%-11s %-7s %-37s %11s %11s %7s  %s\n", "kernel", "level", "shape", "max abs err", "rel to max", "tol",
         "result");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int failures;
  vgg_error err;
  if (vgg_verify_run(level, reduced, row, NULL, &failures, &err)) {
    cli_error("verify", "%s", err.msg);
    return EXIT_FAIL;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%s: %d failing row%s (%.1f s)\n", failures ? "FAILED" : "all passed", failures, failures == 1 ? "" : "s",
         (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  return failures ? EXIT_FAIL : 0;
}
