/* vggsimd: command-line front end, on the public API (vggsimd.h). */
#include "args.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *help;
} commands[] = {
  {"summary", cmd_summary, "Keras-style model table: output shapes, parameters, FLOPs, memory"},
  {"init", cmd_init, "write seeded Glorot-uniform weights as safetensors"},
  {"run", cmd_run, "run an image through the network; block shapes and times, feature maps, top-5"},
  {"cpu", cmd_cpu, "detected CPU features and the kernel chosen for every operation"},
  {"verify", cmd_verify, "every kernel at every level against the scalar reference"},
  {"bench", cmd_bench, "per-layer and per-block throughput table"},
  {"calibrate", cmd_calibrate, "int8 activation ranges measured on photos, as a ranges file"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: vggsimd COMMAND [options]   (vggsimd COMMAND --help for its options)\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
}

/* What a command printed must have reached its standard output: `vggsimd summary > file` on a full disk
 * (or into /dev/full, or a closed descriptor) fails with a line and exit 1 instead of a short file and 0. */
static int finish(const char *cmd, int rc) {
  int bad = fflush(stdout) != 0, e = errno, failed = bad || ferror(stdout);
  if (failed && !bad) { /* an earlier flush failed (output past the buffer): one more byte, to learn why */
    clearerr(stdout);
    fputc('\n', stdout);
    bad = fflush(stdout) != 0, e = errno;
  }
  if (failed) {
    cli_error(cmd, "standard output: write failed%s%s", bad ? ": " : "", bad ? strerror(e) : "");
    return rc ? rc : 1;
  }
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return finish(NULL, 0);
  }
  if (!strcmp(argv[1], "--version")) {
    printf("vggsimd %s\n", VGGSIMD_VERSION);
    return finish(NULL, 0);
  }
  vgg_outfile_clean_on_signals(); /* Ctrl-C leaves no temporary files behind */
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return finish(commands[i].name, commands[i].fn(argc, argv));
  cli_error(NULL, "unknown command '%s' (see 'vggsimd --help')", argv[1]);
  return EXIT_USAGE;
}
