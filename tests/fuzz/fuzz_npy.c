/* The .npy reader, and .npy as a network input (shape and value checks). */
#include "fuzz.h"
#include "vggsimd.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  const int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  float *v;
  int64_t shape[8];
  int nd;
  vgg_error err;
  if (vgg_npy_read(path, &v, shape, &nd, &err) == VGG_OK) {
    /* The shape must describe the data: touch the last element. */
    size_t n = 1;
    for (int d = 0; d < nd; d++) n *= (size_t)shape[d];
    if (n) {
      volatile float last = v[n - 1];
      (void)last;
    }
    free(v);
  }
  const vgg_image_options o = {224, VGG_RESIZE_DIRECT, VGG_PREPROC_CAFFE, 0, 0};
  vgg_tensor t;
  if (vgg_image_load(path, &o, &t, &err) == VGG_OK) vgg_tensor_free(&t);
  close(fd);
  return 0;
}
