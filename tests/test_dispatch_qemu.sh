#!/usr/bin/env bash
# Runtime dispatch on CPUs this machine is not.  x86-64: qemu-x86_64 presents
# a CPU without AVX (Nehalem) and one with AVX2 but no AVX-512 (TCG's "max").
# The same binary must pick the right level there, refuse a level the CPU
# lacks, and give results bit-identical to the same level run natively.
# aarch64 (the cross build, under qemu-aarch64): a Cortex-A72 has none of
# dotprod, i8mm and bf16 (int8 and bf16 on the reference kernels), a
# Cortex-A76 dotprod only (int8 on the dotprod kernel), "max" all three (the
# i8mm and bf16 kernels): every one must give the same bits.
# Exit 77 (skipped) when the emulator is missing.
set -u
BIN=${1:?usage: test_dispatch_qemu.sh path/to/vggsimd}
ROOT=${VGGSIMD_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
if [ -n "${VGGSIMD_SANITIZED:-}" ]; then
  echo "SKIP: sanitized build (an ASan binary under qemu-x86_64 grows past 20 GB); the release build runs this test"
  exit 77
fi
case "${VGGSIMD_EXE_WRAPPER:-}" in
*qemu-aarch64*) ARCH=aarch64 QEMU=$(command -v qemu-aarch64 || true) ;;
*) ARCH=x86_64 QEMU=$(command -v qemu-x86_64 || true) ;;
esac
if [ -z "$QEMU" ] || { [ "$ARCH" = x86_64 ] && [ "$(uname -m)" != x86_64 ]; }; then
  echo "SKIP: needs qemu-$ARCH (Debian's qemu-user) and, for the x86-64 checks, an x86-64 host"
  exit 77
fi
T=$(mktemp -d /tmp/vggsimd-qemu-XXXXXX)
trap 'rm -rf "$T"' EXIT
IMG=$ROOT/tests/data/img/rgb8.png
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

if [ "$ARCH" = aarch64 ]; then
  # cortex-a72: none of the three; cortex-a76: dotprod only; max: all three.
  for cpu in cortex-a72 cortex-a76 max; do
    QEMU_CPU=$cpu "$QEMU" "$BIN" cpu >"$T/cpu-$cpu.txt" 2>/dev/null
    check "-cpu $cpu picks neon" "grep -q 'in use:    neon (best available)' '$T/cpu-$cpu.txt'"
  done
  check "-cpu cortex-a72 reports no dotprod, i8mm or bf16" "grep -q ' dotprod=0 i8mm=0 bf16=0' '$T/cpu-cortex-a72.txt'"
  check "-cpu cortex-a76 reports dotprod only" "grep -q ' dotprod=1 i8mm=0 bf16=0' '$T/cpu-cortex-a76.txt'"
  check "-cpu max reports all three" "grep -q ' dotprod=1 i8mm=1 bf16=1' '$T/cpu-max.txt'"
  # precision, CPU, whether its kernels there are the reference (1) or a dot-product kernel (0)
  for pcr in "int8 max 0" "int8 cortex-a72 1" "int8 cortex-a76 0" "bf16 max 0" "bf16 cortex-a72 1" "bf16 cortex-a76 1"; do
    set -- $pcr
    p=$1 cpu=$2 ref=$3
    QEMU_CPU=$cpu "$QEMU" "$BIN" run "$IMG" --size 40 --precision $p --npy "$T/$cpu-$p" >/dev/null 2>"$T/err"
    rc=$?
    check "-cpu $cpu --precision $p succeeds" "[ $rc = 0 ] && [ -f '$T/$cpu-$p/block5.npy' ]"
    if [ "$ref" = 1 ]; then
      check "-cpu $cpu --precision $p says it runs on the reference" "grep -q 'reference kernel' '$T/err'"
    else
      check "-cpu $cpu --precision $p runs a dot-product kernel (no note)" "! grep -q 'reference kernel' '$T/err'"
    fi
    [ "$cpu" = max ] && continue
    for b in 1 2 3 4 5; do
      check "--precision $p block$b: -cpu $cpu bit-identical to -cpu max" "cmp -s '$T/$cpu-$p/block$b.npy' '$T/max-$p/block$b.npy'"
    done
  done
  echo "dispatch under qemu: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
fi

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
