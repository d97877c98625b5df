#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root or with sudo), builds, and runs.
#   scripts/setup.sh deps     install the build and test dependencies
#   scripts/setup.sh build    deps + configure and build in ./build
#   scripts/setup.sh demo     build + model summary + block feature maps of the bundled photo (demo-out/)
#   scripts/setup.sh test     build + the whole test suite (meson test)
#   scripts/setup.sh python   the Python packages of the helper scripts (golden data, converters, plots)
#   scripts/setup.sh cross    aarch64 cross build in ./build-aarch64 (cross gcc, arm64 multiarch libraries)
#                             and its whole test suite under qemu-aarch64
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PKGS="gcc g++ meson ninja-build pkg-config libsleef-dev libstb-dev libturbojpeg0-dev libspng-dev libcmocka-dev libbenchmark-dev libdnnl-dev time qemu-user"
CROSS_PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libsleef-dev:arm64 libstb-dev:arm64 libturbojpeg0-dev:arm64 libspng-dev:arm64 libcmocka-dev:arm64 libgomp1:arm64"
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

cross() {
  need $BUILD_PKGS
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    local SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
  fi
  need $CROSS_PKGS
  local opts="--cross-file scripts/aarch64-linux-gnu.ini -Dbench=disabled"
  if [ -f build-aarch64/build.ninja ]; then meson setup --reconfigure build-aarch64 $opts >/dev/null
  else meson setup build-aarch64 $opts >/dev/null; fi
  ninja -C build-aarch64
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
  cross)
    cross
    need $PY_PKGS
    meson test -C build-aarch64 --print-errorlogs
    ;;
  *) echo "usage: scripts/setup.sh [deps|build|demo|test|python|cross]" >&2; exit 2 ;;
esac
