#!/usr/bin/env bash
# vm/run.sh — `make test-vm`: run the test suite in a qemu guest whose only cgroup hierarchy is
# cgroup2 (Debian's stable kernel, booted with cgroup_no_v1=all; see vm/init), stream the guest's
# console here, and exit with the tests' status.
#
# Needs ./mydocker (or MYDOCKER_BIN) and rootfs/ (make build rootfs; `make test-vm` does both) and root.
# The guest mounts this project read-only over 9p and copies it into a tmpfs, so nothing in the
# work tree changes; only .vm/ (git-ignored: kernel, initramfs, guest.env, last-run.log) is
# written. Software emulation (TCG): KVM guests hang at boot on the development host.
#
# Environment:
#   VM_PASSES="root session"     which passes to run, in order (vm/init explains them)
#   VM_TESTS_ROOT="test/e2e/run.test.ts test/e2e/cgroup-v2.test.ts"  bun test path filters for the
#                                "root" pass (empty: everything)
#   VM_TESTS_SESSION=            the same for the "session" pass
#   VM_CMD='...'                 the command of the debugging pass "cmd" (VM_PASSES=cmd)
#   VM_TIMEOUT=1500              seconds before the guest is killed (status 124)
#   VM_MEM=4096 VM_SMP=2         guest memory (MiB) and CPUs
#   TEST_TIMEOUT=120000          bun test --timeout (ms)
#   KVM=1                        use -enable-kvm instead of TCG (hangs on some hosts)
#   MYDOCKER_BIN=/path/mydocker  test that binary instead of ./mydocker (shared read-only with 9p,
#                                copied over the guest's copy of ./mydocker; the host's is untouched)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PROJECT=$(pwd -P)
VM=.vm
say() { echo "vm: $*" >&2; }
die() { echo "vm: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
MYDOCKER_EXE=
if [ -n "${MYDOCKER_BIN:-}" ]; then
  MYDOCKER_EXE=$(readlink -f "$MYDOCKER_BIN") && [ -f "$MYDOCKER_EXE" ] && [ -x "$MYDOCKER_EXE" ] || die "MYDOCKER_BIN=$MYDOCKER_BIN is not an executable file"
  case "$MYDOCKER_EXE" in *[[:space:],]*) die "MYDOCKER_BIN must not contain spaces or commas: $MYDOCKER_EXE" ;; esac
else
  [ -x ./mydocker ] || die "./mydocker is missing: make build"
fi
[ -e rootfs/bin/busybox ] || die "rootfs/ has no busybox: make rootfs"
case "$PROJECT" in *[[:space:]]*) die "the project path must not contain spaces (it goes on the kernel command line): $PROJECT" ;; esac

bash vm/build.sh
pkg=$(cat "$VM/kernel/current")
KDIR="$VM/kernel/$pkg"
BUN_EXE=$(readlink -f "$(command -v "${BUN:-bun}")")

: "${VM_PASSES=root session}"
: "${VM_TESTS_ROOT=test/e2e/run.test.ts test/e2e/cgroup-v2.test.ts}"
: "${VM_TESTS_SESSION=}"
cat > "$VM/guest.env" <<EOF
# written by vm/run.sh for vm/init
PASSES='$VM_PASSES'
TESTS_root='$VM_TESTS_ROOT'
TESTS_session='$VM_TESTS_SESSION'
TEST_TIMEOUT='${TEST_TIMEOUT:-120000}'
CMD=$(printf '%q' "${VM_CMD:-}")
BUN_NAME='$(basename "$BUN_EXE")'
MYDOCKER_NAME=$(printf '%q' "${MYDOCKER_EXE:+$(basename "$MYDOCKER_EXE")}")
EOF
share_mydocker=()
[ -z "$MYDOCKER_EXE" ] || share_mydocker=(-virtfs "local,path=$(dirname "$MYDOCKER_EXE"),mount_tag=mydocker,security_model=none,readonly=on")

accel=(-accel tcg,thread=multi -cpu max)
[ "${KVM:-0}" = 1 ] && accel=(-enable-kvm -cpu host)
log="$VM/last-run.log"
say "booting $(cat "$KDIR/version") (qemu, ${VM_SMP:-2} CPUs, ${VM_MEM:-4096} MiB, pure cgroup2); passes: $VM_PASSES${MYDOCKER_EXE:+; mydocker: $MYDOCKER_EXE}"
start=$(date +%s)
set +e
# stdin is /dev/null: the serial console is output only (Ctrl-C still stops qemu and this script).
timeout --kill-after=10 "${VM_TIMEOUT:-1500}" qemu-system-x86_64 \
  "${accel[@]}" -smp "${VM_SMP:-2}" -m "${VM_MEM:-4096}" \
  -display none -serial stdio -monitor none -nic none -no-reboot \
  -kernel "$KDIR/vmlinuz" -initrd "$VM/initramfs.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3 cgroup_no_v1=all mydocker.project=$PROJECT" \
  -virtfs "local,path=$PROJECT,mount_tag=project,security_model=none,readonly=on" \
  -virtfs "local,path=$(dirname "$BUN_EXE"),mount_tag=bun,security_model=none,readonly=on" \
  "${share_mydocker[@]}" \
  </dev/null 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
secs=$(( $(date +%s) - start ))

status=$(sed -n 's/\r$//; s/^MYDOCKER-VM: status \([0-9]*\)$/\1/p' "$log" | tail -n1)
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  say "the guest did not finish within ${VM_TIMEOUT:-1500}s: killed"
  exit 124
fi
[ "$rc" -eq 0 ] || say "qemu exited $rc"
if [ -z "$status" ]; then
  say "the guest ended without a status line (after ${secs}s; see $log)"
  exit 1
fi
say "guest status $status after ${secs}s ($(sed -n 's/\r$//; s/^MYDOCKER-VM: pass \([a-z]*\) exit \([0-9]*\)$/\1: \2/p' "$log" | paste -sd, - | sed 's/,/, /g'))"
exit "$status"
