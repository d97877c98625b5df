/* What the weights harnesses share: reading an opened file's tensors, and
 * probing and loading it as a (small) model's weights. */
#ifndef VGG_FUZZ_WEIGHTS_H
#define VGG_FUZZ_WEIGHTS_H

#include "fuzz.h"
#include "safetensors.h"

/* The first and last (up to) 16 values of every tensor, then closed. */
static inline void fuzz_tensors(st_file *sf) {
  vgg_error err;
  float buf[16];
  for (int i = 0; i < sf->n; i++) {
    const st_tensor *t = &sf->t[i];
    if (t->dtype == ST_OTHER) continue;
    const uint64_t elems = (t->end - t->begin) / (t->dtype == ST_F64 ? 8 : t->dtype == ST_F32 ? 4 : 2);
    const size_t k = elems < 16 ? (size_t)elems : 16;
    st_read(sf, t, 0, k, buf, &err);
    st_read(sf, t, elems - k, k, buf, &err);
  }
  st_close(sf);
}

/* The path probed and loaded as the weights of VGG11's conv base at 32x32. */
static inline void fuzz_weights(const char *path) {
  static vgg_model *model;
  vgg_error err;
  if (!model && vgg_model_create(VGG11, 0, 32, 32, &model, &err)) return;
  vgg_naming naming;
  int top;
  vgg_weights_probe(path, &naming, &top, &err);
  vgg_weights *w;
  if (vgg_weights_load(model, path, 1, &w, &err) == VGG_OK) vgg_weights_free(w);
}

#endif
