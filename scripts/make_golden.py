#!/usr/bin/python3
"""Makes the end-to-end golden data: PyTorch (float64) runs torchvision's vgg16
with weights the engine itself wrote, on a committed 224x224 photo.

  /usr/bin/python3 scripts/make_golden.py build/engine/vggsimd [--seed 7]

Writes tests/data/golden_vgg16_seed<S>.txt (plain text, read by tests/test_e2e.c):
  seed S / image PATH / preproc torch
  block B H W C maxabs mean std     followed by `sample INDEX VALUE` lines (NHWC flat index)
  logits 1000                       followed by the 1000 logits, one a line
  top5 i0 i1 i2 i3 i4
Weights are not committed: the test regenerates them from the seed.
Needs Debian's python3-torch, python3-torchvision, python3-numpy, python3-pil.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torchvision
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
SAMPLES = 300


def preprocess_torch(path):
    """The engine's torch preprocessing, in float32 exactly as it computes it."""
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    assert rgb.shape == (224, 224, 3), "the golden image must be 224x224 (no resize)"
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
    return (rgb / np.float32(255.0) - mean) / std  # HWC float32


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vggsimd", help="path to the built vggsimd binary")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--image", default=os.path.join(ROOT, "tests", "data", "chelsea224.png"))
    ap.add_argument("--out", default=None)
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wpath = os.path.join(tmp, "w.safetensors")
        subprocess.run([a.vggsimd, "init", "--arch", "vgg16", "--top", "--seed", str(a.seed), "-o", wpath],
                       check=True, stdout=subprocess.DEVNULL)
        tensors = safetensors_io.read(wpath)

    model = torchvision.models.vgg16(weights=None)
    state = {k: torch.from_numpy(v.astype(np.float64)) for k, v in tensors.items()}
    model = model.double().eval()
    model.load_state_dict(state, strict=True)
    x = preprocess_torch(a.image)
    xt = torch.from_numpy(x.astype(np.float64)).permute(2, 0, 1).unsqueeze(0)  # NCHW

    blocks = []
    with torch.no_grad():
        h = xt
        for layer in model.features:
            h = layer(h)
            if isinstance(layer, torch.nn.MaxPool2d):
                blocks.append(h.permute(0, 2, 3, 1).contiguous().numpy())  # NHWC
        h = model.avgpool(h)
        h = torch.flatten(h, 1)
        logits = model.classifier(h).numpy()[0]

    rng = np.random.default_rng(a.seed)
    out = a.out or os.path.join(ROOT, "tests", "data", "golden_vgg16_seed%d.txt" % a.seed)
    lines = ["seed %d" % a.seed, "image %s" % os.path.relpath(a.image, ROOT), "preproc torch"]
    for b, t in enumerate(blocks, 1):
        flat = t.reshape(-1)
        idx = np.sort(rng.choice(flat.size, size=min(SAMPLES, flat.size), replace=False))
        # Include the largest value: it is where the error bound is tightest relative to its size.
        idx = np.unique(np.append(idx, np.argmax(np.abs(flat))))
        lines.append("block %d %d %d %d %.17g %.17g %.17g" % (b, t.shape[1], t.shape[2], t.shape[3],
                                                              np.abs(flat).max(), flat.mean(), flat.std()))
        lines += ["sample %d %.17g" % (i, flat[i]) for i in idx]
    lines.append("logits %d" % logits.size)
    lines += ["%.17g" % v for v in logits]
    top5 = np.argsort(-logits)[:5]
    lines.append("top5 " + " ".join(str(i) for i in top5))
    gaps = [logits[top5[i]] - logits[top5[i + 1]] for i in range(4)]
    gaps.append(logits[top5[4]] - np.sort(logits)[-6])
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s; top-5 %s; logit gaps relative to max|logit|: %s" % (
        out, list(top5), ["%.2e" % (g / np.abs(logits).max()) for g in gaps]))


if __name__ == "__main__":
    sys.exit(main())
