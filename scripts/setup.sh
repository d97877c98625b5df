#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root or with sudo), builds, and runs.
#   scripts/setup.sh deps     install the build and test dependencies
#   scripts/setup.sh build    deps + configure and build in ./build
#   scripts/setup.sh demo     build + model summary + block feature maps of the bundled photo (demo-out/)
#   scripts/setup.sh test     build + the whole test suite (meson test)
#   scripts/setup.sh python   the Python packages of the helper scripts (golden data, converters, plots)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PKGS="gcc g++ meson ninja-build pkg-config libsleef-dev libstb-dev libcmocka-dev libbenchmark-dev libdnnl-dev time qemu-user"
PY_PKGS="python3-numpy python3-torch python3-torchvision python3-pil python3-h5py python3-matplotlib"

need() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  need $BUILD_PKGS
  if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
  ninja -C build
}

case "${1:-build}" in
  deps) need $BUILD_PKGS ;;
  python) need $PY_PKGS ;;
  build) build ;;
  demo)
    build
    ./build/engine/vggsimd summary --top
    ./build/engine/vggsimd run engine/data/chelsea.png --maps demo-out --npy demo-out
    echo "feature maps: demo-out/block1.png .. demo-out/block5.png"
    ;;
  test)
    build
    need $PY_PKGS
    meson test -C build --print-errorlogs
    ;;
  *) echo "usage: scripts/setup.sh [deps|build|demo|test|python]" >&2; exit 2 ;;
esac
