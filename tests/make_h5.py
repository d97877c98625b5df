#!/usr/bin/python3
"""Keras .h5 test files, written with h5py in the layouts Keras writes, from a
Keras-named safetensors file (vggsimd init --naming keras); and hostile ones.

  make_h5.py SRC.safetensors OUT.h5 LAYOUT [HOSTILE]

LAYOUT: apps (the applications' weights files: flat datasets LAYER_W_1:0 and
LAYER_b_1:0), save_weights (Keras 2 Model.save_weights: nested LAYER/kernel:0),
model (Model.save: the same under model_weights), f16 (save_weights in
float16), f16r (save_weights in float32 of the values rounded to float16: what
the f16 file holds), vlen (save_weights with variable-length string attributes).
HOSTILE (optional) damages the file in one named way; see damage()."""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import safetensors_io  # noqa: E402

def layers_of(tensors):
    """Keras's layer order: input, each block's convs and pool, then flatten and the dense layers."""
    have = {k.split("/")[0] for k in tensors}
    out = ["input_1"]
    for b in range(1, 6):
        out += sorted((n for n in have if n.startswith("block%d_" % b)), key=lambda n: int(n.split("conv")[1]))
        out.append("block%d_pool" % b)
    if "fc1" in have:
        out += ["flatten", "fc1", "fc2", "predictions"]
    return out


def strings(names, vlen):
    if vlen:
        return np.array(names, dtype=h5py.string_dtype())
    return np.array([n.encode() for n in names])


def write(tensors, out, layout):
    vlen, dtype = layout == "vlen", np.float16 if layout == "f16" else np.float32
    with h5py.File(out, "w") as f:
        root = f.create_group("model_weights") if layout == "model" else f
        if layout == "model":
            f.attrs["model_config"] = b'{"class_name": "Functional"}'
        layers = layers_of(tensors)
        root.attrs["layer_names"] = strings(layers, vlen)
        root.attrs["backend"] = b"tensorflow"
        root.attrs["keras_version"] = b"2.11.0"
        for layer in layers:
            g = root.create_group(layer)
            if layout == "f16r" and layer + "/kernel" in tensors:
                for k in ("/kernel", "/bias"):
                    tensors[layer + k] = tensors[layer + k].astype(np.float16).astype(np.float32)
            if layer + "/kernel" not in tensors:
                g.attrs["weight_names"] = np.array([], dtype="S1")
                continue
            k, b = tensors[layer + "/kernel"], tensors[layer + "/bias"]
            if layout == "apps":
                wn = [layer + "_W_1:0", layer + "_b_1:0"]
            else:
                wn = [layer + "/kernel:0", layer + "/bias:0"]
            g.attrs["weight_names"] = strings(wn, vlen)
            g.create_dataset(wn[0], data=k.astype(dtype))
            g.create_dataset(wn[1], data=b.astype(dtype))


def damage(path, how):
    """One hostile change to a good file."""
    if how == "signature":
        open(path, "wb").write(b"\x89HDF\r\n\x1a\n")
        return
    if how == "truncated":
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size // 2)
        return
    if how == "garbage":  # the signature, then noise
        data = bytearray(open(path, "rb").read())
        rng = np.random.default_rng(5)
        data[8:4096] = rng.integers(0, 256, 4088, dtype=np.uint8).tobytes()
        open(path, "wb").write(bytes(data))
        return
    if how == "flipped":  # bytes of the metadata damaged throughout
        data = bytearray(open(path, "rb").read())
        for i in range(96, min(len(data), 1 << 16), 97):
            data[i] ^= 0x5A
        open(path, "wb").write(bytes(data))
        return
    with h5py.File(path, "r+") as f:
        root = f["model_weights"] if "model_weights" in f else f
        g = root["block1_conv1"]
        wn = [n.decode() for n in g.attrs["weight_names"]]
        if how == "shape":  # the kernel transposed: OIHW as torch would have it
            k = np.asarray(g[wn[0]])
            del g[wn[0]]
            g.create_dataset(wn[0], data=np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
        elif how == "name":  # a layer name VGG does not have
            root.move("block1_conv1", "block1_convX")
            root.attrs["layer_names"] = np.array([n.replace(b"block1_conv1", b"block1_convX")
                                                  for n in root.attrs["layer_names"]])
        elif how == "extra":  # one more layer with weights
            e = root.create_group("extra_dense")
            e.attrs["weight_names"] = np.array([b"extra_dense/kernel:0", b"extra_dense/bias:0"])
            e.create_dataset("extra_dense/kernel:0", data=np.zeros((4, 4), np.float32))
            e.create_dataset("extra_dense/bias:0", data=np.zeros(4, np.float32))
            root.attrs["layer_names"] = np.append(root.attrs["layer_names"], b"extra_dense")
        elif how == "three":  # a layer with three weights
            g.create_dataset("gamma:0", data=np.ones(64, np.float32))
            g.attrs["weight_names"] = np.array([n.encode() for n in wn] + [b"gamma:0"])
        elif how == "missing":  # a weight listed, its dataset absent
            del g[wn[1]]
        elif how == "integer":
            b = np.asarray(g[wn[1]])
            del g[wn[1]]
            g.create_dataset(wn[1], data=b.astype(np.int32))
        elif how == "nonfinite":
            b = np.asarray(g[wn[1]])
            b[3] = np.nan
            g[wn[1]][...] = b
        elif how == "nolayers":
            del root.attrs["layer_names"]
        elif how == "numbers":  # layer_names not strings
            root.attrs["layer_names"] = np.arange(5)
        elif how == "huge":  # a dataset declaring 2^40 values (chunked, never written)
            del g[wn[1]]
            g.create_dataset(wn[1], shape=(1 << 20, 1 << 20), dtype=np.float32, chunks=(1, 1024))
        elif how == "cyclic":  # a group linking to itself, and a weight that names the loop
            g["loop"] = g
            g.attrs["weight_names"] = np.array([b"loop/loop/loop/loop", wn[1].encode()])
        elif how == "signature":  # the signature alone
            pass
        elif how == "notvgg":  # a 5x5 kernel
            k = np.asarray(g[wn[0]])
            del g[wn[0]]
            g.create_dataset(wn[0], data=np.zeros((5, 5) + k.shape[2:], np.float32))
        else:
            sys.exit("unknown damage " + how)


def main():
    src, out, layout = sys.argv[1:4]
    write(safetensors_io.read(src), out, layout)
    if len(sys.argv) > 4:
        damage(out, sys.argv[4])


if __name__ == "__main__":
    main()
