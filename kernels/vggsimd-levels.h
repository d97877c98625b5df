/* The instruction-set levels and the CPU features they need: the one list
 * that dispatch, the CPU report, the command line, the tests, verify and the
 * benchmarks all expand.  Installed with vggsimd.h, which includes it.
 *
 * Adding a level: its folder kernels/<name>/ (vector layer, config, one file
 * per kernel family, its table), one line in VGG_LEVELS, and its compiler
 * flags in kernels/meson.build.  Every flag a level is built with has a
 * feature here that the CPU (and the OS, for register state) must report. */
#ifndef VGGSIMD_LEVELS_H
#define VGGSIMD_LEVELS_H

/* X(ID, name): CPU features, as detected by CPUID/XCR0 (x86-64) or HWCAP (aarch64); the x86-64 ones
 * first, ASIMD the first of aarch64's.  The 8-bit and bfloat16 dot products (AVX512-VNNI, AVX-VNNI,
 * AVX512-BF16; dotprod, i8mm, bf16) are no level's requirement: the int8 and bf16 kernels that use them
 * name them (their `needs`), and dispatch falls back to the reference kernels without them.  amx_int8:
 * AMX tiles with the 8-bit tile dot product, the OS granting the tile data state (Linux asks for it once, in
 * the detection) and AVX512-VNNI (that set's classifier uses it). */
#define VGG_FEATURES(X)                                                                                  \
  X(SSE2, sse2) X(AVX, avx) X(AVX2, avx2) X(FMA, fma) X(F16C, f16c) X(AVX512F, avx512f)              \
  X(AVX512BW, avx512bw) X(AVX512DQ, avx512dq) X(AVX512VL, avx512vl) X(OS_AVX, os_ymm)                \
  X(OS_AVX512, os_zmm) X(AVX512VNNI, avx512vnni) X(AVX512BF16, avx512bf16) X(AVXVNNI, avxvnni)         \
  X(AMXINT8, amx_int8) X(ASIMD, asimd) X(FP16, fp16) X(DOTPROD, dotprod) X(I8MM, i8mm) X(BF16, bf16)

typedef enum {
#define VGG_X_FEATURE(id, name) VGG_FEATURE_##id,
  VGG_FEATURES(VGG_X_FEATURE)
#undef VGG_X_FEATURE
  VGG_FEATURE_COUNT
} vgg_feature;

#define VGG_NEEDS(id) (1ull << VGG_FEATURE_##id)
#define VGG_NEEDS_AVX2 (VGG_NEEDS(AVX2) | VGG_NEEDS(FMA) | VGG_NEEDS(F16C) | VGG_NEEDS(OS_AVX))
#define VGG_NEEDS_AVX512                                                                                 \
  (VGG_NEEDS_AVX2 | VGG_NEEDS(AVX512F) | VGG_NEEDS(AVX512BW) | VGG_NEEDS(AVX512DQ) | VGG_NEEDS(AVX512VL) | \
   VGG_NEEDS(OS_AVX512))

/* X(ID, name, features needed), lowest first.  A level is a cap: "avx512"
 * means the best kernels up to and including AVX-512.  `name` is the level's
 * one spelling: --isa, VGGSIMD_ISA, kernel symbol suffixes (__name), folders. */
#define VGG_LEVELS(X)                  \
  X(SCALAR, scalar, 0)                 \
  X(AVX2, avx2, VGG_NEEDS_AVX2)        \
  X(AVX512, avx512, VGG_NEEDS_AVX512)  \
  X(NEON, neon, VGG_NEEDS(ASIMD))

typedef enum {
#define VGG_X_LEVEL(id, name, needs) VGG_LEVEL_##id,
  VGG_LEVELS(VGG_X_LEVEL)
#undef VGG_X_LEVEL
  VGG_LEVEL_COUNT
} vgg_level;

/* X(PRECISION, prefix, family): the kinds of kernel set beyond a level's float32 families, one per precision
 * that has its own instructions: PRECISION as in VGG_PRECISIONS (vggsimd.h), its table type vgg_<prefix>_kernels
 * (kernels.h) with the getters vgg_<prefix>_kernels_at / _get (kernels/dispatch.c makes them from this list),
 * and the family of its sets' files, kernels/<level>/<family>-<name>.c (kernels/meson.build reads the rows). */
#define VGG_SET_KINDS(X)        \
  X(INT8, i8, i8-conv3x3)       \
  X(BF16, bf16, bf16-winograd)

/* X(PRECISION, name, LEVEL, FEATURE): the kernel sets beyond a level's float32 families, each using one
 * instruction its level does not require (an 8-bit or a bfloat16 dot product): the CPU feature FEATURE.
 * For a precision and a level, dispatch takes the first row (best first) at or below that level whose level
 * is usable and whose feature the CPU has, else the reference set.  `name` is the set's one spelling: the
 * kernels' suffix (__name), its table vgg_<prefix>_kernels_name (VGG_SET_KINDS), its file
 * kernels/<level>/<family>-<name>.c and library.  kernels/meson.build reads these rows (one a line) and
 * builds each file with its level's flags and its feature's flag; tests, verify and the CPU report loop
 * over them.  Adding a set: its file, one row here, and its feature's flag in kernels/meson.build. */
#define VGG_SETS(X)                           \
  X(INT8, avx512amx, AVX512, AMXINT8)        \
  X(INT8, avx512vnni, AVX512, AVX512VNNI)     \
  X(INT8, avxvnni, AVX2, AVXVNNI)             \
  X(INT8, neoni8mm, NEON, I8MM)               \
  X(INT8, neondotprod, NEON, DOTPROD)         \
  X(BF16, avx512bf16, AVX512, AVX512BF16)     \
  X(BF16, neonbf16, NEON, BF16)

/* "|scalar|avx2|avx512|neon" and "auto|scalar|avx2|avx512|neon", for help texts. */
#define VGG_X_LEVEL_BAR(id, name, needs) "|" #name
#define VGG_LEVEL_NAMES VGG_LEVELS(VGG_X_LEVEL_BAR)
#define VGG_LEVEL_CHOICES "auto" VGG_LEVEL_NAMES

#endif
