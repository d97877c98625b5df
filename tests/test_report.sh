#!/usr/bin/env bash
# `run --report` and `bench --report`: the pages open in headless Chromium with no console error, every image
# decodes, the five block shapes are in the text, the screenshot is not blank; the checker itself fails on a
# broken page.  SKIP (77) when no browser can be started.
# usage: test_report.sh path/to/vggsimd
set -u
BIN=${1:?usage: test_report.sh path/to/vggsimd}
vgg() { ${VGGSIMD_EXE_WRAPPER:-} "$BIN" "$@"; }
ROOT=${VGGSIMD_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
IMG=$ROOT/tests/data/img
CHECK="/usr/bin/python3 $ROOT/tests/browser_check.py"
T=$(mktemp -d /tmp/vggsimd-report-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# The browser first: without one, say so and skip (never pass).
mkdir -p "$T/probe"
echo '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>x</title></head><body><p>hello</p></body></html>' \
  >"$T/probe/index.html"
$CHECK "$T/probe/index.html" >"$T/probe.log" 2>&1
case $? in
  77) echo "SKIP: $(cat "$T/probe.log")"; exit 77 ;;
  1) grep -q "looks blank" "$T/probe.log" && ok || bad "probe: $(cat "$T/probe.log")" ;;
  *) bad "the browser check passed a blank page: $(cat "$T/probe.log")" ;;
esac

S=64 # small, so the emulated builds stay quick: blocks 32, 16, 8, 4, 2
shapes=()
for s in "32, 32, 64" "16, 16, 128" "8, 8, 256" "4, 4, 512" "2, 2, 512"; do shapes+=(--expect "TensorShape([1, $s])"); done

# One image.
if vgg run "$IMG/rgb8.png" --size $S --threads 2 --report "$T/one" >"$T/out" 2>&1; then ok; else bad "run --report: $(cat "$T/out")"; fi
for f in index.html input.png block1.png block5.png; do [ -s "$T/one/$f" ] && ok || bad "one/$f missing"; done
if $CHECK "$T/one/index.html" "${shapes[@]}" --expect "block5_pool" --expect "Total params" --expect "Plan" \
  >"$T/log" 2>&1; then ok; else bad "one-image page: $(cat "$T/log")"; fi

# With the classifier: the top-5 chart (224 is the classifier's size).
vgg init --arch vgg11 --top --seed 3 -o "$T/top.safetensors" >/dev/null || bad "init"
if vgg run "$IMG/rgb8.jpg" --arch vgg11 --weights "$T/top.safetensors" --top --threads 2 --report "$T/top" >"$T/out" 2>&1
then ok; else bad "run --report with the classifier: $(cat "$T/out")"; fi
# ... and Grad-CAM of the top 3 over the input, and every layer's arithmetic with this model's numbers.
if $CHECK "$T/top/index.html" --expect "Top-5 classes" --expect "TensorShape([1, 7, 7, 512])" \
  --expect "Where the network looked: Grad-CAM" --expect "(224 + 2*1 - 3)/1 + 1 = 224" \
  --expect "3*3*3*64 + 64 = 1,792" --expect "25088*4096 + 4096 = 102,764,544" --expect "(14 - 2)/2 + 1 = 7" \
  --screenshot "$T/top.png" >"$T/log" 2>&1; then ok; else bad "classifier page: $(cat "$T/log")"; fi
n=$(ls "$T/top"/gradcam-*.png 2>/dev/null | wc -l)
[ "$n" = 3 ] && ok || bad "the classifier page has $n Grad-CAM pictures, not 3"
[ -s "$T/top.png" ] && ok || bad "no screenshot written"

# Many images: a page per image, an index with thumbnails; the failed image listed with its error.
# A name with '#', '?' and '%' in it: its links and thumbnail must still point at its own directory.
cp "$IMG/rgb8.png" "$IMG/gray8.png" "$IMG/corrupt.png" "$T/"
cp "$IMG/rgb8.png" "$T/a #1?%41.png"
vgg run "$T/rgb8.png" "$T/gray8.png" "$T/corrupt.png" "$T/a #1?%41.png" --size $S --threads 2 --batch 2 \
  --report "$T/many" >"$T/out" 2>&1
[ $? = 1 ] && ok || bad "many-image report with a bad image should exit 1: $(cat "$T/out")"
grep -q 'href="a%20%231%3F%2541.png/index.html"' "$T/many/index.html" && ok || bad "link to 'a #1?%41.png' not encoded"
if $CHECK "$T/many/index.html" --expect "3 done, 1 failed" --expect "cannot decode" >"$T/log" 2>&1; then ok
else bad "index page: $(cat "$T/log")"; fi
if $CHECK "$T/many/rgb8.png/index.html" "$T/many/gray8.png/index.html" "${shapes[@]}" --expect "All images" \
  --expect "Feature maps of every layer" --expect "block3_conv2" >"$T/log" 2>&1; then ok
else bad "per-image pages: $(cat "$T/log")"; fi
n=$(ls "$T/many/rgb8.png"/block*_conv*.png 2>/dev/null | wc -l)
[ "$n" = 13 ] && ok || bad "a many-image page has $n conv layer maps, not 13"
# With the classifier, each image's page has its top 3's Grad-CAM.
if [ -n "${VGGSIMD_EMULATED:-}${VGGSIMD_SANITIZED:-}" ]; then
  echo "SKIP: a many-image report with the classifier under emulation or the sanitizers (224x224 passes; checked by the native build; the one-image page with the classifier is checked above)"
else
  if vgg run "$IMG/rgb8.jpg" "$IMG/gray8.png" --arch vgg11 --weights "$T/top.safetensors" --top --threads 2 --batch 2 \
    --report "$T/manytop" >"$T/out" 2>&1; then ok; else bad "many-image report with the classifier: $(cat "$T/out")"; fi
  if $CHECK "$T/manytop/rgb8.jpg/index.html" "$T/manytop/gray8.png/index.html" --expect "Top-5 classes" \
    --expect "Where the network looked: Grad-CAM" --expect "3*3*3*64 + 64 = 1,792" >"$T/log" 2>&1; then ok
  else bad "many-image pages with the classifier: $(cat "$T/log")"; fi
  n=$(ls "$T/manytop/gray8.png"/gradcam-*.png 2>/dev/null | wc -l)
  [ "$n" = 3 ] && ok || bad "a many-image page with the classifier has $n Grad-CAM pictures, not 3"
fi
[ ! -e "$T/many/corrupt.png" ] && ok || bad "a failed image has a report directory"

# The benchmark page.
if vgg bench --isa all --algo all --threads 2 --reps 1 --size 32 --report "$T/bench" >"$T/out" 2>&1; then ok
else bad "bench --report: $(cat "$T/out")"; fi
if $CHECK "$T/bench/index.html" --expect "Time per block" --expect "Every layer" --expect "conv base" \
  --expect "scalar, direct, 2 threads" --expect "wino4" --expect "Speedup over the scalar level" \
  >"$T/log" 2>&1; then ok; else bad "bench page: $(cat "$T/log")"; fi

# The checker fails on a page with a missing picture and on one with a script error.
cp -r "$T/one" "$T/broken" && rm "$T/broken/block3.png"
$CHECK "$T/broken/index.html" >"$T/log" 2>&1
[ $? = 1 ] && grep -q "block3.png did not decode" "$T/log" && ok || bad "checker passed a page with a missing image"
sed 's|</body>|<script>console.error("boom"); undefinedCall();</script></body>|' "$T/one/index.html" >"$T/one/bad.html"
$CHECK "$T/one/bad.html" >"$T/log" 2>&1
[ $? = 1 ] && grep -q "console error" "$T/log" && ok || bad "checker passed a page with a script error"

# Errors: one line, exit 1, nothing left behind.
vgg run "$IMG/rgb8.png" --size $S --report /etc/hostname >"$T/out" 2>"$T/err"
[ $? = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "not a directory" "$T/err" && ok || bad "--report to a file"
vgg run "$IMG/corrupt.png" --size $S --report "$T/nothing" >"$T/out" 2>"$T/err"
[ $? = 1 ] && [ ! -e "$T/nothing" ] && ok || bad "a failed run left a report directory"
vgg bench --reps 0 --report "$T/nob" >/dev/null 2>&1
[ $? = 2 ] && [ ! -e "$T/nob" ] && ok || bad "bench usage error made a report directory"
ls -R "$T" | grep -q '\.tmp\.' && bad "temporary files left behind" || ok

echo "report: $pass passed, $fail failed"
[ "$fail" = 0 ]
