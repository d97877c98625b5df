#!/usr/bin/env bash
# Keras .h5 weights read directly: every layout Keras writes (the applications' files, save_weights, Model.save,
# float16, variable-length names), VGG11/13/16/19, with and without the classifier, give the same bits as the
# same weights in safetensors; every hostile file is one line and exit 1.  The files are made here with
# python3-h5py (tests/make_h5.py).  Exit 77 (skipped) without h5py or in a build without libhdf5.
# usage: test_h5.sh path/to/vggsimd
set -u
BIN=${1:?usage: test_h5.sh path/to/vggsimd}
ROOT=${VGGSIMD_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
IMG=$ROOT/tests/data/img
PY=/usr/bin/python3
T=$(mktemp -d /tmp/vggsimd-h5-XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/lib.sh"
if ! $PY -c "import h5py, numpy" 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 lacks h5py (scripts/setup.sh python installs it)"
  exit 77
fi
mk() { $PY "$ROOT/tests/make_h5.py" "$@" || bad "make_h5.py $*"; }

skip_without_reader "$ROOT/tests/fuzz/corpus/h5/apps.h5" "HDF5 (built without libhdf5-dev)"
vgg init --arch vgg11 --seed 4 --naming keras -o "$T/v11.safetensors" >/dev/null

# Every layout, on VGG11's conv base.
for layout in apps save_weights model vlen; do
  mk "$T/v11.safetensors" "$T/v11-$layout.h5" $layout
  same_weights "$T/v11.safetensors" "$T/v11-$layout.h5" --arch vgg11 --size 48
done
# float16 datasets: widened exactly, so equal to float32 datasets of the same (rounded) values.
mk "$T/v11.safetensors" "$T/v11-f16.h5" f16
mk "$T/v11.safetensors" "$T/v11-f16r.h5" f16r
same_weights "$T/v11-f16r.h5" "$T/v11-f16.h5" --arch vgg11 --size 48
# VGG13, 16, 19 (conv base), each in the applications' layout; the wrong --arch names the right one.
[ $full = 1 ] || echo "SKIP: VGG13/16/19 and the classifier under emulation or the sanitizers (checked natively)"
for a in $([ $full = 1 ] && echo vgg13 vgg16 vgg19); do
  vgg init --arch $a --seed 5 --naming keras -o "$T/$a.safetensors" >/dev/null
  mk "$T/$a.safetensors" "$T/$a.h5" apps
  same_weights "$T/$a.safetensors" "$T/$a.h5" --arch $a --size 32
done
if [ $full = 1 ]; then
expect 1 "the file holds vgg19's tensors: use --arch vgg19" -- run "$IMG/rgb8.png" --arch vgg16 --weights "$T/vgg19.h5" --size 32
# With the classifier: the top-5 and the probabilities; such a file also serves a conv-base run.
vgg init --arch vgg11 --top --seed 6 --naming keras -o "$T/v11top.safetensors" >/dev/null
mk "$T/v11top.safetensors" "$T/v11top.h5" apps
same_weights "$T/v11top.safetensors" "$T/v11top.h5" --arch vgg11 --top --top5
grep -q "keras" "$T/ob" && ok || bad "an .h5 run does not say it resizes and preprocesses as Keras: $(cat "$T/ob")"
same_weights "$T/v11top.safetensors" "$T/v11top.h5" --arch vgg11 --size 32
# calibrate takes it as run does: the same ranges, the same fingerprint of the weights.
expect 0 "" -- calibrate "$IMG/rgb8.png" --arch vgg11 --weights "$T/v11top.h5" -o "$T/rh5.ranges"
expect 0 "" -- calibrate "$IMG/rgb8.png" --arch vgg11 --weights "$T/v11top.safetensors" -o "$T/rst.ranges"
cmp -s "$T/rh5.ranges" "$T/rst.ranges" && ok || bad "calibrate on the .h5 and the safetensors file differ"
fi

# Hostile files: one line, exit 1, for each.
for how in truncated garbage flipped signature shape name extra three missing integer nonfinite nolayers numbers huge \
           cyclic notvgg; do
  cp "$T/v11.safetensors" "$T/src.safetensors"
  $PY "$ROOT/tests/make_h5.py" "$T/src.safetensors" "$T/bad-$how.h5" save_weights $how 2>"$T/mkerr" ||
    { bad "make_h5.py $how: $(cat "$T/mkerr")"; continue; }
  case $how in
    truncated | garbage | flipped | signature) needle="bad-$how.h5: " ;;
    shape) needle="has shape" ;;
    name) needle="block1_convX" ;;
    extra) needle="unexpected tensor 'extra_dense/kernel'" ;;
    three) needle="has 3 weights; a VGG layer has a kernel and a bias" ;;
    missing) needle="is listed but absent" ;;
    integer) needle="is not floating point" ;;
    nonfinite) needle="non-finite" ;;
    nolayers | numbers) needle="not a Keras weights file" ;;
    huge) needle="larger than any VGG tensor" ;;
    cyclic) needle="is not a dataset" ;;
    notvgg) needle="has shape [5,5,3,64], expected [3,3,3,64]" ;;
  esac
  expect 1 "$needle" -- run "$IMG/rgb8.png" --arch vgg11 --weights "$T/bad-$how.h5" --size 32
  grep -q "HDF5-DIAG\|H5[A-Z]" "$T/err" && bad "$how: the HDF5 library's own messages leaked: $(cat "$T/err")"
done
# A file that is not HDF5 but named .h5 is read as what it is.
printf 'not weights' >"$T/text.h5"
expect 1 "not a safetensors file" -- run "$IMG/rgb8.png" --weights "$T/text.h5" --size 32

echo "h5: $pass passed, $fail failed"
[ "$fail" = 0 ]
