"""Grad-CAM against PyTorch float64 autograd: torchvision's VGG16 with the same weights (seed 7, written by the
engine) on the same input tensors, the definition of Selvaraju et al. computed by hand on top of autograd, at
block5_conv3 and block4_conv3, for several photos and classes, at every kernel level usable here."""
import os

import numpy as np
import pytest

import vggsimd
from conftest import IMG, PHOTO, ROOT

torch = pytest.importorskip("torch")
tv = pytest.importorskip("torchvision.models")
F = torch.nn.functional

# Keras names of torchvision's vgg16.features, by index (ReLUs named after their conv: their output is its map).
FEATURES = {}
for _b, _n in enumerate((2, 2, 3, 3, 3), 1):
    for _k in range(1, _n + 1):
        FEATURES[len(FEATURES)] = None
        FEATURES[len(FEATURES)] = "block%d_conv%d" % (_b, _k)
    FEATURES[len(FEATURES)] = "block%d_pool" % _b
PHOTOS = [PHOTO, os.path.join(IMG, "large_1200x800.jpg")]


@pytest.fixture(scope="module")
def torch_vgg(weights_top):
    import sys
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import safetensors_io
    model = tv.vgg16().double().eval()
    model.load_state_dict({k: torch.from_numpy(v.astype(np.float64)) for k, v in safetensors_io.read(weights_top).items()})
    for mod in model.modules():
        if isinstance(mod, torch.nn.ReLU):
            mod.inplace = False
    model.requires_grad_(False)  # only the layer's gradient is wanted: no weight gradients
    torch.set_num_threads(os.cpu_count())
    return model


ACTS = {}


def features64(model, x, name):
    """The outputs of every layer of torchvision's features for x in float64, computed once per picture."""
    if name not in ACTS:
        h, out = torch.from_numpy(x.astype(np.float64)).permute(0, 3, 1, 2), []
        with torch.no_grad():
            for mod in model.features:
                h = mod(h)
                out.append(h)
        ACTS[name] = out
    return ACTS[name]


def torch_gradcam(model, x, name, layer, classes, ours=None):
    """Grad-CAM by autograd in float64 for x (1, H, W, 3) NHWC: the maps (K, H, W) and the classes (None: the
    top-1).  With ours (the engine's outputs of the layers after `layer`: {name: array}), each ReLU after the
    layer keeps the units ours kept and each max-pool passes the input ours picked: the float64 arithmetic
    with the engine's decisions, for where float32 and float64 fall on two sides of a ReLU's zero or a pool's
    tie."""
    k = list(FEATURES.values()).index(layer)
    a = features64(model, x, name)[k].clone().requires_grad_(True)
    h, prev = a, layer
    for i in range(k + 1, len(model.features)):
        mod, name = model.features[i], FEATURES[i]
        if ours is not None and isinstance(mod, torch.nn.ReLU):
            h = h * torch.from_numpy(ours[name] > 0).permute(0, 3, 1, 2)
        elif ours is not None and isinstance(mod, torch.nn.MaxPool2d):
            o = torch.from_numpy(ours[prev]).permute(0, 3, 1, 2)
            _, idx = F.max_pool2d(o, 2, return_indices=True)
            h = torch.gather(h.flatten(2), 2, idx.flatten(2)).view(idx.shape)
        else:
            h = mod(h)
        prev = name or prev
    f = torch.flatten(model.avgpool(h), 1)
    c = model.classifier
    if ours is not None:
        f1 = c[0](f) * torch.from_numpy(ours["fc1"] > 0)
        logits = c[6](c[3](f1) * torch.from_numpy(ours["fc2"] > 0))
    else:
        logits = c(f)
    maps, chosen = [], []
    for cls in classes:
        cl = int(torch.argmax(logits[0])) if cls is None else cls
        a.grad = None
        logits[0, cl].backward(retain_graph=True)
        alpha = a.grad.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((alpha * a).sum(1, keepdim=True))
        cam = cam / cam.max() if cam.max() > 0 else cam
        maps.append(F.interpolate(cam, size=x.shape[1:3], mode="bilinear", align_corners=False)[0, 0].detach().numpy())
        chosen.append(cl)
    return np.array(maps), chosen


REFS = {}


def check(model, torch_vgg, x, name, layer, classes):
    """model's Grad-CAM of x within 1e-4 of the map's maximum of PyTorch float64's; where the two differ by more,
    every difference must come from a knife edge (a unit after the layer that float32 and float64 put on two
    sides of the ReLU's zero, or a pool whose largest two inputs swap), and the maps must then be within 1e-4
    of float64 with the engine's decisions.  Returns (error, error with the engine's decisions or None)."""
    maps, chosen = model.gradcam(x, classes, layer=layer, return_classes=True)
    assert maps.shape == (1, len(classes), 224, 224) and maps.dtype == np.float32
    key = (name, layer, tuple(classes))
    if key not in REFS:
        REFS[key] = torch_gradcam(torch_vgg, x, name, layer, classes)
    ref, ref_classes = REFS[key]
    assert list(chosen[0]) == ref_classes
    assert 0 <= maps.min() and maps.max() <= 1 and (ref.max(axis=(1, 2)) > 0.5).all()
    err = float(np.abs(maps[0] - ref).max())
    if err <= 1e-4:
        return err, None
    after = [n for n in FEATURES.values() if n and "conv" in n][[n for n in FEATURES.values() if n and "conv" in n].index(layer):]
    ours = {n: model.layer_output(x, n) for n in after + ["fc1", "fc2"]}
    fixed, _ = torch_gradcam(torch_vgg, x, name, layer, ref_classes, ours)
    err_fixed = float(np.abs(maps[0] - fixed).max())
    assert err_fixed <= 1e-4, "%s %s: %.3g from float64, %.3g from float64 with our decisions" % (name, layer, err, err_fixed)
    return err, err_fixed


@pytest.mark.parametrize("isa", vggsimd.levels())
def test_gradcam_matches_torch_float64(weights_top, torch_vgg, isa):
    model = vggsimd.VGG16(weights=weights_top, include_top=True, isa=isa)
    worst, edges = 0.0, []
    for p in PHOTOS:
        x = vggsimd.load_image(p, resize=model.resize, preprocess="torch")
        for layer in ("block5_conv3", "block4_conv3"):
            # the top-1 and two fixed classes, in one call (one forward pass shared)
            err, fixed = check(model, torch_vgg, x, os.path.basename(p), layer, [None, 281, 7])
            worst = max(worst, err if fixed is None else fixed)
            if fixed is not None:
                edges.append("%s %s %.3g (%.3g with its decisions)" % (os.path.basename(p), layer, err, fixed))
    print("\n%s: Grad-CAM within %.3g of PyTorch float64 (map maximum 1); knife edges: %s"
          % (isa, worst, "; ".join(edges) or "none"))
    assert len(edges) <= 2, "more knife edges than float32 makes: %s" % edges


def test_gradcam_api(weights_top, torch_vgg):
    model = vggsimd.VGG16(weights=weights_top, include_top=True)
    x = np.concatenate([vggsimd.load_image(p, resize=model.resize, preprocess="torch") for p in PHOTOS[:2]])
    m1, c1 = model.gradcam(x, return_classes=True)
    assert m1.shape == (2, 224, 224) and c1.shape == (2,)
    probs = model.predict(x)
    assert list(c1) == list(np.argmax(probs, axis=1))
    # a label names the same class as its index; each image of a batch gets what it gets alone
    label = vggsimd._vggsimd.label(281)
    np.testing.assert_array_equal(model.gradcam(x, label.replace(" ", "_")), model.gradcam(x, 281))
    np.testing.assert_array_equal(model.gradcam(x[1:], 281), model.gradcam(x, 281)[1:])
    # an earlier layer: back through three blocks' convolutions
    check(model, torch_vgg, x[:1], os.path.basename(PHOTOS[0]), "block3_conv3", [281])
    for bad, msg in ((dict(class_index=1000), "0 to 999"), (dict(class_index="no such cat"), "not an ImageNet"),
                     (dict(layer="block5_pool"), "not a conv layer"), (dict(class_index=[]), "empty"),
                     (dict(layer=3), "layer must be")):
        with pytest.raises(ValueError, match=msg):
            model.gradcam(x, **bad)
    with pytest.raises(ValueError, match="include_top=True"):
        vggsimd.VGG16(weights=weights_top).gradcam(x)


@pytest.mark.parametrize("isa", vggsimd.levels())
def test_every_layer_matches_torch_float64(weights_top, torch_vgg, isa):
    """Each layer's output (every conv after its ReLU, every pool, fc1, fc2, the probabilities) within the forward
    pass's budget of float64: 1e-5 of the layer's largest value with algo auto."""
    model = vggsimd.VGG16(weights=weights_top, include_top=True, isa=isa)
    x = vggsimd.load_image(PHOTOS[1], resize=model.resize, preprocess="torch")
    acts = features64(torch_vgg, x, os.path.basename(PHOTOS[1]))
    refs = {name: acts[i].permute(0, 2, 3, 1).numpy() for i, name in FEATURES.items() if name}
    c = torch_vgg.classifier
    with torch.no_grad():
        f1 = c[1](c[0](torch.flatten(torch_vgg.avgpool(acts[-1]), 1)))
        f2 = c[4](c[3](f1))
        refs.update(fc1=f1.numpy(), fc2=f2.numpy(), predictions=torch.softmax(c[6](f2), 1).numpy())
    every = model.layer_output(x, "all")  # one pass
    assert sorted(every) == sorted(refs), sorted(every)
    worst = {}
    for name, ref in refs.items():
        assert every[name].shape == ref.shape and every[name].dtype == np.float32, (name, every[name].shape, ref.shape)
        worst[name] = float(np.abs(every[name] - ref).max() / np.abs(ref).max())
    # the same bits as one layer asked for alone (its own net) and as the plain pass (at the best level: the
    # scalar level's passes take seconds each)
    for name in ("block2_conv1", "block4_pool", "fc2", "predictions") if isa == vggsimd.levels()[-1] else ():
        np.testing.assert_array_equal(every[name], model.layer_output(x, name), err_msg=name)
    top = max(worst, key=worst.get)
    print("\n%s: every layer within %.3g of float64 (%s)" % (isa, worst[top], top))
    assert worst[top] <= 1e-5, worst


def test_gradcam_bf16(weights_top):
    """bf16 (bfloat16 GEMMs in the forward pass, float32 backward): the maps of the same classes as float32's
    (which are within 1e-5 of float64), correlated >= 0.95 with them, the top-1's within 0.1 of the maximum."""
    f = vggsimd.VGG16(weights=weights_top, include_top=True)
    b = vggsimd.VGG16(weights=weights_top, include_top=True, precision="bf16")
    lines = []
    for p in PHOTOS:
        x = vggsimd.load_image(p, resize=f.resize, preprocess="torch")
        for layer in ("block5_conv3", "block4_conv3"):
            m32, c32 = f.gradcam(x, [None, 281, 7], layer=layer, return_classes=True)
            m16, c16 = b.gradcam(x, [None, 281, 7], layer=layer, return_classes=True)
            assert (c32 == c16).all(), (c32, c16)
            err = np.abs(m32 - m16).max(axis=(2, 3))[0]
            corr = [np.corrcoef(m32[0, k].ravel(), m16[0, k].ravel())[0, 1] for k in range(3)]
            lines.append("%s %s: max %s, correlation %s" % (os.path.basename(p), layer, np.round(err, 3),
                                                            np.round(corr, 4)))
            assert err[0] <= 0.1 and min(corr) >= 0.95, lines[-1]
    print("\nbf16 Grad-CAM against float32 (classes top-1, 281, 7):\n" + "\n".join(lines))
