// Google Benchmark harness: every kernel at every level against the scalar
// reference on the 13 VGG16 conv shapes (and pooling, dense, softmax shapes),
// blocks and the whole network with the engine's plans, and oneDNN side by
// side (meson feature `peers`).
//
// Counters: GFLOP/s (for Winograd also the direct-equivalent rate), %peak (of
// the FMA peak measured by the calibration rows of this same run, per level
// and thread count), x_scalar (speedup over the scalar row of the same shape,
// measured earlier in the same run), B/s for memory-bound kernels, and for
// oneDNN rows ours/oneDNN time ratios.  Add --benchmark_repetitions=10 for a
// `_min` aggregate; the usual --benchmark_filter / --benchmark_out work.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <omp.h>

#include "kernels.h"
#include "support.h"
#include "vggsimd.h"
#ifdef VGG_HAVE_PEERS
#include "peer_onednn.h"
#endif

namespace {

// Engine options by field (vgg_options_init's defaults for the rest): a field added to vgg_options needs no
// change here.
vgg_options engine_options(int level, int threads, vgg_algo algo, vgg_precision precision, const float *ranges,
                           const float *channels = nullptr) {
  vgg_options o;
  vgg_options_init(&o);
  o.isa = level, o.threads = threads, o.algo = algo, o.precision = precision, o.ranges = ranges;
  o.channel_ranges = ranges ? channels : nullptr;
  return o;
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Buf {  // 64-byte aligned float buffer
  float *p = nullptr;
  explicit Buf(size_t n) : p(static_cast<float *>(std::aligned_alloc(64, ((n * 4 + 63) / 64) * 64 + 64))) {}
  ~Buf() { std::free(p); }
  Buf(const Buf &) = delete;
  Buf &operator=(const Buf &) = delete;
};

void fill(float *p, size_t n, unsigned seed) { vgg_fill(p, n, seed); }

// The VGG16 conv layers at 224x224, from the model (support.h).
struct Vgg16Convs {
  vgg_conv_shape s[16];
  int n;
  Vgg16Convs() : n(vgg_conv_shapes(VGG16, 224, 224, s, 16)) {}
};
const Vgg16Convs kVgg16;
const char *kAlgoNames[] = {"auto", "direct", "wino2", "wino4", "fast"};

std::map<std::string, double> g_peak;    // "level/threads" -> GFLOP/s
std::map<std::string, double> g_scalar;  // shape key -> seconds per iteration at the scalar level
std::map<std::string, double> g_ours;    // "algo/what/threads" -> seconds (ours, best level)

// Forward passes per row of the network-level benchmarks: a row times a part
// of each pass (manual time), so a minimum time would mean many whole passes.
const int kNetIters = 4;

std::string key(const std::string &a, const std::string &b) { return a + "/" + b; }

void set_peak_counter(benchmark::State &st, int level, int threads, double gflops) {
  auto it = g_peak.find(key(vgg_level_name(level), std::to_string(threads)));
  if (it != g_peak.end() && it->second > 0) st.counters["%peak"] = 100.0 * gflops / it->second;
}

void set_scalar_counter(benchmark::State &st, int level, const std::string &shape, double sec) {
  if (level == VGG_LEVEL_SCALAR) {
    g_scalar[shape] = sec;
    return;
  }
  auto it = g_scalar.find(shape);
  if (it != g_scalar.end()) st.counters["x_scalar"] = it->second / sec;
}

// ---- calibration --------------------------------------------------------

// `threads` copies of a throughput loop: fn(iters) does iters * per_iter operations. The rate goes in counter
// `unit` and, when `store` is not empty, raises g_peak[store] (the peaks the % columns divide by).
void peak_loop(benchmark::State &st, float (*fn)(int64_t), int per_iter, int threads, const std::string &store,
               const char *unit) {
  const int64_t iters = 1 << 20;
  const double t0 = now();
  for (auto _ : st) {
    float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += fn(iters);
    benchmark::DoNotOptimize(sink);
  }
  const double rate = static_cast<double>(iters) * per_iter * threads * st.iterations() / (now() - t0) / 1e9;
  if (!store.empty()) {
    auto &p = g_peak[store];
    p = std::max(p, rate);
  }
  st.counters[unit] = rate;
}

// The FMA peak, kept under "<level>/<threads>".
void BM_FmaPeak(benchmark::State &st, int level, int threads) {
  const vgg_kernel_table *k = vgg_kernels_get(level);
  peak_loop(st, k->fma_peak, k->fma_peak_flops, threads, key(vgg_level_name(level), std::to_string(threads)),
            "GFLOP/s");
}

// The int8 dot-product peak (vpdpbusd, usdot), kept under "int8/<level>/<threads>".
void BM_Int8Peak(benchmark::State &st, int level, int threads) {
  const vgg_i8_kernels *k = vgg_i8_kernels_get(level);
  peak_loop(st, k->dot_peak, k->dot_peak_ops, threads,
            key("int8", key(vgg_level_name(level), std::to_string(threads))), "GOP/s");
}

// The bf16 dot-product peak (vdpbf16ps, bfmlal).
void BM_Bf16Peak(benchmark::State &st, int level, int threads) {
  const vgg_bf16_kernels *k = vgg_bf16_kernels_get(level);
  peak_loop(st, k->dot_peak, k->dot_peak_flops, threads, "", "GFLOP/s");
}

// ---- kernels, single thread, full layer ---------------------------------

// int8 conv of VGG16 layer `layer` (cin a multiple of 4), u8 x s8, direct or (w4) the exact Winograd F(4x4):
// GOP/s counting the direct convolution's operations and % of the dot-product peak (Winograd passes 100%).
void BM_ConvInt8(benchmark::State &st, int level, int layer, bool w4) {
  const vgg_i8_kernels *k = vgg_i8_kernels_get(level);
  const int H = kVgg16.s[layer].h, CI = kVgg16.s[layer].cin, CO = kVgg16.s[layer].cout;
  const size_t nin = static_cast<size_t>(H) * H * CI, nw = 9ull * CI * CO;
  std::vector<uint8_t> in(nin), out(static_cast<size_t>(H) * H * CO);
  std::vector<int8_t> w(nw), packed(w4 ? k->w4_packed_size(CI, CO) : k->packed_size(CI, CO));
  std::vector<char> scratch(w4 ? k->w4_scratch_size(H, CI) : k->scratch_size ? k->scratch_size(H, CI) : 1);
  std::vector<float> scale(CO, 1.0f / (9.0f * CI * 64.0f)), bias(CO, 8.0f);
  for (size_t i = 0; i < nin; i++) in[i] = static_cast<uint8_t>((i * 2654435761u) >> 24);
  for (size_t i = 0; i < nw; i++) w[i] = static_cast<int8_t>(static_cast<int>((i * 40503u) % 255) - 127);
  while (w4 && !vgg_i8_w4_exact(w.data(), CI, CO))  // into its bound (the time does not depend on the values)
    for (auto &v : w) v = static_cast<int8_t>(v / 2);
  if (w4) k->w4_pack(w.data(), CI, CO, packed.data());
  else k->pack(w.data(), CI, CO, packed.data());
  const vgg_i8_conv3x3_args a = {in.data(), out.data(), packed.data(), scale.data(), bias.data(), H, H, CI, CO,
                                 scratch.data()};
  const double t0 = now();
  for (auto _ : st) {
    if (w4) k->w4_conv(&a, 0, (H + 3) / 4, 0, CO);
    else k->conv(&a, 0, H, 0, CO);
    benchmark::ClobberMemory();
  }
  const double sec = (now() - t0) / st.iterations(), gops = 2.0 * 9 * CI * CO * H * H / sec / 1e9;
  st.counters["GOP/s"] = gops;
  auto it = g_peak.find(key("int8", key(vgg_level_name(level), "1")));
  if (it != g_peak.end() && it->second > 0) st.counters["%peak"] = 100.0 * gops / it->second;
}

// algo: 0 direct, 1 wino2, 2 wino4, 3 wino6
void BM_Conv(benchmark::State &st, int level, int layer, int algo) {
  const vgg_kernel_table *k = vgg_kernels_get(level);
  const int H = kVgg16.s[layer].h, CI = kVgg16.s[layer].cin, CO = kVgg16.s[layer].cout;
  Buf in(static_cast<size_t>(H) * H * CI), out(static_cast<size_t>(H) * H * CO), w(9ull * CI * CO), b(CO);
  fill(in.p, static_cast<size_t>(H) * H * CI, 1), fill(w.p, 9ull * CI * CO, 2), fill(b.p, CO, 3);
  const vgg_wino_kernels *wk = algo ? &k->wino[algo - 1] : nullptr;
  Buf packed(wk ? wk->packed_size(CI, CO) : k->conv3x3_packed_size(CI, CO));
  Buf scratch(wk ? wk->scratch_size(CI, CO) : 1);
  if (wk) wk->pack(w.p, CI, CO, packed.p);
  else k->conv3x3_pack(w.p, CI, CO, packed.p);
  const vgg_conv3x3_args a = {in.p, out.p, packed.p, b.p, H, H, CI, CO, 1};
  const vgg_wino_args wa = {in.p, out.p, packed.p, b.p, H, H, CI, CO, 1, 0, scratch.p, nullptr, 0, 0};
  const double t0 = now();
  for (auto _ : st) {
    if (wk) wk->conv(&wa, 0, (H + wk->m - 1) / wk->m, 0, CO);
    else (CI == 3 ? k->conv3x3_c3 : k->conv3x3)(&a, 0, H, 0, CO);
    benchmark::ClobberMemory();
  }
  const double sec = (now() - t0) / st.iterations();
  const double direct_flops = 2.0 * 9 * CI * CO * H * H;
  st.counters["GFLOP/s"] = direct_flops / sec / 1e9;  // direct-equivalent
  double actual = direct_flops;
  if (wk) {  // Winograd: the (m+2)^2 GEMMs only, transforms not counted
    const double tiles = std::pow(std::ceil(static_cast<double>(H) / wk->m), 2);
    actual = 2.0 * (wk->m + 2) * (wk->m + 2) * tiles * CI * CO;
    st.counters["GFLOP/s_actual"] = actual / sec / 1e9;
  }
  set_peak_counter(st, level, 1, actual / sec / 1e9);
  set_scalar_counter(st, level, key("conv", kVgg16.s[layer].name), sec);
  if (wk) {  // one more call with the stages timed: the transforms' share, the GEMMs' own % of peak
    double stage[3] = {0, 0, 0};
    vgg_wino_args ta = wa;
    ta.stage = stage;
    wk->conv(&ta, 0, (H + wk->m - 1) / wk->m, 0, CO);
    const double all = stage[0] + stage[1] + stage[2];
    st.counters["xform_share"] = (stage[0] + stage[2]) / all;
    auto it = g_peak.find(key(vgg_level_name(level), "1"));
    if (it != g_peak.end() && it->second > 0) st.counters["gemm_%peak"] = 100.0 * actual / stage[1] / 1e9 / it->second;
  }
}

void BM_Pool(benchmark::State &st, int level, int H, int C) {
  const vgg_kernel_table *k = vgg_kernels_get(level);
  Buf in(static_cast<size_t>(H) * H * C), out(static_cast<size_t>(H / 2) * (H / 2) * C);
  fill(in.p, static_cast<size_t>(H) * H * C, 4);
  const double t0 = now();
  for (auto _ : st) {
    k->maxpool2x2(in.p, out.p, H, H, C, 0, H / 2);
    benchmark::ClobberMemory();
  }
  const double sec = (now() - t0) / st.iterations();
  st.counters["B/s"] = benchmark::Counter(4.0 * (H * H * C + (H / 2) * (H / 2) * C) / sec);
  set_scalar_counter(st, level, key("pool", std::to_string(H)), sec);
}

// One classifier layer, one image, one thread, in a precision: float32 weights, bf16 weights (widened), or s8
// rows with u8 inputs (the level's int8 kernels).  Bytes/s counts the weights, read once per call.
void BM_Dense(benchmark::State &st, int level, int NI, int NO, int prec) {
  const vgg_kernel_table *k = vgg_kernels_get(level);
  const vgg_i8_kernels *i8 = vgg_i8_kernels_get(level);
  const size_t n = static_cast<size_t>(NI) * NO, stride = vgg_i8_dense_stride(NI);
  Buf x(NI), w(n), b(NO), y(NO), ws(NO);
  fill(x.p, NI, 5), fill(w.p, n, 6), fill(b.p, NO, 7), fill(ws.p, NO, 8);
  std::vector<uint16_t> h(prec == VGG_PRECISION_BF16 ? n : 0);
  std::vector<int8_t> q(prec == VGG_PRECISION_INT8 ? static_cast<size_t>(NO) * stride : 0);
  std::vector<uint8_t> xq(stride);
  for (size_t i = 0; i < h.size(); i++) h[i] = vgg_bf16_from_f32(w.p[i]);
  if (prec == VGG_PRECISION_INT8) {
    std::vector<int8_t> rows(n);
    for (size_t i = 0; i < n; i++) rows[i] = static_cast<int8_t>(static_cast<int>(w.p[i] * 1e6f) % 255 - 127);
    i8->dense_pack(rows.data(), NO, NI, q.data());
    for (int i = 0; i < NI; i++) xq[i] = static_cast<uint8_t>(static_cast<int>(x.p[i] * 1e6f) & 255);
  }
  const float xs = 0.01f;
  const double t0 = now();
  for (auto _ : st) {
    if (prec == VGG_PRECISION_BF16) k->dense_bf16(x.p, h.data(), b.p, y.p, NI, NO, 1, 0, NO);
    else if (prec == VGG_PRECISION_INT8) i8->dense(xq.data(), &xs, 1, q.data(), ws.p, b.p, y.p, NI, NO, 1, 0, NO);
    else k->dense(x.p, w.p, b.p, y.p, NI, NO, 1, 0, NO);
    benchmark::ClobberMemory();
  }
  const double sec = (now() - t0) / st.iterations();
  const double bytes = prec == VGG_PRECISION_BF16 ? 2.0 : prec == VGG_PRECISION_INT8 ? 1.0 : 4.0;
  st.counters["B/s"] = benchmark::Counter(bytes * NI * NO / sec);  // the weights, read once
  st.counters["GFLOP/s"] = 2.0 * NI * NO / sec / 1e9;
  if (prec == VGG_PRECISION_F32) set_scalar_counter(st, level, key("dense", std::to_string(NI)), sec);
}

void BM_Softmax(benchmark::State &st, int level, int n) {
  const vgg_kernel_table *k = vgg_kernels_get(level);
  Buf x(n), y(n);
  fill(x.p, n, 8);
  const double t0 = now();
  for (auto _ : st) {
    k->softmax(x.p, y.p, n);
    benchmark::ClobberMemory();
  }
  set_scalar_counter(st, level, key("softmax", std::to_string(n)), (now() - t0) / st.iterations());
}

// ---- blocks and network through the public API --------------------------

struct Model {
  vgg_model *m = nullptr;
  vgg_weights *w = nullptr;
  std::vector<float> input;
  explicit Model(bool top) {
    vgg_error err;
    if (vgg_model_create(VGG16, top, 224, 224, &m, &err) || vgg_weights_init(m, 0, 0, &w, &err)) {
      std::fprintf(stderr, "bench: %s\n", err.msg);
      std::exit(1);
    }
    input.resize(224 * 224 * 3);
    fill(input.data(), input.size(), 9);
    for (auto &v : input) v *= 120.0f;
    // int8 activation ranges, calibrated on this input (ours and oneDNN's int8 rows use the same).
    vgg_options o = engine_options(-1, 0, VGG_ALGO_AUTO, VGG_PRECISION_F32, nullptr);
    vgg_net *net;
    vgg_tensor in = {1, 224, 224, 3, input.data()};
    channels.assign(vgg_model_num_channels(m), 0.0f);
    if (vgg_net_create(m, w, &o, &net, &err) || vgg_net_calibrate(net, &in, ranges, channels.data(), &err)) {
      std::fprintf(stderr, "bench: %s\n", err.msg);
      std::exit(1);
    }
    vgg_net_free(net);
  }
  float ranges[64] = {0};
  std::vector<float> channels; // and per channel (ours; oneDNN's rows take one range per layer)
  ~Model() {
    vgg_weights_free(w);
    vgg_model_free(m);
  }
};

Model &conv_base() {
  static Model model(false);
  return model;
}

Model &full_model() {
  static Model model(true);
  return model;
}

double block_flops(const vgg_model *m, int b) {
  double f = 0;
  for (int i = 0; i < vgg_model_num_layers(m); i++)
    if (vgg_model_layer(m, i)->block == b || b == 0) f += static_cast<double>(vgg_model_layer(m, i)->flops);
  return f;
}

// The time of one part of a forward pass: what = 0 the whole (total), 1..5 a
// block, 100 + i layer i (from per-layer seconds).
double part_seconds(const vgg_model *m, int what, double total, const double *layer_sec) {
  if (what == 0) return total;
  if (what >= 100) return layer_sec[what - 100];
  double sec = 0;
  for (int i = 0; i < vgg_model_num_layers(m); i++) sec += vgg_model_layer(m, i)->block == what ? layer_sec[i] : 0;
  return sec;
}

// what: 0 = conv base, 1..5 = block, 100 + i = layer i.  Manual time: only that part of each forward pass.
// store: when not empty, the fastest iteration is kept under that name for the oneDNN rows' ratios.
void BM_Net(benchmark::State &st, int level, vgg_algo algo, int threads, int what, int batch, bool top,
            std::string store, vgg_precision precision) {
  Model &md = top ? full_model() : conv_base();
  vgg_options o = engine_options(level, threads, algo, precision, md.ranges, md.channels.data());
  vgg_net *net;
  vgg_error err;
  if (vgg_net_create(md.m, md.w, &o, &net, &err)) {
    st.SkipWithError(err.msg);
    return;
  }
  // A batch is one forward call: the conv base image after image, the classifier on the batch.
  std::vector<float> images(md.input.size() * batch), probs(1000 * batch);
  for (int b = 0; b < batch; b++) std::copy(md.input.begin(), md.input.end(), images.begin() + b * md.input.size());
  vgg_tensor in = {batch, 224, 224, 3, images.data()};
  double best = 1e30;
  for (auto _ : st) {
    const double t0 = now();
    vgg_net_forward(net, &in, nullptr, nullptr, nullptr, top ? probs.data() : nullptr, &err);
    const double sec = part_seconds(md.m, what, now() - t0, vgg_net_layer_seconds(net));
    st.SetIterationTime(sec);
    best = std::min(best, sec);
  }
  vgg_net_free(net);
  if (!store.empty()) g_ours[store] = best;
  const double flops =
      what >= 100 ? static_cast<double>(vgg_model_layer(md.m, what - 100)->flops) : block_flops(md.m, what);
  st.counters["images/s"] = benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["GFLOP/s"] = benchmark::Counter(flops * batch / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// Grad-CAM of one class at conv layer `layer`, against the full model's forward pass, alternated in each
// iteration (a net of each, min of each): the time shown is the Grad-CAM call (its forward pass included);
// extra_x = (Grad-CAM - forward) / forward, the cost on top of the forward pass.
void BM_Gradcam(benchmark::State &st, int level, int threads, int layer) {
  Model &full = full_model();
  vgg_options o = engine_options(level, threads, VGG_ALGO_AUTO, VGG_PRECISION_F32, nullptr);
  vgg_net *plain, *gc;
  vgg_error err;
  if (vgg_net_create(full.m, full.w, &o, &plain, &err)) {
    st.SkipWithError(err.msg);
    return;
  }
  o.gradcam_layer = layer;
  if (vgg_net_create(full.m, full.w, &o, &gc, &err)) {
    vgg_net_free(plain);
    st.SkipWithError(err.msg);
    return;
  }
  vgg_tensor in = {1, 224, 224, 3, full.input.data()};
  std::vector<float> probs(1000), map(224 * 224);
  const int cls = -1;
  double best_f = 1e30, best_g = 1e30;
  for (auto _ : st) {
    double t0 = now();
    vgg_net_forward(plain, &in, nullptr, nullptr, nullptr, probs.data(), &err);
    best_f = std::min(best_f, now() - t0);
    t0 = now();
    vgg_net_gradcam(gc, &in, &cls, 1, nullptr, nullptr, nullptr, nullptr, nullptr, map.data(), &err);
    const double g = now() - t0;
    best_g = std::min(best_g, g);
    st.SetIterationTime(g);
  }
  vgg_net_free(plain);
  vgg_net_free(gc);
  st.counters["forward_ms"] = best_f * 1e3;
  st.counters["gradcam_ms"] = best_g * 1e3;
  st.counters["extra_x"] = (best_g - best_f) / best_f;
}

// The full model (conv base and classifier, batch 1) in float32 `auto`, bf16 and int8, one net of each,
// alternated in every iteration (min of each): the time shown is float32's; bf16_x and int8_x are the lower
// precisions' fastest passes over float32's, taken in the same run.
void BM_FullPrecisions(benchmark::State &st, int level, int threads) {
  Model &full = full_model();
  const vgg_precision ps[3] = {VGG_PRECISION_F32, VGG_PRECISION_BF16, VGG_PRECISION_INT8};
  vgg_net *nets[3] = {nullptr, nullptr, nullptr};
  vgg_error err;
  for (int i = 0; i < 3; i++) {
    vgg_options o = engine_options(level, threads, VGG_ALGO_AUTO, ps[i], full.ranges, full.channels.data());
    if (vgg_net_create(full.m, full.w, &o, &nets[i], &err)) {
      for (vgg_net *n : nets) vgg_net_free(n);
      st.SkipWithError(err.msg);
      return;
    }
  }
  vgg_tensor in = {1, 224, 224, 3, full.input.data()};
  std::vector<float> probs(1000);
  double best[3] = {1e30, 1e30, 1e30};
  for (auto _ : st) {
    for (int i = 0; i < 3; i++) {
      const double t0 = now();
      vgg_net_forward(nets[i], &in, nullptr, nullptr, nullptr, probs.data(), &err);
      const double sec = now() - t0;
      best[i] = std::min(best[i], sec);
      if (i == 0) st.SetIterationTime(sec);
    }
  }
  for (vgg_net *n : nets) vgg_net_free(n);
  st.counters["f32_ms"] = best[0] * 1e3;
  st.counters["bf16_ms"] = best[1] * 1e3;
  st.counters["int8_ms"] = best[2] * 1e3;
  st.counters["bf16_x"] = best[1] / best[0];
  st.counters["int8_x"] = best[2] / best[0];
}

#ifdef VGG_HAVE_PEERS
// oneDNN conv base at `threads`; what as in BM_Net (no batch, no classifier).
void BM_Onednn(benchmark::State &st, peer::Algo algo, int threads, int what) {
  Model &md = conv_base();
  // oneDNN sizes its work split when a primitive is created: one net per thread count.
  static std::map<std::pair<int, int>, std::unique_ptr<peer::OnednnConvBase>> nets;
  auto &net = nets[{static_cast<int>(algo), threads}];
  omp_set_num_threads(threads);
  try {
    if (!net) net.reset(new peer::OnednnConvBase(md.m, md.w, algo, md.ranges));
  } catch (const std::exception &e) {
    st.SkipWithError(e.what());
    return;
  }
  std::vector<double> ls(64);
  double best = 1e30;
  for (auto _ : st) {
    const double t0 = now();
    net->forward(md.input.data(), what == 0 ? nullptr : ls.data());
    const double sec = part_seconds(md.m, what, now() - t0, ls.data());
    st.SetIterationTime(sec);
    best = std::min(best, sec);
  }
  // ours / oneDNN, fastest iteration against fastest iteration, ours measured just before in this run.
  for (const char *a : {"direct", "auto", "fast", "int8", "bf16"}) {
    auto it = g_ours.find(key(a, key(std::to_string(what), std::to_string(threads))));
    if (it != g_ours.end()) st.counters[std::string("ours_") + a + "/onednn"] = it->second / best;
  }
}
#endif

// ---- registration ----------------------------------------------------------

void min_stat(benchmark::internal::Benchmark *b) {
  b->ComputeStatistics("min", [](const std::vector<double> &v) { return *std::min_element(v.begin(), v.end()); });
}

std::string what_name(int what) {
  if (what == 0) return "conv_base";
  if (what < 100) return "block" + std::to_string(what);
  return vgg_model_layer(conv_base().m, what - 100)->name;
}

// Rows compared with oneDNN: conv base, blocks, and every conv layer.
std::vector<int> peer_rows() {
  std::vector<int> whats{0, 1, 2, 3, 4, 5};
  for (int i = 0; i < vgg_model_num_layers(conv_base().m); i++)
    if (vgg_model_layer(conv_base().m, i)->kind == VGG_LAYER_CONV) whats.push_back(100 + i);
  return whats;
}

void register_all() {
  const int cores = omp_get_num_procs();
  std::vector<int> threads{1};
  if (cores > 1) threads.push_back(cores);
  std::vector<int> levels;
  for (int l = 0; l < VGG_LEVEL_COUNT; l++)
    if (vgg_level_usable(l)) levels.push_back(l);
  const int best = levels.back();

  // The peaks each level has, at every thread count.
  const struct {
    const char *name;
    void (*bm)(benchmark::State &, int, int);
    bool (*has)(int);
  } peaks[] = {
      {"fma_peak", BM_FmaPeak, [](int l) { return vgg_kernels_get(l)->fma_peak != nullptr; }},
      {"int8_peak", BM_Int8Peak, [](int l) { return vgg_i8_kernels_get(l)->dot_peak != nullptr; }},
      {"bf16_peak", BM_Bf16Peak, [](int l) { return vgg_bf16_kernels_get(l)->dot_peak != nullptr; }},
  };
  for (const auto &pk : peaks)
    for (int l : levels)
      for (int t : threads)
        if (pk.has(l))
          benchmark::RegisterBenchmark(("calibrate/" + std::string(pk.name) + "/" + vgg_level_name(l) +
                                        "/threads:" + std::to_string(t)).c_str(),
                                       pk.bm, l, t)
              ->MinTime(0.1)
              ->Apply(min_stat);
  for (int l : levels)
    if (vgg_i8_kernels_get(l)->dot_peak)
      for (int i = 0; i < kVgg16.n; i++)
        if (kVgg16.s[i].cin % 4 == 0)
          for (bool w4 : {false, true})
            if (!w4 || vgg_i8_kernels_get(l)->w4_conv)
              benchmark::RegisterBenchmark(("conv/" + std::string(vgg_level_name(l)) + (w4 ? "/int8_wino4/" : "/int8/") +
                                            kVgg16.s[i].name).c_str(),
                                           BM_ConvInt8, l, i, w4)
                  ->Unit(benchmark::kMillisecond)
                  ->MinTime(0.2)
                  ->Apply(min_stat);

  // Kernels: the scalar rows first (they are the reference of x_scalar), one iteration each.
  for (int l : levels) {
    const char *ln = vgg_level_name(l);
    for (int i = 0; i < kVgg16.n; i++)
      for (int a = 0; a <= VGG_WINO_COUNT; a++) {
        if (l == VGG_LEVEL_SCALAR && a) continue;
        auto *b = benchmark::RegisterBenchmark(
            ("conv/" + std::string(ln) + "/" + (a == 0 ? "direct" : "wino" + std::to_string(2 * a)) + "/" +
             kVgg16.s[i].name).c_str(),
            BM_Conv, l, i, a);
        b->Unit(benchmark::kMillisecond)->Apply(min_stat);
        if (l == VGG_LEVEL_SCALAR) b->Iterations(1);
        else b->MinTime(0.2);
      }
    for (int s : {224, 112, 56, 28, 14}) {
      const int c = s == 224 ? 64 : s == 112 ? 128 : s == 56 ? 256 : 512;
      benchmark::RegisterBenchmark(("pool/" + std::string(ln) + "/" + std::to_string(s) + "x" + std::to_string(s) +
                                    "x" + std::to_string(c)).c_str(),
                                   BM_Pool, l, s, c)
          ->Unit(benchmark::kMicrosecond)
          ->MinTime(0.1)
          ->Apply(min_stat);
    }
    for (int prec : {VGG_PRECISION_F32, VGG_PRECISION_BF16, VGG_PRECISION_INT8})
      for (auto io : {std::pair<int, int>{25088, 4096}, {4096, 4096}, {4096, 1000}})
        benchmark::RegisterBenchmark(("dense/" + std::string(ln) + "/" +
                                      (prec == VGG_PRECISION_F32 ? "" : std::string(vgg_precision_names()[prec]) + "/") +
                                      std::to_string(io.first) + "x" + std::to_string(io.second)).c_str(),
                                     BM_Dense, l, io.first, io.second, prec)
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.2)
            ->Apply(min_stat);
    benchmark::RegisterBenchmark(("softmax/" + std::string(ln) + "/1000").c_str(), BM_Softmax, l, 1000)
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(0.05)
        ->Apply(min_stat);
  }

  // Blocks and network: every SIMD level and algorithm, 1..N threads.
  for (int l : levels) {
    if (l == VGG_LEVEL_SCALAR) continue;
    for (int a : {VGG_ALGO_DIRECT, VGG_ALGO_AUTO, VGG_ALGO_FAST})
      for (int t : threads)
        for (int what = 1; what <= 5; what++)
          benchmark::RegisterBenchmark(("block/" + std::string(vgg_level_name(l)) + "/" + kAlgoNames[a] + "/" +
                                        what_name(what) + "/threads:" + std::to_string(t)).c_str(),
                                       BM_Net, l, static_cast<vgg_algo>(a), t, what, 1, false, std::string(), VGG_PRECISION_F32)
              ->UseManualTime()
              ->Unit(benchmark::kMillisecond)
              ->Iterations(kNetIters)
              ->Apply(min_stat);
  }
  for (int a : {VGG_ALGO_DIRECT, VGG_ALGO_AUTO, VGG_ALGO_FAST})
    for (int t : threads)
      for (int batch : {1, 8})
        for (bool top : {false, true})
          benchmark::RegisterBenchmark(("network/" + std::string(vgg_level_name(best)) + "/" + kAlgoNames[a] + "/" +
                                        (top ? "full" : "conv_base") + "/batch:" + std::to_string(batch) +
                                        "/threads:" + std::to_string(t)).c_str(),
                                       BM_Net, best, static_cast<vgg_algo>(a), t, 0, batch, top, std::string(), VGG_PRECISION_F32)
              ->UseManualTime()
              ->Unit(benchmark::kMillisecond)
              ->Iterations(batch == 8 ? 2 : kNetIters)
              ->Apply(min_stat);
  for (int t : threads)
    benchmark::RegisterBenchmark(("full/" + std::string(vgg_level_name(best)) + "/precisions/threads:" +
                                  std::to_string(t)).c_str(),
                                 BM_FullPrecisions, best, t)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(kNetIters)
        ->Apply(min_stat);
  for (int t : threads)
    for (const char *ln : {"block5_conv3", "block4_conv3"}) {
      vgg_model *m;
      vgg_error err;
      int layer = 0;
      if (vgg_model_create(VGG16, 1, 224, 224, &m, &err)) continue;
      for (int i = 0; i < vgg_model_num_layers(m); i++)
        if (!strcmp(vgg_model_layer(m, i)->name, ln)) layer = i;
      vgg_model_free(m);
      benchmark::RegisterBenchmark(("gradcam/" + std::string(vgg_level_name(best)) + "/auto/" + ln + "/threads:" +
                                    std::to_string(t)).c_str(),
                                   BM_Gradcam, best, t, layer)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->Iterations(kNetIters)
          ->Apply(min_stat);
    }
#ifdef VGG_HAVE_PEERS
  // Ours, the same rows as oneDNN's, just before them: each oneDNN row carries ours/oneDNN ratios taken in one run.
  for (int a : {VGG_ALGO_DIRECT, VGG_ALGO_AUTO, VGG_ALGO_FAST})
    for (int t : threads)
      for (int what : peer_rows())
        benchmark::RegisterBenchmark(("ours/" + std::string(kAlgoNames[a]) + "/" + what_name(what) + "/threads:" +
                                      std::to_string(t)).c_str(),
                                     BM_Net, best, static_cast<vgg_algo>(a), t, what, 1, false,
                                     key(kAlgoNames[a], key(std::to_string(what), std::to_string(t))), VGG_PRECISION_F32)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond)
            ->Iterations(kNetIters)
            ->Apply(min_stat);
  // int8 and bf16: conv base and blocks.
  for (vgg_precision p : {VGG_PRECISION_INT8, VGG_PRECISION_BF16})
    for (int t : threads)
      for (int what = 0; what <= 5; what++) {
        const std::string pn = vgg_precision_names()[p];
        benchmark::RegisterBenchmark(("ours/" + pn + "/" + what_name(what) + "/threads:" + std::to_string(t)).c_str(),
                                     BM_Net, best, VGG_ALGO_AUTO, t, what, 1, false,
                                     key(pn, key(std::to_string(what), std::to_string(t))), p)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond)
            ->Iterations(kNetIters)
            ->Apply(min_stat);
      }
  static const char *const peer_names[] = {"direct", "winograd", "bf16", "int8"};
  for (auto alg : {peer::Algo::Direct, peer::Algo::Winograd, peer::Algo::Bf16, peer::Algo::Int8})
    for (int t : threads) {
      for (int what : peer_rows()) {
        if ((alg == peer::Algo::Bf16 || alg == peer::Algo::Int8) && what > 5) continue;  // conv base and blocks
        benchmark::RegisterBenchmark(("onednn/" + std::string(peer_names[static_cast<int>(alg)]) + "/" +
                                      what_name(what) + "/threads:" + std::to_string(t)).c_str(),
                                     BM_Onednn, alg, t, what)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond)
            ->Iterations(kNetIters)
            ->Apply(min_stat);
      }
    }
#endif
}

#ifdef VGG_HAVE_PEERS
// oneDNN must compute what we compute, or the comparison means nothing.
int check_peer() {
  Model &md = conv_base();
  vgg_options o = engine_options(-1, 0, VGG_ALGO_DIRECT, VGG_PRECISION_F32, nullptr);
  vgg_net *net;
  vgg_error err;
  if (vgg_net_create(md.m, md.w, &o, &net, &err)) return 1;
  std::vector<std::vector<float>> ours(6);
  struct Keep {
    static void cb(void *u, int, int b, const vgg_tensor *t, double) {
      auto &v = (*static_cast<std::vector<std::vector<float>> *>(u))[b];
      v.assign(t->data, t->data + static_cast<size_t>(t->h) * t->w * t->c);
    }
  };
  vgg_tensor in = {1, 224, 224, 3, md.input.data()};
  vgg_net_forward(net, &in, Keep::cb, &ours, nullptr, nullptr, &err);
  vgg_net_free(net);
  // Our int8 and bf16 against our float32 direct, with the measure the oneDNN rows use.
  for (vgg_precision p : {VGG_PRECISION_INT8, VGG_PRECISION_BF16}) {
    std::vector<std::vector<float>> low(6);
    vgg_options lo = engine_options(-1, 0, VGG_ALGO_AUTO, p, md.ranges, md.channels.data());
    if (vgg_net_create(md.m, md.w, &lo, &net, &err)) return 1;
    vgg_net_forward(net, &in, Keep::cb, &low, nullptr, nullptr, &err);
    vgg_net_free(net);
    std::string e;
    for (int b = 1; b <= 5; b++) {
      const std::vector<double> ref(ours[b].begin(), ours[b].end());
      char buf[64];
      std::snprintf(buf, sizeof buf, "%sblock%d %.2e", b > 1 ? ", " : "", b,
                    vgg_rel_err(low[b].data(), ref.data(), ref.size(), nullptr));
      e += buf;
    }
    const std::string pn = vgg_precision_names()[p];
    benchmark::AddCustomContext("ours_" + pn + "_vs_ours_rel_err", e);
    std::fprintf(stderr, "ours %s vs ours (direct, float32), max error relative to max |block|: %s\n", pn.c_str(),
                 e.c_str());
  }
  int bad = 0;
  static const char *const names[] = {"direct", "winograd", "bf16", "int8"};
  for (auto alg : {peer::Algo::Direct, peer::Algo::Winograd, peer::Algo::Bf16, peer::Algo::Int8}) {
    const char *name = names[static_cast<int>(alg)];
    try {
      peer::OnednnConvBase p(md.m, md.w, alg, md.ranges);
      p.forward(md.input.data());
      std::string worst;
      for (int b = 1; b <= 5; b++) {
        const std::vector<float> theirs = p.block_output(b);
        const std::vector<double> ref(ours[b].begin(), ours[b].end());
        const double rel = vgg_rel_err(theirs.data(), ref.data(), theirs.size(), nullptr);
        // Same computation within the data type's rounding: f32 1e-5 (Winograd 1e-4), bf16 and int8 within
        // 5e-2 (their own errors are the figures reported, 1e-2 and 2e-2 at most expected).
        const double tol = alg == peer::Algo::Direct ? 1e-5 : alg == peer::Algo::Winograd ? 1e-4 : 5e-2;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%sblock%d %.2e", b > 1 ? ", " : "", b, rel);
        worst += buf;
        if (rel > tol) bad = 1;
      }
      benchmark::AddCustomContext(std::string("onednn_") + name + "_vs_ours_rel_err", worst);
      benchmark::AddCustomContext(std::string("onednn_") + name + "_impl", p.impl(2));
      std::fprintf(stderr, "oneDNN %s vs ours (direct), max error relative to max |block|: %s (%s)\n", name,
                   worst.c_str(), p.impl(2).c_str());
    } catch (const std::exception &e) {
      std::fprintf(stderr, "oneDNN %s: not available here: %s\n", name, e.what());
    }
  }
  if (bad) std::fprintf(stderr, "bench: oneDNN's output does not match ours; the comparison would not be honest\n");
  return bad;
}
#endif

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  char report[4096];
  vgg_cpu_report(-1, report, sizeof report);
  benchmark::AddCustomContext("vggsimd_cpu", vgg_cpu_get()->brand);
  benchmark::AddCustomContext("vggsimd_best_level", vgg_level_name(vgg_level_best()));
#ifdef VGG_HAVE_PEERS
  if (check_peer()) return 1;
#endif
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
