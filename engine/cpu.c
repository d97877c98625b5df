/* Public face of CPU detection and dispatch (the CLI sees no kernel headers). */
#include "internal.h"
#include "kernels.h"
#include <string.h>

int vgg_level_parse(const char *name) { return vgg_isa_parse(name); }
const char *vgg_level_name(int level) { return vgg_isa_name((vgg_isa)level); }
int vgg_level_compiled(int level) { return level >= 0 && level < VGG_ISA_COUNT && vgg_isa_compiled((vgg_isa)level); }
int vgg_level_usable(int level) { return level >= 0 && level < VGG_ISA_COUNT && vgg_isa_available((vgg_isa)level); }
int vgg_level_best(void) { return (int)vgg_isa_best(); }

size_t vgg_cpu_report(int level, char *buf, size_t size) {
  const vgg_cpu_features *f = vgg_cpu_get();
  size_t n = 0;
#define OUT(...) n += (size_t)snprintf(buf + (n < size ? n : size), n < size ? size - n : 0, __VA_ARGS__)
  if (size) buf[0] = 0;
  OUT("cpu:       %s\n", f->brand[0] ? f->brand : "unknown");
  if (f->x86) {
    OUT("features:  sse2=%d avx=%d avx2=%d fma=%d avx512f=%d avx512bw=%d avx512dq=%d avx512vl=%d\n", f->sse2,
        f->avx, f->avx2, f->fma, f->avx512f, f->avx512bw, f->avx512dq, f->avx512vl);
    OUT("os state:  ymm=%s zmm/opmask=%s (XCR0)\n", f->os_avx ? "enabled" : "disabled",
        f->os_avx512 ? "enabled" : "disabled");
  }
  if (f->arm) OUT("features:  asimd=%d fp16=%d dotprod=%d\n", f->asimd, f->fp16, f->dotprod);
  OUT("levels:   ");
  for (int l = 0; l < VGG_ISA_COUNT; l++) {
    if (!vgg_isa_compiled((vgg_isa)l)) continue;
    OUT(" %s(%s)", vgg_isa_name((vgg_isa)l), vgg_isa_available((vgg_isa)l) ? "usable" : "not on this cpu");
  }
  OUT("\n");
  const int use = level >= 0 ? level : (int)vgg_isa_best();
  OUT("in use:    %s%s\n", vgg_isa_name((vgg_isa)use), level >= 0 ? " (requested)" : " (best available)");
  for (int l = 0; l < VGG_ISA_COUNT; l++) {
    const vgg_kernel_table *k = vgg_kernels_get((vgg_isa)l);
    if (!k) continue;
    OUT("kernels at %s%s:\n", k->isa_name, l == use ? " (in use)" : "");
#define VGG_X_PRINT(op, type) OUT("  %-12s %s\n", #op, k->op##_name);
    VGG_KERNEL_OPS(VGG_X_PRINT)
#undef VGG_X_PRINT
    for (int w = 0; w < 2; w++) OUT("  %-12s %s\n", w ? "wino4x4" : "wino2x2", k->wino[w].name);
  }
#undef OUT
  return n;
}
