#!/usr/bin/env bash
# Two hosts on one machine: a data-parallel fine-tune whose two ranks live in two network
# namespaces joined by a veth pair, so every byte between them crosses TCP as between two
# machines. Then the same run with both ranks on one host (shared memory), for comparison.
#
#   make build bench && Tools/two_hosts.sh [WORKDIR]    (as root: it creates namespaces)
#
# With vcoswin-bench built (make bench), it first measures the all-reduce of swin3d_t's
# gradient buffer across the namespaces, and (unless STEP=0) a swin3d_t training step there
# and on one host: step time and the all-reduce wait after backward.
#
# Knobs (environment): PRESET (micro), SIZE (32), CLIP_LEN (4), CLIPS (64, training entries),
# BATCH (4, per rank), EPOCHS (1), THREADS (1, per rank).
#
# How it works:
# - namespaces vcoswin-a-PID and vcoswin-b-PID, veth ends vcwPIDa (10.231.0.1/24) and vcwPIDb
#   (10.231.0.2/24), loopback up in each; both removed on exit (trap), whatever happens.
# - mpirun starts in namespace A, with its own hostname (a UTS namespace), `--host` naming the
#   two addresses. Open MPI reaches the second address through its rsh agent (plm_rsh_agent),
#   here a small script that runs the command inside namespace B with hostname vcoswin-b,
#   where ssh would log into another machine.
# - TCP is forced: `--mca pml ob1 --mca btl tcp,self` (no shared memory between the ranks)
#   and `btl_tcp_if_include`/`oob_tcp_if_include` name the veth subnet.
# - Proof: the byte counters of both veth ends before and after
#   (/sys/class/net/IF/statistics), against 4 B × parameters × optimizer steps.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.build/release/vcoswin"
bench="$root/.build/release/vcoswin-bench"
work=${1:-$(mktemp -d /tmp/vcoswin-two-hosts-XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
preset=${PRESET:-micro} size=${SIZE:-32} clip_len=${CLIP_LEN:-4} clips=${CLIPS:-64}
batch=${BATCH:-4} epochs=${EPOCHS:-1} threads=${THREADS:-1}

fail() { echo "error: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "network namespaces need root (run as root)"
for tool in ip unshare mpirun python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
[ -x "$bin" ] || fail "$bin: not built (make build)"

ns_a="vcoswin-a-$$" ns_b="vcoswin-b-$$"
if_a="vcw$$a" if_b="vcw$$b"
addr_a=10.231.0.1 addr_b=10.231.0.2 subnet=10.231.0.0/24

cleanup() {
  ip netns del "$ns_a" 2>/dev/null || true
  ip netns del "$ns_b" 2>/dev/null || true  # deleting a namespace removes its veth end
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== namespaces $ns_a ($addr_a on $if_a) and $ns_b ($addr_b on $if_b)"
ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add "$if_a" type veth peer name "$if_b"
ip link set "$if_a" netns "$ns_a"
ip link set "$if_b" netns "$ns_b"
ip -n "$ns_a" addr add "$addr_a/24" dev "$if_a"
ip -n "$ns_b" addr add "$addr_b/24" dev "$if_b"
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set "$if_a" up
ip -n "$ns_b" link set "$if_b" up

# The rsh agent: `agent [options] HOST COMMAND…` runs COMMAND in HOST's namespace, under its
# own hostname (Open MPI tells nodes apart by hostname).
agent="$work/netns_agent.sh"
cat > "$agent" <<EOF
#!/bin/sh
while [ \$# -gt 0 ]; do case "\$1" in -*) shift ;; *) break ;; esac; done
host=\$1; shift
case "\$host" in
  $addr_a) ns=$ns_a; name=vcoswin-a ;;
  $addr_b) ns=$ns_b; name=vcoswin-b ;;
  *) echo "netns agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" unshare --uts sh -c "hostname \$name; \$*"
EOF
chmod +x "$agent"

mpi_tcp=(mpirun --allow-run-as-root --oversubscribe -np 2 --host "$addr_a:1,$addr_b:1"
         --mca plm_rsh_agent "$agent" --mca pml ob1 --mca btl tcp,self
         --mca btl_tcp_if_include "$subnet" --mca oob_tcp_if_include "$subnet"
         -x OPENBLAS_THREAD_TIMEOUT=4)
in_a() { ip netns exec "$ns_a" unshare --uts sh -c 'hostname vcoswin-a; exec "$@"' sh "$@"; }
counters() {  # counters NS IF: "rx tx" bytes
  local d="/sys/class/net/$2/statistics"
  ip netns exec "$1" cat "$d/rx_bytes" "$d/tx_bytes" | paste -sd' '
}

echo "== plumbing: each rank's host and addresses"
# shellcheck disable=SC2016  # expanded by each rank's shell
in_a "${mpi_tcp[@]}" sh -c 'addresses=$(ip -brief -4 addr | awk "{print \$1, \$3}" | paste -sd, -)
  echo "rank $OMPI_COMM_WORLD_RANK on $(hostname): $addresses"'

# The all-reduce alone (swin3d_t's gradient buffer) over TCP, when vcoswin-bench is built.
if [ -x "$bench" ]; then
  echo "== all-reduce across the namespaces (TCP)"
  in_a "${mpi_tcp[@]}" "$bench" allreduce --preset swin3d_t --iterations 3
  if [ "${STEP:-1}" = 1 ]; then
    # A swin3d_t step, 2×3×8×112² in all: step time and the all-reduce wait after backward.
    step=(dp-step --preset swin3d_t --batch 1 --threads 1 --iterations 2)
    echo "== training step across the namespaces (TCP)"
    in_a "${mpi_tcp[@]}" "$bench" "${step[@]}"
    echo "== the same step on one host (shared memory)"
    mpirun --allow-run-as-root --oversubscribe -np 2 -x OPENBLAS_THREAD_TIMEOUT=4 \
      "$bench" "${step[@]}"
  fi
fi

# The workload: a short fine-tune of a fresh video model on the shipped clips.
head -n "$clips" "$root/Clips/train.txt" | sed "s|^|$root/Clips/|" > "$work/train.txt"
head -n 8 "$root/Clips/val.txt" | sed "s|^|$root/Clips/|" > "$work/val.txt"
"$bin" init --preset "$preset" --dims 3 --classes 8 --out "$work/init.safetensors" \
  --threads 2 >/dev/null
params=$("$bin" info "$work/init.safetensors" --json |
  python3 -c "import json,sys; print(json.load(sys.stdin)['parameters'])")
finetune=("$bin" finetune --train "$work/train.txt" --val "$work/val.txt"
          --labels "$root/Clips/motion_labels.txt" --init "$work/init.safetensors" --size "$size"
          --clip-len "$clip_len" --epochs "$epochs" --batch-size "$batch" --threads "$threads"
          --quiet)
throughput() {  # throughput OUT: the last epoch's training clips per second
  tail -n 1 "$1/metrics.jsonl" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['clips_per_second'])"
}
since() { python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$1"; }

echo "== fine-tune across the namespaces: $preset ($params parameters)," \
     "${size}² × $clip_len frames, $clips clips, batch $batch per rank × 2 ranks," \
     "$threads thread(s) per rank"
read -r rx_a0 tx_a0 <<<"$(counters "$ns_a" "$if_a")"
read -r rx_b0 tx_b0 <<<"$(counters "$ns_b" "$if_b")"
start=$(date +%s.%N)
in_a "${mpi_tcp[@]}" "${finetune[@]}" --out "$work/two-hosts"
wall_tcp=$(since "$start")
read -r rx_a1 tx_a1 <<<"$(counters "$ns_a" "$if_a")"
read -r rx_b1 tx_b1 <<<"$(counters "$ns_b" "$if_b")"
steps=$(( (clips / (2 * batch)) * epochs ))
python3 - "$if_a" "$((rx_a1 - rx_a0))" "$((tx_a1 - tx_a0))" "$if_b" "$((rx_b1 - rx_b0))" \
  "$((tx_b1 - tx_b0))" "$params" "$steps" <<'EOF'
import sys
ia, ib = sys.argv[1], sys.argv[4]
rxa, txa, rxb, txb, params, steps = map(int, sys.argv[2:4] + sys.argv[5:])
print(f"   {ia}: received {rxa/1e6:.1f} MB, sent {txa/1e6:.1f} MB")
print(f"   {ib}: received {rxb/1e6:.1f} MB, sent {txb/1e6:.1f} MB")
need = 4 * params * steps
print(f"   gradient all-reduce lower bound per rank: 4 B × {params} × {steps} steps"
      f" = {need/1e6:.1f} MB (sent/bound: {txa/need:.2f} and {txb/need:.2f})")
if min(txa, txb) < need:
    sys.exit("error: less traffic on the veth pair than the gradients need: not over TCP")
EOF

echo "== the same fine-tune on one host (2 ranks, shared memory)"
start=$(date +%s.%N)
mpirun --allow-run-as-root --oversubscribe -np 2 -x OPENBLAS_THREAD_TIMEOUT=4 \
  "${finetune[@]}" --out "$work/one-host"
wall_one=$(since "$start")

tcp=$(throughput "$work/two-hosts") one=$(throughput "$work/one-host")
echo "== throughput (last epoch, metrics.jsonl clips_per_second; wall time includes start-up)"
printf '   two namespaces over TCP: %8.2f clips/s  (%s s wall)\n' "$tcp" "$wall_tcp"
printf '   one host, shared memory: %8.2f clips/s  (%s s wall)\n' "$one" "$wall_one"
python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'   ratio: {a / b:.2f}')" \
  "$tcp" "$one"
echo "   load: $(uptime | sed 's/.*load/load/')"
