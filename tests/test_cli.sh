#!/usr/bin/env bash
# CLI behaviour: exit codes, one-line error messages, no partial output files.
# usage: test_cli.sh path/to/vggsimd
set -u
BIN=${1:?usage: test_cli.sh path/to/vggsimd}
ROOT=${VGGSIMD_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
IMG=$ROOT/tests/data/img
T=$(mktemp -d /tmp/vggsimd-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/lib.sh"

# Usage errors: exit 2.
expect 2 "unknown command" -- bogus
expect 2 "not one of: vgg11, vgg13, vgg16, vgg19" -- summary --arch vgg99
expect 2 "needs H and W >= 32" -- summary --size 31
expect 2 "is not a whole number" -- summary --size abc
expect 2 "7x7" -- summary --top --size 300
expect 2 "the classifier needs 7x7" -- run "$IMG/rgb8.png" --top --size 32
expect 2 "unknown option '--bogus'" -- summary --bogus
expect 2 "unknown option '-x'" -- summary -x
expect 2 "needs a value" -- summary --arch
expect 2 "takes no value" -- summary --top=1
expect 2 "unexpected argument" -- summary extra
expect 2 "missing -o FILE" -- init
expect 2 "non-negative whole number" -- init --seed -3 -o "$T/w.safetensors"
expect 2 "not one of: torch, keras" -- init --naming onnx -o "$T/w.safetensors"
expect 2 "--top5 needs the classifier" -- run "$IMG/rgb8.png" --top5
# Grad-CAM: each bad request one line; then the map and its overlay, of the class asked for by name.
expect 2 "--gradcam needs the classifier" -- run "$IMG/rgb8.png" --gradcam --maps "$T/gc"
expect 2 "into --maps DIR" -- run "$IMG/rgb8.png" --top --gradcam
expect 2 "not a class index from 0 to 999" -- run "$IMG/rgb8.png" --top --gradcam --maps "$T/gc" --gradcam-class 1000
expect 2 "not a class index from 0 to 999" -- run "$IMG/rgb8.png" --top --gradcam --maps "$T/gc" --gradcam-class tabbby
expect 2 "is not a conv layer of vgg11" -- run "$IMG/rgb8.png" --arch vgg11 --top --gradcam --maps "$T/gc" --gradcam-layer block5_pool
expect 2 "applies to --gradcam" -- run "$IMG/rgb8.png" --top --maps "$T/gc" --gradcam-layer block5_conv1
expect 2 "f32 or bf16, not int8" -- run "$IMG/rgb8.png" --top --gradcam --maps "$T/gc" --precision int8
expect 0 "class 282 (tiger cat)" -- run "$IMG/rgb8.png" --arch vgg11 --top --gradcam --maps "$T/gc" --gradcam-class Tiger_Cat --gradcam-layer block4_conv2
[ -s "$T/gc/gradcam-282.png" ] && [ -s "$T/gc/gradcam-282.npy" ] && ok || bad "run --gradcam: no gradcam-282.png/.npy"
/usr/bin/python3 -c "import numpy as n, sys; a = n.load(sys.argv[1]); assert a.shape == (224, 224) and a.dtype == n.float32 and a.min() >= 0 and 0.5 < a.max() <= 1, (a.shape, a.min(), a.max())" "$T/gc/gradcam-282.npy" 2>"$T/err" && ok || bad "gradcam-282.npy: $(cat "$T/err")"
# Every layer's maps (--layer NAME|all): a conv layer after its ReLU, the pools, as PNG grids and arrays; the
# pools equal the block outputs of a plain run bit for bit; one layer equals the same layer from `all`.
expect 2 "is not one of: block1_pool .. block5_pool, a conv layer" -- run "$IMG/rgb8.png" --layer block3_conv9 --npy "$T/ly"
expect 2 "add one of them" -- run "$IMG/rgb8.png" --layer block3_conv1
expect 2 "f32 or bf16, not int8" -- run "$IMG/rgb8.png" --layer all --npy "$T/ly" --precision int8
expect 2 "fc1, fc2, predictions: with the classifier" -- run "$IMG/rgb8.png" --layer fc1 --npy "$T/ly"
expect 2 "one at a time" -- run "$IMG/rgb8.png" --top --gradcam --layer all --maps "$T/ly"
[ ! -e "$T/ly" ] && ok || bad "a refused --layer run made its directory"
mkdir "$T/ly"
expect 0 "block5_pool.npy" -- run "$IMG/rgb8.png" --size 32 --layer all --maps "$T/ly/m" --npy "$T/ly/n"
expect 0 "block3_conv3.npy" -- run "$IMG/rgb8.png" --size 32 --layer block3_conv3 --npy "$T/ly/one"
expect 0 "block5.npy" -- run "$IMG/rgb8.png" --size 32 --npy "$T/ly/plain"
/usr/bin/python3 - "$T/ly" <<'PY' 2>"$T/err" && ok || bad "--layer outputs: $(cat "$T/err")"
import os, sys
import numpy as np
d = sys.argv[1]
convs = ["block%d_conv%d" % (b, k) for b, n in zip(range(1, 6), (2, 2, 3, 3, 3)) for k in range(1, n + 1)]
names = convs + ["block%d_pool" % b for b in range(1, 6)]
assert sorted(os.listdir(d + "/m")) == sorted(n + ".png" for n in names), sorted(os.listdir(d + "/m"))
assert sorted(os.listdir(d + "/n")) == sorted(n + ".npy" for n in names), sorted(os.listdir(d + "/n"))
for b, c in zip(range(1, 6), (64, 128, 256, 512, 512)):
    a, p = np.load("%s/n/block%d_pool.npy" % (d, b)), np.load("%s/plain/block%d.npy" % (d, b))
    assert a.shape == (1, 32 >> b, 32 >> b, c) and np.array_equal(a, p), b
    a = np.load("%s/n/block%d_conv1.npy" % (d, b))
    assert a.shape == (1, 64 >> b, 64 >> b, c) and a.min() >= 0, (b, a.shape)  # after its ReLU, before the pool
assert np.array_equal(np.load(d + "/one/block3_conv3.npy"), np.load(d + "/n/block3_conv3.npy"))
assert os.listdir(d + "/one") == ["block3_conv3.npy"]
PY
expect 2 "not one of: auto, scalar" -- run "$IMG/rgb8.png" --isa avx9
expect 2 "is not a whole number from 1 to 1024" -- run "$IMG/rgb8.png" --threads 0
expect 2 "not one of: direct, crop" -- run "$IMG/rgb8.png" --resize squash
expect 2 "not one of: caffe, torch" -- run "$IMG/rgb8.png" --preproc tf
VGGSIMD_ISA=bogus expect 2 "VGGSIMD_ISA 'bogus'" -- run "$IMG/rgb8.png"
VGGSIMD_THREADS=-1 expect 2 "VGGSIMD_THREADS '-1'" -- run "$IMG/rgb8.png"
vgg >/dev/null 2>&1; [ $? = 2 ] && ok || bad "no arguments should exit 2"

# Runtime errors: exit 1, nothing left behind.
expect 1 "cannot open" -- run "$T/missing.png"
expect 1 "cannot decode" -- run "$IMG/corrupt.png" --maps "$T/m1" --npy "$T/n1"
[ ! -e "$T/m1" ] && [ ! -e "$T/n1" ] && ok || bad "failed run left output directories behind"
# Every kernel name `vggsimd cpu` prints is a symbol of the binary.
if command -v nm >/dev/null; then
  names=$(vgg cpu | awk '/^kernels at/ {k = 1; next} /^[a-z]/ {k = 0} k && NF == 2 {print $2}' | sort -u)
  [ -n "$names" ] && ok || bad "vggsimd cpu printed no kernel names"
  for n in $names; do nm "$BIN" | grep -qE " $n\$" && ok || bad "kernel name $n is not a symbol of $BIN"; done
fi

# Hostile files: one line, exit 1, no output; the legitimate extremes run.
for f in "$ROOT"/tests/data/hostile/*; do
  name=$(basename "$f")
  case "$name" in
    ok_*) expect 0 "conv base" -- run "$f" --size 32 --resize crop --threads 1 ;;
    big_*) expect 1 "too large" -- run "$f" --maps "$T/mh" --npy "$T/nh" ;;
    *) expect 1 "$name" -- run "$f" --maps "$T/mh" --npy "$T/nh" ;;
  esac
  [ ! -e "$T/mh" ] && [ ! -e "$T/nh" ] || bad "run $name left output directories behind"
done
# A picture 2^24 pixels long (the resizer's float positions gave out there: an abort), made here, each mode.
/usr/bin/python3 - "$T/tall.png" <<'PY'
import struct, sys, zlib
def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)
n = 1 << 24
with open(sys.argv[1], "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, n, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\x00\x80" * n, 9)) + chunk(b"IEND", b""))
PY
if [ -n "${VGGSIMD_EMULATED:-}" ]; then
  echo "SKIP: the 1 x 16,777,216 PNG under emulation (minutes a mode; the image test's resize_limits covers 2^24 there)"
else
  for mode in direct crop torchvision keras; do expect 0 "conv base" -- run "$T/tall.png" --size 32 --resize $mode --threads 1; done
fi
# --quiet (and -q) only quiets: one image keeps the one-image layout and output.
for q in --quiet -q; do
  expect 0 "block5  [1, 1, 1, 512]" -- run "$IMG/rgb8.png" --size 32 --threads 1 --npy "$T/q$q" $q
  [ -f "$T/q$q/block1.npy" ] && ok || bad "run one image $q: no $T/q$q/block1.npy (the many-image layout?)"
done
expect 2 "unknown option '-q'" -- summary -q
# A JPEG with EXIF orientation 6 runs turned upright unless --no-exif: the two inputs differ.
expect 0 "conv base" -- run "$ROOT/tests/data/formats/exif6.jpg" --size 32 --threads 1 --npy "$T/ex1"
expect 0 "conv base" -- run "$ROOT/tests/data/formats/exif6.jpg" --size 32 --threads 1 --npy "$T/ex0" --no-exif
! cmp -s "$T/ex1/block1.npy" "$T/ex0/block1.npy" && ok || bad "--no-exif gave the same input as the EXIF-turned one"
expect 2 "--max-pixels '0' is not a whole number" -- run "$IMG/rgb8.png" --max-pixels 0
expect 1 "too large (at most 1000 pixels" -- run "$IMG/rgb8.png" --max-pixels 1000
expect 1 "empty file" -- run "$IMG/empty.png"
expect 1 "not an image" -- run "$IMG/notimage.txt"
# Standard output that cannot be written (a full disk, a closed descriptor): one line and exit 1, not 0.
if [ -w /dev/full ]; then
  for args in "summary" "cpu" "--version" "run $IMG/rgb8.png --size 32"; do
    vgg $args >/dev/full 2>"$T/err"
    rc=$?
    [ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "standard output: write failed: No space left on device" "$T/err" \
      && ok || bad "vggsimd $args >/dev/full -> exit $rc: $(cat "$T/err")"
  done
else echo "SKIP: no writable /dev/full: the full-disk stdout checks did not run"; fi
vgg summary >&- 2>"$T/err"
[ $? = 1 ] && grep -q "standard output: write failed" "$T/err" && ok || bad "summary to a closed stdout: $(cat "$T/err")"
printf 'P1\n2 2\n0 1 1 0\n' > "$T/a.pbm"; printf 'P3 1 1 255 1 2 3\n' > "$T/a.ppm"; printf 'P1x\n%020d\n' 0 > "$T/p1.txt"
expect 1 "a.pbm: PBM and plain-text PNM (P1-P4) images are not supported" -- run "$T/a.pbm"
expect 1 "a.ppm: PBM and plain-text PNM (P1-P4) images are not supported" -- run "$T/a.ppm"
expect 1 "p1.txt: not an image" -- run "$T/p1.txt"
expect 1 "too large" -- run "$IMG/big.png"
expect 1 "float32" -- run "$IMG/bad_f8.npy"
expect 1 "cannot write" -- init -o "$T/no/such/dir/w.safetensors"
expect 1 "not a directory" -- run "$IMG/rgb8.png" --maps /etc/hostname
expect 1 "cannot open" -- run "$IMG/rgb8.png" --weights "$T/nothing.safetensors"
expect 1 "not a safetensors file" -- run "$IMG/rgb8.png" --weights "$IMG/notimage.txt"
ls "$T" | grep -q tmp && bad "temporary files left in $T" || ok

# A failure part-way through (block3.png cannot be written) removes what was written.
mkdir -p "$T/part/block3.png"
expect 1 "block3.png" -- run "$IMG/rgb8.png" --maps "$T/part" --size 64
[ "$(ls "$T/part")" = "block3.png" ] && ok || bad "partial maps left: $(ls "$T/part")"

# Working paths.
expect 0 "Total params: 14,714,688" -- summary
expect 0 "Total params: 138,357,544" -- summary --top
expect 0 "Total params: 143,667,240" -- summary --arch vgg19 --top
expect 0 "block5_pool (MaxPooling2D)   (None, 1, 1, 512)" -- summary --size 32
expect 0 "usable" -- cpu
expect 0 "block1  [1, 32, 32, 64]" -- run "$IMG/rgb8.png" --size 64 --maps "$T/maps" --npy "$T/npy"
[ "$(ls "$T/maps" | wc -l)" = 5 ] && [ "$(ls "$T/npy" | wc -l)" = 5 ] && ok || bad "expected 5 PNGs and 5 .npy files"
expect 0 "block1  [1, 20, 18, 64]" -- run "$IMG/nhwc.npy"
expect 0 "block5  [1, 1, 1, 512]" -- run "$IMG/rgb8.png" --size 32 --resize crop --preproc torch --threads 1
expect 0 "keras naming" -- init --arch vgg11 --naming keras --seed 4 -o "$T/k.safetensors"
expect 0 "keras naming" -- init --arch vgg13 --naming keras -o "$T/k13.safetensors"
expect 0 "Keras naming" -- run "$IMG/rgb8.png" --arch vgg11 --weights "$T/k.safetensors" --size 48
expect 0 "caffe preprocessing" -- run "$IMG/rgb8.png" --arch vgg11 --weights "$T/k.safetensors" --size 48
expect 2 "holds no classifier" -- run "$IMG/rgb8.png" --arch vgg11 --weights "$T/k.safetensors" --top
expect 2 "cannot be used with --weights" -- run "$IMG/rgb8.png" --weights "$T/k.safetensors" --seed 3
expect 1 "missing tensor 'block1_conv2/kernel' of vgg13; the file holds vgg11's tensors: use --arch vgg11" -- run "$IMG/rgb8.png" --arch vgg13 --weights "$T/k.safetensors"
expect 1 "unexpected tensor 'block1_conv2/kernel' for vgg11 (conv base); the file holds vgg13's tensors: use --arch vgg13" -- run "$IMG/rgb8.png" --arch vgg11 --weights "$T/k13.safetensors"
# The classifier from a file: --top5 implies --top and prints five labelled classes; vggsimd init's weights
# are known for untrained (the file says so): the top-5 says it, and the defaults are those of --seed (Keras'
# resize and caffe preprocessing), not those of trained torchvision weights, so the two give the same bits.
expect 0 "with classifier" -- init --arch vgg11 --top --seed 9 -o "$T/full.safetensors"
expect 0 "top-5 (untrained weights: Glorot-uniform from seed 9; these classes mean nothing)" -- \
  run "$IMG/rgb8.png" --arch vgg11 --weights "$T/full.safetensors" --top5
[ "$(grep -cE '^  [1-5]\. .+ \(class [0-9]+, logit' "$T/out")" = 5 ] && ok || bad "top-5 should list 5 classes"
grep -q "(resize keras), caffe preprocessing" "$T/out" && ok || bad "init's weights should take the --seed defaults"
vgg run "$IMG/rgb8.jpg" --arch vgg11 --weights "$T/full.safetensors" --size 48 --npy "$T/s9f" >/dev/null 2>&1
vgg run "$IMG/rgb8.jpg" --arch vgg11 --seed 9 --size 48 --npy "$T/s9s" >/dev/null 2>&1
cmp -s "$T/s9f/block5.npy" "$T/s9s/block5.npy" && ok || bad "init --seed 9 then --weights differs from --seed 9"
expect 0 "top-5 (untrained weights: Glorot-uniform from seed 3; these classes mean nothing)" -- \
  run "$IMG/rgb8.png" --arch vgg11 --top --seed 3 --top5 --threads 1
expect 2 "7x7" -- run "$IMG/rgb8.png" --arch vgg11 --weights "$T/full.safetensors" --size 64 --top
# Without --top (or --top5, or a classifier --layer) a full file runs its conv base, at any size.
expect 0 "vgg11 conv base" -- run "$IMG/rgb8.png" --arch vgg11 --weights "$T/full.safetensors" --size 64

# verify, bench, cpu.
if [ -n "${VGGSIMD_EMULATED:-}${VGGSIMD_SANITIZED:-}" ]; then
  # Every level against the reference takes minutes there (208 s under ASan); the unit tests check the same
  # kernels there, the native build runs this command, and the scalar level's verify below runs here.
  echo "SKIP: verify of every level under emulation or the sanitizers (test_kernels/winograd/int8 check them here)"
else
  expect 0 "all passed: 0 failing rows" -- verify --reduced
  grep -q FAIL "$T/out" && bad "verify printed a FAIL row" || ok
  for l in scalar avx2 avx512 neon; do
    if vgg cpu | grep -q "$l(usable)"; then
      grep -qE "^conv3x3 +$l " "$T/out" && ok || bad "verify has no conv3x3 rows for usable level $l"
    fi
  done
fi
expect 0 "conv3x3     scalar" -- verify --isa scalar --reduced
expect 2 "not one of: auto, scalar" -- verify --isa sse9
expect 0 "in use:    scalar (requested)" -- cpu --isa scalar
# The plan `cpu` shows is the plan `run` makes: int8 rows with --precision int8, the same refusal for bf16 direct.
expect 0 "--precision int8" -- cpu --isa scalar --precision int8
grep -qE '^  block5_conv3 +conv +direct +int8 ' "$T/out" && ok || bad "cpu --precision int8 shows no int8 conv step"
expect 1 "bf16 has Winograd F(2x2) and F(4x4) kernels only" -- cpu --precision bf16 --algo direct
expect 1 "bf16 has Winograd F(2x2) and F(4x4) kernels only" -- run "$IMG/rgb8.png" --precision bf16 --algo wino6
expect 2 "not one of: f32, int8, bf16" -- cpu --precision fp16
expect 0 "conv base" -- bench --isa scalar --threads 1 --reps 1 --size 32
expect 0 '"level":"scalar"' -- bench --isa scalar --threads 2 --reps 1 --size 32 --json
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["runs"][0]["layers"]) == 18' "$T/out" \
  && ok || bad "bench --json is not the expected JSON"
expect 2 "is not a whole number from 1 to 100000" -- bench --reps 0

# int8: calibration, ranges files (every malformed one a one-line error, exit 1), runs.
expect 2 "not one of: f32, int8" -- run "$IMG/rgb8.png" --precision fp16
expect 2 "--ranges applies to --precision int8" -- run "$IMG/rgb8.png" --ranges "$T/r.txt"
expect 2 "-o FILE is required" -- calibrate "$IMG/rgb8.png"
# Small inputs: under emulation (the aarch64 cross build) every network run is slow, bf16 there on the reference.
expect 0 "wrote $T/r.txt" -- calibrate "$IMG/rgb8.png" "$IMG/rgb8.jpg" -o "$T/r.txt" --threads 2 --size 48
[ "$(grep -c '^block[1-5]_conv[1-3] ' "$T/r.txt")" = 13 ] && ok || bad "ranges file lacks the 13 conv layers: $(cat "$T/r.txt")"
expect 0 "/int8" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/r.txt" --threads 2 --size 48
# A ranges file records the weights it was measured with: other weights are refused in one line; the same
# weights from a file (init --seed 0, the default seed) are taken; a full file calibrates its conv base.
grep -qE '^weights [0-9a-f]{16}$' "$T/r.txt" && ok || bad "ranges file lacks the weights' fingerprint"
expect 1 "ranges measured with other weights" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/r.txt" --seed 1 --size 48
vgg init --seed 0 --top -o "$T/s0.safetensors" >/dev/null
expect 0 "/int8" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/r.txt" --weights "$T/s0.safetensors" --size 48
expect 0 "wrote $T/r0.txt" -- calibrate "$IMG/rgb8.png" -o "$T/r0.txt" --weights "$T/s0.safetensors" --size 48
expect 0 "block5" -- run "$IMG/rgb8.png" --precision int8 --threads 2 --size 48
grep -q "calibrating on the bundled photo" "$T/err" && ok || bad "int8 without --ranges does not say it calibrates"
expect 0 "conv base" -- bench --isa scalar --threads 1 --reps 1 --size 32 --precision int8
body=$(grep -v '^#' "$T/r.txt" | grep -v '^weights ' | grep -v '^images ' | tail -n +2)  # the conv lines
rng() { printf '%s\n' "$@" >"$T/bad.txt"; }
# The file says how many images it was measured on: from 8 the channel units take the finer exponent (other
# bits), below 8 or unsaid the same bits.
grep -qx 'images 2' "$T/r.txt" && ok || bad "ranges file lacks 'images 2': $(head -4 "$T/r.txt")"
for n in 7 "" 8; do
  rng "vggsimd-ranges 2 vgg16" ${n:+"images $n"} "$body"
  expect 0 "block5" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32 --npy "$T/img$n"
done
cmp -s "$T/img7/block5.npy" "$T/img/block5.npy" && ok || bad "'images 7' gives other bits than no count"
cmp -s "$T/img7/block5.npy" "$T/img8/block5.npy" && bad "'images 8' gives the bits of 'images 7'" || ok
for v in 0 -3 x 1.5 +4 99999999999; do
  rng "vggsimd-ranges 2 vgg16" "images $v" "$body"
  expect 1 "'images' needs a whole number from 1" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
done
for v in -000000000000001 +000000000000001 0x00000000000001 0000000000000000; do # digits only, 16 of them, not 0
  rng "vggsimd-ranges 2 vgg16" "weights $v" "$body"
  expect 1 "'weights' needs a 16-digit hexadecimal" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
done
rng "vggsimd-ranges 2 vgg16" "$(echo "$body" | head -12)"
expect 1 "no range for block5_conv3" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
rng "vggsimd-ranges 2 vgg19" "$body"
expect 1 "ranges of vgg19, the model is vgg16" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
rng "vggsimd-ranges 3 vgg16" "$body"
expect 1 "not a ranges file" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
rng "vggsimd-ranges 2 vgg16" "$body" "block1_conv1 3"
expect 1 "layer listed twice" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
rng "vggsimd-ranges 2 vgg16" "$body" "block6_conv1 3"
expect 1 "not a conv layer of the model" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
for v in nan -1 inf 1e99 3x ""; do
  rng "vggsimd-ranges 2 vgg16" "$(echo "$body" | sed "s/^block3_conv2 .*/block3_conv2 $v/")"
  expect 1 "$T/bad.txt:" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
  rng "vggsimd-ranges 2 vgg16" "$(echo "$body" | sed "s/^\(block3_conv2 [^ ]* [^ ]*\) [^ ]*/\1 $v/")" # a channel's value
  expect 1 "$T/bad.txt:" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
done
for v in 1e99 1e-45; do
  rng "vggsimd-ranges 2 vgg16" "$(echo "$body" | sed "s/^block3_conv2 .*/block3_conv2 $v/")"
  expect 1 "outside float32's range" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
done
# Channel values: none or all of a layer's, and only in a version 2 file; a version 1 file (one value per layer)
# is taken, with one unit per layer.
rng "vggsimd-ranges 2 vgg16" "$(echo "$body" | sed "s/^\(block3_conv2 [^ ]* [^ ]*\) [^ ]*/\1/")"
expect 1 "none or all of its channels" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
rng "vggsimd-ranges 1 vgg16" "$body"
expect 1 "channel values need version 2" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
rng "vggsimd-ranges 1 vgg16" "$(echo "$body" | cut -d' ' -f1-2)"
expect 0 "/int8" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
awk '$1 == "block3_conv2" {exit !(NF == 258)}' "$T/r.txt" && ok ||
  bad "calibrate writes no 256 channel values for block3_conv2"
printf 'vggsimd-ranges 1 vgg16\n\0\n' >"$T/bad.txt"
expect 1 "binary data" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
: >"$T/bad.txt"
expect 1 "empty file" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/bad.txt" --size 32
expect 1 "is a directory" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T" --size 32
expect 1 "cannot open" -- run "$IMG/rgb8.png" --precision int8 --ranges "$T/missing.txt" --size 32
expect 1 "cannot write" -- calibrate "$IMG/rgb8.png" -o "$T/no/such/dir/r.txt" --size 32
[ -z "$(ls "$T" | grep '\.tmp\.')" ] && ok || bad "a failed write left a temporary file"
# bf16.
expect 0 "wino2+pool/bf16" -- run "$IMG/rgb8.png" --precision bf16 --threads 2 --size 48
expect 0 "wino4/bf16" -- run "$IMG/rgb8.png" --precision bf16 --algo wino4 --size 32
expect 1 "bf16 has Winograd F(2x2) and F(4x4) kernels only" -- run "$IMG/rgb8.png" --precision bf16 --algo direct
expect 0 "conv base" -- bench --isa scalar --threads 1 --reps 1 --size 32 --precision bf16

# A pipe is read once, whole: a picture and a .npy from stdin give the bits of the same file run by name.
for f in rgb8.jpg rgb8.png; do
  vgg run "$IMG/$f" --size 32 --npy "$T/byname" >/dev/null 2>&1
  vgg run /dev/stdin --size 32 --npy "$T/piped" <"$IMG/$f" >/dev/null 2>"$T/err"
  cat "$IMG/$f" | vgg run /dev/stdin --size 32 --npy "$T/piped2" >/dev/null 2>>"$T/err"
  cmp -s "$T/byname/block5.npy" "$T/piped2/block5.npy" && cmp -s "$T/byname/block1.npy" "$T/piped2/block1.npy" && ok ||
    bad "$f through a pipe differs from the file run by name: $(cat "$T/err")"
  rm -rf "$T/byname" "$T/piped" "$T/piped2"
done
# A (32,32,3) float32 .npy of zeros, written by hand: a 118-byte header after the 10-byte preamble.
dict="{'descr': '<f4', 'fortran_order': False, 'shape': (32, 32, 3), }"
{ printf '\x93NUMPY\x01\x00\x76\x00%s%*s\n' "$dict" $((118 - ${#dict} - 1)) ''; head -c 12288 /dev/zero; } >"$T/in.npy"
vgg run "$T/in.npy" --size 32 --npy "$T/byname" >/dev/null 2>"$T/err"
cat "$T/in.npy" | vgg run /dev/stdin --size 32 --npy "$T/piped" >/dev/null 2>>"$T/err"
cmp -s "$T/byname/block5.npy" "$T/piped/block5.npy" && ok || bad ".npy through a pipe differs from the file: $(cat "$T/err")"
head -c 100 "$T/in.npy" | vgg run /dev/stdin --size 32 >/dev/null 2>"$T/err"
[ $? = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && ok || bad "a cut .npy through a pipe: want exit 1, one line: $(cat "$T/err")"

# Outputs named by a link, a pipe or a directory: a link keeps pointing at the file it names (now replaced), a
# pipe is written through and stays a pipe (renaming over it would replace the node: /dev/stdout, /dev/null),
# a directory is refused with one line.
printf old >"$T/real.safetensors"
ln -s real.safetensors "$T/link.safetensors"
vgg init --arch vgg11 --seed 3 -o "$T/link.safetensors" >/dev/null 2>"$T/err"
[ -L "$T/link.safetensors" ] && vgg init --arch vgg11 --seed 3 -o "$T/plain.safetensors" >/dev/null 2>&1 && cmp -s "$T/real.safetensors" "$T/plain.safetensors" &&
  ok || bad "init -o through a link: want the link kept and its file replaced: $(cat "$T/err")"
mkfifo "$T/pipe.safetensors" && {
  timeout 60 cat "$T/pipe.safetensors" >"$T/piped.safetensors" & # bounded: a broken writer never opens the pipe
  vgg init --arch vgg11 --seed 3 -o "$T/pipe.safetensors" >/dev/null 2>"$T/err"
  rc=$?
  wait
  [ $rc = 0 ] && [ -p "$T/pipe.safetensors" ] && cmp -s "$T/piped.safetensors" "$T/plain.safetensors" && ok ||
    bad "init -o a pipe: want the file through it and the pipe kept (exit $rc): $(cat "$T/err")"
  timeout 60 cat "$T/pipe.safetensors" >"$T/piped.jsonl" &
  vgg run "$IMG/rgb8.png" "$IMG/rgb8.jpg" --size 32 --jsonl "$T/pipe.safetensors" >/dev/null 2>"$T/err"
  rc=$?
  wait
  [ $rc = 0 ] && [ -p "$T/pipe.safetensors" ] && [ "$(grep -c '^{"path"' "$T/piped.jsonl")" = 2 ] && ok ||
    bad "run --jsonl a pipe: want two lines through it and the pipe kept (exit $rc): $(cat "$T/err")"
}
# A link to a file not made yet is refused, as cp refuses it: replacing it would lose the link, following it
# would create a file wherever it points.
ln -s "$T/nowhere/x.jsonl" "$T/dangling.jsonl"
expect 1 "a symbolic link to a missing file" -- run "$IMG/rgb8.png" --size 32 --jsonl "$T/dangling.jsonl"
[ -L "$T/dangling.jsonl" ] && [ ! -e "$T/nowhere" ] && ok || bad "a refused dangling link was replaced or followed"
mkdir "$T/adir"
expect 1 "is a directory" -- init --arch vgg11 -o "$T/adir"
expect 1 "is a directory" -- run "$IMG/rgb8.png" --size 32 --jsonl "$T/adir"
[ -z "$(ls -A "$T/adir")" ] && ok || bad "a refused output left files in the directory"

# A device or pipe that is no picture is refused at its first bytes, not after reading 1 GiB of it; a TGA (no
# signature: judged by its header) through a pipe is taken as from the file.
timeout 120 ${VGGSIMD_EXE_WRAPPER:-} "$BIN" run /dev/zero --size 32 >/dev/null 2>"$T/err"
rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -qF "cannot decode image (its first bytes are no" "$T/err" && ok ||
  bad "run /dev/zero: want exit 1, one line (exit $rc): $(cat "$T/err")"
for f in raw.tga rle.tga; do
  vgg run "$ROOT/tests/data/formats/$f" --size 32 --npy "$T/byname" >/dev/null 2>&1
  cat "$ROOT/tests/data/formats/$f" | vgg run /dev/stdin --size 32 --npy "$T/piped" >/dev/null 2>"$T/err"
  cmp -s "$T/byname/block5.npy" "$T/piped/block5.npy" && ok || bad "$f through a pipe differs from the file: $(cat "$T/err")"
  rm -rf "$T/byname" "$T/piped"
done

# Lists that are not lists of paths: refused at the line that shows it, read no further (/dev/zero never ends).
printf '%s\n\0\n' "$IMG/rgb8.png" >"$T/nul.list"
expect 1 "nul.list:2: not a list of paths (a NUL byte)" -- run "@$T/nul.list" --size 32
timeout 120 ${VGGSIMD_EXE_WRAPPER:-} "$BIN" run @/dev/zero --size 32 >/dev/null 2>"$T/err" # bounded: a broken reader never ends
rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -qF "zero:1: not a list of paths" "$T/err" && ok ||
  bad "run @/dev/zero: want exit 1 and one line (exit $rc): $(cat "$T/err")"
head -c 5000 /dev/zero | tr '\0' a >"$T/long.list"
expect 1 "long.list:1: line too long for a path" -- run "@$T/long.list" --size 32
# Control bytes in a message (here a file name from a list) are shown as \xNN: the line stays one line and
# carries nothing a terminal would act on.
printf 'x\033[31my\rz\n' >"$T/esc.list"
vgg run "@$T/esc.list" --size 32 >/dev/null 2>"$T/err"
[ "$(wc -l <"$T/err")" = 1 ] && grep -qF 'x\x1b[31my\x0dz: ' "$T/err" && grep -qF 'cannot open' "$T/err" && ! grep -q "$(printf '\033')" "$T/err" && ok ||
  bad "control bytes in an error message: want them as \\xNN on one line: $(od -c "$T/err" | head -3)"

# Input values that would overflow float32 (3e38, the largest finite values a .npy can carry): refused in one
# line naming the first conv (they used to run to the end, every block a map of zeros); in a folder, only that
# image fails and the others get their outputs.
{ printf '\x93NUMPY\x01\x00\x76\x00%s%*s\n' "$dict" $((118 - ${#dict} - 1)) ''; for _ in $(seq 3072); do printf '\xe6\xb1\x61\x7f'; done; } >"$T/huge.npy"
expect 1 "would overflow float32 in block1_conv1" -- run "$T/huge.npy" --size 32 --npy "$T/nhuge"
[ ! -e "$T/nhuge" ] && ok || bad "run of an overflowing input left $T/nhuge behind"
mkdir -p "$T/mixed" && cp "$T/huge.npy" "$T/mixed/b.npy" && cp "$T/in.npy" "$T/mixed/a.npy" && cp "$T/in.npy" "$T/mixed/c.npy"
vgg run "$T/in.npy" --size 32 --npy "$T/nref" >/dev/null 2>&1
vgg run "$T/mixed" --size 32 --batch 4 --npy "$T/nmixed" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -qF "b.npy: input values up to 3e+38 would overflow" "$T/err" &&
  [ "$(ls "$T/nmixed")" = "$(printf 'a.npy\nc.npy')" ] && cmp -s "$T/nmixed/a.npy/block5.npy" "$T/nref/block5.npy" && ok ||
  bad "a folder with an overflowing .npy: want exit 1, one line for it, the others' outputs (exit $rc): $(cat "$T/err"; ls "$T/nmixed")"

# Weights whose first biases alone pass the float32 bound (3e38): no input is small enough, and the message says
# so (it gave "inputs up to 0" before).
vgg init --seed 2 -o "$T/bb.safetensors" >/dev/null 2>&1
/usr/bin/python3 - "$T/bb.safetensors" "$ROOT/scripts" <<'PY' 2>"$T/err" || bad "making weights with biases of 3e38: $(cat "$T/err")"
import sys
sys.path.insert(0, sys.argv[2])
import numpy as np, safetensors_io as st
w = {k: np.array(v) for k, v in st.read(sys.argv[1]).items()}
w["features.0.bias"][:] = 3e38
st.write(sys.argv[1], w)
PY
for p in f32 bf16; do
  expect 1 "would overflow float32 in block1_conv1 for any input: its biases reach 3e+38" -- run "$T/in.npy" --size 32 --weights "$T/bb.safetensors" --precision $p
done

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
