/* Runs files and directories of files (sorted) through the harness's
 * LLVMFuzzerTestOneInput once each: the committed corpora as a plain test. */
#include "fuzz.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: %s: cannot open\n", path);
    return -1;
  }
  fseek(f, 0, SEEK_END);
  const long n = ftell(f);
  rewind(f);
  /* Exactly n bytes, so a sanitizer sees any read past the input. */
  uint8_t *d = malloc(n > 0 ? (size_t)n : 1);
  const size_t got = fread(d, 1, (size_t)(n > 0 ? n : 0), f);
  fclose(f);
  LLVMFuzzerTestOneInput(d, got);
  free(d);
  return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  int files = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      fprintf(stderr, "replay: %s: missing\n", argv[i]);
      return 1;
    }
    if (!S_ISDIR(sb.st_mode)) {
      if (run_file(argv[i])) return 1;
      files++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    char *names[4096];
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) && n < 4096;)
      if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    if (d) closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp);
    for (int k = 0; k < n; k++) {
      char p[4096];
      snprintf(p, sizeof p, "%s/%s", argv[i], names[k]);
      if (run_file(p)) return 1;
      free(names[k]);
      files++;
    }
  }
  printf("replayed %d inputs\n", files);
  return files ? 0 : 1;
}
