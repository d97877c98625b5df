/* Errors, aligned memory and atomic file output. */
#include "internal.h"
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *vgg_status_str(vgg_status s) {
  switch (s) {
  case VGG_OK: return "ok";
  case VGG_ERR_ARG: return "invalid argument";
  case VGG_ERR_IO: return "i/o error";
  case VGG_ERR_FORMAT: return "malformed file";
  case VGG_ERR_SHAPE: return "unsupported shape";
  case VGG_ERR_NOMEM: return "out of memory";
  case VGG_ERR_UNSUPPORTED: return "unsupported";
  case VGG_ERR_RANGE: return "values out of float32 range";
  }
  return "unknown error";
}

vgg_status vgg_fail(vgg_error *err, vgg_status s, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* One line, always. */
    for (char *p = err->msg; *p; p++)
      if (*p == '\n' || *p == '\r') *p = ' ';
  }
  return s;
}

void *vgg_alloc(size_t count, size_t elem) {
  if (elem && count > (SIZE_MAX - 64) / elem) return NULL;
  size_t bytes = (count * elem + 63) & ~(size_t)63;
  if (bytes == 0) bytes = 64;
  return aligned_alloc(64, bytes);
}

void vgg_free(void *p) { free(p); }

int vgg_size_mul(size_t *out, size_t a, size_t b) { return !__builtin_mul_overflow(a, b, out); }

double vgg_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void vgg_advise_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  const uintptr_t b = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, e = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
  if (e > b + (2u << 20)) madvise((void *)b, e - b, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

vgg_status vgg_output_target(const char *path, char *final, size_t cap, int *in_place, vgg_error *err) {
  struct stat sb, lb;
  *in_place = 0;
  if (!path[0]) return vgg_fail(err, VGG_ERR_ARG, "empty output path");
  if (strlen(path) >= cap) return vgg_fail(err, VGG_ERR_ARG, "%s: path too long", path);
  strcpy(final, path);
  if (stat(path, &sb) != 0) {
    if (errno == ENOENT) {
      /* A new file; but a link to a file not made yet is refused (as cp does): replacing the link
       * would lose it, and creating its target would write wherever it points. */
      if (lstat(path, &lb) == 0 && S_ISLNK(lb.st_mode))
        return vgg_fail(err, VGG_ERR_IO, "%s: a symbolic link to a missing file; not writing through it", path);
      return VGG_OK;
    }
    return vgg_fail(err, VGG_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  }
  if (S_ISDIR(sb.st_mode)) return vgg_fail(err, VGG_ERR_IO, "%s: is a directory, not a file", path);
  if (!S_ISREG(sb.st_mode)) {
    *in_place = 1; /* a device or a pipe: renaming over it would replace the node */
    return VGG_OK;
  }
  if (lstat(path, &lb) == 0 && S_ISLNK(lb.st_mode)) {
    char *r = realpath(path, NULL);
    if (!r) return vgg_fail(err, VGG_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    const int fits = strlen(r) < cap;
    if (fits) strcpy(final, r);
    free(r);
    if (!fits) return vgg_fail(err, VGG_ERR_ARG, "%s: path too long", path);
  }
  return VGG_OK;
}

FILE *vgg_open_new(const char *path, int exclusive) {
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | (exclusive ? O_EXCL : 0);
  int fd = open(path, flags, 0666);
  if (fd < 0 && exclusive && errno == EEXIST && unlink(path) == 0) /* left by a run that died */
    fd = open(path, flags, 0666);
  if (fd < 0) return NULL;
  FILE *f = fdopen(fd, "wb");
  if (!f) close(fd);
  return f;
}

/* The temporary names of the outputs being written, for a signal handler to remove. Fixed slots, so the
 * handler reads no memory a thread may free; a slot goes FREE -> FILLING -> LIVE with its writer, and LIVE ->
 * FREE when the file is renamed or removed, or LIVE -> CLAIMED by the handler, which then owns it: a path is
 * never changed while the handler reads it. An output finding no free slot is written all the same. */
enum { SLOT_FREE, SLOT_FILLING, SLOT_LIVE, SLOT_CLAIMED };
#define LIVE_SLOTS 64
static struct {
  atomic_int state;
  char path[sizeof((vgg_outfile *)0)->tmp];
} live_tmp[LIVE_SLOTS];

static int live_add(const char *tmp) {
  for (int i = 0; i < LIVE_SLOTS; i++) {
    int want = SLOT_FREE;
    if (atomic_compare_exchange_strong(&live_tmp[i].state, &want, SLOT_FILLING)) {
      strcpy(live_tmp[i].path, tmp);
      atomic_store(&live_tmp[i].state, SLOT_LIVE);
      return i;
    }
  }
  return -1;
}

static void live_drop(vgg_outfile *o) {
  int want = SLOT_LIVE;
  if (o->live >= 0) atomic_compare_exchange_strong(&live_tmp[o->live].state, &want, SLOT_FREE);
  o->live = -1;
}

static void clean_and_die(int sig) {
  for (int i = 0; i < LIVE_SLOTS; i++) {
    int want = SLOT_LIVE;
    if (atomic_compare_exchange_strong(&live_tmp[i].state, &want, SLOT_CLAIMED)) unlink(live_tmp[i].path);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void vgg_outfile_clean_on_signals(void) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old, sa;
    if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN) continue; /* nohup, background jobs */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = clean_and_die;
    sigemptyset(&sa.sa_mask);
    for (size_t j = 0; j < sizeof sigs / sizeof sigs[0]; j++) sigaddset(&sa.sa_mask, sigs[j]); /* one at a time */
    sa.sa_flags = SA_RESETHAND;
    sigaction(sigs[i], &sa, NULL);
  }
}

/* A temporary name of ours, "<name>.tmp.<pid>": the pid, or 0 when the name is not one. */
static long tmp_owner(const char *name) {
  const char *t = strstr(name, ".tmp."), *next;
  if (!t || t == name) return 0;
  while ((next = strstr(t + 1, ".tmp."))) t = next; /* the last ".tmp." */
  char *end;
  errno = 0;
  const long pid = strtol(t + 5, &end, 10);
  return t[5] >= '1' && t[5] <= '9' && !*end && !errno && pid > 0 ? pid : 0;
}

/* The directories swept by this process, as 64-bit hashes of their names (open addressing; 0 is empty). */
static struct {
  pthread_mutex_t lock;
  uint64_t *slot;
  size_t cap, n;
} swept = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

/* 1 when dir is newly marked swept, 0 when it was already (or there is no memory to remember it). */
static int mark_swept(const char *dir) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char *c = (const unsigned char *)dir; *c; c++) h = (h ^ *c) * 1099511628211ull;
  h += !h;
  int fresh = 0;
  pthread_mutex_lock(&swept.lock);
  if (2 * (swept.n + 1) > swept.cap) { /* grow: rehash into twice the room */
    const size_t cap = swept.cap ? 2 * swept.cap : 256;
    uint64_t *t = calloc(cap, sizeof *t);
    if (t) {
      for (size_t i = 0; i < swept.cap; i++)
        if (swept.slot[i]) {
          size_t j = swept.slot[i] & (cap - 1);
          while (t[j]) j = (j + 1) & (cap - 1);
          t[j] = swept.slot[i];
        }
      free(swept.slot);
      swept.slot = t, swept.cap = cap;
    }
  }
  if (2 * (swept.n + 1) <= swept.cap) {
    size_t j = h & (swept.cap - 1);
    while (swept.slot[j] && swept.slot[j] != h) j = (j + 1) & (swept.cap - 1);
    if (!swept.slot[j]) swept.slot[j] = h, swept.n++, fresh = 1;
  }
  pthread_mutex_unlock(&swept.lock);
  return fresh;
}

void vgg_sweep_stale_temporaries(const char *dir) {
  if (!mark_swept(dir)) return;
  DIR *d = opendir(dir);
  if (!d) return;
  const int fd = dirfd(d);
  const long self = (long)getpid();
  struct dirent *e;
  while ((e = readdir(d))) {
    const long pid = tmp_owner(e->d_name);
    struct stat sb;
    if (!pid || pid == self) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive (EPERM: alive, another user's) */
    if (fstatat(fd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode)) unlinkat(fd, e->d_name, 0);
  }
  closedir(d);
}

/* The directory part of path ("." when it has none) swept of stale temporaries. */
static void sweep_dir_of(const char *path) {
  char dir[sizeof((vgg_outfile *)0)->path];
  const char *slash = strrchr(path, '/');
  if (!slash) {
    vgg_sweep_stale_temporaries(".");
    return;
  }
  const size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= sizeof dir) return;
  memcpy(dir, path, n);
  dir[n] = 0;
  vgg_sweep_stale_temporaries(dir);
}

vgg_status vgg_outfile_open(vgg_outfile *o, const char *path, vgg_error *err) {
  memset(o, 0, sizeof *o);
  o->live = -1;
  vgg_status s = vgg_output_target(path, o->path, sizeof o->path, &o->in_place, err);
  if (s) return s;
  if (o->in_place) {
    o->f = fopen(o->path, "wb");
    if (!o->f) return vgg_fail(err, VGG_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return VGG_OK;
  }
  sweep_dir_of(o->path);
  snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", o->path, (long)getpid());
  o->live = live_add(o->tmp); /* before the file exists: a signal in between finds nothing to remove */
  o->f = vgg_open_new(o->tmp, 1);
  if (!o->f) {
    const int e = errno;
    live_drop(o);
    o->tmp[0] = 0;
    return vgg_fail(err, VGG_ERR_IO, "%s: cannot write: %s", path, strerror(e));
  }
  return VGG_OK;
}

vgg_status vgg_outfile_write(vgg_outfile *o, const void *data, size_t n, vgg_error *err) {
  if (n && fwrite(data, 1, n, o->f) != n) {
    int e = errno;
    vgg_outfile_abort(o);
    return vgg_fail(err, VGG_ERR_IO, "%s: write failed: %s", o->path, strerror(e));
  }
  return VGG_OK;
}

vgg_status vgg_outfile_commit(vgg_outfile *o, vgg_error *err) {
  errno = 0;
  int bad = fflush(o->f) != 0 || ferror(o->f);
  int e = errno;
  if (fclose(o->f) != 0 && !bad) bad = 1, e = errno;
  o->f = NULL;
  if (bad) {
    if (o->tmp[0]) remove(o->tmp);
    live_drop(o);
    return vgg_fail(err, VGG_ERR_IO, "%s: write failed: %s", o->path, strerror(e ? e : EIO));
  }
  if (o->tmp[0] && rename(o->tmp, o->path) != 0) {
    e = errno;
    remove(o->tmp);
    live_drop(o);
    return vgg_fail(err, VGG_ERR_IO, "%s: cannot write: %s", o->path, strerror(e));
  }
  live_drop(o);
  return VGG_OK;
}

void vgg_outfile_abort(vgg_outfile *o) {
  if (o->f) fclose(o->f);
  o->f = NULL;
  if (o->tmp[0]) remove(o->tmp);
  live_drop(o);
}

void vgg_top_k(const float *v, int n, int k, int *idx) {
  for (int j = 0; j < k; j++) {
    int best = -1;
    for (int i = 0; i < n; i++) {
      int used = 0;
      for (int q = 0; q < j && !used; q++) used = idx[q] == i;
      if (!used && (best < 0 || v[i] > v[best])) best = i;
    }
    idx[j] = best;
  }
}

vgg_status vgg_open_read(const char *path, const char *what, FILE **f, struct stat *sb, vgg_error *err) {
  *f = fopen(path, "rb");
  if (!*f) return vgg_fail(err, VGG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  /* The file opened is the one examined: no window between a look at the path and the open. */
  const int bad = fstat(fileno(*f), sb) != 0 ? errno : 0;
  if (!bad && !S_ISDIR(sb->st_mode)) return VGG_OK;
  fclose(*f);
  *f = NULL;
  return bad ? vgg_fail(err, VGG_ERR_IO, "%s: cannot open: %s", path, strerror(bad))
             : vgg_fail(err, VGG_ERR_IO, "%s: is a directory, not %s", path, what);
}

vgg_status vgg_read_stream(FILE *f, const struct stat *sb, const char *path, size_t max_bytes, const char *what,
                           vgg_head_fn head, unsigned char **data, size_t *len, vgg_error *err) {
  *data = NULL, *len = 0;
  /* A regular file is read in one go; a pipe or device in growing chunks, up to the same bound. */
  size_t cap = S_ISREG(sb->st_mode) ? (size_t)sb->st_size + 1 : 1 << 16, n = 0;
  vgg_status s = VGG_OK;
  unsigned char *buf = NULL;
  for (;;) {
    if (cap > max_bytes + 1) cap = max_bytes + 1;
    unsigned char *nb = realloc(buf, cap);
    if (!nb) {
      s = vgg_fail(err, VGG_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
      break;
    }
    buf = nb;
    n += fread(buf + n, 1, cap - n, f);
    if (ferror(f)) {
      s = vgg_fail(err, VGG_ERR_IO, "%s: read failed: %s", path, strerror(errno));
      break;
    }
    if (head && (s = head(buf, n, path, err))) break;
    head = NULL;
    if (n > max_bytes) {
      s = vgg_fail(err, VGG_ERR_SHAPE, "%s: larger than the %zu MiB %s may be", path, max_bytes >> 20, what);
      break;
    }
    if (n < cap) break; /* end of file */
    cap *= 2;
  }
  if (s) {
    free(buf);
    return s;
  }
  if (n == 0) {
    free(buf);
    return vgg_fail(err, VGG_ERR_FORMAT, "%s: empty file", path);
  }
  *data = buf, *len = n;
  return VGG_OK;
}

vgg_status vgg_read_file(const char *path, size_t max_bytes, const char *what, unsigned char **data, size_t *len,
                         vgg_error *err) {
  *data = NULL, *len = 0;
  FILE *f;
  struct stat sb;
  vgg_status s = vgg_open_read(path, what, &f, &sb, err);
  if (s) return s;
  s = vgg_read_stream(f, &sb, path, max_bytes, what, NULL, data, len, err);
  fclose(f);
  return s;
}
