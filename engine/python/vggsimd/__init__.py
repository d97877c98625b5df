"""vggsimd: VGG inference on the CPU, with a Keras-like API.

    import vggsimd
    model = vggsimd.VGG16(weights="vgg16.safetensors", include_top=True)
    model.summary()
    x = vggsimd.load_image("cat.jpg")            # (1, 224, 224, 3) float32, preprocessed
    probs = model.predict(x)                     # (1, 1000)
    print(vggsimd.decode_predictions(probs))     # [[(281, 'tabby', 0.53), ...]]
    maps = model.features(x)                     # {"block1_pool": (1, 112, 112, 64), ...}

Inputs are NHWC float32 arrays already preprocessed (load_image does it).
Errors raise ValueError (bad argument, shape or file contents), OSError
(a file cannot be read) or MemoryError, with the engine's one-line message.
"""
import operator as _operator
import os as _os

import numpy as _np

from . import _vggsimd

__version__ = _vggsimd.__version__
#: the architectures: each has its factory here, VGG11() ... VGG19()
ARCHS = _vggsimd.ARCHS
#: the engine's options (vggsimd.h's VGG_OPTIONS), keywords of Model, the factories and calibrate
OPTION_NAMES = tuple(o[0] for o in _vggsimd.OPTIONS)
_OPTIONS_DOC = "\n".join("  %s=%s: %s" % (name, metavar, text) for name, metavar, text, _ in _vggsimd.OPTIONS)
__all__ = [a.upper() for a in ARCHS] + ["Model", "Layer", "load_image", "load_images", "preprocess_input",
                                        "decode_predictions", "levels", "calibrate", "Ranges"]

#: the photo int8 calibrates on when no ranges are given (as `vggsimd run --precision int8` does)
BUNDLED_PHOTO = _os.path.join(_os.path.dirname(__file__), "chelsea.png")

BLOCKS = ("block1_pool", "block2_pool", "block3_pool", "block4_pool", "block5_pool")


def _whole(value):
    """value as an int when it is a whole number (int or NumPy integer, not bool), else None."""
    if isinstance(value, bool):
        return None
    try:
        return _operator.index(value)
    except TypeError:
        return None


def _text(value, what, none_ok=False):
    """value when it is a str (or None where none_ok), else a ValueError naming the argument."""
    if isinstance(value, str) or (none_ok and value is None):
        return value
    raise ValueError("%s must be %sa str, got %r" % (what, "None or " if none_ok else "", value))


def _file(value, what):
    """A str path from a str, bytes or os.PathLike value (None stays None)."""
    if value is None:
        return None
    if not isinstance(value, (str, bytes, _os.PathLike)):
        raise ValueError("%s must be None or the path of a file, got %r" % (what, value))
    return _os.fsdecode(value)


_LABELS = None


def _class_of(value):
    """A class request for the engine: None -> -1 (the top-1), an index 0..999, -k (the k-th most likely), or an
    ImageNet label (case and '_' for ' ' ignored)."""
    global _LABELS
    if value is None:
        return -1
    if isinstance(value, str):
        if _LABELS is None:
            _LABELS = {_vggsimd.label(i).lower(): i for i in range(1000)}
        i = _LABELS.get(value.replace("_", " ").lower())
        if i is None:
            raise ValueError("%r is not an ImageNet class name (vggsimd.decode_predictions shows them)" % (value,))
        return i
    i = _whole(value)
    if i is None or not -1000 <= i <= 999:
        raise ValueError("a class must be None, an index from 0 to 999 (-k: the k-th most likely) or a label, "
                         "got %r" % (value,))
    return i


class Layer:
    """A layer of the model: its Keras name, class name, output shape (batch dimension None) and parameters."""

    def __init__(self, name, kind, output_shape, params):
        self.name = name
        self.kind = kind
        self.output_shape = (None,) + tuple(output_shape)
        self.params = params

    def count_params(self):
        return self.params

    def __repr__(self):
        return "<Layer %s %s %s, %d params>" % (self.name, self.kind, self.output_shape, self.params)


class Model:
    """A VGG network packed for this CPU.  Prefer VGG11/VGG13/VGG16/VGG19()."""

    def __init__(self, arch="vgg16", weights=None, include_top=False, input_shape=(224, 224, 3), seed=0,
                 ranges=None, **options):
        if isinstance(weights, str) and weights == "imagenet" and not _os.path.exists(weights):
            raise ValueError("weights='imagenet': nothing is downloaded here.  Convert the ImageNet weights once: "
                             "torchvision's vgg16 state dict with scripts/convert_torchvision.py and pass "
                             "weights='vgg16.safetensors', or pass Keras' file as it is: "
                             "weights='vgg16_weights_tf_dim_ordering_tf_kernels.h5'")
        weights = _file(weights, "weights")
        if not isinstance(ranges, (list, tuple)):
            ranges = _file(ranges, "ranges")
        _text(arch, "arch")
        for name in options:
            if name not in OPTION_NAMES:
                raise TypeError("Model() got an unexpected keyword argument %r (the engine's options: %s)"
                                % (name, ", ".join(OPTION_NAMES)))
        try:
            shape = tuple(_whole(v) for v in input_shape) if input_shape is not None else (224, 224, 3)
        except TypeError:
            shape = ()
        if len(shape) != 3 or shape[2] != 3 or None in shape:
            raise ValueError("input_shape must be (height, width, 3), got %r" % (input_shape,))
        if not (1 <= shape[0] <= 16384 and 1 <= shape[1] <= 16384):
            raise ValueError("input_shape %r: height and width must be from 32 to 16384" % (input_shape,))
        # A file with the classifier serves include_top=False too: its classifier is checked, never read.
        naming, _, seeded = _vggsimd.probe_weights(weights) if weights is not None else ("keras", False, True)
        origin = "torch" if naming == "torch" and not seeded else "keras"  # untrained weights: Keras' defaults
        #: the preprocessing the weights expect: "torch" for trained torchvision-named weights, else "caffe"
        self.preprocess = "torch" if origin == "torch" else "caffe"
        #: the resize of the framework the weights come from: "torchvision" for torchvision naming, else "keras"
        #: (load_image(path, resize=model.resize, preprocess=model.preprocess) is what `vggsimd run` does)
        self.resize = "torchvision" if origin == "torch" else "keras"
        precision = options.pop("precision", None)
        make = dict(arch=arch, weights=weights, seed=seed, **options)
        #: int8: where the starting ranges came from (a file, "values", or the bundled photo); the range guard
        #: widens them per image where an image's values pass them
        self.ranges_source = ranges if isinstance(ranges, str) else "values" if ranges is not None else None
        if precision == "int8" and ranges is None:  # ranges do not depend on the input size: measured at 224
            photo = load_image(BUNDLED_PHOTO, resize=self.resize, preprocess=self.preprocess)
            ranges, self.ranges_source = Ranges(_vggsimd.Net(**make).calibrate(photo), 1), BUNDLED_PHOTO
        # values: the images calibrate() measured them on (the channel units' exponent); a file says its own
        images = getattr(ranges, "images", 0) if isinstance(ranges, (list, tuple)) else 0
        self._net = _vggsimd.Net(top=bool(include_top), height=shape[0], width=shape[1], precision=precision,
                                 ranges=ranges, ranges_images=images, **make)
        self.name = arch
        self.include_top = bool(include_top)
        self.input_shape = (None,) + shape
        self.layers = [Layer(*l) for l in self._net.layers()]

    @property
    def isa(self):
        """The kernel level in use: scalar, avx2, avx512 or neon."""
        return self._net.isa

    @property
    def threads(self):
        return self._net.threads

    @property
    def output_shape(self):
        return self.layers[-1].output_shape

    def count_params(self):
        return self._net.params

    def summary(self, print_fn=print):
        """Prints the Keras-style summary (or hands it to print_fn)."""
        print_fn(self._net.summary().rstrip("\n"))

    def get_layer(self, name):
        for l in self.layers:
            if l.name == name:
                return l
        raise ValueError("no layer named %r" % (name,))

    def plan(self):
        """The algorithm of every convolution, by layer name ("direct", "wino2", "wino2+pool", ...)."""
        return {s["layer"]: s["algo"] for s in self._net.steps() if s["op"] == "conv"}

    def steps(self):
        """Every step the net runs: layer, op, algorithm, dtype, fused operations, kernel, tasks, seconds."""
        return self._net.steps()

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """Probabilities (N, 1000) with the classifier; the block5_pool output (N, h, w, 512) without.  Keras'
        batch_size, verbose, steps and callbacks are taken for compatibility: the engine splits the batch itself
        and every image's result is the same whatever the split."""
        if batch_size is not None and (_whole(batch_size) is None or _whole(batch_size) < 1):
            raise ValueError("batch_size must be None or a whole number >= 1, got %r" % (batch_size,))
        if steps is not None or callbacks:
            raise ValueError("predict takes arrays: steps and callbacks apply to Keras datasets and training")
        _, probs, last, _ = self._net.forward(x, False)
        return probs if self.include_top else last

    def __call__(self, x):
        """model(x): predict(x), as a Keras model is called."""
        return self.predict(x)

    def features(self, x):
        """The output of each of the five blocks: {"block1_pool": (N, H/2, W/2, 64), ..., "block5_pool": ...}."""
        blocks, _, _, _ = self._net.forward(x, True)
        return dict(zip(BLOCKS, blocks))

    def layer_output(self, x, name):
        """The output of any layer, by its Keras name: a convolution (blockN_convM, after its ReLU; the first call
        for a layer makes a net that writes that map whole), a block's pool, or with the classifier flatten, fc1,
        fc2 (N, 4096) or predictions (N, 1000, the probabilities).  name="all": a dict of every conv, pool and
        classifier layer's output by name, from one forward pass (of a net that fuses nothing)."""
        if not isinstance(name, str):
            raise ValueError("name must be a layer name (blockN_pool, fc1, fc2, predictions) or 'all', got %r" % (name,))
        if name == "all":
            return self._net.every(x)
        if name not in [l.name for l in self.layers]:
            classifier = name in ("fc1", "fc2", "predictions", "flatten")
            raise ValueError("%r is not a classifier layer of this model: the classifier's layers need "
                             "include_top=True" % (name,) if classifier else "%r is not a layer of this model; its "
                             "layers: %s" % (name, ", ".join(l.name for l in self.layers)))
        if name in BLOCKS:
            return self.features(x)[name]
        kind = self.get_layer(name).kind
        if kind == "InputLayer":
            return _np.array(x, dtype=_np.float32, order="C")
        if kind == "Flatten":
            f = self.features(x)["block5_pool"]
            return f.reshape(f.shape[0], -1)
        if name == "predictions":
            return self.predict(x) if self.include_top else self._net.forward(x, False, name)[3]
        return self._net.forward(x, False, name)[3]

    def gradcam(self, x, class_index=None, layer="block5_conv3", return_classes=False):
        """Grad-CAM (Selvaraju et al., 2017): where in each image the network found its evidence for a class.

        For conv layer `layer` (any blockN_convM), the gradient of the class's logit with respect to the layer's
        output (after its ReLU), averaged over the map per channel, weights the channels; the map is the ReLU of
        their weighted sum, divided by its largest value (0..1), resized to the input's size bilinearly (as
        PyTorch's interpolate(mode="bilinear", align_corners=False)).  class_index: None (each image's top-1),
        an index 0..999, an ImageNet label ("tabby", "tiger_cat"), or a list of these (then one map per class
        and image, sharing each image's forward pass; -k in a list is the k-th most likely class).  Returns
        (N, H, W) float32 maps for one class, (N, K, H, W) for a list; with return_classes=True also the
        classes used, (N,) or (N, K) int32.  Needs include_top=True; float32 or bf16."""
        if not self.include_top:
            raise ValueError("gradcam needs the classifier: make the model with include_top=True")
        _text(layer, "layer")
        many = isinstance(class_index, (list, tuple))
        wanted = list(class_index) if many else [class_index]
        if not wanted:
            raise ValueError("class_index is an empty list")
        classes = [_class_of(c) for c in wanted]
        maps, chosen, _ = self._net.gradcam(x, classes, layer)
        if not many:
            maps, chosen = maps[:, 0], chosen[:, 0]
        return (maps, chosen) if return_classes else maps

    @property
    def last_forward_seconds(self):
        """Time spent inside the engine by the last predict() or features() call."""
        return self._net.last_forward_seconds

    def __repr__(self):
        return "<vggsimd.Model %s%s input %s isa %s threads %d>" % (
            self.name, " with classifier" if self.include_top else "", self.input_shape, self.isa, self.threads)


def _factory(arch):
    def make(*args, **kw):
        return Model(arch, *args, **kw)

    make.__name__ = arch.upper()
    make.__doc__ = ("%s(weights=None|'file.safetensors', include_top=False, input_shape=(224, 224, 3), seed=0, "
                    "ranges=None, **options): a Model.  weights=None: seeded Glorot-uniform init; precision='int8' "
                    "takes ranges= a file from `vggsimd calibrate` or the values vggsimd.calibrate() returns (None: "
                    "calibrated on the bundled photo).  Every image's int8 ranges are widened where its values pass "
                    "them (the range guard).  The engine's options, as `vggsimd run` takes them (None: the "
                    "default):\n%s" % (arch.upper(), _OPTIONS_DOC))
    return make


globals().update({a.upper(): _factory(a) for a in ARCHS})  # VGG11, VGG13, VGG16, VGG19


#: ranges measured on this many images or more give int8's quiet channels finer units (vggsimd.h's VGG_CHANNEL_MANY)
CHANNEL_MANY = _vggsimd.CHANNEL_MANY


class Ranges(list):
    """calibrate()'s values, a list of floats, with `images`: how many images they were measured on (int8's
    channel units are finer for ranges measured on many images; a slice is a plain list, of unknown count)."""

    def __init__(self, values, images=0):
        super().__init__(values)
        self.images = int(images)


def calibrate(images, output=None, arch="vgg16", weights=None, seed=0, size=224, resize=None, preprocess=None,
              **options):
    """int8 calibration, as `vggsimd calibrate`: each layer's largest output value over `images` (paths, PIL
    images or arrays of RGB values, loaded with load_image at `size` with the weights' resize and preprocessing
    unless given; or an (N, H, W, 3) float32 array already preprocessed), measured with the float32 net.
    Returns the values (a Ranges: a list that also says on how many images they were measured), one per layer,
    then one per channel of each conv layer in layer order (the channel
    ranges: each conv layer's output gets a unit per channel; VGG16(precision="int8", ranges=values) takes
    them, or values[:len(model.layers)] for one unit per layer); output: also a
    ranges file for these weights (atomically).  Calibrate on photos like the ones you will run.  options: the
    engine's (isa, threads, algo), as for Model; the net measured is float32."""
    if options.get("precision") not in (None, "f32"):
        raise ValueError("calibrate measures with the float32 net: precision=%r does not apply" % (options["precision"],))
    batch = isinstance(images, _np.ndarray) and images.ndim == 4 and images.dtype.kind == "f"
    shape = images.shape[1:] if batch else (_size(size, None), _size(size, None), 3)
    m = Model(arch, weights=weights, seed=seed, input_shape=shape, **options)
    if batch:
        x = images
    else:
        items = [images] if isinstance(images, (str, bytes, _os.PathLike)) else images
        x = load_images(items, size=shape[0], resize=resize or m.resize, preprocess=preprocess or m.preprocess)
    values = Ranges(m._net.calibrate(x), len(x))
    if output is not None:
        m._net.save_ranges(values, _file(output, "output"), values.images)
    return values


def _size(size, target_size):
    if target_size is not None:
        try:
            h, w = (_whole(v) for v in target_size)
        except (TypeError, ValueError):
            h = w = None
        if h is None or h != w:
            raise ValueError("target_size must be (size, size), a square, got %r" % (target_size,))
        size = h
    n = _whole(size)
    if n is None or not 32 <= n <= 4096:
        raise ValueError("size must be a whole number from 32 to 4096, got %r" % (size,))
    return n


def load_image(path, size=224, resize="direct", preprocess="caffe", max_pixels=0, full_decode=False,
               target_size=None, exif=True):
    """A picture as a (1, size, size, 3) float32 array, resized and preprocessed.  path: a file (JPEG, PNG, BMP,
    TGA, PNM, GIF, PSD, HDR, or a preprocessed .npy, returned as it is), a PIL image, or an (H, W, 3) array of
    RGB values 0..255.  target_size=(size, size) as Keras' load_img takes it.  resize: "direct", "crop" (shorter
    side to size*256/224, centre crop), "torchvision" (torchvision's Resize(size*256/224) + CenterCrop(size) of a
    PIL image, value for value) or "keras" (keras' load_img with target_size: PIL's nearest neighbour);
    preprocess: "caffe" (Keras VGG16: BGR, means subtracted) or "torch" (torchvision: RGB/255, ImageNet mean and
    std).  exif: a JPEG is turned upright as its EXIF orientation says (False: as stored)."""
    n, limit = _size(size, target_size), _whole(max_pixels)
    if limit is None or not 0 <= limit <= 1 << 31:
        raise ValueError("max_pixels must be 0 (the default limit) or a whole number up to 2147483648, got %r"
                         % (max_pixels,))
    _text(resize, "resize")
    _text(preprocess, "preprocess")
    if hasattr(path, "convert") and hasattr(path, "size") and hasattr(path, "mode"):  # a PIL image
        path = _np.asarray(path.convert("RGB"))
    if isinstance(path, _np.ndarray) or (not isinstance(path, (str, bytes, _os.PathLike)) and hasattr(path, "__array__")):
        a = _np.asarray(path)
        if a.ndim == 4 and a.shape[0] == 1:
            a = a[0]
        if a.ndim == 2:
            a = _np.repeat(a[..., None], 3, axis=2)
        if a.dtype.kind not in "uif" or a.dtype.kind == "c":
            raise ValueError("a picture array must hold real numbers (RGB values 0..255), got dtype %s" % a.dtype)
        return _vggsimd.image_from_array(a, size=n, resize=resize, preprocess=preprocess)
    if not isinstance(path, (str, bytes, _os.PathLike)):
        raise ValueError("load_image takes a path, a PIL image or an (H, W, 3) array, got %r" % (type(path),))
    return _vggsimd.load_image(path, size=n, resize=resize, preprocess=preprocess, max_pixels=limit,
                               full_decode=full_decode, exif=bool(exif))


def load_images(paths, **kw):
    """Several pictures (paths, PIL images or arrays) as one (N, size, size, 3) array; load_image's options."""
    items = list(paths)
    if not items:
        raise ValueError("load_images needs at least one picture")
    return _np.concatenate([load_image(p, **kw) for p in items])


_MEAN, _STD = _np.array([0.485, 0.456, 0.406], _np.float32), _np.array([0.229, 0.224, 0.225], _np.float32)
_CAFFE = _np.array([103.939, 116.779, 123.68], _np.float32)


def preprocess_input(x, data_format=None, mode="caffe"):
    """Keras' vgg16.preprocess_input (mode="caffe": RGB -> BGR, ImageNet means subtracted) or torchvision's
    ToTensor + Normalize (mode="torch": /255, ImageNet mean and std) on RGB values 0..255, channels last; a new
    float32 array of the same shape."""
    if data_format not in (None, "channels_last"):
        raise ValueError("data_format must be 'channels_last' (NHWC), got %r" % (data_format,))
    a = _np.asarray(x)
    if a.dtype.kind not in "uif" or a.shape[-1:] != (3,):
        raise ValueError("preprocess_input takes RGB values 0..255 with 3 channels last, got dtype %s shape %s"
                         % (a.dtype, a.shape))
    a = a.astype(_np.float32)
    if mode == "caffe":
        return a[..., ::-1] - _CAFFE
    if mode == "torch":
        return (a / _np.float32(255) - _MEAN) / _STD
    raise ValueError("mode must be 'caffe' or 'torch', got %r" % (mode,))


def decode_predictions(probs, top=5):
    """[[(class index, label, probability), ...] per image], most likely first, like Keras'."""
    p = _np.asarray(probs, dtype=_np.float32)
    if p.ndim != 2 or p.shape[1] != 1000:
        raise ValueError("decode_predictions expects a (N, 1000) array, got shape %s" % (p.shape,))
    n = _whole(top)
    if n is None or not 1 <= n <= 1000:
        raise ValueError("top must be a whole number from 1 to 1000, got %r" % (top,))
    top = n
    out = []
    for row in p:
        idx = sorted(range(1000), key=lambda i: (-row[i], i))[: int(top)]
        out.append([(i, _vggsimd.label(i), float(row[i])) for i in idx])
    return out


def levels():
    """Kernel levels usable on this CPU, best last."""
    return _vggsimd.levels()


from . import image  # noqa: E402  (Keras-style load_img / img_to_array; needs the names above)
