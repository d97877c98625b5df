/* CPU feature detection and the kernel table for each level.
 *
 * x86-64: an ISA is usable only when CPUID reports it AND XCR0 shows the OS
 * saves its register state (a hypervisor may report AVX-512 in CPUID while
 * leaving the ZMM/opmask state disabled).  aarch64: getauxval(AT_HWCAP).
 * This file is compiled without ISA flags. */
#include "kernels.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define VGG_X86 1
#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_FPHP
#define HWCAP_FPHP (1 << 9)
#endif
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP (1 << 10)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

static vgg_cpu_features g_cpu;
static int g_cpu_done;

#ifdef VGG_X86
static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

static void detect_x86(vgg_cpu_features *f) {
  unsigned a, b, c, d;
  f->x86 = 1;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return;
  f->sse2 = (d >> 26) & 1;
  f->fma = (c >> 12) & 1;
  f->avx = (c >> 28) & 1;
  const int osxsave = (c >> 27) & 1;
  if (osxsave) {
    const uint64_t xcr0 = xgetbv0();
    f->os_avx = (xcr0 & 0x6) == 0x6;              /* XMM | YMM */
    f->os_avx512 = f->os_avx && (xcr0 & 0xe0) == 0xe0; /* opmask | ZMM_Hi256 | Hi16_ZMM */
  }
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f->avx2 = (b >> 5) & 1;
    f->avx512f = (b >> 16) & 1;
    f->avx512dq = (b >> 17) & 1;
    f->avx512bw = (b >> 30) & 1;
    f->avx512vl = (b >> 31) & 1;
  }
  unsigned max_ext = __get_cpuid_max(0x80000000u, NULL);
  if (max_ext >= 0x80000004u) {
    unsigned *p = (unsigned *)f->brand;
    for (unsigned leaf = 0; leaf < 3; leaf++)
      __get_cpuid(0x80000002u + leaf, &p[leaf * 4], &p[leaf * 4 + 1], &p[leaf * 4 + 2], &p[leaf * 4 + 3]);
    f->brand[48] = 0;
  }
}
#endif

const vgg_cpu_features *vgg_cpu_get(void) {
  if (g_cpu_done) return &g_cpu;
  vgg_cpu_features f;
  memset(&f, 0, sizeof f);
#if defined(VGG_X86)
  detect_x86(&f);
#elif defined(__aarch64__)
  unsigned long hw = getauxval(AT_HWCAP);
  f.arm = 1;
  f.asimd = (hw & HWCAP_ASIMD) != 0;
  f.fp16 = (hw & HWCAP_FPHP) && (hw & HWCAP_ASIMDHP);
  f.dotprod = (hw & HWCAP_ASIMDDP) != 0;
  strcpy(f.brand, "aarch64");
#endif
  /* Racing threads compute the same bytes; the flag is set after the copy. */
  g_cpu = f;
  __atomic_store_n(&g_cpu_done, 1, __ATOMIC_RELEASE);
  return &g_cpu;
}

static const char *const isa_names[VGG_ISA_COUNT] = {"scalar", "avx2", "avx512", "neon"};

const char *vgg_isa_name(vgg_isa isa) {
  return (unsigned)isa < VGG_ISA_COUNT ? isa_names[isa] : "?";
}

int vgg_isa_parse(const char *s) {
  for (int i = 0; i < VGG_ISA_COUNT; i++)
    if (strcmp(s, isa_names[i]) == 0) return i;
  return -1;
}

static const vgg_kernel_table *compiled_table(vgg_isa isa) {
  switch (isa) {
  case VGG_ISA_SCALAR: return &vgg_kernels_scalar;
#if defined(VGG_HAVE_AVX2)
  case VGG_ISA_AVX2: return &vgg_kernels_avx2;
#endif
#if defined(VGG_HAVE_AVX512)
  case VGG_ISA_AVX512: return &vgg_kernels_avx512;
#endif
#if defined(VGG_HAVE_NEON)
  case VGG_ISA_NEON: return &vgg_kernels_neon;
#endif
  default: return NULL;
  }
}

int vgg_isa_compiled(vgg_isa isa) { return compiled_table(isa) != NULL; }

static int cpu_has(vgg_isa isa) {
  const vgg_cpu_features *f = vgg_cpu_get();
  switch (isa) {
  case VGG_ISA_SCALAR: return 1;
  case VGG_ISA_AVX2: return f->avx2 && f->fma && f->os_avx;
  case VGG_ISA_AVX512:
    return f->avx2 && f->fma && f->avx512f && f->avx512bw && f->avx512dq && f->avx512vl && f->os_avx512;
  case VGG_ISA_NEON: return f->asimd;
  default: return 0;
  }
}

int vgg_isa_available(vgg_isa isa) { return vgg_isa_compiled(isa) && cpu_has(isa); }

vgg_isa vgg_isa_best(void) {
  vgg_isa best = VGG_ISA_SCALAR;
  for (int i = 0; i < VGG_ISA_COUNT; i++)
    if (vgg_isa_available((vgg_isa)i)) best = (vgg_isa)i;
  return best;
}

const vgg_kernel_table *vgg_kernels_get(vgg_isa isa) {
  return vgg_isa_available(isa) ? compiled_table(isa) : NULL;
}
