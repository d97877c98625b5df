/* Keras .h5 weights, read with libhdf5 into the safetensors reader's form
 * (an st_file whose tensors live in memory), so that the one loader maps
 * them onto the engine's layout.
 *
 * The layouts Keras writes, all read through the same two attributes:
 *   - the applications' files (vgg16_weights_tf_dim_ordering_tf_kernels.h5, ..._notop.h5) and
 *     Model.save_weights: the root's attribute layer_names lists the layers; each layer's group has an
 *     attribute weight_names, the paths of its weight datasets inside the group
 *     ("block1_conv1_W_1:0", or "block1_conv1/kernel:0" in a nested group);
 *   - Model.save: the same under the group model_weights.
 * A layer with weights must have exactly two, a kernel (HWIO, or [in][out]) and a bias; they become the
 * tensors "LAYER/kernel" and "LAYER/bias" of Keras naming.
 *
 * With values, the tensors' bytes are those of an in-memory file that the st_file maps (F32, F16 or F64
 * as in the file; other float types converted to F32 by the library).
 *
 * libhdf5 is not hardened against hostile files (a malformed one can crash it or make it loop), so the
 * file is read in a child process that streams the tensors back through a pipe: a crash, a hang (cut after
 * a time limit) or a protocol violation is one error message in the parent, never the caller's crash.  The
 * parent trusts nothing the child sends: every count is bounded before it is used. */
#define _GNU_SOURCE /* memfd_create */
#include "safetensors.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Bounds: more than any VGG tensor (fc1 of VGG16: 102,760,448 values) and than a whole VGG19 with its
 * classifier (143,667,240), so that a file claiming more is refused before anything is allocated. */
#define H5_MAX_TENSOR ((uint64_t)1 << 28)
#define H5_MAX_TOTAL ((uint64_t)1 << 29)
#define H5_MAX_TENSORS 256
#define H5_MAX_NAME 200

int vgg_is_hdf5(const char *path) {
  /* The superblock's signature, at offset 0 or (after a user block) 512, 1024, 2048, ... */
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int found = 0;
  unsigned char b[8];
  for (off_t at = 0; !found && at <= ((off_t)1 << 20); at = at ? at * 2 : 512)
    if (pread(fd, b, 8, at) == 8) found = !memcmp(b, sig, 8);
    else break;
  close(fd);
  return found;
}

#ifdef VGG_HAVE_HDF5
#include <hdf5.h>

/* ---------------------------------------------------------------- child -- */
/* Records on the pipe: u32 name length (0: the end; UINT32_MAX: an error message follows as u32 length +
 * text), the name, u32 ndim, ndim x u64 dims, then the values as float32. */

static int put(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    const ssize_t k = write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c += k, n -= (size_t)k;
  }
  return 0;
}

static void child_fail(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void child_fail(int fd, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const uint32_t mark = UINT32_MAX, n = (uint32_t)strlen(msg);
  put(fd, &mark, 4), put(fd, &n, 4), put(fd, msg, n);
  _exit(0);
}

/* The strings of attribute `name` of object `obj` (fixed or variable length), as a NUL-separated list in
 * buf; returns their number, or -1 when the attribute is absent or not strings. */
static int read_names(hid_t obj, const char *name, char *buf, size_t cap, int max) {
  if (H5Aexists(obj, name) <= 0) return -1;
  const hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) return -1;
  const hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
  int n = -1;
  const hssize_t count = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  if (t >= 0 && H5Tget_class(t) == H5T_STRING && count >= 0 && count <= max && H5Sget_simple_extent_ndims(sp) <= 1) {
    size_t used = 0;
    n = (int)count;
    if (H5Tis_variable_str(t) > 0) {
      char **v = calloc((size_t)count + 1, sizeof *v);
      const hid_t mt = H5Tcopy(t); /* its own character set: HDF5 converts none to another */
      if (!v || H5Aread(a, mt, v) < 0) n = -1;
      for (int i = 0; n >= 0 && i < count; i++) {
        const size_t l = v[i] ? strnlen(v[i], H5_MAX_NAME + 1) : 0;
        if (l > H5_MAX_NAME || used + l + 1 > cap) n = -1;
        else memcpy(buf + used, v[i], l), buf[used + l] = 0, used += l + 1;
      }
      if (v && n >= 0) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, v);
      H5Tclose(mt);
      free(v);
    } else {
      const size_t sz = H5Tget_size(t);
      char *raw = sz && sz <= 4096 ? calloc((size_t)count + 1, sz) : NULL;
      const hid_t mt = H5Tcopy(t);
      if (!raw || H5Aread(a, mt, raw) < 0) n = -1;
      for (int i = 0; n >= 0 && i < count; i++) {
        const size_t l = strnlen(raw + (size_t)i * sz, sz);
        if (l > H5_MAX_NAME || used + l + 1 > cap) n = -1;
        else memcpy(buf + used, raw + (size_t)i * sz, l), buf[used + l] = 0, used += l + 1;
      }
      H5Tclose(mt);
      free(raw);
    }
  }
  if (sp >= 0) H5Sclose(sp);
  if (t >= 0) H5Tclose(t);
  H5Aclose(a);
  return n;
}

/* The dataset's values as they are in the file when the engine widens that type itself (IEEE float32,
 * float16 or float64, little-endian), else -1 (the library converts to float32). */
static int raw_type(hid_t t) {
  if (H5Tget_order(t) != H5T_ORDER_LE) return -1;
  if (H5Tequal(t, H5T_IEEE_F32LE) > 0) return ST_F32;
  if (H5Tequal(t, H5T_IEEE_F64LE) > 0) return ST_F64;
  size_t spos, epos, esize, mpos, msize;
  if (H5Tget_size(t) == 2 && H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize) >= 0 && spos == 15 &&
      epos == 10 && esize == 5 && mpos == 0 && msize == 10 && H5Tget_ebias(t) == 15)
    return ST_F16;
  return -1;
}

/* Dataset `path` of group g as the tensor `name`: its record on the pipe, its values appended to the data
 * file at *at, rows at a time. */
static void send_dataset(int fd, int data, hid_t g, const char *layer, const char *path, const char *name,
                         uint64_t *total, uint64_t *at) {
  if (H5Lexists(g, path, H5P_DEFAULT) <= 0) child_fail(fd, "layer %s: weight '%s' is listed but absent", layer, path);
  const hid_t d = H5Dopen2(g, path, H5P_DEFAULT);
  if (d < 0) child_fail(fd, "layer %s: '%s' is not a dataset", layer, path);
  const hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
  if (t < 0 || H5Tget_class(t) != H5T_FLOAT)
    child_fail(fd, "layer %s: weight '%s' is not floating point", layer, path);
  const int nd = H5Sget_simple_extent_ndims(sp);
  if (nd < 1 || nd > 4) child_fail(fd, "layer %s: weight '%s' has %d dimensions (1 to 4 expected)", layer, path, nd);
  hsize_t dims[4];
  H5Sget_simple_extent_dims(sp, dims, NULL);
  uint64_t count = 1;
  for (int i = 0; i < nd; i++) {
    if (dims[i] == 0 || dims[i] > H5_MAX_TENSOR) count = H5_MAX_TENSOR + 1;
    else count *= dims[i];
    if (count > H5_MAX_TENSOR) child_fail(fd, "layer %s: weight '%s' is larger than any VGG tensor", layer, path);
  }
  if ((*total += count) > H5_MAX_TOTAL) child_fail(fd, "the weights are larger than any VGG's");
  const int raw = raw_type(t);
  const uint32_t nl = (uint32_t)strlen(name), ndim = (uint32_t)nd, dtype = raw < 0 ? ST_F32 : (uint32_t)raw;
  const size_t esz = dtype == ST_F64 ? 8 : dtype == ST_F16 ? 2 : 4;
  uint64_t d64[4];
  for (int i = 0; i < nd; i++) d64[i] = dims[i];
  if (put(fd, &nl, 4) || put(fd, name, nl) || put(fd, &dtype, 4) || put(fd, &ndim, 4) ||
      put(fd, d64, 8 * (size_t)nd) || put(fd, at, 8))
    _exit(1);
  if (data < 0) { /* names and shapes only */
    H5Sclose(sp), H5Tclose(t), H5Dclose(d);
    return;
  }
  const hid_t mt = raw < 0 ? H5Tcopy(H5T_NATIVE_FLOAT) : H5Tcopy(t);
  const uint64_t row = count / dims[0], step = row >= (1u << 20) ? 1 : (1u << 20) / row;
  unsigned char *buf = malloc(esz * (size_t)(step * row));
  if (!buf) child_fail(fd, "out of memory reading '%s'", path);
  for (uint64_t r0 = 0; r0 < dims[0]; r0 += step) {
    hsize_t start[4] = {r0, 0, 0, 0}, cnt[4];
    for (int i = 0; i < nd; i++) cnt[i] = dims[i];
    cnt[0] = r0 + step < dims[0] ? step : dims[0] - r0;
    const hid_t ms = H5Screate_simple(nd, cnt, NULL);
    if (H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0 ||
        H5Dread(d, mt, ms, sp, H5P_DEFAULT, buf) < 0)
      child_fail(fd, "layer %s: cannot read weight '%s' (damaged or truncated data)", layer, path);
    H5Sclose(ms);
    if (put(data, buf, esz * (size_t)(cnt[0] * row))) child_fail(fd, "cannot pass the weights on: %s", strerror(errno));
  }
  *at += (esz * count + 63) & ~(uint64_t)63;
  if (lseek(data, (off_t)*at, SEEK_SET) < 0) _exit(1);
  free(buf);
  H5Tclose(mt), H5Sclose(sp), H5Tclose(t), H5Dclose(d);
}

static void child_main(int fd, int data, const char *path) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* the library's error stack is summarised, not printed */
  const hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) child_fail(fd, "not an HDF5 file the library can open (damaged or truncated)");
  hid_t root = f;
  if (H5Lexists(f, "model_weights", H5P_DEFAULT) > 0 && (root = H5Gopen2(f, "model_weights", H5P_DEFAULT)) < 0)
    child_fail(fd, "'model_weights' is not a group");
  static char layers[1 << 16], wn[4096];
  int nl = read_names(root, "layer_names", layers, sizeof layers, H5_MAX_TENSORS);
  if (nl < 0) child_fail(fd, "no 'layer_names' attribute of strings: not a Keras weights file");
  uint64_t total = 0, at = 0;
  int sent = 0;
  for (const char *layer = layers; layer < layers + sizeof layers && nl-- > 0; layer += strlen(layer) + 1) {
    if (!layer[0] || H5Lexists(root, layer, H5P_DEFAULT) <= 0)
      child_fail(fd, "layer '%s' is listed in layer_names but has no group", layer);
    const hid_t g = H5Gopen2(root, layer, H5P_DEFAULT);
    if (g < 0) child_fail(fd, "layer '%s' is not a group", layer);
    const int nw = read_names(g, "weight_names", wn, sizeof wn, 8);
    if (nw < 0) child_fail(fd, "layer '%s' has no 'weight_names' attribute of strings", layer);
    if (nw != 0 && nw != 2)
      child_fail(fd, "layer '%s' has %d weights; a VGG layer has a kernel and a bias", layer, nw);
    if (nw == 2) {
      char name[H5_MAX_NAME + 16];
      snprintf(name, sizeof name, "%.200s/kernel", layer);
      send_dataset(fd, data, g, layer, wn, name, &total, &at);
      snprintf(name, sizeof name, "%.200s/bias", layer);
      send_dataset(fd, data, g, layer, wn + strlen(wn) + 1, name, &total, &at);
      if (++sent > H5_MAX_TENSORS / 2) child_fail(fd, "more layers than any VGG");
    }
    H5Gclose(g);
  }
  const uint32_t end = 0;
  put(fd, &end, 4);
  _exit(0);
}

/* --------------------------------------------------------------- parent -- */

static int get(int fd, void *p, size_t n) {
  char *c = p;
  while (n) {
    const ssize_t k = read(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c += k, n -= (size_t)k;
  }
  return 0;
}

/* Seconds the child may take: a whole VGG19 file reads in a few seconds. */
int vgg_h5_time_limit = 120;

vgg_status vgg_h5_open(const char *path, int with_data, st_file *sf, vgg_error *err) {
  memset(sf, 0, sizeof *sf);
  snprintf(sf->path, sizeof sf->path, "%s", path);
  /* Records through a pipe; values into an in-memory file the parent maps at the end (no copy through the
   * pipe, and the pages are the page cache's, not faulted in one by one). */
  int p[2], data = -1;
  if (with_data && (data = memfd_create("vggsimd-h5", MFD_CLOEXEC)) < 0)
    return vgg_fail(err, VGG_ERR_IO, "%s: cannot read: memfd_create: %s", path, strerror(errno));
  if (pipe(p) != 0) {
    if (data >= 0) close(data);
    return vgg_fail(err, VGG_ERR_IO, "%s: cannot read: pipe: %s", path, strerror(errno));
  }
  fflush(NULL);
  const pid_t pid = fork();
  if (pid < 0) {
    close(p[0]), close(p[1]);
    if (data >= 0) close(data);
    return vgg_fail(err, VGG_ERR_IO, "%s: cannot read: fork: %s", path, strerror(errno));
  }
  if (pid == 0) {
    close(p[0]);
    signal(SIGPIPE, SIG_DFL);
    alarm((unsigned)vgg_h5_time_limit);
    child_main(p[1], data, path);
  }
  close(p[1]);
  vgg_status s = VGG_OK;
  int ended = 0;
  for (;;) {
    uint32_t nl, dtype, nd;
    if (get(p[0], &nl, 4)) break;
    if (nl == 0) {
      ended = 1;
      break;
    }
    if (nl == UINT32_MAX) {
      uint32_t ml = 0;
      char msg[513] = "";
      if (!get(p[0], &ml, 4) && ml < sizeof msg && !get(p[0], msg, ml)) msg[ml] = 0;
      else snprintf(msg, sizeof msg, "unreadable");
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: %s", path, msg);
      break;
    }
    st_tensor t = {0};
    if (nl >= sizeof t.name || get(p[0], t.name, nl) || get(p[0], &dtype, 4) || get(p[0], &nd, 4) || nd < 1 ||
        nd > 4 || (dtype != ST_F32 && dtype != ST_F16 && dtype != ST_F64))
      break;
    uint64_t dims[4], count = 1, at;
    if (get(p[0], dims, 8 * (size_t)nd) || get(p[0], &at, 8)) break;
    for (uint32_t i = 0; i < nd && count <= H5_MAX_TENSOR; i++)
      count = dims[i] && dims[i] <= H5_MAX_TENSOR ? count * dims[i] : H5_MAX_TENSOR + 1;
    if (count > H5_MAX_TENSOR || sf->n >= H5_MAX_TENSORS || at > ((uint64_t)H5_MAX_TOTAL << 3)) break;
    t.ndim = (int)nd;
    for (uint32_t i = 0; i < nd; i++) t.shape[i] = (int64_t)dims[i];
    t.dtype = (st_dtype)dtype;
    snprintf(t.dtype_name, sizeof t.dtype_name, "%s", dtype == ST_F32 ? "F32" : dtype == ST_F16 ? "F16" : "F64");
    t.begin = at, t.end = at + count * (dtype == ST_F64 ? 8 : dtype == ST_F16 ? 2 : 4);
    st_tensor *nt = realloc(sf->t, sizeof *nt * (size_t)(sf->n + 1));
    if (!nt) {
      s = vgg_fail(err, VGG_ERR_NOMEM, "%s: out of memory reading the weights", path);
      break;
    }
    sf->t = nt;
    sf->t[sf->n++] = t;
  }
  close(p[0]);
  int status = 0;
  if (!ended) kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!s && (!ended || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: the HDF5 library did not finish reading it in %d s (a malformed file?)",
                   path, vgg_h5_time_limit);
    else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: a malformed HDF5 file: the HDF5 library crashed reading it (signal %d)",
                   path, WTERMSIG(status));
    else
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: a malformed HDF5 file (the reader stopped before the end)", path);
  }
  if (!s && !sf->n)
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: a Keras file without weights (no layer has a kernel and a bias)", path);
  /* The values: every tensor within the data file, which is mapped. */
  struct stat sb;
  if (!s && data >= 0 && fstat(data, &sb) != 0)
    s = vgg_fail(err, VGG_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
  for (int i = 0; !s && data >= 0 && i < sf->n; i++)
    if (sf->t[i].end > (uint64_t)sb.st_size)
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: a malformed HDF5 file (the reader stopped before the end)", path);
  if (!s && data >= 0) {
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE, data, 0);
    if (map == MAP_FAILED) s = vgg_fail(err, VGG_ERR_IO, "%s: cannot map the weights: %s", path, strerror(errno));
    else sf->map = map, sf->file_size = (uint64_t)sb.st_size;
  }
  if (data >= 0) close(data); /* the mapping keeps the memory until st_close */
  if (s) {
    free(sf->t);
    memset(sf, 0, sizeof *sf);
  }
  return s;
}

#else

int vgg_h5_time_limit = 120;

vgg_status vgg_h5_open(const char *path, int with_data, st_file *sf, vgg_error *err) {
  (void)with_data;
  memset(sf, 0, sizeof *sf);
  return vgg_fail(err, VGG_ERR_FORMAT,
                  "%s: an HDF5 file, and this build reads none (built without libhdf5-dev); convert it with "
                  "scripts/convert_keras.py",
                  path);
}

#endif
