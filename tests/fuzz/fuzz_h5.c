/* The Keras .h5 reader: the child that runs libhdf5 on the input, the records
 * it passes back, and the loader that maps them onto a (small) model.  A crash
 * or hang of libhdf5 happens in the child and must come back as an error. */
#include "weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vgg_error err;
  vgg_h5_time_limit = 10; /* within the fuzzer's per-input timeout */
  char path[64];
  const int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  st_file sf;
  if (vgg_h5_open(path, 1, &sf, &err) == VGG_OK) fuzz_tensors(&sf);
  fuzz_weights(path);
  close(fd);
  return 0;
}
