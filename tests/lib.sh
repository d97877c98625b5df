# Shared by the CLI test scripts (sourced): BIN, ROOT and T must be set.
# vgg ARGS: the binary (through the emulator under a cross build).
vgg() { ${VGGSIMD_EXE_WRAPPER:-} "$BIN" "$@"; }
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect CODE NEEDLE -- ARGS...: exit code, a one-line stderr containing NEEDLE.
expect() {
  local code=$1 needle=$2
  shift 3
  vgg "$@" >"$T/out" 2>"$T/err"
  local rc=$? lines
  lines=$(wc -l <"$T/err")
  if [ "$rc" != "$code" ]; then bad "vggsimd $* -> exit $rc, want $code; stderr: $(cat "$T/err")"; return; fi
  if [ "$code" != 0 ]; then
    if [ "$lines" != 1 ]; then bad "vggsimd $* -> $lines stderr lines, want 1: $(cat "$T/err")"; return; fi
    if ! grep -qF -- "$needle" "$T/err"; then bad "vggsimd $* -> stderr lacks '$needle': $(cat "$T/err")"; return; fi
    if ! grep -q '^vggsimd' "$T/err"; then bad "vggsimd $* -> stderr does not start with 'vggsimd'"; return; fi
  elif ! grep -qF -- "$needle" "$T/out"; then bad "vggsimd $* -> stdout lacks '$needle'"; return; fi
  ok
}

# same_weights A B ARGS...: `run` on the weights files A and B gives bit-identical arrays (--npy: the blocks, and
# with --top the probabilities) and the same top-5 lines.  Needs IMG.
same_weights() {
  local a=$1 b=$2
  shift 2
  rm -rf "$T/na" "$T/nb"
  if vgg run "$IMG/rgb8.png" --weights "$a" --npy "$T/na" --threads 2 "$@" >"$T/oa" 2>"$T/err" &&
     vgg run "$IMG/rgb8.png" --weights "$b" --npy "$T/nb" --threads 2 "$@" >"$T/ob" 2>>"$T/err"; then
    local f n=0 diff=0
    for f in "$T/na"/*.npy; do
      n=$((n + 1))
      cmp -s "$f" "$T/nb/$(basename "$f")" || diff=$((diff + 1))
    done
    [ "$n" -ge 5 ] && [ "$diff" = 0 ] && ok || bad "$(basename "$b") $*: $diff of $n arrays differ from $(basename "$a")"
    [ "$(grep '^  [1-5]\. ' "$T/oa")" = "$(grep '^  [1-5]\. ' "$T/ob")" ] && ok || bad "$(basename "$b") $*: another top-5"
  else
    bad "$(basename "$b") $*: $(cat "$T/err")"
  fi
}

# skip_without_reader FILE WHAT: exit 77 when this build refuses FILE's format ("this build reads none").
skip_without_reader() {
  vgg run "$IMG/rgb8.png" --arch vgg11 --weights "$1" --size 32 >/dev/null 2>"$T/err"
  if grep -q "this build reads none" "$T/err"; then
    echo "SKIP: this build reads no $2: $(cat "$T/err")"
    exit 77
  fi
}

# Under emulation or the sanitizers the format tests run on VGG11's conv base; the larger files are the native build's.
full=1
[ -n "${VGGSIMD_EMULATED:-}${VGGSIMD_SANITIZED:-}" ] && full=0
