#!/usr/bin/env bash
# Runtime dispatch on CPUs this machine is not: qemu-x86_64 presents a CPU
# without AVX (Nehalem) and one with AVX2 but no AVX-512 (TCG's "max").  The
# same binary must pick the right level there, refuse a level the CPU lacks,
# and give results bit-identical to the same level run natively.
# Exit 77 (skipped) when qemu-x86_64 is missing or the host is not x86-64.
set -u
BIN=${1:?usage: test_dispatch_qemu.sh path/to/vggsimd}
ROOT=${VGGSIMD_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
QEMU=$(command -v qemu-x86_64 || true)
if [ "$(uname -m)" != x86_64 ] || [ -z "$QEMU" ]; then
  echo "SKIP: needs an x86-64 host with qemu-x86_64 (Debian's qemu-user)"
  exit 77
fi
if [ -n "${VGGSIMD_SANITIZED:-}" ]; then
  echo "SKIP: sanitized build (an ASan binary under qemu-x86_64 grows past 20 GB); the release build runs this test"
  exit 77
fi
T=$(mktemp -d /tmp/vggsimd-qemu-XXXXXX)
trap 'rm -rf "$T"' EXIT
IMG=$ROOT/tests/data/img/rgb8.png
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

for cpu_level in "Nehalem scalar" "max avx2"; do
  set -- $cpu_level
  cpu=$1 want=$2
  "$QEMU" -cpu "$cpu" "$BIN" cpu >"$T/cpu.txt" 2>/dev/null
  check "-cpu $cpu picks $want" "grep -q 'in use:    $want (best available)' '$T/cpu.txt'"
  check "-cpu $cpu reports no AVX512-VNNI or AVX512-BF16" "grep -q ' avx512vnni=0 avx512bf16=0 ' '$T/cpu.txt'"
  "$QEMU" -cpu "$cpu" "$BIN" run "$IMG" --size 40 --npy "$T/q-$want" >/dev/null 2>"$T/err"
  rc=$?
  check "-cpu $cpu run succeeds" "[ $rc = 0 ] && [ -f '$T/q-$want/block5.npy' ]"
  "$BIN" run "$IMG" --size 40 --isa "$want" --npy "$T/n-$want" >/dev/null
  for b in 1 2 3 4 5; do
    check "-cpu $cpu block$b bit-identical to native $want" "cmp -s '$T/q-$want/block$b.npy' '$T/n-$want/block$b.npy'"
  done
  # int8 and bf16 on a CPU without AVX512-VNNI/AVX512-BF16: never an illegal instruction, the same bits as natively.
  for p in int8 bf16; do
    "$QEMU" -cpu "$cpu" "$BIN" run "$IMG" --size 40 --precision $p --npy "$T/q-$want-$p" >/dev/null 2>"$T/err"
    rc=$?
    check "-cpu $cpu --precision $p succeeds" "[ $rc = 0 ] && [ -f '$T/q-$want-$p/block5.npy' ]"
    "$BIN" run "$IMG" --size 40 --isa "$want" --precision $p --npy "$T/n-$want-$p" >/dev/null 2>&1
    check "-cpu $cpu --precision $p block5 bit-identical to native $want" \
      "cmp -s '$T/q-$want-$p/block5.npy' '$T/n-$want-$p/block5.npy'"
  done
  "$QEMU" -cpu "$cpu" "$BIN" run "$IMG" --size 40 --isa avx512 >/dev/null 2>"$T/err"
  rc=$?
  check "-cpu $cpu refuses avx512 (exit 2, one line)" "[ $rc = 2 ] && [ \$(wc -l < '$T/err') = 1 ] && grep -q 'not available on this CPU' '$T/err'"
done
echo "dispatch under qemu: $pass passed, $fail failed"
[ "$fail" = 0 ]
