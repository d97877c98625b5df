#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root or with sudo), builds, and runs.
#   scripts/setup.sh deps     install the build and test dependencies
#   scripts/setup.sh build    deps + configure and build in ./build
#   scripts/setup.sh demo     build + model summary + block feature maps of the bundled photo (demo-out/)
#   scripts/setup.sh test     build + the whole test suite (meson test)
#   scripts/setup.sh python   the build packages and the Python ones: pip install ./engine/python, the helper
#                             scripts (golden data, converters, plots)
#   scripts/setup.sh cross    aarch64 cross build in ./build-aarch64 (cross gcc, arm64 multiarch libraries)
#                             and its whole test suite under qemu-aarch64
#   scripts/setup.sh sanitize the whole test suite built with AddressSanitizer + UBSan in ./build-asan
#   scripts/setup.sh fuzz [S] libFuzzer harnesses (clang, ASan + UBSan) in ./build-fuzz, each fuzzed
#                             S seconds (default 60) from the committed corpora; findings in build-fuzz/
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PKGS="gcc g++ meson ninja-build pkg-config libsleef-dev libstb-dev libturbojpeg0-dev libspng-dev libcmocka-dev libbenchmark-dev libdnnl-dev libhdf5-dev libprotobuf-c-dev protobuf-c-compiler python3-onnx time qemu-user valgrind python3-dev python3-numpy"
CROSS_PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libsleef-dev:arm64 libstb-dev:arm64 libturbojpeg0-dev:arm64 libspng-dev:arm64 libcmocka-dev:arm64 libgomp1:arm64"
FUZZ_PKGS="clang libclang-rt-14-dev libomp-14-dev"
BROWSER_PKGS="chromium"
PY_PKGS="python3-venv python3-mesonpy python3-build python3-pip patchelf python3-numpy python3-torch python3-torchvision python3-pil python3-h5py python3-matplotlib python3-skimage python3-pytest python3-dask python3-distributed"

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

# A build directory configured with the given options (reconfigured when it exists: meson 1.0 leaves c_args
# as they were on --reconfigure, so they are set again with meson configure).
configure() {
  local dir=$1
  shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null && meson configure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

build() {
  need $BUILD_PKGS
  configure build
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
  configure build-aarch64 --cross-file scripts/aarch64-linux-gnu.ini -Dbench=disabled -Dpython=disabled
  ninja -C build-aarch64
}

SAN_OPTS="-Db_sanitize=address,undefined -Db_lundef=false -Dbench=disabled -Dpeers=disabled -Dpython=disabled"
# Line tables only: sanitizer reports keep file:line, and the Winograd kernels compile in a third of the time
# (tracking every variable's location through their unrolled transforms is what costs, under ASan most).
SAN_GCC_DEBUG="-Dc_args=-g1 -Dcpp_args=-g1"
SAN_CLANG_DEBUG="-Dc_args=-gline-tables-only -Dcpp_args=-gline-tables-only"

fuzz() {
  local secs=${1:-60}
  need $BUILD_PKGS $FUZZ_PKGS
  # The harnesses exercise the loaders only: the SIMD kernel libraries are left out of this build.
  CC=clang CXX=clang++ configure build-fuzz -Dfuzzing=true -Dsimd=false -Dbuildtype=debugoptimized $SAN_OPTS $SAN_CLANG_DEBUG
  local names="image npy safetensors ranges h5 onnx"
  ninja -C build-fuzz $(for n in $names; do echo tests/fuzz/fuzz_$n; done)
  local root=$PWD data=tests/data corpus=tests/fuzz/corpus failed=0
  : >build-fuzz/fuzz-results.txt
  for n in $names; do
    local work=build-fuzz/fuzz-$n
    rm -rf "$work" && mkdir -p "$work/corpus" "$work/found"
    case $n in
      image) seeds="$data/formats $data/hostile $data/img $corpus/image" ;;
      npy) seeds="$data/img $corpus/npy" ;;
      safetensors) seeds="$corpus/safetensors" ;;
      ranges) seeds="$corpus/ranges" ;;
      h5) seeds="$corpus/h5" ;;
      onnx) seeds="$corpus/onnx" ;;
    esac
    # New inputs go to a scratch corpus; the committed seeds are only read.
    if (cd "$work" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
        "../tests/fuzz/fuzz_$n" -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 -max_len=65536 \
        -artifact_prefix=found/ -print_final_stats=1 corpus $(for d in $seeds; do echo "$root/$d"; done) >log.txt 2>&1); then
      echo "fuzz $n: OK $(grep -E '^#[0-9]+.*DONE' "$work/log.txt" | tail -1)" | tee -a build-fuzz/fuzz-results.txt
    else
      failed=1
      echo "fuzz $n: FAIL (inputs in $work/found/)" | tee -a build-fuzz/fuzz-results.txt
      grep -E 'ERROR|SUMMARY|runtime error|No such file' "$work/log.txt" | head -5 || true
    fi
  done
  return $failed
}

case "${1:-build}" in
  deps) need $BUILD_PKGS ;;
  python) need $BUILD_PKGS $PY_PKGS ;; # what pip install ./engine/python builds with, and the scripts' packages
  build) build ;;
  demo)
    build
    ./build/engine/vggsimd summary --top
    ./build/engine/vggsimd run engine/data/chelsea.png --top --maps demo-out --npy demo-out --report demo-out/report
    echo "feature maps: demo-out/block1.png .. demo-out/block5.png; report: demo-out/report/index.html"
    ;;
  test)
    build
    need $PY_PKGS $BROWSER_PKGS
    meson test -C build --print-errorlogs
    ;;
  cross)
    cross
    need $PY_PKGS
    meson test -C build-aarch64 --print-errorlogs
    ;;
  sanitize)
    need $BUILD_PKGS $PY_PKGS
    configure build-asan -Dbuildtype=debugoptimized $SAN_OPTS $SAN_GCC_DEBUG
    ninja -C build-asan
    meson test -C build-asan --print-errorlogs
    ;;
  fuzz) fuzz "${2:-60}" ;;
  *) echo "usage: scripts/setup.sh [deps|build|demo|test|python|cross|sanitize|fuzz [SECONDS]]" >&2; exit 2 ;;
esac
