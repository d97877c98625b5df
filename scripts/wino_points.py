#!/usr/bin/python3
"""Winograd F(m x m, 3x3) matrices from interpolation points, and the choice of points.

For points p_0 .. p_{n-1} (n = m + 1) and the point at infinity, the
modified Toom-Cook construction gives, exactly (rational arithmetic):

  A^T[i][j] = p_j^i                       (the infinity column: 1 in the last row)
  G[j][k]   = p_j^k / f_j,  f_j = prod_{l != j} (p_j - p_l)   (infinity row: 0 0 1)
  B^T[j]    = coefficients of M(x) / (x - p_j),  M(x) = prod_l (x - p_l)
              (infinity row: the coefficients of M(x))

and y = A^T [(G g G^T) . (B^T d B)] A is the 3x3 correlation of the input
tile d with the filter g.  Each set is checked exactly against the direct
correlation before it is used.

Accuracy model: the kernels' arithmetic in float32 (filters transformed in
float64 and rounded; input and output transforms and the sum over input
channels in float32, channels accumulated one after the other as the
micro-kernel does) against float64, on random post-ReLU inputs and He-scaled
filters, for the channel counts of VGG16.  The error of an output tile is
max |y - y64| / max |y64| over many tiles.

  /usr/bin/python3 scripts/wino_points.py            # table of the candidates
  /usr/bin/python3 scripts/wino_points.py --emit     # rewrite kernels/templates/wino-matrices.inc

The chosen sets are CHOSEN below; docs/performance.md has the table.
"""
import argparse
import os
import sys
from fractions import Fraction as F

import numpy as np

H = F(1, 2)
CANDIDATES = {
    2: [(0, 1, -1)],
    4: [(0, 1, -1, 2, -2), (0, 1, -1, H, -H), (0, 1, -1, H, -2), (0, 1, -1, H, -3), (0, -1, 1, H, 2), (0, 1, -1, 2, -H)],
    6: [(0, 1, -1, 2, -2, H, -H), (0, 1, -1, 2, -2, 3, -3), (0, 1, -1, H, -H, F(1, 4), -F(1, 4)),
        (0, 1, -1, 2, -2, H, -3), (0, 1, -1, H, -H, 2, -3), (0, 1, -1, F(3, 2), -F(3, 2), H, -H),
        (0, 1, -1, 2, -2, F(3, 2), -F(3, 2)), (0, 1, -1, H, -H, 3, -3)],
}
CHOSEN = {2: (0, 1, -1), 4: (0, 1, -1, H, -2), 6: (0, 1, -1, 2, -2, H, -H)}


def poly_mul(a, b):
    r = [F(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            r[i + j] += x * y
    return r


def matrices(points):
    pts = [F(p) for p in points]
    n = len(pts)
    alpha = n + 1
    m = alpha - 2
    at = [[p ** i for p in pts] + [F(1 if i == m - 1 else 0)] for i in range(m)]
    g = []
    for j, p in enumerate(pts):
        f = F(1)
        for l, q in enumerate(pts):
            if l != j:
                f *= p - q
        g.append([p ** k / f for k in range(3)])
    g.append([F(0), F(0), F(1)])
    bt = []
    for j in range(n):
        poly = [F(1)]
        for l, q in enumerate(pts):
            if l != j:
                poly = poly_mul(poly, [-q, F(1)])
        bt.append(poly + [F(0)])
        if next(x for x in bt[j] if x) < 0:  # a positive leading term: one operation less in the transform
            bt[j] = [-x for x in bt[j]]
            g[j] = [-x for x in g[j]]
    full = [F(1)]
    for q in pts:
        full = poly_mul(full, [-q, F(1)])
    bt.append(full)
    check(m, at, g, bt)
    return at, g, bt


def check(m, at, g, bt):
    """y = A^T[(G g) . (B^T d)] equals the correlation, exactly, in one dimension
    (the 2-D algorithm is this one applied to rows and columns)."""
    alpha = m + 2
    for gi in range(3):
        for di in range(alpha):
            gg = [F(int(k == gi)) for k in range(3)]
            d = [F(int(k == di)) for k in range(alpha)]
            u = [sum(g[j][k] * gg[k] for k in range(3)) for j in range(alpha)]
            v = [sum(bt[j][k] * d[k] for k in range(alpha)) for j in range(alpha)]
            y = [sum(at[i][j] * u[j] * v[j] for j in range(alpha)) for i in range(m)]
            ref = [sum(d[i + k] * gg[k] for k in range(3)) for i in range(m)]
            if y != ref:
                sys.exit("matrices of these points do not compute the correlation")


def f32(a):
    return np.asarray(a, dtype=np.float32)


def tile_error(points, cin, ntiles=256, seed=1):
    """Worst relative error of float32 Winograd output tiles against float64."""
    at, g, bt = matrices(points)
    m = len(at)
    alpha = m + 2
    AT, G, BT = (np.array([[float(x) for x in r] for r in M]) for M in (at, g, bt))
    rng = np.random.default_rng(seed)
    d = np.maximum(rng.standard_normal((cin, ntiles, alpha, alpha)), 0).astype(np.float32)
    w = (rng.standard_normal((cin, 3, 3)) * np.sqrt(2.0 / (9 * cin))).astype(np.float32)
    # float64 reference: direct correlation of each tile.
    ref = np.zeros((ntiles, m, m))
    d64, w64 = d.astype(np.float64), w.astype(np.float64)
    for ky in range(3):
        for kx in range(3):
            ref += np.einsum("ctij,c->tij", d64[:, :, ky:ky + m, kx:kx + m], w64[:, ky, kx])
    # float32 Winograd: U in float64 rounded once; V, the channel sum and Y in float32.
    U = f32(np.einsum("ak,ckl,bl->cab", G, w64, G))
    BT32, AT32 = f32(BT), f32(AT)
    V = np.einsum("ak,ctkl->ctal", BT32, d, dtype=np.float32)
    V = np.einsum("ctak,bk->ctab", V, BT32, dtype=np.float32)
    M = np.zeros((ntiles, alpha, alpha), dtype=np.float32)
    for c in range(cin):  # one channel after the other, as the micro-kernel accumulates
        M = (M + V[c] * U[c]).astype(np.float32)
    Y = np.einsum("ia,tab->tib", AT32, M, dtype=np.float32)
    Y = np.einsum("tib,jb->tij", Y, AT32, dtype=np.float32)
    return float(np.max(np.abs(Y - ref)) / np.max(np.abs(ref)))


def fmt(x):
    x = F(x)
    if x.denominator == 1:
        return f"{x.numerator}"
    return f"{x.numerator}.0 / {x.denominator}"


def pts_str(points):
    return ", ".join(str(F(p)) for p in points)


def emit(path):
    out = ["/* Generated by scripts/wino_points.py --emit; do not edit by hand.",
           " * Winograd F(m x m, 3x3) matrices of the chosen interpolation points (docs/performance.md",
           " * has the measured error of each candidate set).  Included by f32-winograd.c.inc with WM set. */"]
    for i, m in enumerate(sorted(CHOSEN)):
        at, g, bt = matrices(CHOSEN[m])
        a = m + 2
        out.append(f"#{'if' if i == 0 else 'elif'} WM == {m}")
        out.append(f"/* points {pts_str(CHOSEN[m])} and infinity */")
        rows = lambda M: ", ".join("{" + ", ".join(fmt(x) for x in r) + "}" for r in M)
        out.append(f"static const float WINO(_bt)[{a}][{a}] = {{{rows(bt)}}};")
        out.append(f"static const double WINO(_g)[{a}][3] = {{{rows(g)}}};")
        out.append(f"static const float WINO(_at)[{m}][{a}] = {{{rows(at)}}};")
    out.append("#else")
    out.append('#error "WM must be 2, 4 or 6"')
    out.append("#endif")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--emit", action="store_true", help="write kernels/templates/wino-matrices.inc")
    ap.add_argument("--tiles", type=int, default=256)
    args = ap.parse_args()
    if args.emit:
        emit(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernels", "templates", "wino-matrices.inc"))
        return
    chans = (64, 128, 256, 512)
    print("m  points                              " + "  ".join(f"C={c:<7d}" for c in chans) + "  (max |err| / max |y|, 3 seeds)")
    for m, sets in CANDIDATES.items():
        for p in sets:
            errs = [max(tile_error(p, c, args.tiles, s) for s in (1, 2, 3)) for c in chans]
            mark = " *" if tuple(F(x) for x in p) == tuple(F(x) for x in CHOSEN[m]) else ""
            print(f"{m}  {pts_str(p):35s} " + "  ".join(f"{e:9.2e}" for e in errs) + mark)


if __name__ == "__main__":
    main()
