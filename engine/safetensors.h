/* safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"key": "value"}}, then the data buffer.  Offsets are
 * relative to the buffer, which the tensors must cover exactly: no overlap,
 * no gap, nothing after the last tensor. */
#ifndef VGG_SAFETENSORS_H
#define VGG_SAFETENSORS_H

#include "internal.h"

typedef enum { ST_F32 = 0, ST_F16, ST_BF16, ST_F64, ST_OTHER } st_dtype;

typedef struct {
  char name[256];
  st_dtype dtype;
  char dtype_name[16];
  int ndim;
  int64_t shape[8];
  uint64_t begin, end; /* within the data buffer */
  const unsigned char *data; /* or, when set, the tensor's bytes are here (end - begin of them) */
} st_tensor;

typedef struct {
  const unsigned char *map; /* the whole file, mapped read-only */
  char path[4096];
  uint64_t file_size, data_start;
  int n;
  st_tensor *t;
  char init_seed[24]; /* __metadata__'s "vggsimd_init_seed" (vggsimd init's weights), or "" */
  void (*drop)(void *owner); /* called by st_close: what holds the tensors' own data (an unpacked ONNX model) */
  void *owner;
} st_file;

/* Opens and validates the whole header. */
vgg_status st_open(const char *path, st_file *sf, vgg_error *err);
void st_close(st_file *sf);
const st_tensor *st_find(const st_file *sf, const char *name);
/* The bytes of tensor t in the mapping (valid until st_close). */
const unsigned char *st_data(const st_file *sf, const st_tensor *t);
/* Tells the OS that the whole pages among bytes [first, first + bytes) of t are
 * no longer needed: they leave the resident set (a later read maps them again). */
void st_release(const st_file *sf, const st_tensor *t, uint64_t first, uint64_t bytes);
/* Reads count values starting at element `first` of t as float32 (F16 and BF16 are widened). */
vgg_status st_read(st_file *sf, const st_tensor *t, uint64_t first, size_t count, float *dst, vgg_error *err);

/* Keras .h5 files (keras_h5.c): whether the file carries HDF5's signature, and its weights read into an st_file
 * of tensors named "LAYER/kernel" and "LAYER/bias", mapped from memory (st_data, st_read and st_close work as on
 * a safetensors file); without values (with_data 0) only names, types and shapes (st_data must not be used). */
int vgg_is_hdf5(const char *path);
vgg_status vgg_h5_open(const char *path, int with_data, st_file *sf, vgg_error *err);
/* Seconds the HDF5 reading may take before it is stopped (default 120; the fuzzer lowers it). */
extern int vgg_h5_time_limit;
/* ONNX models (onnx.c): whether the file is one (the suffix .onnx, or a protobuf that starts as a ModelProto
 * does), and its VGG graph's weights as an st_file of torchvision-named tensors (from the file's mapping, or
 * transposed in memory); without values (with_data 0) names, types and shapes only. */
int vgg_is_onnx(const char *path);
vgg_status vgg_onnx_open(const char *path, int with_data, st_file *sf, vgg_error *err);
/* A weights file of any kind: vgg_h5_open for HDF5, vgg_onnx_open for ONNX, st_open otherwise. */
vgg_status st_open_any(const char *path, int with_data, st_file *sf, vgg_error *err);

/* Writer: declare all tensors (F32), then write their data in the same order. */
typedef struct {
  vgg_outfile out;
  int n, next;
  uint64_t written, expected;
  st_tensor *t;
} st_writer;

/* meta: more "key":"value" pairs for __metadata__ (JSON, may be ""). */
vgg_status st_writer_open(st_writer *w, const char *path, const st_tensor *tensors, int n, const char *meta,
                          vgg_error *err);
vgg_status st_writer_data(st_writer *w, const float *data, size_t count, vgg_error *err);
vgg_status st_writer_commit(st_writer *w, vgg_error *err);
void st_writer_abort(st_writer *w);

#endif
