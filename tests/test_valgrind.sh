#!/usr/bin/env bash
# vggsimd run under valgrind's memcheck: no invalid read or write, no use of
# uninitialised memory, no leak, for an input of each decoder (libjpeg-turbo,
# libspng, stb_image) and for refused hostile files.  Small model and size so
# each run takes seconds.  valgrind has no AVX-512: the run uses avx2 when the
# CPU has it, else scalar.  libgomp never joins its worker threads, so their
# thread-local blocks are suppressed (tests/valgrind.supp), nothing else; libjpeg-turbo runs without its
# SIMD code, which memcheck cannot follow (below).
# Exit 77 (skipped) without valgrind, on a sanitized build, or under emulation.
set -u
BIN=${1:?usage: test_valgrind.sh path/to/vggsimd}
ROOT=${VGGSIMD_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
if ! command -v valgrind >/dev/null; then echo "SKIP: valgrind is not installed"; exit 77; fi
if [ -n "${VGGSIMD_SANITIZED:-}" ]; then echo "SKIP: sanitized build (ASan and valgrind exclude each other)"; exit 77; fi
if [ -n "${VGGSIMD_EMULATED:-}" ]; then echo "SKIP: emulated build"; exit 77; fi
T=$(mktemp -d /tmp/vggsimd-vg-XXXXXX)
trap 'rm -rf "$T"' EXIT
isa=scalar
"$BIN" run "$ROOT/tests/data/img/rgb8.png" --size 32 --arch vgg11 --isa avx2 >/dev/null 2>&1 && isa=avx2
pass=0 fail=0
vg() { # expected-exit ARGS...
  local want=$1
  shift
  # JSIMD_FORCENONE: libjpeg-turbo decodes with its plain C code.  memcheck takes some pixels of its SIMD
  # upsampling and colour conversion for uninitialised (they come from its own work buffers), and the forward
  # pass's input check (max |x|) is the first code to branch on pixel values (libjpeg-turbo issue 619).
  JSIMD_FORCENONE=1 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,possible \
    --suppressions="$ROOT/tests/valgrind.supp" "$BIN" "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" = "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    echo "FAIL (exit $rc, want $want): vggsimd $*"
    head -30 "$T/err"
  fi
}
D=$ROOT/tests/data
common="--size 32 --arch vgg11 --isa $isa"
vg 0 run "$D/formats/progressive.jpg" $common --threads 1 --maps "$T/m" --npy "$T/n"
vg 0 run "$D/formats/interlaced.png" $common --threads 1
vg 0 run "$D/formats/rle.tga" $common --threads 1 --resize crop
vg 0 run "$D/img/large_1200x800.jpg" $common --threads 2
vg 1 run "$D/hostile/bad_jpeg_undefined_table.jpg" $common --threads 1
vg 1 run "$D/hostile/bad_jpeg_dht_overflow.jpg" $common --threads 1
vg 1 run "$D/hostile/bad_tga_rle_19015x1714.tga" $common --threads 1
vg 1 run "$D/hostile/bad_psd_truncated.psd" $common --threads 1
# Many images: the decoder thread, batches, every per-image output, a failed image; and a report page.
vg 1 run "$D/formats/baseline.jpg" "$D/formats/palette.png" "$D/formats/raw.tga" "$D/img/corrupt.png" $common \
  --threads 2 --batch 2 --jsonl "$T/r.jsonl" --features "$T/f" \
  --maps "$T/mm" --report "$T/rep"
vg 0 run "$D/img/rgb8.png" $common --threads 1 --report "$T/rep1"
echo "valgrind ($isa): $pass passed, $fail failed"
[ "$fail" = 0 ]
