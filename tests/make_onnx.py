#!/usr/bin/python3
"""ONNX test models: torchvision's VGGs exported by torch.onnx.export, the ONNX model zoo's layout and hostile
graphs built with onnx.helper, each beside the same weights as a torchvision-named safetensors file.

  make_onnx.py DIR NAME=ARCH,OPSET,KIND ...      (DIR/NAME.onnx and DIR/NAME.safetensors for each)

ARCH: vgg11 | vgg13 | vgg16 | vgg19.  KIND: full (the model with its classifier), features (the conv base:
model.features), zoo (the model zoo's layout: Flatten, Gemm with transB 0 + Relu + Dropout, a final Softmax),
matmul (dense layers as MatMul + Add), f16 (the conv base with float16 initializers), floatdata (the conv
base with its values in float_data, not raw_data), or a hostile change to the features model: external, truncated, garbage, nested, cycle, extra, sigmoid,
conv5, twoinputs, huge, deadend, shape, strided."""
import os
import sys

import numpy as np
import onnx
import torch
import torchvision
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import safetensors_io  # noqa: E402


def torch_model(arch, seed):
    torch.manual_seed(seed)
    m = getattr(torchvision.models, arch)().eval()
    with torch.no_grad():  # non-zero biases: torch would otherwise share equal (zero) tensors through Identity
        for p in m.parameters():
            if p.dim() == 1:
                p.uniform_(-0.05, 0.05)
    return m


def export(module, path, opset, shape=(1, 3, 224, 224)):
    torch.onnx.export(module, torch.zeros(shape), path, opset_version=opset, do_constant_folding=True)


def chain(nodes, inits, out_name, path, opset=13):
    g = helper.make_graph(nodes, "vgg", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 224, 224])],
                          [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]), path)


def rebuild(state, path, kind):
    """The model zoo's layout (or MatMul + Add dense layers, or another tensor storage) from a state dict."""
    nodes, inits, cur, k = [], [], "x", 0
    dtype = np.float16 if kind == "f16" else np.float32

    def init(name, a):
        a = np.ascontiguousarray(a.astype(dtype))
        t = numpy_helper.from_array(a, name)
        if kind == "floatdata":
            t = helper.make_tensor(name, TensorProto.FLOAT, a.shape, a.ravel().tolist())
        inits.append(t)
        return name

    feats = sorted({int(n.split(".")[1]) for n in state if n.startswith("features.")})
    last = -1
    for i in feats:
        if last >= 0 and i - last > 2:  # a pool between the previous conv and this one
            nodes.append(helper.make_node("MaxPool", [cur], ["p%d" % i], kernel_shape=[2, 2], strides=[2, 2]))
            cur = "p%d" % i
        nodes.append(helper.make_node("Conv", [cur, init("w%d" % i, state["features.%d.weight" % i]),
                                               init("b%d" % i, state["features.%d.bias" % i])], ["c%d" % i],
                                      kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv%d" % i))
        nodes.append(helper.make_node("Relu", ["c%d" % i], ["r%d" % i]))
        cur, last = "r%d" % i, i
    nodes.append(helper.make_node("MaxPool", [cur], ["pool5"], kernel_shape=[2, 2], strides=[2, 2]))
    if "classifier.0.weight" not in state:
        chain(nodes, inits, "pool5", path)
        return
    nodes.append(helper.make_node("Flatten", ["pool5"], ["flat"], axis=1))
    cur = "flat"
    for k, i in enumerate((0, 3, 6)):
        w, b = state["classifier.%d.weight" % i], state["classifier.%d.bias" % i]
        if kind == "matmul":
            nodes.append(helper.make_node("MatMul", [cur, init("fw%d" % i, w.T)], ["m%d" % i]))
            nodes.append(helper.make_node("Add", ["m%d" % i, init("fb%d" % i, b)], ["d%d" % i]))
        else:  # the zoo's: Gemm with [in][out] weights
            nodes.append(helper.make_node("Gemm", [cur, init("fw%d" % i, w.T), init("fb%d" % i, b)], ["d%d" % i]))
        cur = "d%d" % i
        if k < 2:
            nodes.append(helper.make_node("Relu", [cur], ["dr%d" % i]))
            nodes.append(helper.make_node("Dropout", ["dr%d" % i], ["do%d" % i]))
            cur = "do%d" % i
    nodes.append(helper.make_node("Softmax", [cur], ["prob"], axis=1))
    chain(nodes, inits, "prob", path)


def damage(path, how):
    m = onnx.load(path)
    g = m.graph
    if how == "external":
        onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin",
                  size_threshold=0)
        return
    if how in ("truncated", "garbage", "nested"):
        data = open(path, "rb").read()
        if how == "truncated":
            data = data[:len(data) // 3]
        elif how == "garbage":
            data = bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8)) + data[4096:]
        else:  # a graph attribute inside a graph attribute ... 10,000 deep
            inner = b""
            for _ in range(10000):  # AttributeProto.g (field 6) = GraphProto.node (1) = NodeProto.attribute (5)
                inner = b"\x2a" + enc_len(b"\x32" + enc_len(b"\x0a" + enc_len(inner)))
            data = b"\x08\x08\x3a" + enc_len(b"\x0a" + enc_len(inner))
        open(path, "wb").write(data)
        return
    n = list(g.node)
    convs = [x for x in n if x.op_type == "Conv"]
    if how == "cycle":  # the second conv reads the third's output
        convs[1].input[0] = convs[2].output[0]
    elif how == "extra":  # a node off the chain
        g.node.append(helper.make_node("Relu", [convs[0].output[0]], ["dangling"], name="dangling_relu"))
    elif how == "sigmoid":  # another activation in place of a Relu
        r = [x for x in n if x.op_type == "Relu"][2]
        r.op_type = "Sigmoid"
    elif how == "conv5":
        a = [x for x in convs[1].attribute if x.name == "kernel_shape"][0]
        del a.ints[:]
        a.ints.extend([5, 5])
    elif how == "strided":
        a = [x for x in convs[0].attribute if x.name == "strides"][0]
        del a.ints[:]
        a.ints.extend([2, 2])
    elif how == "twoinputs":
        g.input.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 224, 224]))
    elif how in ("huge", "shape"):
        t = [x for x in g.initializer if x.name == convs[1].input[1]][0]
        del t.dims[:]
        t.dims.extend([1 << 20, 1 << 20, 3, 3] if how == "huge" else [64, 64, 3, 3])
    elif how == "deadend":  # the output is not reached: the last pool writes elsewhere
        p = [x for x in n if x.op_type == "MaxPool"][-1]
        p.output[0] = "elsewhere"
    else:
        sys.exit("unknown damage " + how)
    onnx.save(m, path)


def enc_len(b):
    n, out = len(b), bytearray()
    while True:
        out.append((n & 0x7f) | (0x80 if n > 0x7f else 0))
        n >>= 7
        if not n:
            return bytes(out) + b


def make(out, st, arch, opset, kind, models):
    m = models.setdefault(arch, torch_model(arch, 1))
    state = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    if kind in ("full", "zoo", "matmul"):
        tensors = state
    else:
        tensors = {k: v for k, v in state.items() if k.startswith("features.")}
    if kind == "full":
        export(m, out, int(opset))
    elif kind in ("zoo", "matmul", "f16", "floatdata"):
        rebuild(tensors, out, kind)
    else:
        export(m.features, out, int(opset))
        if kind != "features":
            damage(out, kind)
    if kind == "f16":  # the safetensors file holds what the model holds: the values rounded to float16
        tensors = {k: v.astype(np.float16).astype(np.float32) for k, v in tensors.items()}
    safetensors_io.write(st, tensors)


def main():
    d, models = sys.argv[1], {}
    for spec in sys.argv[2:]:
        name, args = spec.split("=")
        arch, opset, kind = args.split(",")
        make(os.path.join(d, name + ".onnx"), os.path.join(d, name + ".safetensors"), arch, opset, kind, models)


if __name__ == "__main__":
    main()
