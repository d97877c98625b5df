"""Checks the integer arithmetic of an int8 Winograd F(4x4,3x3) that gives the direct int8 sums exactly
(docs/precision.md, "An exact int8 Winograd"): u8 inputs, s8 weights, transformed data in 16 bits,
sums of products in wrapping 32-bit integers, and the output transform done modulo 2^32.

  /usr/bin/python3 scripts/int8_f4_exact.py

Points 0, +-1, +-2.  B^T is integer; G's rows are scaled to integers by d = (4, 6, 6, 24, 24, 1), so the
GEMMs sum U' = (D G) g (D G)^T times V = B^T x B, and 576 Y = A^T (C o M') A with C = 576 / (d d^T), all
integers.  576 = 2^6 * 9: from 576 Y modulo 2^32 the shift by 6 leaves 9 Y modulo 2^26 and the inverse of 9
modulo 2^32 gives Y modulo 2^26, that is Y itself when |Y| < 2^25, which holds for every input when
255 * max(sum of the positive weights, -sum of the negative ones) < 2^25 for the output channel."""
import numpy as np

BT = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
               [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], np.int64)
AT = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], np.int64)
DG = np.array([[1, 0, 0], [-1, -1, -1], [-1, 1, -1], [1, 2, 4], [1, -2, 4], [0, 0, 1]], np.int64)
D = np.array([4, 6, 6, 24, 24, 1], np.int64)
C = 576 // np.outer(D, D)
INV9 = pow(9, -1, 2**32)


def wrap32(v):
    return ((v + 2**31) % 2**32) - 2**31


def winograd_exact(x, w):
    """x: (cin, 6, 6) u8 values, w: (cin, 3, 3) s8 values -> the 4x4 outputs, as the kernel would get them."""
    v = np.einsum('ab,cbd,ed->cae', BT, x, BT)
    u = np.einsum('ab,cbd,ed->cae', DG, w, DG)
    assert np.abs(v).max() <= 20400 and np.abs(u).max() <= 6223  # 16 bits; |u v| pairs fit 32 bits
    m = wrap32((u * v).sum(axis=0))                    # vpdpwssd: wrapping 32-bit sums
    z = wrap32(AT @ wrap32(C * m) @ AT.T)              # 576 Y modulo 2^32
    y = wrap32((z >> 6) * INV9)                        # Y modulo 2^26 in the low 26 bits
    y = (y + 2**25) % 2**26 - 2**25                    # sign-extended from 26 bits
    return y


def main():
    rng = np.random.default_rng(0)
    checked = exact = 0
    for trial in range(300):
        cin = int(rng.choice([4, 64, 128, 256, 512]))
        x = rng.integers(0, 256, size=(cin, 6, 6)).astype(np.int64)
        x[rng.random(x.shape) < (0.0 if trial % 4 == 0 else 0.5)] = 0   # dense, or post-ReLU sparse
        if trial % 2:
            w = rng.integers(-127, 128, size=(cin, 3, 3)).astype(np.int64)
        else:
            w = np.clip(np.round(rng.laplace(0, 15, size=(cin, 3, 3))), -127, 127).astype(np.int64)
        bound = 255 * max(w[w > 0].sum(), -w[w < 0].sum())
        if bound >= 2**25:
            continue
        direct = np.array([[(x[:, i:i + 3, j:j + 3] * w).sum() for j in range(4)] for i in range(4)])
        checked += 1
        exact += int((winograd_exact(x, w) == direct).all())
    print('tiles within the bound: %d, equal to the direct sums: %d' % (checked, exact))
    assert checked == exact and checked > 100


if __name__ == '__main__':
    main()
