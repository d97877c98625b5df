/* The ONNX reader: the wire rewrite that keeps raw_data in the file, the
 * depth check, protobuf-c's unpacking, the graph walk and the tensors it
 * hands the loader, which maps them onto a (small) model. */
#include "fuzz.h"
#include "safetensors.h"

static vgg_model *model;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vgg_error err;
  if (!model && vgg_model_create(VGG11, 0, 32, 32, &model, &err)) return 0;
  char path[64];
  const int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  st_file sf;
  for (int with_data = 0; with_data < 2; with_data++)
    if (vgg_onnx_open(path, with_data, &sf, &err) == VGG_OK) {
      float buf[16];
      for (int i = 0; with_data && i < sf.n; i++) {
        const st_tensor *t = &sf.t[i];
        const uint64_t elems = (t->end - t->begin) / (t->dtype == ST_F64 ? 8 : t->dtype == ST_F32 ? 4 : 2);
        st_read(&sf, t, elems > 16 ? elems - 16 : 0, elems < 16 ? (size_t)elems : 16, buf, &err);
      }
      st_close(&sf);
    }
  /* The loader reaches it by the suffix or the first bytes; the memfile's name has no suffix. */
  vgg_weights *w;
  if (vgg_weights_load(model, path, 1, &w, &err) == VGG_OK) vgg_weights_free(w);
  close(fd);
  return 0;
}
