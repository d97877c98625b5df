"""Shared fixtures: the CLI binary and the source tree (from meson's test environment)."""
import os
import subprocess

import pytest

ROOT = os.environ.get("VGGSIMD_SOURCE_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXE = os.environ.get("VGGSIMD_EXE", "")
PHOTO = os.path.join(ROOT, "engine", "data", "chelsea.png")
GOLDEN_PHOTO = os.path.join(ROOT, "tests", "data", "chelsea224.png")
IMG = os.path.join(ROOT, "tests", "data", "img")


@pytest.fixture(scope="session")
def exe():
    if not os.path.exists(EXE):
        pytest.fail("VGGSIMD_EXE does not name the vggsimd binary: %r" % EXE)
    return EXE


def cli(*args):
    """Runs the CLI; returns stdout (raises on a non-zero exit)."""
    return subprocess.run([EXE, *map(str, args)], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def weights_top(tmp_path_factory):
    """A VGG16 with classifier in torchvision naming, written by the engine (seed 7)."""
    p = tmp_path_factory.mktemp("w") / "vgg16_top.safetensors"
    cli("init", "--arch", "vgg16", "--top", "--seed", 7, "-o", p)
    return str(p)
