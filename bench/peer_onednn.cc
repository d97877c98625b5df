// oneDNN peer of the VGG conv base (see peer_onednn.h).
#include "peer_onednn.h"

#include <chrono>
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
  std::unordered_map<int, std::string> impls;
};

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

OnednnConvBase::OnednnConvBase(const vgg_model *m, const vgg_weights *w, Algo algo) : p_(new Impl) {
  auto &P = *p_;
  P.m = m;
  const vgg_layer *in = vgg_model_layer(m, 0);
  P.user_in = memory({{1, 3, in->out_h, in->out_w}, dt::f32, tag::nhwc}, P.eng, nullptr);
  memory cur = P.user_in;
  for (int i = 1; i < vgg_model_num_layers(m); i++) {
    const vgg_layer *l = vgg_model_layer(m, i);
    if (l->kind == VGG_LAYER_CONV) {
      const memory::dims src{1, l->in_c, l->in_h, l->in_w}, dst{1, l->out_c, l->out_h, l->out_w};
      const memory::dims wts{l->out_c, l->in_c, 3, 3}, bia{l->out_c};
      dnnl::convolution_forward::desc d(
          dnnl::prop_kind::forward_inference,
          algo == Algo::Winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct,
          {src, dt::f32, tag::any}, {wts, dt::f32, tag::any}, {bia, dt::f32, tag::x}, {dst, dt::f32, tag::any},
          {1, 1}, {1, 1}, {1, 1});
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      dnnl::convolution_forward::primitive_desc pd(d, attr, P.eng);  // throws if unimplemented
      P.impls[i] = pd.impl_info_str();
      // Weights: ours are [3][3][cin][cout], oneDNN's logical dims are (O, I, H, W): tag hwio.
      memory uw({wts, dt::f32, tag::hwio}, P.eng, vgg_weights_kernel(w, l->param));
      memory cw(pd.weights_desc(), P.eng);
      dnnl::reorder(uw, cw).execute(P.strm, uw, cw);
      memory cb({bia, dt::f32, tag::x}, P.eng, vgg_weights_bias(w, l->param));
      P.keep.push_back(cw);
      P.keep.push_back(cb);
      if (cur.get_desc() != pd.src_desc()) {  // layout change, timed with this layer
        memory r(pd.src_desc(), P.eng);
        P.steps.push_back({i, dnnl::reorder(cur, r), {{DNNL_ARG_FROM, cur}, {DNNL_ARG_TO, r}}});
        cur = r;
      }
      memory out(pd.dst_desc(), P.eng);
      P.steps.push_back({i, dnnl::convolution_forward(pd),
                         {{DNNL_ARG_SRC, cur}, {DNNL_ARG_WEIGHTS, cw}, {DNNL_ARG_BIAS, cb}, {DNNL_ARG_DST, out}}});
      cur = out;
    } else if (l->kind == VGG_LAYER_POOL) {
      const memory::dims dst{1, l->out_c, l->out_h, l->out_w};
      dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, cur.get_desc(),
                                    {dst, dt::f32, tag::any}, {2, 2}, {2, 2}, {0, 0}, {0, 0});
      dnnl::pooling_forward::primitive_desc pd(d, P.eng);
      memory out(pd.dst_desc(), P.eng);
      P.steps.push_back({i, dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, cur}, {DNNL_ARG_DST, out}}});
      P.block_out[l->block] = out;
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
  dnnl::reorder(src, dst).execute(P.strm, src, dst);
  P.strm.wait();
  return out;
}

std::string OnednnConvBase::impl(int layer) const {
  auto it = p_->impls.find(layer);
  return it == p_->impls.end() ? "" : it->second;
}

}  // namespace peer
