/* vggsimd run over many images: the inputs and the lines of an earlier run (--skip-existing). */
#include "many.h"
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>



/* The item fails, for the reason given (the first one given counts). */
void item_fail(item *it, const char *fmt, ...) {
  if (it->failed) return;
  it->failed = 1;
  char buf[sizeof((vgg_error *)0)->msg + 4200]; /* a message and a path */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  it->err = strdup(buf);
}

const char *item_err(const item *it) { return it->err ? it->err : "out of memory"; }


int add_item(item_list *l, const char *path) {
  if (l->n == l->cap) {
    const int cap = l->cap ? 2 * l->cap : 64;
    item *v = realloc(l->v, (size_t)cap * sizeof *v);
    if (!v) return -1;
    l->v = v, l->cap = cap;
  }
  item *it = &l->v[l->n];
  memset(it, 0, sizeof *it);
  if (!(it->path = strdup(path))) return -1;
  const char *slash = strrchr(it->path, '/');
  it->name = slash ? slash + 1 : it->path;
  l->n++;
  return 0;
}

static int has_image_extension(const char *name) {
  static const char *const ext[] = {"jpg", "jpeg", "png", "bmp", "tga", "pnm", "ppm", "pgm", "pbm",
                                    "gif", "psd", "hdr", "npy", NULL};
  const char *dot = strrchr(name, '.');
  if (!dot || name[0] == '.') return 0;
  for (int i = 0; ext[i]; i++)
    if (!strcasecmp(dot + 1, ext[i])) return 1;
  return 0;
}

int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A directory's image files, sorted by name: regular files and names that cannot be examined (a link to nothing,
 * an entry we may not stat), which then fail as images do, one line each; directories, pipes and devices are
 * left out (reading a pipe could wait forever). */
int add_dir(item_list *l, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    cli_error("run", "%s: cannot read directory: %s", dir, strerror(errno));
    return EXIT_FAIL;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (!has_image_extension(e->d_name)) continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **v = realloc(names, cap * sizeof *v);
      if (!v) {
        rc = -1;
        break;
      }
      names = v;
    }
    if (!(names[n] = strdup(e->d_name))) {
      rc = -1;
      break;
    }
    n++;
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, cmp_str);
  const size_t dl = strlen(dir);
  const int sep = dl && dir[dl - 1] != '/';
  size_t found = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    char *path = malloc(dl + strlen(names[i]) + 2);
    struct stat sb;
    if (!path) {
      rc = -1;
      break;
    }
    sprintf(path, "%s%s%s", dir, sep ? "/" : "", names[i]);
    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode)) {
      if (add_item(l, path)) rc = -1;
      found++;
    }
    free(path);
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  if (rc) {
    cli_error("run", "out of memory");
    return EXIT_FAIL;
  }
  if (!found) {
    cli_error("run", "%s: no image files in this directory", dir);
    return EXIT_FAIL;
  }
  return 0;
}

/* A line of at most cap - 1 bytes into buf, without its newline: its length; -1 at the end of the file, -2 when
 * the line is longer (nothing past cap is read: a list may be endless, /dev/zero), -3 when it holds a NUL byte. */
static long read_line(FILE *f, char *buf, size_t cap) {
  size_t n = 0;
  int ch;
  while ((ch = getc(f)) != EOF && ch != '\n') {
    if (ch == 0) return -3;
    if (n + 1 >= cap) return -2;
    buf[n++] = (char)ch;
  }
  buf[n] = 0;
  return ch == EOF && n == 0 ? -1 : (long)n;
}

/* A list file: one path per line; blank lines and lines starting with # are skipped. */
int add_list(item_list *l, const char *file) {
  FILE *f = fopen(file, "r");
  if (!f) {
    cli_error("run", "@%s: cannot open list: %s", file, strerror(errno));
    return EXIT_FAIL;
  }
  char line[4096];
  long got;
  int rc = 0, lineno = 0;
  while (!rc && (got = read_line(f, line, sizeof line)) != -1) {
    lineno++;
    if (got < 0) {
      cli_error("run", "@%s:%d: %s", file, lineno,
                got == -2 ? "line too long for a path" : "not a list of paths (a NUL byte)");
      rc = EXIT_FAIL;
      break;
    }
    size_t len = (size_t)got;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
      line[--len] = 0;
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p || *p == '#') continue;
    if (add_item(l, p)) {
      cli_error("run", "out of memory");
      rc = EXIT_FAIL;
    }
  }
  if (!rc && ferror(f)) {
    cli_error("run", "@%s: read error", file);
    rc = EXIT_FAIL;
  }
  fclose(f);
  return rc;
}

void free_items(item_list *l) {
  for (int i = 0; i < l->n; i++) free(l->v[i].path), free(l->v[i].line), free(l->v[i].err);
  free(l->v);
}

/* ---------------------------------------------------------------- JSON -- */

/* A JSON string of s: control characters escaped, bytes that are not UTF-8 as U+FFFD. */
void json_str(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  fputc('"', f);
  while (*p) {
    const unsigned c = *p;
    int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    for (int k = 1; k < len; k++)
      if ((p[k] & 0xC0) != 0x80) len = 0;
    if (len == 2 && c < 0xC2) len = 0; /* overlong */
    if (len == 0) {
      fputs("\\ufffd", f);
      p++;
    } else if (len > 1) {
      fwrite(p, 1, (size_t)len, f);
      p += len;
    } else {
      if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
      else if (c < 0x20) fprintf(f, "\\u%04x", c);
      else fputc((int)c, f);
      p++;
    }
  }
  fputc('"', f);
}

/* The JSON string a path is written as, for matching the lines of an earlier run. */
char *json_str_dup(const char *s) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  json_str(f, s);
  fclose(f);
  return buf;
}


int cmp_done_key(const void *a, const void *b) {
  const done_key *x = a, *y = b;
  const int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx; /* the same path twice: the first item gets the line */
}

/* The first key equal to k (len bytes), or -1. */
static int find_done_key(const done_key *keys, int n, const char *k, size_t len) {
  int lo = 0, hi = n;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    const done_key probe = {k, len, -1};
    if (cmp_done_key(&keys[mid], &probe) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && keys[lo].len == len && !memcmp(keys[lo].key, k, len) ? lo : -1;
}

/* Lines of an earlier JSONL output (file, and its unfinished .part) that hold a result, not an error; each item
 * found gets its line and can be skipped. Only a regular file is read, a line at most 64 KiB long (ours are
 * far shorter: a longer one is passed over), each looked up in the sorted keys: a resumed run over a million
 * images costs a million lookups, not a million squared comparisons. */
void read_done_lines(const char *file, item_list *l, const done_key *keys) {
  FILE *f = fopen(file, "r");
  if (!f) return;
  struct stat sb;
  enum { LINE_MAX_BYTES = 65536 };
  char *line = malloc(LINE_MAX_BYTES);
  if (!line || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) goto out;
  while (fgets(line, LINE_MAX_BYTES, f)) {
    const size_t n = strlen(line);
    if (!n || line[n - 1] != '\n') { /* too long, or cut short at the end of the file */
      int ch;
      while (n == LINE_MAX_BYTES - 1 && (ch = getc(f)) != EOF && ch != '\n') {}
      continue;
    }
    if (strncmp(line, "{\"path\": \"", 10) != 0 || strstr(line, "\"error\": ")) continue;
    size_t e = 10; /* the end of the path's JSON string */
    while (line[e] && line[e] != '"') e += line[e] == '\\' && line[e + 1] ? 2 : 1;
    if (line[e] != '"' || line[e + 1] != ',') continue;
    const int k = find_done_key(keys, l->n, line + 9, e + 1 - 9);
    if (k < 0) continue;
    item *it = &l->v[keys[k].idx];
    free(it->line);
    it->line = strdup(line);
  }
out:
  free(line);
  fclose(f);
}

