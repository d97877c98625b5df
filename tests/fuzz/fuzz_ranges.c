/* Ranges files (int8 calibration): the parser, and when it accepts, every conv layer's range and channel range
 * finite and >= 0. */
#include "fuzz.h"
#include "vggsimd.h"
#include <math.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static vgg_model *m;
  vgg_error err;
  if (!m && vgg_model_create(VGG16, 0, 224, 224, &m, &err) != VGG_OK) abort();
  char path[64];
  const int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  float ranges[64];
  float *channels = malloc(sizeof(float) * (size_t)vgg_model_num_channels(m));
  if (!channels) abort();
  if (vgg_ranges_load(m, path, ranges, channels, &err) == VGG_OK) {
    for (int i = 0; i < vgg_model_num_layers(m); i++)
      if (vgg_model_layer(m, i)->kind == VGG_LAYER_CONV && !(isfinite(ranges[i]) && ranges[i] >= 0)) abort();
    for (int i = 0; i < vgg_model_num_channels(m); i++)
      if (!(isfinite(channels[i]) && channels[i] >= 0)) abort();
  }
  free(channels);
  close(fd);
  return 0;
}
