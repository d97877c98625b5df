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
