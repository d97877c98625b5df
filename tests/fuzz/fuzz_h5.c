/* The Keras .h5 reader: the child that runs libhdf5 on the input, the records
 * it passes back, and the loader that maps them onto a (small) model.  A crash
 * or hang of libhdf5 happens in the child and must come back as an error. */
#include "fuzz.h"
#include "safetensors.h"

static vgg_model *model;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vgg_error err;
  if (!model && vgg_model_create(VGG11, 0, 32, 32, &model, &err)) return 0;
  vgg_h5_time_limit = 10; /* within the fuzzer's per-input timeout */
  char path[64];
  const int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  st_file sf;
  if (vgg_h5_open(path, 1, &sf, &err) == VGG_OK) {
    float buf[16];
    for (int i = 0; i < sf.n; i++) {
      const st_tensor *t = &sf.t[i];
      const uint64_t elems = (t->end - t->begin) / (t->dtype == ST_F64 ? 8 : t->dtype == ST_F16 ? 2 : 4);
      st_read(&sf, t, elems > 16 ? elems - 16 : 0, elems < 16 ? (size_t)elems : 16, buf, &err);
    }
    st_close(&sf);
  }
  vgg_naming naming;
  int top;
  vgg_weights_probe(path, &naming, &top, &err);
  vgg_weights *w;
  if (vgg_weights_load(model, path, 1, &w, &err) == VGG_OK) vgg_weights_free(w);
  close(fd);
  return 0;
}
