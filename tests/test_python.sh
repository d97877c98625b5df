#!/usr/bin/env bash
# The Python package as a user installs it: pip install --no-build-isolation ./engine/python into a fresh venv
# (--system-site-packages: NumPy, pytest, torch, Dask from Debian), then, from another directory with no
# PYTHONPATH, the import, the version, `python3 -m vggsimd.dask`, the whole pytest suite of tests/python
# against the installed package, and a clean uninstall.  Exit 77 (skipped) without python3-venv/-mesonpy.
# usage: test_python.sh path/to/vggsimd   (the CLI, which some Python tests compare against)
set -u
EXE=${1:?usage: test_python.sh path/to/vggsimd}
ROOT=${VGGSIMD_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
PY=/usr/bin/python3
if ! $PY -c "import venv, mesonpy, pytest, numpy" 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 lacks venv, mesonpy, pytest or numpy (scripts/setup.sh python installs them)"
  exit 77
fi
T=$(mktemp -d /tmp/vggsimd-py-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

$PY -m venv --system-site-packages "$T/venv" || fail "python3 -m venv"
VPY=$T/venv/bin/python3
# No package index is reachable: the build requirements come from Debian (--no-build-isolation, --no-index).
echo "pip install --no-build-isolation --no-index $ROOT/engine/python"
"$VPY" -m pip install -q --no-build-isolation --no-index "$ROOT/engine/python" >"$T/pip.log" 2>&1 ||
  fail "pip install: $(tail -20 "$T/pip.log")"
cd "$T" || exit 1
site=$("$VPY" -c "import sysconfig; print(sysconfig.get_paths()['platlib'])")
where=$(env -u PYTHONPATH "$VPY" -c "import vggsimd; print(vggsimd.__file__)") || fail "import vggsimd"
case $where in "$site"/vggsimd/*) ;; *) fail "vggsimd imported from $where, not the venv's $site" ;; esac
want=$(sed -n "s/^ *version: '\([^']*\)'.*/\1/p" "$ROOT/meson.build" | head -1)
got=$(env -u PYTHONPATH "$VPY" -c "import importlib.metadata as m; print(m.version('vggsimd'))")
[ "$got" = "$want" ] || fail "installed version $got, the project's $want (engine/python/meson.build names it too)"
env -u PYTHONPATH "$VPY" -c "import vggsimd; m = vggsimd.VGG16(); m.summary(); assert m.count_params() == 14714688" \
  >/dev/null || fail "VGG16().summary()"
env -u PYTHONPATH "$VPY" -m vggsimd.dask --help >/dev/null || fail "python3 -m vggsimd.dask --help"
echo "installed: vggsimd $got in $site"

# The suite, against the installed package.
env -u PYTHONPATH VGGSIMD_EXE="$EXE" VGGSIMD_SOURCE_ROOT="$ROOT" \
  "$VPY" -m pytest -q -p no:cacheprovider "$ROOT/tests/python" || fail "pytest against the installed package"

"$VPY" -m pip uninstall -q -y vggsimd || fail "pip uninstall"
[ ! -e "$site/vggsimd" ] || fail "left after uninstall: $(find "$site/vggsimd" | head -5)"
ls "$site" | grep -qi vggsimd && fail "left after uninstall: $(ls "$site" | grep -i vggsimd)"
env -u PYTHONPATH "$VPY" -c "import vggsimd" 2>/dev/null && fail "vggsimd still importable after uninstall"
echo "uninstalled: nothing left in $site"
