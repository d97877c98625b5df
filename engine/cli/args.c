#include "args.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_error(const char *cmd, const char *fmt, ...) {
  char msg[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* One line, and nothing a terminal would act on: control bytes (from a file name, a list, a file's own
   * text) are shown as \xNN. */
  fprintf(stderr, "vggsimd%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
    if (*p < 0x20 || *p == 0x7f) fprintf(stderr, "\\x%02x", *p);
    else fputc(*p, stderr);
  fputc('\n', stderr);
}

static opt *find(opt *opts, const char *name, size_t len) {
  for (opt *o = opts; o->name; o++)
    if (strlen(o->name) == len && !strncmp(o->name, name, len)) return o;
  return NULL;
}

int args_parse(const char *cmd, int argc, char **argv, int first, opt *opts, const char **pos, int max_pos,
               int *npos) {
  *npos = 0;
  int only_pos = 0;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    if (!only_pos && !strcmp(a, "--")) {
      only_pos = 1;
      continue;
    }
    if (!only_pos && a[0] == '-' && a[1] == '-' && a[2]) {
      const char *name = a + 2, *eq = strchr(name, '=');
      const size_t len = eq ? (size_t)(eq - name) : strlen(name);
      opt *o = find(opts, name, len);
      if (!o) {
        cli_error(cmd, "unknown option '--%.*s' (see 'vggsimd %s --help')", (int)len, name, cmd);
        return EXIT_USAGE;
      }
      if (o->kind == OPT_FLAG) {
        if (eq) {
          cli_error(cmd, "option '--%s' takes no value", o->name);
          return EXIT_USAGE;
        }
        o->value = "1";
      } else if (eq) {
        o->value = eq + 1;
      } else {
        if (i + 1 >= argc) {
          cli_error(cmd, "option '--%s' needs a value", o->name);
          return EXIT_USAGE;
        }
        o->value = argv[++i];
      }
      if (o->kind == OPT_VALUE && !o->value[0]) {
        cli_error(cmd, "option '--%s' needs a non-empty value", o->name);
        return EXIT_USAGE;
      }
      continue;
    }
    if (!only_pos && !strcmp(a, "-q") && find(opts, "quiet", 5)) { /* the one short option, as in most tools */
      find(opts, "quiet", 5)->value = "1";
      continue;
    }
    if (!only_pos && a[0] == '-' && a[1]) {
      cli_error(cmd, "unknown option '%s' (see 'vggsimd %s --help')", a, cmd);
      return EXIT_USAGE;
    }
    if (*npos >= max_pos) {
      cli_error(cmd, "unexpected argument '%s'", a);
      return EXIT_USAGE;
    }
    pos[(*npos)++] = a;
  }
  return 0;
}

const char *opt_get(const opt *opts, const char *name) {
  for (const opt *o = opts; o->name; o++)
    if (!strcmp(o->name, name)) return o->value;
  return NULL;
}

static int parse_long(const char *s, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end) return -1;
  *out = v;
  return 0;
}

int opt_int(const char *cmd, const opt *opts, const char *name, long lo, long hi, long *out) {
  const char *v = opt_get(opts, name);
  if (!v) return 0;
  if (parse_long(v, out) || *out < lo || *out > hi) {
    cli_error(cmd, "--%s '%s' is not a whole number from %ld to %ld", name, v, lo, hi);
    return EXIT_USAGE;
  }
  return 0;
}

int opt_u64(const char *cmd, const opt *opts, const char *name, uint64_t *out) {
  const char *v = opt_get(opts, name);
  if (!v) return 0;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || end == v || *end || v[0] == '-') {
    cli_error(cmd, "--%s '%s' is not a non-negative whole number", name, v);
    return EXIT_USAGE;
  }
  *out = x;
  return 0;
}

int opt_choice(const char *cmd, const opt *opts, const char *name, const char *const *choices, int *out) {
  const char *v = opt_get(opts, name);
  if (!v) return 0;
  char list[256] = "";
  for (int i = 0; choices[i]; i++) {
    if (!strcmp(v, choices[i])) {
      *out = i;
      return 0;
    }
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", choices[i]);
  }
  cli_error(cmd, "--%s '%s' is not one of: %s", name, v, list);
  return EXIT_USAGE;
}

int opt_arch(const char *cmd, const opt *opts, vgg_arch *out) {
  int a = VGG16;
  int rc = opt_choice(cmd, opts, "arch", vgg_arch_names(), &a);
  *out = (vgg_arch)a;
  return rc;
}

void opt_unset(opt *opts, const char *name) {
  for (opt *o = opts; o->name; o++)
    if (!strcmp(o->name, name)) o->value = NULL;
}

int opt_engine(const char *cmd, const opt *opts, vgg_options *out) {
  vgg_options_init(out);
  /* Each option of the list that the command takes; --isa and --threads fall back on their variables. */
  for (const char *const *n = vgg_option_names(); *n; n++) {
    int taken = 0;
    for (const opt *o = opts; o->name; o++) taken |= !strcmp(o->name, *n);
    if (!taken) continue;
    const char *v = opt_get(opts, *n);
    char src[64];
    snprintf(src, sizeof src, "--%s", *n);
    if (!v && (!strcmp(*n, "isa") || !strcmp(*n, "threads"))) {
      const char *env = getenv(!strcmp(*n, "isa") ? "VGGSIMD_ISA" : "VGGSIMD_THREADS");
      if (env && *env) v = env, snprintf(src, sizeof src, "%s", !strcmp(*n, "isa") ? "VGGSIMD_ISA" : "VGGSIMD_THREADS");
    }
    vgg_error err;
    if (v && vgg_options_set(out, *n, v, &err)) {
      cli_error(cmd, "%s %s", src, err.msg);
      return EXIT_USAGE;
    }
  }
  return 0;
}

void cli_print_options(const opt *opts) {
  for (const char *const *n = vgg_option_names(); *n; n++)
    for (const opt *o = opts; o->name; o++) {
      if (strcmp(o->name, *n)) continue;
      char head[32];
      snprintf(head, sizeof head, "--%s %s", *n, vgg_option_metavar(*n));
      /* the help text folded at 110 columns, continuation lines under its start */
      const char *h = vgg_option_help(*n);
      printf("  %-16s ", head);
      for (int col = 19; *h;) {
        const char *sp = strchr(h, ' ');
        const int w = sp ? (int)(sp - h) : (int)strlen(h);
        if (col > 19 && col + 1 + w > 110) printf("\n%19s", ""), col = 19;
        else if (col > 19) putchar(' '), col++;
        printf("%.*s", w, h);
        col += w;
        h += w + (sp ? 1 : 0);
      }
      if (!strcmp(*n, "isa") || !strcmp(*n, "threads")) printf("; env VGGSIMD_%s", !strcmp(*n, "isa") ? "ISA" : "THREADS");
      printf("\n");
    }
}

int cli_prepare_dir(const char *cmd, const char *flag, const char *dir, int *created) {
  struct stat sb;
  *created = 0;
  if (stat(dir, &sb) != 0) {
    if (mkdir(dir, 0777) != 0) {
      cli_error(cmd, "--%s %s: cannot create directory: %s", flag, dir, strerror(errno));
      return EXIT_FAIL;
    }
    *created = 1;
    return 0;
  }
  if (!S_ISDIR(sb.st_mode)) {
    cli_error(cmd, "--%s %s: not a directory", flag, dir);
    return EXIT_FAIL;
  }
  if (access(dir, W_OK) != 0) {
    cli_error(cmd, "--%s %s: directory is not writable", flag, dir);
    return EXIT_FAIL;
  }
  return 0;
}

