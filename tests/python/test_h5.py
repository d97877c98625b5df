"""Keras .h5 weights from Python: the same model, bit for bit, as the same weights in safetensors; a damaged
file is a ValueError naming it."""
import os
import subprocess

import numpy as np
import pytest

import vggsimd
from conftest import PHOTO, ROOT, cli

h5py = pytest.importorskip("h5py")
MAKE_H5 = os.path.join(ROOT, "tests", "make_h5.py")


def make_h5(src, out, layout, damage=None):
    subprocess.run(["/usr/bin/python3", MAKE_H5, str(src), str(out), layout] + ([damage] if damage else []),
                   check=True)


def test_h5_equals_safetensors(tmp_path):
    st, h5 = tmp_path / "v11.safetensors", tmp_path / "v11.h5"
    cli("init", "--arch", "vgg11", "--top", "--seed", 9, "--naming", "keras", "-o", st)
    make_h5(st, h5, "save_weights")
    try:
        a = vggsimd.VGG11(weights=str(h5), include_top=True, threads=2)
    except ValueError as e:
        if "this build reads none" in str(e):
            pytest.skip("this build reads no HDF5: %s" % e)
        raise
    b = vggsimd.VGG11(weights=str(st), include_top=True, threads=2)
    assert a.resize == b.resize == "keras" and a.preprocess == b.preprocess == "caffe"
    x = vggsimd.load_image(PHOTO, size=224, resize=a.resize, preprocess=a.preprocess)
    fa, fb = a.features(x), b.features(x)
    assert fa.keys() == fb.keys()
    for k in fa:
        assert np.array_equal(fa[k], fb[k]), k
    # The conv base alone from the file with the classifier.
    c = vggsimd.VGG11(weights=h5, input_shape=(32, 32, 3))
    d = vggsimd.VGG11(weights=st, input_shape=(32, 32, 3))
    y = x[:, :32, :32, :]
    assert np.array_equal(c.predict(y), d.predict(y))


def test_damaged_h5_is_a_value_error(tmp_path):
    st, h5 = tmp_path / "v11.safetensors", tmp_path / "bad.h5"
    cli("init", "--arch", "vgg11", "--seed", 9, "--naming", "keras", "-o", st)
    make_h5(st, h5, "save_weights", "truncated")
    with pytest.raises(ValueError, match="bad.h5"):
        vggsimd.VGG11(weights=str(h5))
