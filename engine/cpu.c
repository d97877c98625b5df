/* The CPU report and the FMA-peak calibration of a level.  The CPU report: detected features, levels, and the kernel each level uses
 * for every operation, int8 and bf16 included (the names are the kernels' symbols). */
#include "internal.h"
#include "kernels.h"
#include <omp.h>
#include <string.h>

/* A set's kind ("INT8") as its precision's name ("int8"). */
static const char *kind_precision(const char *kind) {
#define VGG_X_NAME(id, name) \
  if (!strcmp(kind, #id)) return #name;
  VGG_PRECISIONS(VGG_X_NAME)
#undef VGG_X_NAME
  return kind;
}

size_t vgg_cpu_report(int level, char *buf, size_t size) {
  const vgg_cpu_features *f = vgg_cpu_get();
  size_t n = 0;
#define OUT(...) n += (size_t)snprintf(buf + (n < size ? n : size), n < size ? size - n : 0, __VA_ARGS__)
  if (size) buf[0] = 0;
  OUT("cpu:       %s\n", f->brand[0] ? f->brand : "unknown");
  OUT("features: ");
  for (int i = 0; i < VGG_FEATURE_COUNT; i++)
    if ((f->x86 && i < VGG_FEATURE_ASIMD) || (f->arm && i >= VGG_FEATURE_ASIMD))
      OUT(" %s=%d", vgg_feature_name(i), (int)((f->has >> i) & 1));
  OUT("\n");
  if (f->x86) OUT("           (os_ymm, os_zmm: XCR0 shows the OS saves the YMM / ZMM and opmask state)\n");
  OUT("levels:   ");
  for (int l = 0; l < VGG_LEVEL_COUNT; l++) {
    if (!vgg_level_compiled(l)) continue;
    OUT(" %s(%s)", vgg_level_name(l), vgg_level_usable(l) ? "usable" : "not on this cpu");
  }
  OUT("\n");
  OUT("sets:     ");
  const char *set, *kind;
  int set_level, state;
  for (int i = 0; (set = vgg_set_row(i, &kind, &set_level, &state)); i++)
    if (state)
      OUT(" %s(%s at %s, %s)", set, kind_precision(kind), vgg_level_name(set_level),
          state == 2 ? "usable" : "not on this cpu");
  OUT("\n");
  const int use = level >= 0 ? level : vgg_level_best();
  OUT("in use:    %s%s\n", vgg_level_name(use), level >= 0 ? " (requested)" : " (best available)");
  for (int l = 0; l < VGG_LEVEL_COUNT; l++) {
    const vgg_kernel_table *k = vgg_kernels_get(l);
    if (!k) continue;
    OUT("kernels at %s%s:\n", vgg_level_name(l), l == use ? " (in use)" : "");
#define VGG_X_PRINT(op, type) OUT("  %-12s %s\n", #op, k->op##_name);
    VGG_KERNEL_OPS(VGG_X_PRINT)
#undef VGG_X_PRINT
    for (int w = 0; w < VGG_WINO_COUNT; w++) OUT("  wino%dx%-6d %s\n", k->wino[w].m, k->wino[w].m, k->wino[w].name);
    /* --precision int8 and bf16: the kernels this CPU runs at the level (the reference where it lacks the
     * dot-product instructions). */
    OUT("  %-12s %s\n", "conv3x3_int8", vgg_i8_kernels_get(l)->name);
    if (vgg_i8_kernels_get(l)->w4_conv) OUT("  %-12s %s\n", "wino4x4_int8", vgg_i8_kernels_get(l)->w4_name);
    const vgg_bf16_kernels *bk = vgg_bf16_kernels_get(l);
    for (int w = 0; w < 2; w++) OUT("  wino%dx%d_bf16 %s\n", bk->wino[w].m, bk->wino[w].m, bk->wino[w].name);
  }
#undef OUT
  return n;
}

/* Seconds of fn(iters) on `threads` cores at once. */
static double timed(float (*fn)(int64_t), int64_t iters, int threads) {
  volatile float sink = 0;
  const double t0 = vgg_now();
#pragma omp parallel num_threads(threads)
  {
    float v = fn(iters);
#pragma omp atomic
    sink += v;
  }
  (void)sink;
  return vgg_now() - t0;
}

/* GOP/s of a calibration loop fn (ops per iteration) on `threads` cores: the fastest of tries of about 10 ms
 * each, at least 3 and for at least `seconds` (a noisy host slows some tries down, never speeds one up; too few
 * or too short tries read a slower peak than the kernels then reach). */
static double peak(float (*fn)(int64_t), int ops, int threads, double seconds) {
  if (threads <= 0) threads = omp_get_num_procs();
  int64_t iters = 100000;
  double t = timed(fn, iters, threads); /* also the warm-up */
  while (t < 1e-3 && iters < ((int64_t)1 << 40)) t = timed(fn, iters *= 8, threads);
  iters = (int64_t)((double)iters * 0.01 / t) + 1;
  double best = 1e30, spent = 0;
  for (int r = 0; r < 3 || spent < seconds; r++) {
    t = timed(fn, iters, threads);
    best = t < best ? t : best;
    spent += t;
  }
  return (double)iters * ops * threads / best / 1e9;
}

double vgg_level_peak(int level, int threads, vgg_precision precision, double seconds) {
  if (!vgg_kernels_get(level)) return 0.0;
  if (precision == VGG_PRECISION_INT8) {
    const vgg_i8_kernels *k = vgg_i8_kernels_get(level);
    return k && k->dot_peak ? peak(k->dot_peak, k->dot_peak_ops, threads, seconds) : 0.0;
  }
  if (precision == VGG_PRECISION_BF16) {
    const vgg_bf16_kernels *k = vgg_bf16_kernels_get(level);
    return k && k->dot_peak ? peak(k->dot_peak, k->dot_peak_flops, threads, seconds) : 0.0;
  }
  const vgg_kernel_table *k = vgg_kernels_get(level);
  return k->fma_peak ? peak(k->fma_peak, k->fma_peak_flops, threads, seconds) : 0.0;
}

double vgg_level_peak_gflops(int level, int threads) { return vgg_level_peak(level, threads, VGG_PRECISION_F32, 0.2); }
double vgg_level_peak_bf16_gflops(int level, int threads) {
  return vgg_level_peak(level, threads, VGG_PRECISION_BF16, 0.2);
}
double vgg_level_peak_int8_gops(int level, int threads) {
  return vgg_level_peak(level, threads, VGG_PRECISION_INT8, 0.2);
}
