"""A float64 model of int8 VGG16 conv bases: direct int8 as the engine builds it, and Winograd F(2x2) whose
GEMMs would take 8-bit (or 9-, 10-bit) transformed inputs and s8 transformed filters. Prints, per model, the
max error relative to max |block| at blocks 1..5 against float64 (docs/precision.md).

  vggsimd init --seed 0 -o w0.safetensors
  /usr/bin/python3 scripts/int8_wino_model.py w0.safetensors tests/data/chelsea224.png

Rules, as in the engine: block1_conv1 in float; each later conv's input u8 with a per-tensor scale (its
largest value on this photo / 255), weights s8 per output channel, round half to even. Winograd: the
transformed input B^T d B per tile position s8 (scale: its largest |value| / 127), the transformed filter
G g G^T s8 per position and output channel, the rest exact."""
import os, sys
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
torch.set_default_dtype(torch.float64)

BLOCKS = [2, 2, 3, 3, 3]                                    # convs per block
FEATURES = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]  # torchvision indices of the convs
BT = torch.tensor([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=torch.float64)
G = torch.tensor([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]])
AT = torch.tensor([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=torch.float64)


def quantise(v, scale, lo, hi):
    return torch.clamp(torch.round(v / scale), lo, hi) * scale  # torch.round: half to even


def act_u8(v, largest):
    return quantise(v, largest / 255.0, 0, 255)


def weights_s8(w):
    s = w.abs().amax(dim=(1, 2, 3), keepdim=True) / 127.0
    return quantise(w, torch.where(s > 0, s, 1.0), -127, 127)


def wino_f2(x, w, b, vbits=8, quantise_filters=True):
    """F(2x2,3x3) on x (1,C,H,W; H and W even) with B^T d B quantised to vbits per tile position."""
    _, c, h, wd = x.shape
    d = F.unfold(F.pad(x, (1, 1, 1, 1)), 4, stride=2).view(c, 4, 4, -1)  # C,4,4,tiles
    v = torch.einsum('ab,cbdt,ed->caet', BT, d, BT)
    m = (1 << (vbits - 1)) - 1
    s = v.abs().amax(dim=(0, 3), keepdim=True) / m
    v = quantise(v, torch.where(s > 0, s, 1.0), -m, m)
    u = torch.einsum('ab,ocbd,ed->ocae', G, w, G)  # O,C,4,4
    if quantise_filters:
        s = u.abs().amax(dim=1, keepdim=True) / 127.0
        u = quantise(u, torch.where(s > 0, s, 1.0), -127, 127)
    y = torch.einsum('ia,oaet,je->oijt', AT, torch.einsum('ocae,caet->oaet', u, v), AT)  # O,2,2,tiles
    o = w.shape[0]
    y = y.reshape(o, 2, 2, h // 2, wd // 2).permute(0, 3, 1, 4, 2).reshape(1, o, h, wd)
    return y + b.view(1, -1, 1, 1)


MODELS = {
    'direct int8 (as built)': lambda x, w, b: F.conv2d(x, weights_s8(w), b, padding=1),
    'F(2x2), 8-bit B^T d B': lambda x, w, b: wino_f2(x, w, b),
    'F(2x2), 8-bit B^T d B, float filters': lambda x, w, b: wino_f2(x, w, b, quantise_filters=False),
    'F(2x2), 9-bit B^T d B': lambda x, w, b: wino_f2(x, w, b, vbits=9),
    'F(2x2), 10-bit B^T d B': lambda x, w, b: wino_f2(x, w, b, vbits=10),
}


def run(x, layers, conv=None, ranges=None):
    """Block outputs; conv(x_u8, w, b) for every conv after the first (None: float64). Fills ranges."""
    outs, i = [], 0
    for n in BLOCKS:
        for _ in range(n):
            w, b = layers[i]
            if conv is None or i == 0:
                x = F.relu(F.conv2d(x, w, b, padding=1))
            else:
                x = F.relu(conv(act_u8(x, ranges[i - 1]), w, b))
            if conv is None:
                ranges[i] = x.max().item()
            i += 1
        x = F.max_pool2d(x, 2)
        outs.append(x)
    return outs


def main():
    st = safetensors_io.read(sys.argv[1])
    layers = [(torch.tensor(st['features.%d.weight' % i].astype(np.float64)),
               torch.tensor(st['features.%d.bias' % i].astype(np.float64))) for i in FEATURES]
    rgb = np.asarray(Image.open(sys.argv[2]).convert('RGB'), dtype=np.float64)
    bgr = rgb[:, :, ::-1] - np.array([103.939, 116.779, 123.68])  # caffe preprocessing
    x = torch.tensor(bgr.copy()).permute(2, 0, 1)[None]
    ranges = {}
    ref = run(x, layers, None, ranges)  # float64; the ranges: each conv's largest output on this photo
    print('%-40s %s' % ('model', '  '.join('block %d ' % (k + 1) for k in range(5))))
    for name, conv in MODELS.items():
        out = run(x, layers, conv, ranges)
        err = [((a - r).abs().max() / r.abs().max()).item() for a, r in zip(out, ref)]
        print('%-40s %s' % (name, '  '.join('%.2e' % e for e in err)))


if __name__ == '__main__':
    main()
