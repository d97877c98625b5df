#!/usr/bin/python3
"""Features of many images on a Dask cluster: see `python3 -m vggsimd.dask --help`.

Runs the vggsimd package's Dask driver.  From a build tree, without installing:
    PYTHONPATH=build/engine/python /usr/bin/python3 scripts/vggsimd_dask.py PHOTOS/ --out features/
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
build_tree = os.path.join(here, "..", "build", "engine", "python")
try:
    import vggsimd.dask
except ImportError:
    if os.path.isdir(os.path.join(build_tree, "vggsimd")):
        sys.path.insert(0, build_tree)
        os.environ["PYTHONPATH"] = build_tree + os.pathsep + os.environ.get("PYTHONPATH", "")  # for the workers
        import vggsimd.dask
    else:
        sys.exit("vggsimd_dask.py: the vggsimd Python package is not importable: build it (meson, python3-dev, "
                 "python3-numpy) and set PYTHONPATH=<build>/engine/python, or meson install it")

if __name__ == "__main__":  # worker processes import this file again
    sys.exit(vggsimd.dask.main())
