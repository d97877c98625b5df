"""The held-out picture set of the accuracy scripts (int8_heldout.py, int8_methods.py): photos no setting was
chosen on, cut to 224x224, and two synthetic pictures unlike any photo."""
import os

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data/"  # python3-skimage
PHOTOS = [os.path.join(ROOT, "engine", "data", "chelsea.png"), os.path.join(ROOT, "tests", "data", "img", "large_1200x800.jpg"),
          "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"] + [  # python3-matplotlib
    SKIMAGE + f for f in ("astronaut.png", "coffee.png", "hubble_deep_field.jpg", "ihc.png", "motorcycle_left.png",
                          "retina.jpg", "rocket.jpg", "camera.png", "moon.png", "coins.png", "brick.png", "grass.png")]


def crops(path, n=2):
    """n 224x224 crops of a photo: the centre square, the top-left three quarters of it, more at other places
    and scales."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = min(w, h)
    boxes = [((w - s) // 2, (h - s) // 2, s), (0, 0, s * 3 // 4), (w - s * 3 // 4, h - s * 3 // 4, s * 3 // 4),
             ((w - s // 2) // 2, (h - s // 2) // 2, s // 2)]
    return [np.asarray(im.crop((x, y, x + c, y + c)).resize((224, 224), Image.BILINEAR)) for x, y, c in boxes[:n]]


def synthetic():
    """Two pictures unlike photos: saturated colour bars and a fine black-and-white checkerboard."""
    y, x = np.mgrid[0:224, 0:224]
    bars = np.zeros((224, 224, 3), np.uint8)
    for i, c in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255),
                           (255, 255, 255)]):
        bars[:, i * 32:(i + 1) * 32] = c
    check = (((x // 4) + (y // 4)) % 2 * 255).astype(np.uint8)
    return [bars, np.repeat(check[..., None], 3, axis=2)]


def halves(n):
    """Photo indices split in two halves, alternately in the order of PHOTOS."""
    return [list(range(0, n, 2)), list(range(1, n, 2))]
