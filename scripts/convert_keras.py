#!/usr/bin/python3
"""Keras VGG weights (.h5, e.g. vgg16_weights_tf_dim_ordering_tf_kernels.h5 or a
whole-model save) -> safetensors that `vggsimd run --weights` loads.

  /usr/bin/python3 scripts/convert_keras.py vgg16_weights.h5 vgg16.safetensors

Names become `<layer>/kernel` and `<layer>/bias` (block1_conv1/kernel HWIO,
fc1/kernel [in,out]); the engine converts the layouts at load and picks caffe
preprocessing for them.  Needs Debian's python3-h5py."""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

LAYERS = ("block", "fc1", "fc2", "predictions")


def names(attr):
    return [n.decode() if isinstance(n, bytes) else str(n) for n in attr]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: convert_keras.py IN.h5 OUT.safetensors")
    out = {}
    with h5py.File(sys.argv[1], "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in root.attrs:
            sys.exit("%s: no 'layer_names' attribute: not a Keras weights file" % sys.argv[1])
        for layer in names(root.attrs["layer_names"]):
            if not layer.startswith(LAYERS):
                continue
            g = root[layer]
            wn = names(g.attrs["weight_names"])
            if len(wn) != 2:
                sys.exit("layer %s has %d weights, expected kernel and bias" % (layer, len(wn)))
            kernel, bias = (np.asarray(g[n], dtype=np.float32) for n in wn)
            if kernel.ndim not in (2, 4) or bias.ndim != 1:
                sys.exit("layer %s: unexpected shapes %s %s" % (layer, kernel.shape, bias.shape))
            out[layer + "/kernel"] = kernel
            out[layer + "/bias"] = bias
    if not out:
        sys.exit("%s: no VGG layers found" % sys.argv[1])
    safetensors_io.write(sys.argv[2], out, {"format": "keras", "source": os.path.basename(sys.argv[1])})
    print("wrote %s: %d tensors" % (sys.argv[2], len(out)))


if __name__ == "__main__":
    safetensors_io.run_main(main, "convert_keras.py", "a Keras .h5 weights file")
