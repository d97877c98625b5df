#!/usr/bin/env bash
# ONNX models read directly: torchvision's VGG11/13/16/19 exported by torch.onnx.export (the conv base, and the
# whole VGG11 at opsets 11 and 17), the model zoo's layout, MatMul + Add dense layers, float16 and float_data
# initializers give the same bits as the same weights in safetensors (tests/make_onnx.py makes both, with
# python3-torch and python3-onnx); every hostile model is one line and exit 1.  Exit 77 (skipped) without
# torch/onnx or in a build without ONNX.
# usage: test_onnx.sh path/to/vggsimd
set -u
BIN=${1:?usage: test_onnx.sh path/to/vggsimd}
ROOT=${VGGSIMD_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
IMG=$ROOT/tests/data/img
PY=/usr/bin/python3
T=$(mktemp -d /tmp/vggsimd-onnx-XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/lib.sh"
skip_without_reader "$ROOT/tests/fuzz/corpus/onnx/features.onnx" "ONNX (built without protobuf-c/onnx.proto)"
if ! $PY -c "import torch, torchvision, onnx" 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 lacks torch, torchvision or onnx (scripts/setup.sh python installs them)"
  exit 77
fi
hostile="truncated garbage nested cycle extra sigmoid conv5 strided twoinputs huge deadend shape external"
# Every model of the test, made by one process: NAME=ARCH,OPSET,KIND -> $T/NAME.onnx and $T/NAME.safetensors.
specs="vgg11-features=vgg11,13,features plain=vgg11,13,features f16=vgg11,13,f16 floatdata=vgg11,13,floatdata"
for how in $hostile; do specs="$specs bad-$how=vgg11,13,$how"; done
if [ $full = 1 ]; then
  specs="$specs vgg13-features=vgg13,13,features vgg16-features=vgg16,13,features vgg19-features=vgg19,13,features"
  specs="$specs full11=vgg11,11,full full17=vgg11,17,full zoo=vgg11,13,zoo matmul=vgg11,13,matmul"
fi
$PY "$ROOT/tests/make_onnx.py" "$T" $specs 2>"$T/mkerr" >/dev/null || bad "make_onnx.py: $(grep -v Warning "$T/mkerr" | tail -3)"

# same NAME ARGS...: $T/NAME.onnx gives the bits of $T/NAME.safetensors; both are removed after.
same() {
  local name=$1
  shift
  same_weights "$T/$name.safetensors" "$T/$name.onnx" "$@"
  rm -f "$T/$name.onnx" "$T/$name.safetensors"
}

# The conv base of each architecture (model.features), opset 13.
for a in vgg11 $([ $full = 1 ] && echo vgg13 vgg16 vgg19); do
  [ $a = vgg19 ] && expect 1 "the file holds vgg19's tensors: use --arch vgg19" -- run "$IMG/rgb8.png" --arch vgg16 --weights "$T/vgg19-features.onnx" --size 32
  same $a-features --arch $a --size 48
done
[ $full = 1 ] || echo "SKIP: VGG13/16/19 and the classifier's layouts under emulation or the sanitizers (checked natively)"
if [ $full = 1 ]; then
  # The whole model, as torchvision exports it at three opsets, and as the other writers lay it out.
  for opset in 11 17; do
    same full$opset --arch vgg11 --top --top5
  done
  for kind in zoo matmul; do
    same $kind --arch vgg11 --top --top5
  done
fi
for kind in f16 floatdata; do
  same $kind --arch vgg11 --size 48
done

# Hostile models: one line, exit 1.
for how in $hostile; do
  case $how in
    truncated | garbage) needle="not an ONNX model (the protobuf does not parse" ;;
    nested) needle="nested more than 32 deep" ;;
    cycle | deadend) needle="leads nowhere" ;;
    extra) needle="feeds several nodes" ;;
    sigmoid) needle="(Sigmoid) follows a convolution" ;;
    conv5 | strided) needle="is not a 3x3 convolution with pads 1, strides 1" ;;
    twoinputs) needle="more than one input" ;;
    huge | shape) needle="has a kernel of another shape" ;;
    external) needle="keeps its values in an external file" ;;
  esac
  expect 1 "$needle" -- run "$IMG/rgb8.png" --arch vgg11 --weights "$T/bad-$how.onnx" --size 32
done
# A model whose suffix is not .onnx is recognised by its first bytes; a text file named .onnx is refused.
mv "$T/plain.onnx" "$T/plain.model"
expect 0 "conv base" -- run "$IMG/rgb8.png" --arch vgg11 --weights "$T/plain.model" --size 32
printf 'not a model' >"$T/text.onnx"
expect 1 "not an ONNX model" -- run "$IMG/rgb8.png" --weights "$T/text.onnx" --size 32

echo "onnx: $pass passed, $fail failed"
[ "$fail" = 0 ]
