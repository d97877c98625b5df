"""Keras' image helpers, on vggsimd's decoders: code written for keras.preprocessing.image runs with
`from vggsimd import image`.

    img = image.load_img("cat.jpg", target_size=(224, 224))   # PIL's nearest neighbour, as Keras
    x = image.img_to_array(img)                               # (224, 224, 3) float32, RGB 0..255
"""
import numpy as _np

from . import _vggsimd, _size


class Picture:
    """A decoded picture: what load_img returns (Keras returns a PIL image); np.asarray() gives its RGB values,
    .size is (width, height) as PIL's, .convert("RGB") a PIL image when python3-pil is there."""

    def __init__(self, rgb):
        self._rgb = rgb

    @property
    def size(self):
        return self._rgb.shape[1], self._rgb.shape[0]

    def __array__(self, dtype=None):
        return self._rgb if dtype is None else self._rgb.astype(dtype)

    def convert(self, mode="RGB"):
        from PIL import Image  # python3-pil

        return Image.fromarray(self._rgb).convert(mode)


def load_img(path, target_size=None, interpolation="nearest", color_mode="rgb", keep_aspect_ratio=False):
    """The picture at path resized to target_size=(size, size) with PIL's nearest neighbour (Keras' default),
    decoded by vggsimd.  Without target_size the picture keeps its size (python3-pil decodes it then)."""
    if color_mode != "rgb" or keep_aspect_ratio or interpolation != "nearest":
        raise ValueError("load_img supports color_mode='rgb', interpolation='nearest' and keep_aspect_ratio=False "
                         "(Keras' defaults); got %r, %r, %r" % (color_mode, interpolation, keep_aspect_ratio))
    if target_size is None:
        from PIL import Image

        return Picture(_np.asarray(Image.open(path).convert("RGB")))
    a = _vggsimd.load_image(path, size=_size(224, target_size), resize="keras", preprocess="none")[0]
    return Picture(a.astype(_np.uint8))


def img_to_array(img, data_format=None, dtype="float32"):
    """A picture (load_img's, a PIL image, an array) as an (H, W, 3) array, channels last."""
    if data_format not in (None, "channels_last"):
        raise ValueError("data_format must be 'channels_last' (NHWC), got %r" % (data_format,))
    return _np.asarray(img, dtype=dtype)
