#!/usr/bin/python3
"""Writes the seed inputs of the safetensors and .npy fuzzers into tests/fuzz/corpus/.

Small files that reach deep into each reader: valid headers in both namings and
every dtype, metadata, tensors of the right and of wrong shapes; .npy arrays of
every accepted form.  (The image fuzzer's seeds are the test pictures in
tests/data/formats, tests/data/hostile and tests/data/img.)
Run with Debian's /usr/bin/python3 (python3-numpy)."""
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz", "corpus")


def safetensors(tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape) in tensors.items():
        n = int(np.prod(shape)) * (4 if dtype == "F32" else 2)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + n]}
        blobs.append(bytes((i * 29 + 7) % 61 for i in range(n)))
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def npy(shape, descr="<f4", fortran=False):
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (descr, fortran, "".join("%d, " % s for s in shape))
    d += " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
    n = int(np.prod(shape)) * int(descr[-1])
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + bytes(i % 200 for i in range(n))


def main():
    st = {
        "torch_f32.safetensors": safetensors({"features.0.weight": ("F32", (64, 3, 3, 3)), "features.0.bias": ("F32", (64,))}),
        "torch_f16.safetensors": safetensors({"features.0.weight": ("F16", (64, 3, 3, 3)), "features.0.bias": ("F16", (64,))},
                                             {"format": "pt"}),
        "keras_bf16.safetensors": safetensors({"block1_conv1/kernel": ("BF16", (3, 3, 3, 64)),
                                               "block1_conv1/bias": ("BF16", (64,))}),
        "wrong_shape.safetensors": safetensors({"features.0.weight": ("F32", (3, 3, 3, 3)), "classifier.0.weight": ("F32", (2, 2))}),
        "other_dtype.safetensors": safetensors({"features.0.weight": ("F16", (2,)), "x": ("F16", (1, 0, 3))}),
    }
    nps = {
        "hwc.npy": npy((33, 35, 3)),
        "nhwc.npy": npy((1, 32, 40, 3)),
        "vector.npy": npy((7,)),
        "f8.npy": npy((2, 2), "<f8"),
        "fortran.npy": npy((4, 4, 3), fortran=True),
        "empty.npy": npy((0, 3)),
    }
    for sub, files in (("safetensors", st), ("npy", nps)):
        os.makedirs(os.path.join(OUT, sub), exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(OUT, sub, name), "wb") as f:
                f.write(data)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
