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
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif
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
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1 << 14)
#endif
#endif

#define SET(id, cond) f->has |= (cond) ? VGG_NEEDS(id) : 0

static vgg_cpu_features g_cpu;
static int g_cpu_done;

#ifdef VGG_X86
static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

/* AMX's tile data (XCR0 bit 18) is a state Linux gives a process only when asked (arch_prctl
 * ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA, 5.16 and later); the grant holds for all its threads. */
static int amx_granted(uint64_t xcr0) {
  if ((xcr0 & 0x60000) != 0x60000) return 0; /* XTILECFG | XTILEDATA */
#if defined(__linux__) && defined(SYS_arch_prctl)
  return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
#else
  return 0;
#endif
}

static void detect_x86(vgg_cpu_features *f) {
  unsigned a, b, c, d;
  f->x86 = 1;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return;
  SET(SSE2, (d >> 26) & 1);
  SET(FMA, (c >> 12) & 1);
  SET(F16C, (c >> 29) & 1);
  SET(AVX, (c >> 28) & 1);
  uint64_t xcr0 = 0;
  if ((c >> 27) & 1) { /* OSXSAVE: XCR0 says which register state the OS saves */
    xcr0 = xgetbv0();
    SET(OS_AVX, (xcr0 & 0x6) == 0x6);          /* XMM | YMM */
    SET(OS_AVX512, (xcr0 & 0xe6) == 0xe6);     /* and opmask | ZMM_Hi256 | Hi16_ZMM */
  }
  unsigned sub7 = 0; /* the highest subleaf of leaf 7 */
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    sub7 = a;
    SET(AVX2, (b >> 5) & 1);
    SET(AVX512F, (b >> 16) & 1);
    SET(AVX512DQ, (b >> 17) & 1);
    SET(AVX512BW, (b >> 30) & 1);
    SET(AVX512VL, (b >> 31) & 1);
    SET(AVX512VNNI, (c >> 11) & 1);
    /* AMX-TILE and AMX-INT8, with AVX512-VNNI, and the OS's grant (asked only on such a CPU). */
    SET(AMXINT8, ((d >> 24) & 1) && ((d >> 25) & 1) && (f->has & VGG_NEEDS(AVX512VNNI)) &&
                     (f->has & VGG_NEEDS(OS_AVX512)) && amx_granted(xcr0));
  }
  if (sub7 >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) {
    SET(AVXVNNI, (a >> 4) & 1);
    SET(AVX512BF16, (a >> 5) & 1);
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

#ifdef __aarch64__
static void detect_arm(vgg_cpu_features *f) {
  const unsigned long hw = getauxval(AT_HWCAP);
  f->arm = 1;
  SET(ASIMD, hw & HWCAP_ASIMD);
  SET(FP16, (hw & HWCAP_FPHP) && (hw & HWCAP_ASIMDHP));
  SET(DOTPROD, hw & HWCAP_ASIMDDP);
  const unsigned long hw2 = getauxval(AT_HWCAP2);
  SET(I8MM, hw2 & HWCAP2_I8MM);
  SET(BF16, hw2 & HWCAP2_BF16);
  strcpy(f->brand, "aarch64");
}
#endif

const vgg_cpu_features *vgg_cpu_get(void) {
  if (g_cpu_done) return &g_cpu;
  vgg_cpu_features f;
  memset(&f, 0, sizeof f);
#if defined(VGG_X86)
  detect_x86(&f);
#elif defined(__aarch64__)
  detect_arm(&f);
#endif
  /* Racing threads compute the same bytes; the flag is set after the copy. */
  g_cpu = f;
  __atomic_store_n(&g_cpu_done, 1, __ATOMIC_RELEASE);
  return &g_cpu;
}

static const char *const feature_names[VGG_FEATURE_COUNT] = {
#define VGG_X_NAME(id, name) #name,
    VGG_FEATURES(VGG_X_NAME)
#undef VGG_X_NAME
};

const char *vgg_feature_name(int f) { return (unsigned)f < VGG_FEATURE_COUNT ? feature_names[f] : "?"; }

static const struct {
  const char *name;
  unsigned long long needs;
  const vgg_kernel_table *table; /* NULL: not built in */
} levels[VGG_LEVEL_COUNT] = {
#define VGG_X_LEVEL_ROW(id, name, needs) {#name, needs, VGG_TABLE(name)},
    VGG_LEVELS(VGG_X_LEVEL_ROW)
#undef VGG_X_LEVEL_ROW
};

const char *vgg_level_name(int level) { return (unsigned)level < VGG_LEVEL_COUNT ? levels[level].name : "?"; }

int vgg_level_parse(const char *s) {
  for (int i = 0; i < VGG_LEVEL_COUNT; i++)
    if (strcmp(s, levels[i].name) == 0) return i;
  return -1;
}

unsigned long long vgg_level_needs(int level) { return (unsigned)level < VGG_LEVEL_COUNT ? levels[level].needs : 0; }

int vgg_level_compiled(int level) { return (unsigned)level < VGG_LEVEL_COUNT && levels[level].table != NULL; }

int vgg_level_usable(int level) {
  return vgg_level_compiled(level) && (vgg_cpu_get()->has & levels[level].needs) == levels[level].needs;
}

int vgg_level_best(void) {
  int best = VGG_LEVEL_SCALAR;
  for (int i = 0; i < VGG_LEVEL_COUNT; i++)
    if (vgg_level_usable(i)) best = i;
  return best;
}

const vgg_kernel_table *vgg_kernels_get(int level) { return vgg_level_usable(level) ? levels[level].table : NULL; }

/* The kernel sets, from VGG_SET_KINDS and VGG_SETS: each set's table is vgg_set_<name> (a set not built in has
 * a NULL row); its kind's type and name from its precision. */
enum {
#define VGG_X_KIND(prec, prefix, family) VGG_SET_##prec,
  VGG_SET_KINDS(VGG_X_KIND)
#undef VGG_X_KIND
};
#define VGG_X_KIND(prec, prefix, family) typedef vgg_##prefix##_kernels vgg_set_type_##prec;
VGG_SET_KINDS(VGG_X_KIND)
#undef VGG_X_KIND
static const char *const kind_names[] = {
#define VGG_X_KIND(prec, prefix, family) #prec,
    VGG_SET_KINDS(VGG_X_KIND)
#undef VGG_X_KIND
};
#define VGG_X_SET_DECL(prec, name, level, feature)                                                   \
  VGG_IF(VGG_ON(VGG_HAVE_SET_##name), extern const vgg_set_type_##prec vgg_set_##name;, )
VGG_SETS(VGG_X_SET_DECL)
#undef VGG_X_SET_DECL

static const struct {
  int kind; /* VGG_SET_<precision> */
  int level;
  unsigned long long needs; /* the level's features and the set's own */
  const void *set;          /* NULL: not built in */
  const char *name;
} sets[] = {
#define VGG_X_SET_ROW(prec, name, level, feature)                                                    \
  {VGG_SET_##prec, VGG_LEVEL_##level, VGG_NEEDS(feature), VGG_IF(VGG_ON(VGG_HAVE_SET_##name), &vgg_set_##name, NULL), #name},
    VGG_SETS(VGG_X_SET_ROW)
#undef VGG_X_SET_ROW
};

/* The n-th set (from 0) of `kind` that dispatch may use at `level`: built in, its level at or below
 * `level` and usable, its feature on this CPU; NULL past the last. */
static const void *set_at(int kind, int level, int n) {
  if (!vgg_level_usable(level)) return NULL;
  const unsigned long long has = vgg_cpu_get()->has;
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
    if (sets[i].set && sets[i].kind == kind && sets[i].level <= level && vgg_level_usable(sets[i].level) &&
        (has & sets[i].needs) == sets[i].needs && n-- == 0)
      return sets[i].set;
  return NULL;
}

const char *vgg_set_row(int i, const char **kind, int *level, int *state) {
  if (i < 0 || (size_t)i >= sizeof sets / sizeof sets[0]) return NULL;
  const unsigned long long has = vgg_cpu_get()->has;
  *kind = kind_names[sets[i].kind];
  *level = sets[i].level;
  *state = !sets[i].set ? 0 : vgg_level_usable(sets[i].level) && (has & sets[i].needs) == sets[i].needs ? 2 : 1;
  return sets[i].name;
}

/* Per kind: vgg_<prefix>_kernels_at, and _get (the first set, else the reference vgg_<prefix>_kernels_ref). */
#define VGG_X_KIND(prec, prefix, family)                                                             \
  const vgg_##prefix##_kernels *vgg_##prefix##_kernels_at(int level, int n) { return set_at(VGG_SET_##prec, level, n); } \
  const vgg_##prefix##_kernels *vgg_##prefix##_kernels_get(int level) {                              \
    const vgg_##prefix##_kernels *k = vgg_##prefix##_kernels_at(level, 0);                          \
    return k ? k : &vgg_##prefix##_kernels_ref;                                                      \
  }
VGG_SET_KINDS(VGG_X_KIND)
#undef VGG_X_KIND
