/* Picture decoders and resizing, from memory: every format the loader
 * sniffs, both resize modes, a pixel budget small enough to keep each run fast. */
#include "fuzz.h"
#include "vggsimd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The first byte picks the options, so the fuzzer explores them too. */
  const unsigned char sel = size ? data[0] : 0;
  vgg_image_options o = {32 + (sel & 3) * 40, (vgg_resize_mode)((sel >> 2) & 1), (vgg_preproc)((sel >> 3) & 1),
                         1 << 22, (sel >> 4) & 1};
  vgg_tensor t;
  vgg_error err;
  if (vgg_image_decode("fuzz", data, size, &o, &t, &err) == VGG_OK) vgg_tensor_free(&t);
  return 0;
}
