/* The safetensors reader: header parsing, naming detection, tensor reads and
 * the conversion into a (small) model's layout. */
#include "weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vgg_error err;
  char path[64];
  const int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  st_file sf;
  if (st_open(path, &sf, &err) == VGG_OK) fuzz_tensors(&sf);
  fuzz_weights(path);
  close(fd);
  return 0;
}
