#!/usr/bin/python3
"""int8 calibration methods compared held out, on a float model of the engine's int8 rules.

  /usr/bin/python3 scripts/int8_methods.py [--seed 0] [--preproc torch] [--bench-int8 J --bench-bf16 J]

The model (PyTorch, float32) follows docs/precision.md, "What is computed": the first layer in float32, its
output quantised to u8; every later conv on s8 weights (one scale per output channel, max |w| / 127, sums kept) and u8
inputs (one unit per tensor, range x 33/32 / 254, round half to even); the range guard (a map reaching 255 is
made again on the image's own largest value); the per-image narrowing (the output range from the share of
its input's range the image used, times 1.3); u8 max-pooling.  Each method changes one thing:

  max, static      the calibrated largest value, guard only (the engine before the narrowing)
  max, narrowed    one unit per layer (scripts/int8_heldout.py's row "... one unit per layer")
  percentile       the layers whose output is not a block output clipped at the 99.99th percentile of the
                   calibration photos' non-zero values (the guard off there: a deliberate clip)
  MSE              the same layers clipped where the calibration photos' quantisation error is least
  bias correction  each int8 layer's bias less its mean output error over the calibration photos (per channel)
  weights MSE      each output channel's weight scale where its quantisation error is least, not max |w|
                   (every row rounds the s8 weights as the engine does, each filter's sums kept: "Weights
                   rounded to keep their sums" in docs/precision.md; one row rounds them to nearest)
  channel ranges   each conv's output quantised with a unit per channel (its calibrated largest value, at
                   least 1/32 of the layer's largest), the next conv's weights multiplied by those units per
                   input channel before their s8 quantisation (so the kernels' sums are unchanged: the units
                   fold into the weights); narrowing and the guard scale all of a layer's units together; the
                   engine's rule is alpha 0.75 for ranges from 8 images or more (every calibration half here),
                   0.5 for fewer
  bf16 layers      the named blocks' convs in bfloat16 (weights and inputs rounded), the rest int8
                   (--sensitivity: also each conv alone)

Photos: scripts/heldout_photos.py's, two crops each, in two halves, each half measured with ranges (and
clips, corrections) from the other half; the synthetic pictures with ranges from every photo.  Against the
model in float32 without quantisation (within 1e-6 of float64; scripts/int8_heldout.py measures the engine
itself against float64).  With --bench-int8/--bench-bf16 (`vggsimd bench --precision int8|bf16 --json`
outputs), the bf16 rows give the conv base's time from those runs' per-layer times, hand-offs not counted."""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torchvision
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from heldout_photos import PHOTOS, crops, halves, synthetic  # noqa: E402

CONVS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)  # torchvision features indices of the 13 convs
POOLED = (1, 3, 6, 9, 12)  # the convs a max-pool follows: their outputs are the block outputs
NAMES = ["block%d_conv%d" % (b + 1, c + 1) for b, n in enumerate((2, 2, 3, 3, 3)) for c in range(n)]
MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
CAFFE_MEAN = np.array([103.939, 116.779, 123.68])
ALPHAS = (0.25, 0.5, 0.75)  # the share of a channel's range ratio its activations keep (channel ranges)


def preprocess(rgb, how):
    x = rgb.astype(np.float64)
    x = (x / 255 - MEAN) / STD if how == "torch" else x[..., ::-1] - CAFFE_MEAN
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))[None]).float()


def turn(v, q, k):
    """The engine's s8_turn on each row (last dim): the k largest errors q - v of k's sign turned by one."""
    e = q - v
    rank_dn = torch.argsort(torch.argsort(-e, dim=-1, stable=True), dim=-1)
    rank_up = torch.argsort(torch.argsort(e, dim=-1, stable=True), dim=-1)
    dn = (k > 0) & (rank_dn < k) & (e > 0) & (q > -127)
    up = (k < 0) & (rank_up < -k) & (e < 0) & (q < 127)
    return q - dn.to(q.dtype) + up.to(q.dtype)


def keep_sums(v, q):
    """The engine's s8_round_filter on weights v (units of their scale, [out][in][3][3]) rounded to q: in each
    input channel's 3x3 group, then over each output channel's filter, the fewest roundings turned the other way
    that bring the errors' sum within half a unit."""
    o = v.shape[0]
    g, gq = v.reshape(o, -1, 9), q.reshape(o, -1, 9)
    gq = turn(g, gq, torch.round((gq - g).sum(-1, keepdim=True)))
    f, fq = v.reshape(o, -1), gq.reshape(o, -1)
    return turn(f, fq, torch.round((fq - f).sum(-1, keepdim=True))).reshape(v.shape)


def q_weights(w, mse=False, nearest=False):
    """s8, one scale per output channel: max |w| / 127, or the clip of least squared error; each filter's sums
    kept (keep_sums: the engine), or each weight to nearest (nearest: the engine before)."""
    m = w.abs().amax(dim=(1, 2, 3), keepdim=True)
    best, clip = None, m
    for f in (np.linspace(0.5, 1.0, 51) if mse else [1.0]):
        s = m * f / 127
        e = ((torch.clamp(torch.round(w / s), -127, 127) * s - w) ** 2).sum(dim=(1, 2, 3), keepdim=True)
        if best is None:
            best, clip = e, m * f
        else:
            better = e < best
            best, clip = torch.where(better, e, best), torch.where(better, m * f, clip)
    s = clip / 127
    v = w / s
    q = torch.clamp(torch.round(v), -127, 127)
    return (q if nearest else keep_sums(v, q)) * s


def bf16(t):
    return t.bfloat16().float()


class Model:
    def __init__(self, tv, wmse=False, nearest=False):
        self.w = [tv.features[i].weight.detach().float() for i in CONVS]
        self.b = [tv.features[i].bias.detach().float() for i in CONVS]
        self.nearest = nearest
        self.wq = [self.w[0]] + [q_weights(w, wmse, nearest) for w in self.w[1:]]

    def float_pass(self, x):
        """Block outputs and each conv's output (pooled where a pool follows) without quantisation."""
        blocks, acts = [], []
        with torch.no_grad():
            for k in range(13):
                x = F.relu(F.conv2d(x, self.w[k], self.b[k], padding=1))
                if k in POOLED:
                    x = F.max_pool2d(x, 2)
                    blocks.append(x)
                acts.append(x)
        return blocks, acts

    def channel_weights(self, pc, alpha):
        """Per conv k >= 1: s8 quantisation of the weights times the units of conv k-1's channels (pc: each conv's
        per-channel calibrated largest value), divided back: the weights the sums of the folded kernel amount to."""
        out = [self.w[0]]
        for k in range(1, 13):
            u = channel_units(pc[k - 1], alpha).view(1, -1, 1, 1)
            out.append(q_weights(self.w[k] * u, nearest=self.nearest) / u)
        return out

    def int8_pass(self, x, cal, narrow=True, clip=None, bias=None, bf=(), collect=None, pc=None, wpc=None, alpha=0.5):
        """The int8 rules on one image.  cal: calibrated range per conv; clip: per conv, a factor of the range
        and the guard off (None: no clip); bias: per conv, a per-channel correction; bf: convs in bf16."""
        blocks, used = [], None
        with torch.no_grad():
            for k in range(13):
                if k in bf:
                    y = F.conv2d(bf16(x), bf16(self.w[k]), self.b[k], padding=1)
                else:
                    y = F.conv2d(x, (wpc or self.wq)[k], self.b[k], padding=1)
                if bias is not None and k > 0 and k not in bf:
                    y = y - bias[k].view(1, -1, 1, 1)
                if collect is not None:
                    collect.append(y)
                y = F.relu(y)
                if k in bf and (k == 12 or k + 1 in bf):
                    y = bf16(y)
                else:
                    r = cal[k]
                    if narrow and used is not None:
                        f = 1.3 * used
                        r *= f if used > 1 else min(1.0, max(1 / 16, f))
                    if pc is not None:
                        f = 1.0
                        if narrow and used is not None:
                            f = 1.3 * used
                            f = f if used > 1 else min(1.0, max(1 / 16, f))
                        u = (channel_units(pc[k], alpha) * f * 33 / 32 / 254).view(1, -1, 1, 1)
                        q = torch.clamp(torch.round(y / u), 0, 255)
                        if q.max() == 255 or (narrow and k == 0 and 0 < q.max() < 127):
                            g = float((y.amax(dim=(0, 2, 3)).view(1, -1, 1, 1) / (253.5 * u)).max())
                            u = u * g
                            q = torch.clamp(torch.round(y / u), 0, 255)
                        used = float((q * u).max()) / (float(pc[k].max()) * 33 / 32)
                        y = q * u
                    elif clip is not None and clip[k] < 1:
                        u = r * clip[k] / 255
                        q = torch.clamp(torch.round(y / u), 0, 255)
                    else:
                        u = r * 33 / 32 / 254
                        q = torch.clamp(torch.round(y / u), 0, 255)
                        if q.max() == 255 or (narrow and k == 0 and 0 < q.max() < 127):
                            u = float(y.max()) / 253.5
                            q = torch.clamp(torch.round(y / u), 0, 255)
                    if pc is None:
                        used = float(q.max()) * u / (cal[k] * 33 / 32)
                        y = q * u
                if k in POOLED:
                    y = F.max_pool2d(y, 2)
                    blocks.append(y)
                x = y
        return blocks


def channel_units(m, alpha):
    """A layer's per-channel ranges: each channel's calibrated largest value (at least 1/32 of the layer's) to the
    power alpha times the layer's to the power 1 - alpha: alpha 1 gives each channel its own range, 0 the layer's
    (one unit per layer); between, the ratio of a channel's range to the layer's is shared between the activations
    and the next layer's weights."""
    return torch.clamp(m, min=float(m.max()) / 32) ** alpha * float(m.max()) ** (1 - alpha)


def clip_factors(acts, how):
    """Per conv, the clip as a factor of the largest calibration value (1 where the output is a block output)."""
    out = []
    for k, a in enumerate(acts):
        m = float(a.max())
        v = a.flatten()
        v = v[v > 0]
        if k in POOLED or k == 0:
            out.append(1.0)
            continue
        v = v[torch.randint(len(v), (min(len(v), 2000000),))]
        if how == "percentile":
            out.append(float(torch.quantile(v.double(), 0.9999)) / m)
            continue
        best = None
        for f in np.linspace(0.3, 1.0, 71):
            u = m * f / 255
            e = float(((torch.clamp(torch.round(v / u), 0, 255) * u - v) ** 2).sum())
            if best is None or e < best[0]:
                best = (e, f)
        out.append(best[1])
    return out


def bias_corrections(model, xs, cal):
    """Per int8 conv, the mean (over the calibration images and pixels) of its pre-activation error, each layer
    measured with the layers before it corrected."""
    corr = [torch.zeros_like(b) for b in model.b]
    for k in range(1, 13):
        d = torch.zeros_like(model.b[k])
        for x in xs:
            got = []
            model.int8_pass(x, cal, bias=corr, collect=got)
            with torch.no_grad():
                t = x
                for j in range(k + 1):
                    pre = F.conv2d(t, model.w[j], model.b[j], padding=1)
                    t = F.relu(pre)
                    if j in POOLED:
                        t = F.max_pool2d(t, 2)
            d += (got[k] + corr[k].view(1, -1, 1, 1) - pre).mean(dim=(0, 2, 3))
        corr[k] = d / len(xs)
    return corr


def errors(ref, got):
    return [(float((g - r).abs().max() / r.abs().max()), float((g - r).norm() / r.norm())) for r, g in zip(ref, got)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preproc", default="torch", choices=("torch", "caffe"))
    ap.add_argument("--bench-int8")
    ap.add_argument("--bench-bf16")
    ap.add_argument("--sensitivity", action="store_true", help="also each conv alone in bf16, the rest int8")
    ap.add_argument("--only", help="only the methods whose label contains this text")
    a = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    tv = torchvision.models.vgg16().eval()
    model, model_w, model_n = Model(tv), Model(tv, wmse=True), Model(tv, nearest=True)
    photos = [p for p in PHOTOS if os.path.exists(p)]
    groups = [[preprocess(c, a.preproc) for c in crops(p)] for p in photos]
    half = halves(len(groups))
    groups.append([preprocess(c, a.preproc) for c in synthetic()])
    blocks5 = {"block 5": (10, 11, 12), "blocks 4-5": tuple(range(7, 13)), "blocks 3-5": tuple(range(4, 13))}
    rows, made = {}, {}
    for gi, g in enumerate(groups):
        cal_idx = tuple(half[1 - gi % 2] if gi < len(groups) - 1 else range(len(groups) - 1))
        if cal_idx not in made:  # one calibration per half, and one for the synthetic pictures
            cal_x = [x for j in cal_idx for x in groups[j]]
            acts, pc = None, None
            for x in cal_x:
                more = model.float_pass(x)[1]
                chans = [t.amax(dim=(0, 2, 3)) for t in more]
                pc = chans if pc is None else [torch.maximum(u, v) for u, v in zip(pc, chans)]
                acts = more if acts is None else [torch.cat([u.flatten(), v.flatten()]) for u, v in zip(acts, more)]
            cal = [float(t.max()) for t in acts]
            pct, mse = clip_factors(acts, "percentile"), clip_factors(acts, "mse")
            del acts
            slow = not a.only or any(a.only in l for l in ("bias correction", "MSE clip + weights MSE + bias correction"))
            corr = bias_corrections(model, cal_x[::2], cal) if slow else None  # on half the crops: 12 passes each
            corr_w = bias_corrections(model_w, cal_x[::2], cal) if slow else None
            conf = {"max, static (the engine before the narrowing)": (model, dict(narrow=False)),
                    "max, narrowed, one unit per layer": (model, {}),
                    "percentile 99.99, inner layers clipped": (model, dict(clip=pct)),
                    "MSE-optimal clip, inner layers": (model, dict(clip=mse)),
                    "bias correction": (model, dict(bias=corr)),
                    "weights MSE-optimal per channel": (model_w, {}),
                    "MSE clip + weights MSE + bias correction": (model_w, dict(clip=mse, bias=corr_w)),
                    }
            # Channel ranges: alpha chosen on the calibration crops themselves (their block 5 L2, mean), then
            # measured on the others.
            held_in, cal_ref = {}, [model.float_pass(x)[0] for x in cal_x]
            for al in ALPHAS:
                w = model.channel_weights(pc, al)
                held_in[al] = np.mean([errors(r, model.int8_pass(x, cal, pc=pc, wpc=w, alpha=al))[4][1]
                                       for x, r in zip(cal_x, cal_ref)])
            best = min(held_in, key=held_in.get)
            print("channel ranges, block 5 L2 on the calibration crops by alpha: %s; chosen %.2f" % (
                {k: round(float(v), 5) for k, v in held_in.items()}, best), file=sys.stderr, flush=True)
            conf["channel ranges folded into the next weights, alpha chosen on the calibration half"] = (
                model, dict(pc=pc, wpc=model.channel_weights(pc, best), alpha=best))
            conf["channel ranges, alpha 0.50, weights rounded to nearest (the engine before)"] = (
                model_n, dict(pc=pc, wpc=model_n.channel_weights(pc, 0.5), alpha=0.5))
            for al in ALPHAS:
                conf["channel ranges folded into the next weights, alpha %.2f" % al] = (
                    model, dict(pc=pc, wpc=model.channel_weights(pc, al), alpha=al))
            conf.update({"%s in bf16, the rest int8" % n: (model, dict(bf=ks)) for n, ks in blocks5.items()})
            if a.sensitivity:
                conf.update({"%s alone in bf16" % NAMES[k]: (model, dict(bf=(k,))) for k in range(1, 13)})
            if a.only:
                conf = {k: v for k, v in conf.items() if a.only in k or "one unit per layer" in k}
            made[cal_idx] = (cal, conf)
            print("calibrated on %d crops: MSE clips %s" % (len(cal_x), np.round(mse, 2)), file=sys.stderr, flush=True)
        cal, conf = made[cal_idx]
        for x in g:
            ref = model.float_pass(x)[0]
            for label, (m, kw) in conf.items():
                rows.setdefault(label, []).append(errors(ref, m.int8_pass(x, cal, **kw)))
    cost = {}
    if a.bench_int8 and a.bench_bf16:
        lay = {p: {l["name"]: l["ms"] for l in json.load(open(f))["runs"][0]["layers"]}
               for p, f in (("int8", a.bench_int8), ("bf16", a.bench_bf16))}
        base = sum(v for n, v in lay["int8"].items() if "conv" in n)
        for n, ks in blocks5.items():
            t = sum(lay["bf16" if NAMES.index(c) in ks else "int8"][c] for c in NAMES)
            cost["%s in bf16, the rest int8" % n] = "%.2f ms (int8 %.2f)" % (t, base)
    print("| method (seed %d, %s preprocessing) | images | block 5 max (mean) | block 5 L2 (mean) | "
          "block 5 L2 (worst image) | worst block max | conv base |" % (a.seed, a.preproc))
    print("|---|---|---|---|---|---|---|")
    for label, errs in rows.items():
        e = np.array(errs)
        print("| %s | %d | %.2e | %.2e | %.2e | %.2e (block %d) | %s |" % (
            label, len(e), e[:, 4, 0].mean(), e[:, 4, 1].mean(), e[:, 4, 1].max(), e[:, :, 0].max(),
            int(np.unravel_index(e[:, :, 0].argmax(), e[:, :, 0].shape)[1]) + 1, cost.get(label, "")))


if __name__ == "__main__":
    main()
