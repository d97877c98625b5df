#!/usr/bin/python3
"""int8 accuracy held out: calibrate on some photos, measure on others, against PyTorch float64.

  PYTHONPATH=build/engine/python /usr/bin/python3 scripts/int8_heldout.py [--seeds 0 1] [--threads 2]

Photos: 224x224 crops (the centre square and the top-left three quarters) of the photos given (default:
the project's two photos, the colour and grey photos python3-skimage ships and python3-matplotlib's
grace_hopper.jpg, those installed), plus two synthetic high-contrast pictures unlike any photo.  The photos
are split in two halves (alternately in the order given); each half's crops are measured with ranges
calibrated on the *other* half's crops, and the synthetic pictures with ranges calibrated on every photo.
Weights: torchvision's VGG16 initialisation (Kaiming
normal, torch.manual_seed(seed)), in torchvision naming; preprocessing: torch and caffe.

Rows: vggsimd int8 with ranges calibrated held out (the range guard widens them per image where an image
passes them), the same without their channel ranges (one unit per layer), with no ranges (calibrated on the
bundled photo, guard on), with ranges from a low start (each range a quarter of the held-out one: the guard sets
nearly every range from the image itself), with
--first K: ranges from the first K photos of the other half with either channel exponent, and
PyTorch 1.13's static int8 recipe (onednn engine, per-channel weights, MinMax or Histogram observers,
calibrated on the same held-out photos); and vggsimd bf16, for scale (it takes no ranges), with --bf16-direct
beside it a direct bf16 convolution emulated in PyTorch (weights to nearest, or with their sums kept), and with
--torch-bf16 PyTorch's own bf16 (the model in bfloat16).
Figures: max |error| relative to max |block| (and relative L2) per block, over every measured image: the mean
of block 5, the worst block of the worst image, and the number of images whose worst block passes 1e-2 (bf16's
budget)."""
import argparse
import copy
import os
import sys
import tempfile

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402
from heldout_photos import PHOTOS, crops, halves, synthetic  # noqa: E402
import vggsimd  # noqa: E402

POOLS = (4, 9, 16, 23, 30)  # torchvision features indices of the five max-pools


def errors(ref, got):
    """Per block: (max |error| / max |ref|, ||error|| / ||ref||)."""
    return [(float(np.abs(g - r).max() / np.abs(r).max()), float(np.linalg.norm(g - r) / np.linalg.norm(r)))
            for r, g in zip(ref, got)]


def reference(model, x):
    """The five block outputs in float64, NHWC."""
    out, t = [], torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float64))
    with torch.no_grad():
        for i, layer in enumerate(model.features):
            t = layer(t)
            if i in POOLS:
                out.append(t.numpy().transpose(0, 2, 3, 1))
    return out


def bf16_keep_sums(w):
    """A conv's OIHW weights rounded to bf16 as the engine rounds a Winograd filter's U: each output channel's
    weights at each tap, over the input channels, with their errors' sum kept near 0 (vgg_bf16_round_sum)."""
    import ctypes
    round_sum = ctypes.CDLL(vggsimd._vggsimd.__file__).vgg_bf16_round_sum
    runs = np.ascontiguousarray(w.transpose(0, 2, 3, 1).reshape(-1, w.shape[1]), np.float32)  # (o, tap) x channels
    h = np.empty(runs.shape, np.uint16)
    for r in range(len(runs)):
        round_sum(runs[r].ctypes.data_as(ctypes.c_void_p), ctypes.c_int(runs.shape[1]),
                  h[r].ctypes.data_as(ctypes.c_void_p))
    f = (h.astype(np.uint32) << 16).view(np.float32).reshape(w.shape[0], 3, 3, -1)
    return np.ascontiguousarray(f.transpose(0, 3, 1, 2))


def bf16_direct(model, x, weights):
    """The five block outputs of a direct bf16 convolution, emulated: every conv but the first (float32, as in
    the engine) with its input rounded to bf16 (to nearest even) and its weights replaced by weights[i] (the
    conv at features index i, already rounded to bf16), products and sums in float64, each output rounded to
    float32; NHWC.  What a direct kernel with bf16 operands and exact accumulation would give, to set beside
    the engine's bf16 Winograd."""
    out, t = [], torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float64))
    with torch.no_grad():
        for i, layer in enumerate(model.features):
            if i in weights:
                t = torch.nn.functional.conv2d(t.float().bfloat16().double(), weights[i], layer.bias.float().double(),
                                               padding=1).float().double()
            elif isinstance(layer, torch.nn.Conv2d):  # the first: float32
                t = torch.nn.functional.conv2d(t, layer.weight.float().double(), layer.bias.float().double(),
                                               padding=1).float().double()
            else:
                t = layer(t)
            if i in POOLS:
                out.append(t.numpy().transpose(0, 2, 3, 1))
    return out


def torch_bf16(features, x):
    """PyTorch's bf16 on the conv base, as a user would run it: `features`, the model's conv base in bfloat16
    (every layer's weights, inputs and outputs; torch.autocast gave the same figures to the digit); NHWC."""
    out, t = [], torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32)).bfloat16()
    with torch.no_grad():
        for i, layer in enumerate(features):
            t = layer(t)
            if i in POOLS:
                out.append(t.float().numpy().astype(np.float64).transpose(0, 2, 3, 1))
    return out


def torch_int8(model, cal, x, observer):
    """PyTorch's static int8 recipe on the conv base: conv+relu fused, per-channel weights, activations observed."""
    from torch.ao import quantization as q
    torch.backends.quantized.engine = "onednn"
    feats = torch.nn.Sequential(q.QuantStub(), *[l for l in model.features], q.DeQuantStub()).float().eval()
    pairs = [[str(i + 1), str(i + 2)] for i, l in enumerate(model.features) if isinstance(l, torch.nn.Conv2d)]
    fused = q.fuse_modules(feats, pairs)
    act = q.MinMaxObserver if observer == "minmax" else q.HistogramObserver
    fused.qconfig = q.QConfig(activation=act.with_args(reduce_range=False), weight=q.default_per_channel_weight_observer)
    prep = q.prepare(fused)
    with torch.no_grad():
        prep(torch.from_numpy(cal.transpose(0, 3, 1, 2).copy()))
    conv = q.convert(prep)
    out = []
    with torch.no_grad():
        t = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        t = conv[0](t)
        for i in range(len(model.features)):
            t = conv[i + 1](t)
            if i in POOLS:
                out.append(torch.dequantize(t).numpy().transpose(0, 2, 3, 1).astype(np.float64))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--preproc", nargs="+", default=["torch", "caffe"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--photos", nargs="+", default=[p for p in PHOTOS if os.path.exists(p)])
    ap.add_argument("--no-torch-int8", action="store_true", help="skip PyTorch's recipe (slow)")
    ap.add_argument("--first", type=int, nargs="*", default=[],
                    help="also rows of ranges from the first K photos of the other half (2K crops), with the channel "
                         "units' exponent of few images (0.5) and of many (0.75), for each K given")
    ap.add_argument("--torch-bf16", action="store_true", help="also a row of PyTorch's bf16 (the model in bfloat16)")
    ap.add_argument("--bf16-only", action="store_true", help="only the bf16 rows (no int8 net, no calibration)")
    ap.add_argument("--bf16-direct", action="store_true",
                    help="also rows of a direct bf16 convolution, emulated in PyTorch (bf16_direct)")
    a = ap.parse_args()
    groups = [(os.path.basename(p), crops(p)) for p in a.photos]
    half = halves(len(groups))
    groups.append(("synthetic", synthetic()))
    rows = {}
    tmp = tempfile.mkdtemp()
    for seed in a.seeds:
        torch.manual_seed(seed)
        tv = torchvision.models.vgg16().eval()
        wpath = os.path.join(tmp, "tv%d.safetensors" % seed)
        safetensors_io.write(wpath, {k: v.detach().numpy() for k, v in tv.state_dict().items()
                                     if k.startswith("features.")})
        tv64 = torchvision.models.vgg16()
        tv64.load_state_dict(tv.state_dict())
        tv64 = tv64.double().eval()
        convs = [i for i, l in enumerate(tv64.features) if isinstance(l, torch.nn.Conv2d)][1:]
        w32 = {i: tv64.features[i].weight.detach().float() for i in convs}
        direct = {  # bf16_direct's weights, each conv's after the first rounded to bf16 once
            "to nearest": {i: w.bfloat16().double() for i, w in w32.items()},
            "with their sums kept per tap": {i: torch.from_numpy(bf16_keep_sums(w.numpy())).double()
                                             for i, w in w32.items()},
        } if a.bf16_direct else {}
        tbf16 = copy.deepcopy(tv.features).bfloat16().eval() if a.torch_bf16 else None  # rounded once, tv kept
        for pre in a.preproc:
            xs = [np.concatenate([vggsimd.load_image(c, resize="direct", preprocess=pre) for c in g]) for _, g in groups]
            noranges = None if a.bf16_only else vggsimd.VGG16(weights=wpath, precision="int8", threads=a.threads)
            bf16 = vggsimd.VGG16(weights=wpath, precision="bf16", threads=a.threads)
            for gi, (name, _) in enumerate(groups):
                if name == "synthetic":
                    cal = np.concatenate(xs[:-1])
                else:
                    cal = np.concatenate([xs[j] for j in half[1 - gi % 2]])
                x = xs[gi]
                ref = reference(tv64, x)

                def record(label, got, n=len(x)):
                    """The errors of the first n images' block outputs got (five arrays, NHWC) against float64."""
                    for i in range(n):
                        rows.setdefault(label, []).append(errors([r[i:i + 1] for r in ref], [g[i:i + 1] for g in got]))

                def measure(label, m, n=len(x)):
                    """Each of the first n images of x alone through m, against float64."""
                    feats = [m.features(x[i:i + 1]) for i in range(n)]
                    record(label, [np.concatenate([f[b] for f in feats]) for b in vggsimd.BLOCKS], n)

                if a.bf16_only:
                    measure("vggsimd bf16", bf16)  # bf16 takes no ranges: every image is held out
                    if tbf16 is not None:
                        record("PyTorch bf16 (the model in bfloat16)", torch_bf16(tbf16, x))
                    for how, weights in direct.items():
                        record("bf16 direct convolution, emulated, weights " + how, bf16_direct(tv64, x, weights))
                    continue
                ranges = vggsimd.calibrate(cal, weights=wpath, threads=a.threads)
                low = [r / 4 for r in ranges]
                own = vggsimd.calibrate(x[:1], weights=wpath, threads=a.threads)
                nl = len(noranges.layers)  # calibrate(): one value per layer, then one per conv channel
                for k in a.first if name != "synthetic" else ():
                    vk = vggsimd.calibrate(np.concatenate([xs[j] for j in half[1 - gi % 2][:k]]), weights=wpath,
                                           threads=a.threads)
                    for alpha, n in (("0.5", 1), ("0.75", vggsimd.CHANNEL_MANY)):  # the count sets the exponent
                        measure("vggsimd int8, ranges from %d photo%s of the other half, exponent %s"
                                % (k, "s" if k > 1 else "", alpha),
                                vggsimd.VGG16(weights=wpath, precision="int8", ranges=vggsimd.Ranges(vk, n),
                                              threads=a.threads))
                measure("vggsimd bf16", bf16)  # bf16 takes no ranges: every image is held out
                if tbf16 is not None:
                    record("PyTorch bf16 (the model in bfloat16)", torch_bf16(tbf16, x))
                for how, weights in direct.items():
                    record("bf16 direct convolution, emulated, weights " + how, bf16_direct(tv64, x, weights))
                conf = {"vggsimd int8, ranges calibrated held out": ranges,
                        "vggsimd int8, ranges calibrated held out, one unit per layer (no channel ranges)": ranges[:nl],
                        "vggsimd int8, no ranges (bundled photo)": None,
                        "vggsimd int8, ranges a quarter of the held-out ones": low}
                for label, rg in conf.items():
                    measure(label, noranges if rg is None else vggsimd.VGG16(weights=wpath, precision="int8", ranges=rg,
                                                                            threads=a.threads))
                measure("vggsimd int8, ranges from the photo itself",
                        vggsimd.VGG16(weights=wpath, precision="int8", ranges=own, threads=a.threads), 1)
                if not a.no_torch_int8:
                    for obs in ("minmax", "histogram"):
                        record("PyTorch static int8 (onednn, %s observers)" % obs, torch_int8(tv, cal, x, obs))
            print("seed %d %s done" % (seed, pre), file=sys.stderr)
    print("| configuration | images | block 5 max (mean) | block 5 L2 (mean) | block 5 L2 (worst image) | worst block max "
          "| images above 1e-2 |")
    print("|---|---|---|---|---|---|---|")
    for label, errs in rows.items():
        e = np.array(errs)  # images x blocks x (max, l2)
        print("| %s | %d | %.2e | %.2e | %.2e | %.2e (block %d) | %d |" % (
            label, len(e), e[:, 4, 0].mean(), e[:, 4, 1].mean(), e[:, 4, 1].max(), e[:, :, 0].max(),
            int(np.unravel_index(e[:, :, 0].argmax(), e[:, :, 0].shape)[1]) + 1, int((e[:, :, 0].max(1) > 1e-2).sum())))


if __name__ == "__main__":
    main()
