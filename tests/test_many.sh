#!/usr/bin/env bash
# `vggsimd run` over many images: inputs (paths, directories, @lists), per-image
# outputs equal to one-image runs bit for bit, errors that do not stop the run,
# --skip-existing resuming an interrupted run, the progress line.
# usage: test_many.sh path/to/vggsimd
set -u
BIN=${1:?usage: test_many.sh path/to/vggsimd}
vgg() { ${VGGSIMD_EXE_WRAPPER:-} "$BIN" "$@"; }
ROOT=${VGGSIMD_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
IMG=$ROOT/tests/data/img
PY=/usr/bin/python3
T=$(mktemp -d /tmp/vggsimd-many-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # check DESCRIPTION COMMAND...: passes when the command succeeds
  local what=$1
  shift
  if "$@"; then ok; else bad "$what"; fi
}
run() { vgg run "$@" >"$T/out" 2>"$T/err"; echo $? >"$T/rc"; }
rc() { cat "$T/rc"; }
# The float data of two .npy files (headers may differ in padding only if shapes differ: compared too).
same_npy() { cmp -s "$1" "$2"; }

# A folder: good pictures of several formats, a corrupt one, a text file (not listed: no image extension),
# a .npy of another size (an error for this run's --size).
D=$T/photos
mkdir -p "$D"
cp "$IMG/rgb8.png" "$IMG/rgb8.jpg" "$IMG/rgb8.bmp" "$IMG/gray8.png" "$IMG/rgba16.png" "$IMG/corrupt.png" \
  "$IMG/notimage.txt" "$IMG/hwc.npy" "$D/"
cp "$IMG/rgb8.png" "$D/we\"ird name.png"
# Emulated (qemu) builds run a smaller model so the suite stays quick.
if [ -n "${VGGSIMD_EMULATED:-}" ]; then S=32 ARCH=vgg11; else S=48 ARCH=vgg16; fi
COMMON=(--size $S --arch $ARCH --threads 2)

run "$D" "${COMMON[@]}" --jsonl "$T/a.jsonl" --features "$T/fa" --npy "$T/na"
check "a folder with bad images exits 1 (got $(rc))" [ "$(rc)" = 1 ]
check "one stderr line per bad image: $(cat "$T/err")" [ "$(wc -l <"$T/err")" = 2 ]
check "corrupt.png reported" grep -q "corrupt.png: cannot decode" "$T/err"
check "hwc.npy reported" grep -q "hwc.npy: .npy input is 40x36; this run takes ${S}x${S}" "$T/err"
check "summary line" grep -q "^8 images: 6 done, 2 failed, 0 skipped" "$T/out"
check "notimage.txt not taken from a folder" bash -c "! grep -q notimage '$T/a.jsonl'"
check "no progress line when stderr is not a terminal" bash -c "! grep -q 'images/s' '$T/err'"
$PY - "$T/a.jsonl" $S <<'EOF' && ok || bad "JSONL content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
S = int(sys.argv[2])
want = [[1, S // 2 ** b, S // 2 ** b, c] for b, c in zip(range(1, 6), (64, 128, 256, 512, 512))]
assert len(rows) == 8, len(rows)
paths = [r["path"].rsplit("/", 1)[1] for r in rows]
assert paths == sorted(paths), paths
errs = [r for r in rows if "error" in r]
assert {p["path"].rsplit("/", 1)[1] for p in errs} == {"corrupt.png", "hwc.npy"}, errs
for r in rows:
    if "error" in r: continue
    assert r["blocks"] == want, (r, want)
    assert len(r["input"]) == 2 and min(r["input"]) > 0 and r["ms"] > 0 and "top5" not in r
assert any(r["path"].endswith('we"ird name.png') for r in rows)
EOF
# Every image's features and block dumps equal a one-image run's, bit for bit.
for f in rgb8.png rgb8.jpg rgb8.bmp gray8.png rgba16.png; do
  vgg run "$D/$f" "${COMMON[@]}" --npy "$T/one_$f" >/dev/null 2>&1 || bad "one-image run of $f failed"
  check "$f: features = one-image block5" same_npy "$T/fa/$f.npy" "$T/one_$f/block5.npy"
  for b in 1 3 5; do check "$f: block$b dump = one-image" same_npy "$T/na/$f/block$b.npy" "$T/one_$f/block$b.npy"; done
done
check "no features for failed images" bash -c "[ ! -e '$T/fa/corrupt.png.npy' ] && [ ! -e '$T/na/corrupt.png' ]"

# Batches give the same bits as images one by one; a @list keeps its order, skips comments, reports a missing file.
printf '# photos\n%s\n\n%s\n  %s  \n%s\n' "$D/rgb8.jpg" "$T/missing.png" "$D/rgb8.png" "$D/gray8.png" >"$T/list.txt"
run "@$T/list.txt" "${COMMON[@]}" --batch 3 --features "$T/fb"
check "list with a missing file exits 1" [ "$(rc)" = 1 ]
check "missing file reported" grep -q "missing.png" "$T/err"
check "list order kept" bash -c "grep -o '[a-z0-9]*\.\(jpg\|png\)  ' '$T/out' | tr -d ' ' | tr '\n' , | grep -qx 'rgb8.jpg,rgb8.png,gray8.png,'"
for f in rgb8.jpg rgb8.png gray8.png; do check "batch 3: $f features = batch 1" same_npy "$T/fb/$f.npy" "$T/fa/$f.npy"; done
run "$D/rgb8.png" "$D/rgb8.jpg" "$D/gray8.png" "$D/rgba16.png" "$D/rgb8.bmp" "${COMMON[@]}" --batch 2 --features "$T/fc" --threads 1
check "five paths, batch 2, one thread" [ "$(rc)" = 0 ]
for f in rgb8.png rgb8.jpg gray8.png rgba16.png rgb8.bmp; do
  check "batch 2, 1 thread: $f" same_npy "$T/fc/$f.npy" "$T/fa/$f.npy"
done

# Lanes (images side by side, each on its share of the threads) give the same bits.
run "$D/rgb8.png" "$D/rgb8.jpg" "$D/gray8.png" "$D/rgba16.png" "$D/rgb8.bmp" --size $S --arch $ARCH --threads 2 \
  --lanes 2 --batch 2 --features "$T/fl"
check "lanes 2, batch 2: $(cat "$T/err")" [ "$(rc)" = 0 ]
check "lanes in the header" grep -q "1 thread per image, 2 images side by side" "$T/out"
for f in rgb8.png rgb8.jpg gray8.png rgba16.png rgb8.bmp; do check "lanes 2: $f" same_npy "$T/fl/$f.npy" "$T/fa/$f.npy"; done

# --skip-existing: a finished run is not redone; an interrupted one (a .part JSONL, a missing feature) resumes.
cp "$T/a.jsonl" "$T/a0.jsonl"
run "$D" "${COMMON[@]}" --jsonl "$T/a.jsonl" --features "$T/fa" --skip-existing
check "resume: failed images are tried again, the rest skipped" grep -q "^8 images: 0 done, 2 failed, 6 skipped" "$T/out"
check "resume: JSONL unchanged" cmp -s "$T/a.jsonl" "$T/a0.jsonl"
head -n 5 "$T/a0.jsonl" >"$T/a.jsonl.part"
printf '{"path": "%s", "input": [3' "$D/rgb8.png" >>"$T/a.jsonl.part" # a line cut short by the interruption
rm "$T/a.jsonl" "$T/fa/rgb8.png.npy"
run "$D" "${COMMON[@]}" --jsonl "$T/a.jsonl" --features "$T/fa" --skip-existing
check "resume after interruption: $(grep "^8 images" "$T/out")" grep -q "^8 images: 3 done, 2 failed, 3 skipped" "$T/out"
check "resumed feature equal" same_npy "$T/fa/rgb8.png.npy" "$T/one_rgb8.png/block5.npy"
check "no .part left" bash -c "[ ! -e '$T/a.jsonl.part' ]"
$PY - "$T/a.jsonl" "$T/a0.jsonl" <<'EOF' && ok || bad "resumed JSONL has the same images, shapes and top-5 as the first"
import json, sys
strip = lambda r: {k: v for k, v in r.items() if k != "ms"}
a = [strip(json.loads(l)) for l in open(sys.argv[1])]
b = [strip(json.loads(l)) for l in open(sys.argv[2])]
assert a == b, (a, b)
EOF
# An earlier output that is not a file of lines is never read to its end: a .part that leads to /dev/zero (an
# endless line) used to be read into memory without bound; now only a regular file is read, a bounded line at
# a time, and the run goes on to refuse that .part as an output (a link is not written through).
ln -s /dev/zero "$T/z.jsonl.part"
timeout 120 ${VGGSIMD_EXE_WRAPPER:-} "$BIN" run "$D/rgb8.png" "${COMMON[@]}" --jsonl "$T/z.jsonl" --skip-existing \
  >/dev/null 2>"$T/err"
zrc=$?
check "--skip-existing beside a .part leading to /dev/zero: exit 1, one line (exit $zrc): $(cat "$T/err")" \
  bash -c "[ $zrc = 1 ] && [ \"\$(wc -l <'$T/err')\" = 1 ]"

# The classifier: --layer fc1/fc2/predictions, top-5 in the JSONL equal to a one-image run's.
vgg init --arch vgg11 --top --seed 5 -o "$T/top.safetensors" >/dev/null || bad "init"
# Under emulation each of these runs takes minutes: the last layer only there.
if [ -n "${VGGSIMD_EMULATED:-}" ]; then
  LAYERS="predictions"
  echo "SKIP: --layer fc1 and fc2 under emulation (checked by the native build)"
else LAYERS="fc1 fc2 predictions"; fi
for layer in $LAYERS; do
  run "$D/rgb8.png" "$D/rgb8.jpg" "$D/gray8.png" --arch vgg11 --weights "$T/top.safetensors" --threads 2 --batch 2 \
    --features "$T/f_$layer" --layer $layer --jsonl "$T/top.jsonl" --top5
  check "--layer $layer runs" [ "$(rc)" = 0 ]
done
$PY - "$T" $LAYERS <<'EOF' && ok || bad "classifier features"
import numpy as np, sys
t = sys.argv[1]
for f in ["rgb8.png", "rgb8.jpg", "gray8.png"]:
    for l in sys.argv[2:]:
        a = np.load(f"{t}/f_{l}/{f}.npy")
        assert a.shape == (1, 1000 if l == "predictions" else 4096), (l, a.shape)
        assert (a >= 0).all() and (l != "predictions" or abs(a.sum() - 1) < 1e-4), l
EOF
vgg run "$D/gray8.png" --arch vgg11 --weights "$T/top.safetensors" --threads 2 --top5 >"$T/one_top" 2>&1
$PY - "$T/top.jsonl" "$T/one_top" <<'EOF' && ok || bad "JSONL top-5 differs from the one-image run's"
import json, re, sys
row = [json.loads(l) for l in open(sys.argv[1])][2]
one = [(int(m.group(2)), float(m.group(1))) for m in
       re.finditer(r"^  \d\. .+? +([0-9.]+)  \(class (\d+), logit", open(sys.argv[2]).read(), re.M)]
assert [c["class"] for c in row["top5"]] == [c for c, _ in one], (row, one)
assert all(abs(c["prob"] - p) < 1e-5 for c, (_, p) in zip(row["top5"], one))
EOF

# --maps per image in subdirectories.
run "$D/rgb8.png" "$D/gray8.png" "${COMMON[@]}" --maps "$T/maps"
check "maps: 5 PNGs per image" bash -c "[ \$(ls '$T/maps/rgb8.png' | wc -l) = 5 ] && [ \$(ls '$T/maps/gray8.png' | wc -l) = 5 ]"
# --layer over many images: every layer's maps and arrays in each image's subdirectory, equal to a one-image
# run's bit for bit; one conv layer's; --skip-existing finds them.
run "$D/rgb8.png" "$D/gray8.png" "${COMMON[@]}" --batch 2 --maps "$T/lm" --npy "$T/ln" --layer all
check "--layer all over two images runs: $(cat "$T/err")" [ "$(rc)" = 0 ]
run "$D/rgb8.png" "$D/gray8.png" "${COMMON[@]}" --npy "$T/lc" --layer block4_conv2
run "$D/gray8.png" "${COMMON[@]}" --npy "$T/l1" --layer all
run "$D/rgb8.png" "$D/gray8.png" "${COMMON[@]}" --batch 2 --features "$T/fall" --layer all
check "--features --layer all runs: $(cat "$T/err")" [ "$(rc)" = 0 ]
run "$D/rgb8.png" "$D/gray8.png" "${COMMON[@]}" --features "$T/fconv" --layer block4_conv2
check "--features of a conv layer runs: $(cat "$T/err")" [ "$(rc)" = 0 ]
$PY - "$T" $ARCH <<'EOF' && ok || bad "--layer over many images"
import os, sys
import numpy as np
t, arch = sys.argv[1:]
depth = {"vgg11": (1, 1, 2, 2, 2), "vgg16": (2, 2, 3, 3, 3)}[arch]
names = ["block%d_conv%d" % (b, k) for b, n in zip(range(1, 6), depth) for k in range(1, n + 1)]
names += ["block%d_pool" % b for b in range(1, 6)]
for f in ("rgb8.png", "gray8.png"):
    assert sorted(os.listdir("%s/lm/%s" % (t, f))) == sorted(n + ".png" for n in names), f
    assert sorted(os.listdir("%s/ln/%s" % (t, f))) == sorted(n + ".npy" for n in names), f
    assert os.listdir("%s/lc/%s" % (t, f)) == ["block4_conv2.npy"]
    assert np.array_equal(np.load("%s/lc/%s/block4_conv2.npy" % (t, f)), np.load("%s/ln/%s/block4_conv2.npy" % (t, f)))
for n in names:
    assert np.array_equal(np.load("%s/ln/gray8.png/%s.npy" % (t, n)), np.load("%s/l1/%s.npy" % (t, n))), n
# --features --layer all: DIR/LAYER/NAME.npy, the same arrays; a conv layer's features: DIR/NAME.npy
assert sorted(os.listdir(t + "/fall")) == sorted(names), sorted(os.listdir(t + "/fall"))
for f in ("rgb8.png", "gray8.png"):
    for n in names:
        assert np.array_equal(np.load("%s/fall/%s/%s.npy" % (t, n, f)), np.load("%s/ln/%s/%s.npy" % (t, f, n))), (f, n)
    assert np.array_equal(np.load("%s/fconv/%s.npy" % (t, f)), np.load("%s/lc/%s/block4_conv2.npy" % (t, f))), f
EOF
run "$D/rgb8.png" "$D/gray8.png" "${COMMON[@]}" --batch 2 --maps "$T/lm" --npy "$T/ln" --layer all --skip-existing
check "--skip-existing finds every layer's outputs: $(cat "$T/out")" grep -q "^2 images: 0 done, 0 failed, 2 skipped" "$T/out"
rm "$T/fall/block5_pool/gray8.png.npy"
run "$D/rgb8.png" "$D/gray8.png" "${COMMON[@]}" --features "$T/fall" --layer all --skip-existing
check "--skip-existing with --features --layer all reruns the image missing its last layer: $(cat "$T/out")" \
  grep -q "^2 images: 1 done, 0 failed, 1 skipped" "$T/out"

# Grad-CAM over many images: each image's map into its subdirectory of --maps (equal to a one-image run's), the
# classes in the JSONL; --skip-existing finds them.
if [ -n "${VGGSIMD_EMULATED:-}${VGGSIMD_SANITIZED:-}" ]; then
  echo "SKIP: Grad-CAM over many images under emulation or the sanitizers (224x224 passes; checked by the native build; one image's Grad-CAM runs in test_cli.sh)"
else
  run "$D/rgb8.png" "$D/gray8.png" --arch vgg11 --weights "$T/top.safetensors" --threads 2 --batch 2 --gradcam \
    --gradcam-class 281 --maps "$T/gm" --jsonl "$T/gm.jsonl"
  check "--gradcam over two images runs: $(cat "$T/err")" [ "$(rc)" = 0 ]
  vgg run "$D/gray8.png" --arch vgg11 --weights "$T/top.safetensors" --threads 2 --gradcam --gradcam-class 281 \
    --maps "$T/g1" >/dev/null 2>&1 || bad "one-image --gradcam"
  $PY - "$T" <<'EOF' && ok || bad "Grad-CAM over many images"
import json, os, sys
import numpy as np
t = sys.argv[1]
for f in ("rgb8.png", "gray8.png"):
    want = ["block%d.png" % b for b in range(1, 6)] + ["gradcam-281.npy", "gradcam-281.png"]
    assert sorted(os.listdir("%s/gm/%s" % (t, f))) == want, f
    m = np.load("%s/gm/%s/gradcam-281.npy" % (t, f))
    assert m.shape == (224, 224) and m.dtype == np.float32 and 0 <= m.min() and m.max() <= 1, f
assert np.array_equal(np.load(t + "/gm/gray8.png/gradcam-281.npy"), np.load(t + "/g1/gradcam-281.npy"))
assert [json.loads(l)["gradcam"] for l in open(t + "/gm.jsonl")] == [[281], [281]]
EOF
  run "$D/rgb8.png" "$D/gray8.png" --arch vgg11 --weights "$T/top.safetensors" --threads 2 --gradcam --maps "$T/gm" \
    --skip-existing
  check "--skip-existing finds the Grad-CAM files: $(cat "$T/out")" grep -q "^2 images: 0 done, 0 failed, 2 skipped" "$T/out"
fi

# Usage and setup errors: one line, the right exit code, nothing created.
expect() { # expect CODE NEEDLE ARGS...
  local code=$1 needle=$2
  shift 2
  run "$@"
  if [ "$(rc)" = "$code" ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -qF -- "$needle" "$T/err"; then ok
  else bad "run $* -> exit $(rc), stderr: $(cat "$T/err")"; fi
}
mkdir -p "$T/empty" "$T/dup"
cp "$IMG/rgb8.png" "$T/dup/"
expect 1 "no image files" "$T/empty" --features "$T/fx"
check "no features directory made for a failed setup" bash -c "[ ! -e '$T/fx' ]"
expect 1 "cannot open list" "@$T/nolist.txt"
# In a folder, a link to nothing is an image that fails (one line, not passed over in silence); a pipe and a
# directory named like pictures are left out (a pipe could be read forever).
mkdir -p "$T/odd/sub.png" && cp "$IMG/rgb8.png" "$T/odd/" && ln -s "$T/nothere.jpg" "$T/odd/gone.jpg" && mkfifo "$T/odd/fifo.png"
run "$T/odd" --size 32 --arch vgg11
check "a folder with a dangling link exits 1 (got $(rc)): $(cat "$T/err")" [ "$(rc)" = 1 ]
check "the dangling link reported in one line: $(cat "$T/err")" \
  bash -c "[ \"\$(wc -l <'$T/err')\" = 1 ] && grep -q 'gone.jpg: cannot open: No such file' '$T/err'"
check "the pipe and the directory left out: $(cat "$T/out")" grep -q "^2 images: 1 done, 1 failed" "$T/out"
expect 2 "two inputs are named 'rgb8.png'" "$D/rgb8.png" "$T/dup" --features "$T/fx"
expect 2 "--repeat" "$D/rgb8.png" "$D/gray8.png" --repeat 3
expect 2 "add one of them" "$D" --layer fc1
expect 2 "in the classifier" "$D" --features "$T/fx" --layer fc2
expect 2 "not one of: block1_pool" "$D" --features "$T/fx" --layer block6_pool
expect 2 "--skip-existing needs an output" "$D" --skip-existing
expect 2 "from 1 to 64" "$D" --batch 65
expect 2 "--lanes 3 needs at least 3 threads" "$D" --lanes 3 --threads 2
expect 2 "from 1 to 8" "$D" --lanes 9
expect 1 "not a directory" "$D" --features /etc/hostname
check "no temporary files left" bash -c "! ls -R '$T' | grep -q '\.tmp\.'"

# The progress line on a terminal (util-linux script gives the run one), and --quiet.
if command -v script >/dev/null; then
  script -qec "${VGGSIMD_EXE_WRAPPER:-} $BIN run '$D/rgb8.png' '$D/gray8.png' --size 32 --arch vgg11 --threads 1" "$T/tty" >/dev/null 2>&1
  check "progress line on a terminal" grep -q "2/2 images" "$T/tty"
  script -qec "${VGGSIMD_EXE_WRAPPER:-} $BIN run '$D/rgb8.png' '$D/gray8.png' --size 32 --arch vgg11 --threads 1 --quiet" "$T/tty2" >/dev/null 2>&1
  check "--quiet: no progress line" bash -c "! grep -q '2/2 images' '$T/tty2'"
else
  echo "SKIP: progress line (no 'script' command to give the run a terminal)"
fi

# An image whose outputs cannot all be written fails alone, and takes back what it wrote: its files and the
# directories the run made for it (here block3.npy of rgb8.png is blocked by a directory of that name; its maps
# directory is new, so it goes too). The other image is untouched.
mkdir -p "$T/w" && cp "$IMG/rgb8.png" "$IMG/rgb8.jpg" "$T/w/" && mkdir -p "$T/wn/rgb8.png/block3.npy"
run "$T/w" "${COMMON[@]}" --npy "$T/wn" --maps "$T/wm"
check "a write failure exits 1 (got $(rc))" [ "$(rc)" = 1 ]
check "the write failure reported: $(cat "$T/err")" grep -q "rgb8.png.*block3.npy" "$T/err"
check "the failed image's new maps directory removed" [ ! -e "$T/wm/rgb8.png" ]
check "the failed image's dumps removed" [ -z "$(ls "$T/wn/rgb8.png" | grep -v '^block3.npy$')" ]
check "the other image's outputs kept" [ -e "$T/wm/rgb8.jpg/block5.png" ] && [ -e "$T/wn/rgb8.jpg/block5.npy" ]

# A run ended by SIGTERM (as by Ctrl-C, or SIGPIPE) while it writes maps and pages removes the temporary
# files of the outputs it was writing, and still ends by that signal (exit 143). Killed once its first map is
# there, so the signal comes in the middle of the run.
mkdir -p "$T/k" "$T/ko"
for i in $(seq 1 80); do cp "$IMG/rgb8.png" "$T/k/p$i.png"; done
${VGGSIMD_EXE_WRAPPER:-} "$BIN" run "$T/k" "${COMMON[@]}" --maps "$T/ko/m" --report "$T/ko/r" >/dev/null 2>&1 &
pid=$!
for i in $(seq 1 1200); do [ -n "$(find "$T/ko" -name 'block5.png' | head -1)" ] && break; sleep 0.1; done
kill -TERM $pid
wait $pid
krc=$?
check "a run ended by SIGTERM mid-way exits 143 (got $krc)" [ $krc = 143 ]
check "no temporary files left by the signal: $(find "$T/ko" -name '*.tmp.*' | head -3)" \
  [ -z "$(find "$T/ko" -name '*.tmp.*')" ]

# Temporaries a run killed with SIGKILL left ("<name>.tmp.<pid>", the pid gone) are removed by the next run,
# --skip-existing or not, in the directories it writes or looks in; one whose process is alive stays.
bash -c 'exit 0' &
wait $!
dead=$!
sleep 60 &
live=$!
mkdir -p "$T/s" "$T/so/m/rgb8.png" "$T/so/m/rgb8.jpg" "$T/so/f" && cp "$IMG/rgb8.png" "$IMG/rgb8.jpg" "$T/s/"
run "$T/s" "${COMMON[@]}" --maps "$T/so/m" --features "$T/so/f"
for f in m/rgb8.png/block5.png m/rgb8.jpg/block2.png f/rgb8.png.npy; do
  : >"$T/so/$f.tmp.$dead" && : >"$T/so/$f.tmp.$live"
done
: >"$T/so/f/notours.tmp.12x"
run "$T/s" "${COMMON[@]}" --maps "$T/so/m" --features "$T/so/f" --skip-existing
check "resume with stale temporaries: $(cat "$T/out" "$T/err" | tail -2)" grep -q "^2 images: 0 done, 0 failed, 2 skipped" "$T/out"
check "a dead run's temporaries removed by --skip-existing: $(find "$T/so" -name "*.tmp.$dead")" \
  [ -z "$(find "$T/so" -name "*.tmp.$dead")" ]
check "a live process's temporaries kept" [ "$(find "$T/so" -name "*.tmp.$live" | wc -l)" = 3 ]
check "a name not of our pattern kept" [ -e "$T/so/f/notours.tmp.12x" ]
: >"$T/so/m/rgb8.jpg/block5.png.tmp.$dead"
run "$T/s" "${COMMON[@]}" --maps "$T/so/m"
check "a dead run's temporary removed by a plain run" [ ! -e "$T/so/m/rgb8.jpg/block5.png.tmp.$dead" ]
kill $live 2>/dev/null
wait $live 2>/dev/null

echo "many: $pass passed, $fail failed"
[ "$fail" = 0 ]
