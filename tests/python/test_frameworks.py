"""--resize torchvision and keras give the input tensors of the frameworks themselves: torchvision's
Resize(256) + CenterCrop(224) + ToTensor + Normalize on a PIL image, and keras' load_img(target_size=(224, 224))
(PIL's nearest neighbour) with caffe preprocessing, on photos of many shapes made here with PIL; the top-5
of torchvision's VGG16 (float64) on its own tensor equals ours on ours, in order."""
import os
import sys

import numpy as np
import pytest

import vggsimd
from conftest import IMG, PHOTO, cli

Image = pytest.importorskip("PIL.Image")
torch = pytest.importorskip("torch")
T = pytest.importorskip("torchvision.transforms")

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
CAFFE = np.array([103.939, 116.779, 123.68], np.float32)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Landscape and portrait, large and small, odd and even margins, JPEG (baseline, progressive, 4:2:0 and
    4:4:4) and PNG, grey and with alpha."""
    d = tmp_path_factory.mktemp("shapes")
    src = [Image.open(PHOTO).convert("RGB"), Image.open(os.path.join(IMG, "large_1200x800.jpg")).convert("RGB")]
    sizes = [(451, 300), (300, 451), (1200, 800), (800, 1201), (3001, 2000), (257, 256), (256, 257), (225, 224),
             (224, 224), (100, 61), (61, 100), (40, 33), (5000, 333), (333, 999), (2560, 1440), (511, 383)]
    out = []
    for i, (w, h) in enumerate(sizes):
        im = src[i % 2].resize((w, h), Image.BICUBIC)
        if i % 5 == 3:
            im = im.rotate(17 * i, expand=False)
        name = d / ("s%02d_%dx%d" % (i, w, h))
        if i % 4 == 0:
            p = str(name) + ".png"
            (im.convert("RGBA") if i % 8 == 0 else im).save(p)
        elif i % 4 == 1:
            p = str(name) + ".jpg"
            im.save(p, quality=92, progressive=True)
        elif i % 4 == 2:
            p = str(name) + ".jpg"
            im.convert("L").save(p, quality=85)
        else:
            p = str(name) + ".jpg"
            im.save(p, quality=95, subsampling=0)
        out.append(p)
    # The formats and depths the decoders read: 16-bit RGB (PIL keeps the high byte), grey with alpha, palette,
    # Adobe CMYK JPEG, BMP.
    data = os.path.join(IMG, "..")
    out += [os.path.join(data, "img", n) for n in ("rgb16.png", "rgba16.png", "graya8.png", "rgb8.bmp")]
    out += [os.path.join(data, "formats", n) for n in ("palette.png", "cmyk.jpg", "interlaced.png", "rle.tga")]
    return out


def torchvision_tensor(path):
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])
    return tf(Image.open(path).convert("RGB")).permute(1, 2, 0).numpy()[None]


def keras_tensor(path):
    a = np.asarray(Image.open(path).convert("RGB").resize((224, 224), Image.NEAREST), np.float32)
    return (a[..., ::-1] - CAFFE)[None]


def test_torchvision_mode_is_torchvisions_tensor(photos):
    total = exact = 0
    for p in photos:
        ref = torchvision_tensor(p)
        ours = vggsimd.load_image(p, resize="torchvision", preprocess="torch")
        levels = np.abs(ref - ours) * 255 * np.array(STD, np.float32)  # back to 8-bit levels
        assert levels.max() <= 1.0 + 1e-3, (p, levels.max())
        total += levels.size
        exact += int((levels < 1e-3).sum())
        print("%s: %.4f exact, worst %.3g levels" % (os.path.basename(p), (levels < 1e-3).mean(), levels.max()))
    assert exact >= 0.99 * total, exact / total


def test_keras_mode_is_load_img(photos):
    for p in photos:
        assert np.array_equal(vggsimd.load_image(p, resize="keras"), keras_tensor(p)), p


def test_cli_takes_the_modes(exe, photos, tmp_path):
    """The CLI's run with each mode equals Python's on the tensor load_image gives (block 1, bit for bit)."""
    m = vggsimd.VGG16(threads=1)
    for mode, pre in (("torchvision", "torch"), ("keras", "caffe")):
        out = tmp_path / mode
        cli("run", photos[3], "--resize", mode, "--preproc", pre, "--npy", out, "--threads", 1)
        want = m.features(vggsimd.load_image(photos[3], resize=mode, preprocess=pre))["block1_pool"]
        assert np.array_equal(np.load(out / "block1.npy"), want), mode


def test_top5_equals_torchvisions(photos, weights_top):
    torchvision = pytest.importorskip("torchvision")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
    import safetensors_io
    model = torchvision.models.vgg16(weights=None).double().eval()
    model.load_state_dict({k: torch.from_numpy(v.astype(np.float64)) for k, v in safetensors_io.read(weights_top).items()})
    m = vggsimd.VGG16(weights=weights_top, include_top=True)
    for p in photos[:3]:
        with torch.no_grad():
            ref = torch.softmax(model(torch.from_numpy(torchvision_tensor(p).astype(np.float64)).permute(0, 3, 1, 2)),
                                1).numpy()[0]
        ours = m.predict(vggsimd.load_image(p, resize="torchvision", preprocess="torch"))[0]
        assert list(np.argsort(-ours, kind="stable")[:5]) == list(np.argsort(-ref, kind="stable")[:5]), p


KERAS_DOC_SCRIPT = '''
from vggsimd import VGG16
from vggsimd import image
from vggsimd import preprocess_input
import numpy as np

model = VGG16(weights=WEIGHTS, include_top=False)

img_path = IMG_PATH
img = image.load_img(img_path, target_size=(224, 224))
x = image.img_to_array(img)
x = np.expand_dims(x, axis=0)
x = preprocess_input(x)

features = model.predict(x)
batch = model.predict(np.concatenate([x, x, x]), batch_size=8, verbose=0)
called = model(x)
'''

TORCHVISION_TUTORIAL_SCRIPT = '''
import vggsimd
import numpy as np
from PIL import Image

model = vggsimd.VGG16(weights=WEIGHTS, include_top=False)
img = Image.open(IMG_PATH)
x = vggsimd.load_image(img, resize="torchvision", preprocess="torch")
features = model.predict(x)
flat = features.reshape(features.shape[0], -1)
'''


def test_scripts_written_as_the_keras_and_torchvision_docs_run(photos, weights_top):
    """The Keras VGG16 documentation's feature extraction (the conv base of a full weights file, load_img,
    img_to_array, expand_dims, preprocess_input, predict with batch_size and verbose, model(x)) and the
    torchvision tutorial's (a PIL image in, torchvision's transform), unchanged but for the imports and the
    weights file; their features equal the frameworks' tensors run through the same model."""
    ns = {"WEIGHTS": weights_top, "IMG_PATH": photos[1]}
    exec(compile(KERAS_DOC_SCRIPT, "keras_doc", "exec"), ns)
    base = vggsimd.VGG16(weights=weights_top)
    want = base.predict(keras_tensor(photos[1]))
    assert ns["features"].shape == (1, 7, 7, 512) and np.array_equal(ns["features"], want)
    assert np.array_equal(ns["batch"], np.concatenate([want] * 3)) and np.array_equal(ns["called"], want)
    ns = {"WEIGHTS": weights_top, "IMG_PATH": photos[1]}
    exec(compile(TORCHVISION_TUTORIAL_SCRIPT, "torchvision_tutorial", "exec"), ns)
    assert ns["flat"].shape == (1, 25088)
    assert np.array_equal(ns["features"], base.predict(torchvision_tensor(photos[1])))


def test_keras_habits_and_clear_refusals(photos):
    m = vggsimd.VGG16(input_shape=(32, 32, 3), threads=1)
    x = np.random.default_rng(1).standard_normal((3, 32, 32, 3)).astype(np.float32)
    assert np.array_equal(m(x), m.predict(x, batch_size=1, verbose=2))
    with pytest.raises(ValueError, match="batch_size must be None or a whole number"):
        m.predict(x, batch_size=0)
    with pytest.raises(ValueError, match="scripts/convert_torchvision.py"):
        vggsimd.VGG16(weights="imagenet")
    with pytest.raises(ValueError, match="target_size must be .size, size., a square"):
        vggsimd.load_image(photos[0], target_size=(224, 200))
    with pytest.raises(ValueError, match="mode must be 'caffe' or 'torch'"):
        vggsimd.preprocess_input(np.zeros((1, 4, 4, 3)), mode="tf")
    with pytest.raises(ValueError, match="not from 0 to 255"):
        vggsimd.load_image(np.full((40, 40, 3), 300.0))
    # Arrays and PIL images in, as paths: the same tensor; load_images stacks.
    im = Image.open(photos[0])
    a = vggsimd.load_image(photos[0], resize="torchvision", preprocess="torch")
    assert np.array_equal(vggsimd.load_image(im, resize="torchvision", preprocess="torch"), a)
    assert np.array_equal(vggsimd.load_image(np.asarray(im.convert("RGB")), resize="torchvision",
                                             preprocess="torch"), a)
    assert vggsimd.load_images([photos[0], im, np.asarray(im.convert("RGB"))], size=64).shape == (3, 64, 64, 3)
    raw = np.asarray(im.convert("RGB").resize((224, 224), Image.NEAREST))[None]
    assert np.array_equal(vggsimd.preprocess_input(raw), keras_tensor(photos[0]))
    assert np.array_equal(vggsimd.preprocess_input(raw, mode="torch"),
                          vggsimd.load_image(photos[0], resize="keras", preprocess="torch"))


def _exif_segment(orientation, big_endian):
    import struct
    e = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", 1)
    tiff += struct.pack(e + "HHI", 0x0112, 3, 1) + struct.pack(e + "HH", orientation, 0) + struct.pack(e + "I", 0)
    body = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def test_exif_orientation_is_applied_as_pil_exif_transpose(photos, tmp_path):
    """A phone photo's EXIF orientation (all eight, little- and big-endian TIFF) turns the picture upright as
    PIL's ImageOps.exif_transpose does; then --resize torchvision equals torchvision's tensor of that image and
    keras' load_img of it; exif=False (the CLI's --no-exif) keeps the stored orientation."""
    ImageOps = pytest.importorskip("PIL.ImageOps")
    import io
    src = Image.open(photos[2]).convert("RGB").resize((320, 200))
    plain = io.BytesIO()
    src.save(plain, "JPEG", quality=90)
    plain = plain.getvalue()
    for o in range(1, 9):
        for be in (False, True):
            p = tmp_path / ("o%d%s.jpg" % (o, "mm" if be else "ii"))
            p.write_bytes(plain[:2] + _exif_segment(o, be) + plain[2:])
            upright = ImageOps.exif_transpose(Image.open(p)).convert("RGB")
            assert upright.size == ((200, 320) if o >= 5 else (320, 200))
            tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])
            ref = tf(upright).permute(1, 2, 0).numpy()[None]
            assert np.array_equal(vggsimd.load_image(str(p), resize="torchvision", preprocess="torch"), ref), p
            k = np.asarray(upright.resize((224, 224), Image.NEAREST), np.float32)
            assert np.array_equal(vggsimd.load_image(str(p), resize="keras"), (k[..., ::-1] - CAFFE)[None]), p
            assert np.array_equal(vggsimd.load_image(str(p), resize="keras", exif=False), keras_tensor(str(p))), p
