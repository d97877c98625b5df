/* Kernel signatures and the dispatch table.
 *
 * Kernels are pure compute: NHWC float32 tensors in, NHWC float32 out, no
 * knowledge of VGG, files or threads.  Each kernel takes a work range so the
 * engine can split one call across threads; the value of every output element
 * must not depend on how the range was split (results are bit-identical for
 * every thread count).
 */
#ifndef VGG_KERNELS_H
#define VGG_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VGG_CAT2(a, b) a##b
#define VGG_CAT(a, b) VGG_CAT2(a, b)

#include "vggsimd-levels.h"

/* 3x3 convolution, stride 1, 'same' zero padding, + bias, optional ReLU.
 * in:  h x w x cin, out: h x w x cout (both NHWC, batch 1).
 * weights: in the layout produced by the same table's conv3x3_pack. */
typedef struct {
  const float *in;
  float *out;
  const float *weights;
  const float *bias;
  int h, w, cin, cout;
  int relu;
} vgg_conv3x3_args;

/* Computes output rows [y0, y1) and output channels [oc0, oc1).
 * oc0 is a multiple of the table's conv_oc_block; oc1 is one too, or cout. */
typedef void (*vgg_conv3x3_fn)(const vgg_conv3x3_args *a, int y0, int y1, int oc0, int oc1);
/* Floats needed for the packed weights of a cin x cout layer. */
typedef size_t (*vgg_conv3x3_packed_size_fn)(int cin, int cout);
/* hwio: [3][3][cin][cout] -> packed.  Pure function of the inputs. */
typedef void (*vgg_conv3x3_pack_fn)(const float *hwio, int cin, int cout, float *packed);

/* Winograd F(m x m, 3x3) convolution + bias, optional ReLU, optional fused
 * 2x2/2 max-pool (then out is (h/2) x (w/2) x cout).  u: filters as packed by
 * the same family's pack.  scratch: the calling thread's own buffer of
 * scratch_size(cin, cout) floats.  Several images may sit one after the
 * other in `in` and `out`: their tile rows follow each other (see vgg_wino_fn),
 * so one call's blocks of tiles can span images and reuse each pass over u
 * for all of them. */
typedef struct {
  const float *in;
  float *out;
  const float *u;
  const float *bias;
  int h, w, cin, cout;
  int relu, pool;
  float *scratch;
  /* NULL, or the calling thread's own 3 doubles: seconds spent in the input
   * transform, the GEMMs and the output transform are added to them (the
   * clock is read around each stage of each block of tiles). */
  double *stage;
  /* 0, or a band of one image: `in` holds its rows from row0 on, and only
   * tile rows whose input rows are in the band may be asked for (the zero
   * padding is still the map's own edges, h rows tall). */
  int row0;
  /* 1: write the outputs with non-temporal stores where the level has whole-line ones (the caller's
   * choice for an output larger than the caches keep until the next layer reads it: no read of each
   * line before it is overwritten).  The values are the same either way. */
  int stream;
} vgg_wino_args;

/* Floats between consecutive (m+2)^2 planes of the Winograd buffers, beyond
 * their size, so the planes do not alias in the L1 cache sets. */
#define VGG_WINO_PAD 16

/* Tile rows [ty0, ty1) and channels [oc0, oc1).  A tile row is m output rows;
 * image i has tile rows [i * th, (i + 1) * th), th = ceil(h / m). */
typedef void (*vgg_wino_fn)(const vgg_wino_args *a, int ty0, int ty1, int oc0, int oc1);
/* The input-transform stage alone: v[xi * (nt*cin + VGG_WINO_PAD) + t*cin + c] for tiles
 * [t0, t0+nt) in raster order (over the tile rows of every image). */
typedef void (*vgg_wino_input_fn)(const vgg_wino_args *a, int t0, int nt, float *v);
typedef size_t (*vgg_size_fn)(int cin, int cout);

/* The Winograd families of a table: F(2x2), F(4x4), F(6x6) (index = m / 2 - 1). */
#define VGG_WINO_COUNT 3

typedef struct {
  int m;  /* output tile side: 2, 4 or 6 */
  int nr; /* output-channel block of the packed filters; oc0 of a work range is a multiple */
  vgg_size_fn packed_size, scratch_size;
  vgg_conv3x3_pack_fn pack; /* hwio -> [(m+2)^2][ceil(cout/nr)][cin][nr] */
  vgg_wino_input_fn input;
  vgg_wino_fn conv;
  const char *name;
} vgg_wino_kernels;

/* 2x2 stride-2 max-pool, floor: out is (h/2) x (w/2) x c.  Output rows [y0, y1). */
typedef void (*vgg_maxpool2x2_fn)(const float *in, float *out, int h, int w, int c, int y0, int y1);

/* Dense layer y = W x + b, optional ReLU, batch-1.  W is [n_out][n_in] row-major.
 * Computes outputs [o0, o1). */
typedef void (*vgg_dense_fn)(const float *x, const float *w, const float *bias, float *y,
                             int n_in, int n_out, int relu, int o0, int o1);

/* Dense layer for a small batch: x [nb][n_in], y [nb][n_out]; outputs [o0, o1)
 * of every image.  Streams the weights once per 4 images. */
typedef void (*vgg_dense_batch_fn)(const float *x, int nb, const float *w, const float *bias, float *y, int n_in,
                                   int n_out, int relu, int o0, int o1);

/* The dense layer on bf16 weights (W [n_out][n_in] rounded by vgg_bf16_from_f32, so never denormal): each
 * weight widened exactly to float32 and accumulated as dense / dense_batch do, so it is the float32 dense
 * layer of the rounded weights, reading half the bytes. */
typedef void (*vgg_dense_bf16_fn)(const float *x, const uint16_t *w, const float *bias, float *y, int n_in,
                                  int n_out, int relu, int o0, int o1);
typedef void (*vgg_dense_bf16_batch_fn)(const float *x, int nb, const uint16_t *w, const float *bias, float *y,
                                        int n_in, int n_out, int relu, int o0, int o1);

/* The dense layer transposed, for gradients: gx[i] = sum over o of g[o] W[o][i] (W [n_out][n_in] row-major,
 * rows with g[o] = 0 skipped), inputs [i0, i1). */
typedef void (*vgg_dense_t_fn)(const float *g, const float *w, float *gx, int n_in, int n_out, int i0, int i1);

/* Numerically stable softmax over n values; y may alias x. */
typedef void (*vgg_softmax_fn)(const float *x, float *y, int n);

/* The simple operations of a table, X(op, type): each gets a function field
 * and a name field (the kernel's symbol), which `vggsimd cpu` prints. */
#define VGG_KERNEL_OPS(X)                  \
  X(conv3x3, vgg_conv3x3_fn)               \
  X(conv3x3_c3, vgg_conv3x3_fn)            \
  X(maxpool2x2, vgg_maxpool2x2_fn)         \
  X(dense, vgg_dense_fn)                   \
  X(dense_batch, vgg_dense_batch_fn)       \
  X(dense_t, vgg_dense_t_fn)               \
  X(dense_bf16, vgg_dense_bf16_fn)         \
  X(dense_bf16_batch, vgg_dense_bf16_batch_fn) \
  X(softmax, vgg_softmax_fn)

typedef struct {
  int level;
  /* Output-channel granularity of conv3x3 work ranges (a multiple of the
   * micro-kernel's register block). */
  int conv_oc_block;
  /* FMA throughput calibration: fma_peak(iters) performs iters * fma_peak_flops
   * floating-point operations at the core's peak rate (NULL at the scalar level). */
  float (*fma_peak)(int64_t iters);
  int fma_peak_flops;
  vgg_conv3x3_packed_size_fn conv3x3_packed_size;
  vgg_conv3x3_pack_fn conv3x3_pack;
  vgg_wino_kernels wino[VGG_WINO_COUNT]; /* F(2x2,3x3), F(4x4,3x3), F(6x6,3x3) */
#define VGG_X_FIELD(op, type) type op; const char *op##_name;
  VGG_KERNEL_OPS(VGG_X_FIELD)
#undef VGG_X_FIELD
} vgg_kernel_table;

/* Declarations and table entries of a Winograd family, for the table files
 * (SUFFIX comes from the level's vector layer, K_WINO_CONV from templates/names.h). */
#define VGG_WINO_DECLS(WMV)                                                                        \
  size_t SUFFIX(vgg_f32_wino##WMV##_packed_size)(int cin, int cout);                             \
  size_t SUFFIX(vgg_f32_wino##WMV##_scratch_size)(int cin, int cout);                            \
  void SUFFIX(vgg_f32_wino##WMV##_pack)(const float *hwio, int cin, int cout, float *u);         \
  void SUFFIX(vgg_f32_wino##WMV##_input)(const vgg_wino_args *a, int t0, int nt, float *v);      \
  void K_WINO_CONV(WMV)(const vgg_wino_args *a, int ty0, int ty1, int oc0, int oc1);
#define VGG_WINO_ENTRY(WMV, NRV)                                                                   \
  {WMV, NRV, SUFFIX(vgg_f32_wino##WMV##_packed_size), SUFFIX(vgg_f32_wino##WMV##_scratch_size),        \
   SUFFIX(vgg_f32_wino##WMV##_pack), SUFFIX(vgg_f32_wino##WMV##_input), K_WINO_CONV(WMV), VGG_STR(K_WINO_CONV(WMV))}

/* ---- int8 (u8 activations x s8 weights, s32 sums) ----
 *
 * 3x3 convolution, stride 1, 'same' zero padding, on u8 NHWC activations that
 * are real values / s_in (zero point 0: the inputs are post-ReLU), s8 weights
 * that are w / s_w[oc], exact s32 sums over ky, kx, ci, and requantisation of
 * each output to the next layer's u8 scale:
 *
 *   y   = fmaf((float)sum, scale[oc], bias[oc])     scale = s_in s_w[oc] / s_out, bias = b / s_out
 *   out = (uint8_t) nearbyintf(min(max(y, 0), 255)) round half to even; the max is the ReLU
 *
 * Every level computes exactly these operations (the sums are exact: at most
 * 9 cin 255 127 < 2^31 for cin <= 4096), so results are bit-identical to the
 * reference for any level and any work split.  cin is a multiple of 4 (one
 * dot-product instruction takes 4 channels). */
#define VGG_I8_MAX_CIN 4096
typedef struct {
  const uint8_t *in;     /* h x w x cin */
  uint8_t *out;          /* h x w x cout */
  const int8_t *weights; /* as packed by the same kernels' pack */
  const float *scale, *bias; /* cout each */
  int h, w, cin, cout;
  void *scratch; /* the exact Winograd kernel's, w4_scratch_size(w, cin) bytes per call at once; else unused */
} vgg_i8_conv3x3_args;
/* Output rows [y0, y1), channels [oc0, oc1): oc0 a multiple of oc_block. */
typedef void (*vgg_i8_conv3x3_fn)(const vgg_i8_conv3x3_args *a, int y0, int y1, int oc0, int oc1);
/* Bytes of the packed weights; pack: s8 hwio [3][3][cin][cout] -> packed. */
typedef size_t (*vgg_i8_packed_size_fn)(int cin, int cout);
typedef void (*vgg_i8_pack_fn)(const int8_t *hwio, int cin, int cout, int8_t *packed);

/* int8 dense layer (the classifier at --precision int8): u8 inputs x s8 weights, exact s32 sums, float32 out.
 *   x  [nb][stride] u8, image b's real values x_b = q * xs[b] (one scale per image: the net quantises each
 *      image's input with its own maximum, so nothing is clipped);
 *   w  [n_out][stride] s8 as packed by the same kernels' dense_pack, row o's real values q * ws[o];
 *   y[b][o] = fmaf((float)sum_i x_q[i] w_q[o][i], xs[b] * ws[o], bias[o]), then max(y, 0) with relu;
 * stride = vgg_i8_dense_stride(n_in) (a multiple of 64 bytes, the padding zero in x and w), n_in at most
 * VGG_I8_DENSE_MAX_IN (|sum| <= n_in 255 127 < 2^31).  Outputs [o0, o1) of every image; the sums are exact, so
 * every kernel gives the reference's bits. */
#define VGG_I8_DENSE_MAX_IN 65536
static inline size_t vgg_i8_dense_stride(int n_in) { return ((size_t)n_in + 63) & ~(size_t)63; }
typedef void (*vgg_i8_dense_fn)(const uint8_t *x, const float *xs, int nb, const int8_t *w, const float *ws,
                                const float *bias, float *y, int n_in, int n_out, int relu, int o0, int o1);
/* rows s8 rows of n_in (row-major) -> packed rows of vgg_i8_dense_stride(n_in) bytes. */
typedef void (*vgg_i8_dense_pack_fn)(const int8_t *q, int rows, int n_in, int8_t *packed);
void vgg_i8_dense_ref(const uint8_t *x, const float *xs, int nb, const int8_t *w, const float *ws, const float *bias,
                      float *y, int n_in, int n_out, int relu, int o0, int o1);
void vgg_i8_dense_pack_ref(const int8_t *q, int rows, int n_in, int8_t *packed);

typedef struct {
  int oc_block;
  vgg_i8_packed_size_fn packed_size;
  vgg_i8_pack_fn pack;
  vgg_i8_conv3x3_fn conv;
  const char *name; /* the conv kernel's symbol */
  /* Bytes of scratch the direct conv needs per call at once (args.scratch), for an input row of w pixels of
   * cin channels; NULL where it needs none. */
  size_t (*scratch_size)(int w, int cin);
  /* Dot-product throughput calibration: dot_peak(iters) performs iters * dot_peak_ops integer
   * operations (a multiply-add counts 2) at the core's peak rate (NULL for the reference). */
  float (*dot_peak)(int64_t iters);
  int dot_peak_ops;
  /* Exact Winograd F(4x4,3x3) (docs/precision.md): 16-bit transformed data, 2-way 16-bit dot products,
   * wrapping 32-bit sums and a modular output transform give every output the direct kernel's sum, so the
   * same bytes, for every output channel with 255 max(sum of positive weights, -sum of negative) < 2^25
   * (vgg_i8_w4_exact).  Same args (scratch needed); rows [y0, y1) are tile rows of 4 output rows, oc0 a
   * multiple of oc_block.  NULL where a level has none. */
  vgg_i8_packed_size_fn w4_packed_size;
  vgg_i8_pack_fn w4_pack;
  vgg_i8_conv3x3_fn w4_conv;
  size_t (*w4_scratch_size)(int w, int cin);
  const char *w4_name;
  vgg_i8_dense_pack_fn dense_pack; /* the classifier */
  vgg_i8_dense_fn dense;
  const char *dense_name;
  /* float32 to u8 with vgg_u8_quantize's operations, so its bits (where an int8 net quantises float32 values: the
   * float32 layer's output before the first int8 layer, the classifier's input); NULL: vgg_u8_quantize itself. */
  void (*quantize)(const float *x, uint8_t *q, size_t n, float inv_scale);
} vgg_i8_kernels;
/* 1 when every output channel of the s8 hwio weights meets the exact Winograd kernels' bound. */
int vgg_i8_w4_exact(const int8_t *hwio, int cin, int cout);

/* The int8 kernels for `level`: the first int8 set of VGG_SETS usable there on this CPU, else the
 * reference (vgg_i8_kernels_ref). */
const vgg_i8_kernels *vgg_i8_kernels_get(int level);
/* Every int8 kernel set of `level` the CPU can run, in order of preference (n from 0; NULL after the last):
 * the tests hold each to the reference, not only the one dispatch prefers. */
const vgg_i8_kernels *vgg_i8_kernels_at(int level, int n);
extern const vgg_i8_kernels vgg_i8_kernels_ref;

/* [ceil(cout/nr)][9][cin/4][nr][4]: the layout of the SIMD kernels (channel tail zero). */
size_t vgg_i8_packed_size_blocked(int cin, int cout, int nr);
void vgg_i8_pack_blocked(const int8_t *hwio, int cin, int cout, int nr, int8_t *packed);

/* u8 2x2 stride-2 max-pool (floor), output rows [y0, y1): exact, as max commutes with the rounding. */
void vgg_u8_maxpool2x2(const uint8_t *in, uint8_t *out, int h, int w, int c, int y0, int y1);
/* q = nearbyintf(min(max(x * inv_scale, 0), 255)), and back: x = q * scale. */
void vgg_u8_quantize(const float *x, uint8_t *q, size_t n, float inv_scale);
void vgg_u8_dequantize(const uint8_t *q, float *x, size_t n, float scale);

/* ---- bf16 (bfloat16 GEMM operands, float32 accumulation) ----
 *
 * Winograd F(2x2) and F(4x4) whose GEMMs take bf16 operands: transformed
 * filters U and inputs V rounded to bf16, 2-way dot products accumulated in
 * float32; transforms, bias, ReLU, pool and activations between layers in
 * float32.  Rounding and dot product as AVX512-BF16 defines them
 * (VCVTNEPS2BF16, VDPBF16PS), which the reference computes in plain C: */

/* The 4 bytes at p as one 32-bit word (any alignment): what the 4-byte (int8) and 2 x bf16 broadcasts load. */
static inline int32_t vgg_load4(const void *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* float32 -> bf16, round to nearest even; NaN stays NaN (quiet); denormals become signed zero. */
static inline uint16_t vgg_bf16_from_f32(float x) {
  uint32_t b;
  memcpy(&b, &x, 4);
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu)) return (uint16_t)((b >> 16) | 0x40u);
  if ((b & 0x7f800000u) == 0) return (uint16_t)((b >> 16) & 0x8000u);
  return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}
/* x[0..n) to bf16, each to one of its two neighbours (the rounding of a Winograd filter's transformed weights
 * over its input channels): to nearest (vgg_bf16_from_f32), then the values whose error has the sign of the
 * errors' sum, nearest a half first (in 64 steps of their unit; the earlier first within a step), each turned
 * to its other neighbour where that brings the sum nearer 0; in runs of 512 values.  Never a denormal or an
 * infinity.  Compiled once (baseline flags), so every level's packing makes the same choices. */
void vgg_bf16_round_sum(const float *x, int n, uint16_t *h);
/* One output channel's transformed filter at the alpha x alpha Winograd positions: for each input channel, row i
 * and column j of G f G^T (G: alpha x 3 doubles, f its 3x3 filter: tap k of input channel ci at
 * w[k * tap_stride + ci * ci_stride]) in double, rounded to float, then to bf16 by vgg_bf16_round_sum over the
 * input channels; position (i, j) at dst + (i * alpha + j) * pos_stride, input channel ci at
 * [(ci / 2) * pair_stride + ci % 2] (the bf16 GEMMs' channel pairs). */
void vgg_bf16_wino_u(const float *w, int cin, size_t tap_stride, size_t ci_stride, const double *g, int alpha,
                     uint16_t *dst, size_t pos_stride, size_t pair_stride);
/* bf16 -> float32 (exact); a denormal input reads as signed zero. */
static inline float vgg_f32_from_bf16(uint32_t h) {
  uint32_t b = (h & 0xffffu) << 16;
  if ((b & 0x7f800000u) == 0) b &= 0x80000000u;
  float x;
  memcpy(&x, &b, 4);
  return x;
}
static inline float vgg_ftz(float x) {
  uint32_t b;
  memcpy(&b, &x, 4);
  if ((b & 0x7f800000u) == 0) b &= 0x80000000u;
  memcpy(&x, &b, 4);
  return x;
}
/* One lane of VDPBF16PS: acc += a.hi * b.hi, then += a.lo * b.lo, each a
 * float32 fused multiply-add (a bf16 product is exact in float32 unless it
 * falls below FLT_MIN, where a separate multiply would round it), denormal
 * inputs as zero, denormal results flushed to zero.  a and b hold two bf16
 * each (element 2j in the low half). */
static inline float vgg_bf16_dot2(float acc, uint32_t a, uint32_t b) {
  acc = vgg_ftz(fmaf(vgg_f32_from_bf16(a >> 16), vgg_f32_from_bf16(b >> 16), vgg_ftz(acc)));
  return vgg_ftz(fmaf(vgg_f32_from_bf16(a), vgg_f32_from_bf16(b), acc));
}

typedef struct {
  vgg_wino_kernels wino[2];  /* F(2x2), F(4x4) with bf16 GEMMs */
  /* Dot-product throughput calibration: dot_peak(iters) performs iters * dot_peak_flops floating-point
   * operations (a multiply-add counts 2) at the core's peak rate (NULL for the reference). */
  float (*dot_peak)(int64_t iters);
  int dot_peak_flops;
} vgg_bf16_kernels;
/* The bf16 kernels for `level`: the first bf16 set of VGG_SETS usable there on this CPU, else the reference. */
const vgg_bf16_kernels *vgg_bf16_kernels_get(int level);
/* The n-th bf16 set (from 0) usable at `level` on this CPU, best first (VGG_SETS), or NULL past the last. */
const vgg_bf16_kernels *vgg_bf16_kernels_at(int level, int n);
extern const vgg_bf16_kernels vgg_bf16_kernels_ref;

/* ---- CPU features and dispatch (kernels/dispatch.c) ---- */

typedef struct {
  int x86, arm;
  unsigned long long has; /* bit VGG_FEATURE_x: the CPU (and OS) support x */
  char brand[64];
} vgg_cpu_features;

const vgg_cpu_features *vgg_cpu_get(void);
/* Name of feature f ("avx512f", "os_zmm", ...). */
const char *vgg_feature_name(int f);
/* Features `level` needs, as VGG_NEEDS bits. */
unsigned long long vgg_level_needs(int level);
/* Row i of VGG_SETS: returns its name and sets its precision ("INT8", "BF16"), level and state (0 not
 * built in, 1 built in but not on this CPU, 2 usable); NULL past the last row. */
const char *vgg_set_row(int i, const char **kind, int *level, int *state);
/* Table for `level`, or NULL when it is not both compiled in and usable on
 * this CPU.  Tables are static data: nothing runs at load time.  (The
 * vgg_level_* queries are in vggsimd.h.) */
const vgg_kernel_table *vgg_kernels_get(int level);

/* ---- Reference kernels (kernels/ref) ---- */
void vgg_f32_conv3x3_ref(const vgg_conv3x3_args *a, int y0, int y1, int oc0, int oc1);
size_t vgg_f32_conv3x3_packed_size_ref(int cin, int cout);
void vgg_f32_conv3x3_pack_ref(const float *hwio, int cin, int cout, float *packed);
void vgg_f32_maxpool2x2_ref(const float *in, float *out, int h, int w, int c, int y0, int y1);
void vgg_f32_dense_ref(const float *x, const float *w, const float *bias, float *y,
                       int n_in, int n_out, int relu, int o0, int o1);
void vgg_f32_dense_batch_ref(const float *x, int nb, const float *w, const float *bias, float *y, int n_in,
                             int n_out, int relu, int o0, int o1);
void vgg_bf16_dense_ref(const float *x, const uint16_t *w, const float *bias, float *y, int n_in, int n_out, int relu,
                        int o0, int o1);
void vgg_bf16_dense_batch_ref(const float *x, int nb, const uint16_t *w, const float *bias, float *y, int n_in,
                              int n_out, int relu, int o0, int o1);
void vgg_f32_dense_t_ref(const float *g, const float *w, float *gx, int n_in, int n_out, int i0, int i1);
void vgg_f32_softmax_ref(const float *x, float *y, int n);

/* How far past the direct sum a Winograd F(m x m) conv's values can grow (kernels/ref/f32-winograd-ref.c):
 * every value its stages compute is at most vgg_wino_growth(m) x (the largest sum of |w| of an output
 * channel's filter) x max |input|, plus the bias.  1 for m other than 2, 4 and 6 (direct convolution). */
double vgg_wino_growth(int m);

/* float64 naive layers (kernels/ref/f64-naive.c), for tests and verification. */
void vgg_f64_conv3x3_naive(const float *in, const float *hwio, const float *bias, double *out, int h, int w, int cin,
                           int cout, int relu);
void vgg_f64_dense_naive(const float *x, const float *w, const float *bias, double *y, int n_in, int n_out, int relu);

/* One table per level, named vgg_kernels_<name>, declared for the levels
 * built in (meson defines VGG_HAVE_<name> = 1 for each SIMD folder it
 * compiles); VGG_TABLE(name) is its address, or NULL for a level not built. */
#define VGG_HAVE_scalar 1
#define VGG_ON_PROBE_1 0,
#define VGG_ON(x) VGG_ON_(x)
#define VGG_ON_(x) VGG_ON__(VGG_ON_PROBE_##x)
#define VGG_ON__(probe) VGG_ON___(probe 1, 0)
#define VGG_ON___(ignored, val, ...) val
#define VGG_IF_0(yes, no) no
#define VGG_IF_1(yes, no) yes
#define VGG_IF(cond, yes, no) VGG_CAT(VGG_IF_, cond)(yes, no)
#define VGG_TABLE(name) VGG_IF(VGG_ON(VGG_HAVE_##name), &vgg_kernels_##name, NULL)
#define VGG_X_TABLE(id, name, needs) VGG_IF(VGG_ON(VGG_HAVE_##name), extern const vgg_kernel_table vgg_kernels_##name;, )
VGG_LEVELS(VGG_X_TABLE)
#undef VGG_X_TABLE

#ifdef __cplusplus
}
#endif
#endif
