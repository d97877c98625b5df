"""ONNX models from Python: torchvision's export gives the same model, bit for bit, as the same weights in
safetensors; a model that is not a VGG is a ValueError naming the node."""
import os
import subprocess

import numpy as np
import pytest

import vggsimd
from conftest import PHOTO, ROOT

pytest.importorskip("onnx")
pytest.importorskip("torchvision")
MAKE_ONNX = os.path.join(ROOT, "tests", "make_onnx.py")


def test_onnx_equals_safetensors(tmp_path):
    subprocess.run(["/usr/bin/python3", MAKE_ONNX, str(tmp_path), "f=vgg11,13,features", "bad=vgg11,13,sigmoid"],
                   check=True, capture_output=True)
    try:
        a = vggsimd.VGG11(weights=str(tmp_path / "f.onnx"), input_shape=(64, 64, 3), threads=2)
    except ValueError as e:
        if "this build reads none" in str(e):
            pytest.skip("this build reads no ONNX: %s" % e)
        raise
    b = vggsimd.VGG11(weights=tmp_path / "f.safetensors", input_shape=(64, 64, 3), threads=2)
    assert a.resize == b.resize == "torchvision" and a.preprocess == b.preprocess == "torch"
    x = vggsimd.load_image(PHOTO, size=64, resize=a.resize, preprocess=a.preprocess)
    fa, fb = a.features(x), b.features(x)
    for k in fb:
        assert np.array_equal(fa[k], fb[k]), k
    with pytest.raises(ValueError, match=r"bad.onnx: node .*\(Sigmoid\) follows a convolution"):
        vggsimd.VGG11(weights=str(tmp_path / "bad.onnx"))
