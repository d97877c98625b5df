/* The ONNX reader: the wire rewrite that keeps raw_data in the file, the
 * depth check, protobuf-c's unpacking, the graph walk and the tensors it
 * hands the loader, which maps them onto a (small) model. */
#include "weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vgg_error err;
  char path[64];
  const int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  st_file sf;
  if (vgg_onnx_open(path, 0, &sf, &err) == VGG_OK) st_close(&sf); /* names and shapes only */
  if (vgg_onnx_open(path, 1, &sf, &err) == VGG_OK) fuzz_tensors(&sf);
  /* The loader reaches it by the first bytes: the memfile's name has no suffix. */
  fuzz_weights(path);
  close(fd);
  return 0;
}
