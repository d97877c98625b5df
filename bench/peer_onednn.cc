// oneDNN peer of the VGG conv base (see peer_onednn.h).
#include "peer_onednn.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include <dnnl.hpp>

namespace peer {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Step {
  int layer;  // model layer index, for timing
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
};

struct OnednnConvBase::Impl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  const vgg_model *m;
  memory user_in;                   // NHWC input as given
  std::vector<Step> steps;          // reorders, convs, pools in order
  std::vector<memory> keep;         // weights and biases
  std::unordered_map<int, memory> block_out;  // block -> pool output
  std::unordered_map<int, float> block_scale;  // block -> real value of one unit of its output (Int8)
  std::unordered_map<int, std::string> impls;
};

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

OnednnConvBase::OnednnConvBase(const vgg_model *m, const vgg_weights *w, Algo algo, const float *ranges)
    : p_(new Impl) {
  auto &P = *p_;
  P.m = m;
  const vgg_layer *in = vgg_model_layer(m, 0);
  P.user_in = memory({{1, 3, in->out_h, in->out_w}, dt::f32, tag::nhwc}, P.eng, nullptr);
  memory cur = P.user_in;
  if (algo == Algo::Int8 && !ranges) throw std::runtime_error("int8 needs calibration ranges");
  auto act_scale = [&](int layer) { return std::max(ranges[layer], 1e-30f) / 255.0f; };
  float cur_scale = 1;  // Int8: real value of one unit of cur
  int prev_conv = -1;
  for (int i = 1; i < vgg_model_num_layers(m); i++) {
    const vgg_layer *l = vgg_model_layer(m, i);
    if (l->kind == VGG_LAYER_CONV) {
      const memory::dims src{1, l->in_c, l->in_h, l->in_w}, dst{1, l->out_c, l->out_h, l->out_w};
      const memory::dims wts{l->out_c, l->in_c, 3, 3}, bia{l->out_c};
      const bool i8 = algo == Algo::Int8 && prev_conv >= 0;  // the first layer (signed input) stays f32
      const dt adt = i8 ? dt::u8 : algo == Algo::Bf16 ? dt::bf16 : dt::f32;
      const dt wdt = i8 ? dt::s8 : algo == Algo::Bf16 ? dt::bf16 : dt::f32;
      dnnl::convolution_forward::desc d(
          dnnl::prop_kind::forward_inference,
          algo == Algo::Winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct,
          {src, adt, tag::any}, {wts, wdt, tag::any}, {bia, dt::f32, tag::x}, {dst, adt, tag::any},
          {1, 1}, {1, 1}, {1, 1});
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      // Int8: s8 weights with a scale per output channel (largest |w| -> 127), the s32 sums scaled to the
      // output's u8 scale; the bias in the sums' units (oneDNN adds it before the output scale).
      const float *wf = vgg_weights_kernel(w, l->param), *bf = vgg_weights_bias(w, l->param);
      const size_t nw = static_cast<size_t>(9) * l->in_c * l->out_c;
      std::vector<int8_t> wq;
      std::vector<float> bq, osc;
      const float s_in = i8 ? act_scale(prev_conv) : 1, s_out = i8 ? act_scale(i) : 1;
      if (i8) {
        std::vector<float> sw(l->out_c, 0.0f);
        for (size_t k = 0; k < nw; k++) sw[k % l->out_c] = std::max(sw[k % l->out_c], std::fabs(wf[k]));
        for (auto &v : sw) v = v > 0 ? v / 127.0f : 1.0f;
        wq.resize(nw);
        for (size_t k = 0; k < nw; k++)
          wq[k] = static_cast<int8_t>(std::max(-127.0f, std::min(127.0f, std::nearbyint(wf[k] / sw[k % l->out_c]))));
        bq.resize(l->out_c), osc.resize(l->out_c);
        for (int o = 0; o < l->out_c; o++) bq[o] = bf[o] / (s_in * sw[o]), osc[o] = s_in * sw[o] / s_out;
        attr.set_output_scales(2, osc);
      }
      dnnl::convolution_forward::primitive_desc pd(d, attr, P.eng);  // throws if unimplemented
      P.impls[i] = pd.impl_info_str();
      // Weights: ours are [3][3][cin][cout], oneDNN's logical dims are (O, I, H, W): tag hwio.
      memory uw = i8 ? memory({wts, dt::s8, tag::hwio}, P.eng, wq.data())
                     : memory({wts, dt::f32, tag::hwio}, P.eng, const_cast<float *>(wf));
      memory cw(pd.weights_desc(), P.eng);
      dnnl::reorder(uw, cw).execute(P.strm, uw, cw);
      memory cb({bia, dt::f32, tag::x}, P.eng);
      std::memcpy(cb.get_data_handle(), i8 ? bq.data() : bf, sizeof(float) * l->out_c);
      P.strm.wait();
      P.keep.push_back(cw);
      P.keep.push_back(cb);
      if (cur.get_desc() != pd.src_desc()) {  // layout or type change, timed with this layer
        memory r(pd.src_desc(), P.eng);
        dnnl::primitive_attr ra;
        if (i8 && cur.get_desc().data_type() == dt::f32) ra.set_output_scales(0, {1.0f / s_in});  // quantise
        P.steps.push_back({i, dnnl::reorder(cur, r, ra), {{DNNL_ARG_FROM, cur}, {DNNL_ARG_TO, r}}});
        cur = r;
      }
      cur_scale = s_out;
      prev_conv = i;
      memory out(pd.dst_desc(), P.eng);
      P.steps.push_back({i, dnnl::convolution_forward(pd),
                         {{DNNL_ARG_SRC, cur}, {DNNL_ARG_WEIGHTS, cw}, {DNNL_ARG_BIAS, cb}, {DNNL_ARG_DST, out}}});
      cur = out;
    } else if (l->kind == VGG_LAYER_POOL) {
      const memory::dims dst{1, l->out_c, l->out_h, l->out_w};
      dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, cur.get_desc(),
                                    {dst, cur.get_desc().data_type(), tag::any}, {2, 2}, {2, 2}, {0, 0}, {0, 0});
      dnnl::pooling_forward::primitive_desc pd(d, P.eng);
      memory out(pd.dst_desc(), P.eng);
      P.steps.push_back({i, dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, cur}, {DNNL_ARG_DST, out}}});
      P.block_out[l->block] = out;
      P.block_scale[l->block] = algo == Algo::Int8 ? cur_scale : 1.0f;
      cur = out;
    }
  }
}

OnednnConvBase::~OnednnConvBase() = default;

void OnednnConvBase::forward(const float *input, double *layer_sec) {
  auto &P = *p_;
  P.user_in.set_data_handle(const_cast<float *>(input));
  if (layer_sec)
    for (int i = 0; i < vgg_model_num_layers(P.m); i++) layer_sec[i] = 0;
  for (auto &s : P.steps) {
    const double t0 = layer_sec ? now() : 0;
    s.prim.execute(P.strm, s.args);
    if (layer_sec) {
      P.strm.wait();
      layer_sec[s.layer] += now() - t0;
    }
  }
  P.strm.wait();
}

std::vector<float> OnednnConvBase::block_output(int b) {
  auto &P = *p_;
  memory src = P.block_out.at(b);
  const auto dims = src.get_desc().dims();
  std::vector<float> out(dims[0] * dims[1] * dims[2] * dims[3]);
  memory dst({dims, dt::f32, tag::nhwc}, P.eng, out.data());
  dnnl::primitive_attr ra;
  if (P.block_scale.at(b) != 1.0f) ra.set_output_scales(0, {P.block_scale.at(b)});  // dequantise
  dnnl::reorder(src, dst, ra).execute(P.strm, src, dst);
  P.strm.wait();
  return out;
}

std::string OnednnConvBase::impl(int layer) const {
  auto it = p_->impls.find(layer);
  return it == p_->impls.end() ? "" : it->second;
}

}  // namespace peer
