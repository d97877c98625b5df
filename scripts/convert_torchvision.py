#!/usr/bin/python3
"""torchvision VGG state dict (.pth) -> safetensors that `vggsimd run --weights` loads.

  /usr/bin/python3 scripts/convert_torchvision.py vgg16-397923af.pth vgg16.safetensors

Keeps torchvision's names (features.N.weight OIHW, classifier.N.weight [out,in]);
the engine converts the layouts at load and picks torch preprocessing for them.
Batch-norm variants (vgg16_bn) are not supported.  Needs Debian's python3-torch."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: convert_torchvision.py IN.pth OUT.safetensors")
    # weights_only: tensors and plain containers, never arbitrary objects (a .pth is a pickle, and a pickle
    # can run code as it loads); a whole saved module is refused: save its state_dict() instead.
    sd = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
    if not isinstance(sd, dict):
        sys.exit("%s: holds a %s, not a state dict" % (sys.argv[1], type(sd).__name__))
    if "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    keep = {}
    for k, v in sd.items():
        if not (k.startswith("features.") or k.startswith("classifier.")):
            sys.exit("unexpected key %r: not a torchvision VGG state dict" % k)
        if "running_" in k or "num_batches" in k:
            sys.exit("batch-norm VGG (%r) is not supported" % k)
        if not isinstance(v, torch.Tensor):
            sys.exit("%s: %r is a %s, not a tensor" % (sys.argv[1], k, type(v).__name__))
        keep[k] = v.detach().to(torch.float32).numpy()
    safetensors_io.write(sys.argv[2], keep, {"format": "pt", "source": os.path.basename(sys.argv[1])})
    print("wrote %s: %d tensors" % (sys.argv[2], len(keep)))


if __name__ == "__main__":
    safetensors_io.run_main(main, "convert_torchvision.py", "a torchvision state dict of tensors")
