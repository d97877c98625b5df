#!/usr/bin/env bash
# The Python scripts.  The weight converters: a torchvision state dict and a
# Keras .h5 made from engine-written weights must convert to files that give
# bit-identical block outputs to the originals; bad inputs are one line.
# plot_bench: a chart from a harness JSON, bad JSON in one line.  Exit 77
# (skipped) without /usr/bin/python3's torch/h5py/matplotlib.
set -u
BIN=${1:?usage: test_converters.sh path/to/vggsimd}
# Under a cross build the binary runs through an emulator (qemu-aarch64).
vgg() { ${VGGSIMD_EXE_WRAPPER:-} "$BIN" "$@"; }
ROOT=${VGGSIMD_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
PY=/usr/bin/python3
if [ -n "${VGGSIMD_EMULATED:-}${VGGSIMD_SANITIZED:-}" ]; then
  # The scripts are Python, the same on every machine; the engine's loading of what they write is the
  # safetensors test's and fuzzer's, which run here.
  echo "SKIP: the Python converters under emulation or the sanitizers (checked by the native build)"
  exit 77
fi
if ! $PY -c "import torch, h5py, numpy, matplotlib" 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 lacks torch/h5py/numpy/matplotlib (scripts/setup.sh python installs them)"
  exit 77
fi
T=$(mktemp -d /tmp/vggsimd-conv-XXXXXX)
trap 'rm -rf "$T"' EXIT
IMG=$ROOT/tests/data/img/rgb8.png
set -e
vgg init --arch vgg11 --top --seed 21 -o "$T/t.safetensors" >/dev/null
vgg init --arch vgg11 --top --seed 21 --naming keras -o "$T/k.safetensors" >/dev/null
$PY - "$ROOT/scripts" "$T" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import h5py, numpy as np, torch, safetensors_io
t = sys.argv[2]
sd = {k: torch.from_numpy(v.copy()) for k, v in safetensors_io.read(t + "/t.safetensors").items()}
torch.save(sd, t + "/t.pth")
k = safetensors_io.read(t + "/k.safetensors")
layers = sorted({n.split("/")[0] for n in k}, key=lambda n: list(k).index(n + "/kernel"))
with h5py.File(t + "/k.h5", "w") as f:  # the layout of Keras 2 save_weights
    f.attrs["layer_names"] = [b"input_1"] + [l.encode() for l in layers]
    f.create_group("input_1").attrs["weight_names"] = []
    for l in layers:
        g = f.create_group(l)
        g.attrs["weight_names"] = [(l + "/kernel:0").encode(), (l + "/bias:0").encode()]
        g.create_dataset(l + "/kernel:0", data=k[l + "/kernel"])
        g.create_dataset(l + "/bias:0", data=k[l + "/bias"])
PY
$PY "$ROOT/scripts/convert_torchvision.py" "$T/t.pth" "$T/t2.safetensors" >/dev/null
$PY "$ROOT/scripts/convert_keras.py" "$T/k.h5" "$T/k2.safetensors" >/dev/null
for f in t t2 k k2; do
  vgg run "$IMG" --arch vgg11 --weights "$T/$f.safetensors" --preproc caffe --resize direct --npy "$T/out-$f" >/dev/null
done
pass=0 fail=0
for b in 1 2 3 4 5; do
  for pair in "t t2" "k k2" "t k"; do
    set -- $pair
    if cmp -s "$T/out-$1/block$b.npy" "$T/out-$2/block$b.npy"; then pass=$((pass + 1)); else
      fail=$((fail + 1)); echo "FAIL: block$b differs between $1 and $2"; fi
  done
done
# A converted torchvision file (trained weights for all the file says) takes torchvision's input by default; a
# converted Keras file Keras' input.
vgg run "$IMG" --arch vgg11 --weights "$T/t2.safetensors" --size 64 >"$T/hdr" 2>&1
if grep -q "(resize torchvision), torch preprocessing" "$T/hdr"; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL: torchvision weights' defaults: $(head -1 "$T/hdr")"; fi
vgg run "$IMG" --arch vgg11 --weights "$T/k2.safetensors" --size 64 >"$T/hdr" 2>&1
if grep -q "(resize keras), caffe preprocessing" "$T/hdr"; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL: Keras weights' defaults: $(head -1 "$T/hdr")"; fi
# Bad inputs: one line on stderr, exit 1, no output file. A .pth is a pickle, and a pickle can run code as it
# loads: one that would create a file when unpickled is refused and the file never appears.
set +e
$PY - "$T/evil.pth" "$T/ran" <<'PY'
import os, sys, torch
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
torch.save({"features.0.weight": Evil()}, sys.argv[1])
PY
printf 'not weights' >"$T/junk"
for c in "convert_torchvision.py $T/evil.pth" "convert_torchvision.py $T/junk" "convert_torchvision.py $T/missing.pth" \
         "convert_torchvision.py $T" "convert_keras.py $T/junk" "convert_keras.py $T/missing.h5" "convert_keras.py $T/t.pth"; do
  set -- $c
  $PY "$ROOT/scripts/$1" "$2" "$T/bad.safetensors" >/dev/null 2>"$T/err"
  rc=$?
  if [ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "^$1: " "$T/err" && [ ! -e "$T/bad.safetensors" ] &&
     [ ! -e "$T/ran" ] && [ -z "$(ls -A "$T" | grep '^\.tmp')" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $c: want exit 1, one line, no output, nothing run (exit $rc): $(cat "$T/err")"; fi
done
# An output named by a link to nothing is refused (as cp refuses it): the link stays, nothing is created.
ln -s "$T/nowhere/out.safetensors" "$T/dangling.safetensors"
$PY "$ROOT/scripts/convert_torchvision.py" "$T/t.pth" "$T/dangling.safetensors" >/dev/null 2>"$T/err"
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "link to a missing file" "$T/err" && [ -L "$T/dangling.safetensors" ] &&
   [ ! -e "$T/nowhere" ]; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL: output through a dangling link: want exit 1, one line, the link kept (exit $rc): $(cat "$T/err")"; fi
# plot_bench: one block row of a harness JSON gives blocks.png (a PNG); JSON that is not the harness's, one line.
cat >"$T/bench.json" <<'JSON'
{"context": {"vggsimd_cpu": "test cpu  ", "date": "2026-01-01T00:00:00"},
 "benchmarks": [{"name": "block/avx512/auto/block5/threads:1/manual_time", "run_type": "iteration",
                 "real_time": 12.5, "time_unit": "ms"}]}
JSON
if $PY "$ROOT/scripts/plot_bench.py" "$T/bench.json" -o "$T/charts" >/dev/null 2>"$T/err" &&
   [ "$(head -c 4 "$T/charts/blocks.png" | od -An -c | tr -d ' ')" = '211PNG' ] && [ "$(ls -A "$T/charts")" = blocks.png ]; then
  pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: plot_bench on one block row: $(cat "$T/err")"; fi
printf '{"benchmarks": [{"name": 5}]}' >"$T/b1.json"
printf '[]' >"$T/b2.json"
for j in b1.json b2.json junk missing.json; do
  $PY "$ROOT/scripts/plot_bench.py" "$T/$j" -o "$T/c2" >/dev/null 2>"$T/err"
  rc=$?
  if [ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "^plot_bench: .*not a benchmark JSON" "$T/err"; then
    pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: plot_bench $j: want exit 1, one line (exit $rc): $(cat "$T/err")"; fi
done
echo "converters: $pass passed, $fail failed"
[ $fail = 0 ]
