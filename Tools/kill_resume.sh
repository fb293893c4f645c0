#!/usr/bin/env bash
# Kills a short fine-tuning run at every `rename` it makes (strace fault injection), resumes
# it, and checks what a killed run must leave: best.safetensors scores the best val top-1 the
# run records (`vcoswin eval`), last.safetensors records the epoch best holds, no temporary
# file remains, and the resumed run ends where an uninterrupted one does.
#
#   make build && Tools/kill_resume.sh [WORKDIR]        (needs strace: apt-get install -y strace)
#
# Prints one line per kill point and exits non-zero when a check fails.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.build/release/vcoswin"
work=${1:-$(mktemp -d /tmp/vcoswin-kill-XXXXXX)}
mkdir -p "$work"
command -v strace >/dev/null || { echo "error: strace is not installed (apt-get install -y strace)" >&2; exit 1; }
[ -x "$bin" ] || { echo "error: $bin: not built (make build)" >&2; exit 1; }

# Few clips, a nano video model, 32-pixel crops: each run takes seconds.
head -n 48 "$root/Clips/train.txt" | sed "s|^|$root/Clips/|" > "$work/train.txt"
head -n 16 "$root/Clips/val.txt" | sed "s|^|$root/Clips/|" > "$work/val.txt"
"$bin" init --preset nano --dims 3 --classes 8 --out "$work/init.safetensors" --threads 2 >/dev/null
args=(finetune --train "$work/train.txt" --val "$work/val.txt" --labels "$root/Clips/motion_labels.txt"
      --init "$work/init.safetensors" --size 32 --clip-len 4 --epochs 3 --batch-size 4 --lr 3e-3
      --backbone-lr-scale 1 --threads 2 --quiet)

# best.safetensors must score the best val top-1 the run records.
check() {  # check DIR LABEL
  local dir=$1 label=$2 recorded scored temps epochs
  recorded=$(python3 -c "import json,sys; print(max(json.loads(l)['val_top1'] for l in open(sys.argv[1])))" "$dir/metrics.jsonl")
  scored=$("$bin" eval --list "$work/val.txt" --checkpoint "$dir/best.safetensors" --batch 4 --threads 2 --json \
           | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['top1'])")
  temps=$(cd "$dir" && ls -A | grep -E '^\..*\.tmp-[0-9]+-[0-9]+$|^\.dat\.nosync' | tr '\n' ' ' || true)
  epochs=$(python3 -c "import sys; print(sum(1 for l in open(sys.argv[1]) if l.strip()))" "$dir/metrics.jsonl")
  local ok=yes
  python3 -c "import sys; sys.exit(abs(float(sys.argv[1]) - float(sys.argv[2])) > 1e-9)" "$recorded" "$scored" || ok=no
  [ -z "$temps" ] || ok=no
  [ "$epochs" = 3 ] || ok=no
  # The resumed run ends where the uninterrupted one does: same losses and accuracies.
  cmp -s <(grep -oE '"(train_loss|val_top1)":[^,}]*' "$dir/metrics.jsonl") \
         <(grep -oE '"(train_loss|val_top1)":[^,}]*' "$work/reference/metrics.jsonl") || ok=no
  printf '%-60s epochs %s  best recorded %.4f  best.safetensors scores %.4f  temporaries: %s  %s\n' \
    "$label" "$epochs" "$recorded" "$scored" "${temps:-none}" "$([ $ok = yes ] && echo ok || echo FAIL)"
  [ $ok = yes ]
}

"$bin" "${args[@]}" --out "$work/reference" 2>/dev/null >/dev/null
renames=$(strace -f -qq -e trace=rename,renameat,renameat2 -o /dev/stdout "$bin" "${args[@]}" --out "$work/count" 2>/dev/null \
          | grep -c 'rename' || true)
echo "uninterrupted run: $renames renames; reference in $work/reference"
check "$work/reference" "uninterrupted"

failed=0
n=1
while :; do
  out="$work/kill-$n"
  set +e
  { strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
      -e inject=rename,renameat,renameat2:signal=SIGKILL:when=$n "$bin" "${args[@]}" --out "$out" >/dev/null; } 2>/dev/null
  status=$?
  set -e
  if [ $status = 0 ]; then
    echo "kill at rename $n: the run completed first (it makes $((n - 1)) renames)"
    break
  fi
  left=$(cd "$out" && ls -A | grep -E '\.tmp-|\.dat\.nosync' | tr '\n' ' ' || true)
  "$bin" "${args[@]}" --out "$out" --resume >"$out.resume.log" 2>&1 || { echo "kill at rename $n: resume failed: $(tail -1 "$out.resume.log")"; failed=1; n=$((n + 1)); continue; }
  note=$(grep -E 'best.safetensors (holds|is missing|cannot)|removed|warning' "$out.resume.log" | sed -e "s|$out/||g" -e 's/^/    resume: /' || true)
  check "$out" "kill at rename $n: left ${left:-nothing}" || failed=1
  [ -z "$note" ] || echo "$note"
  n=$((n + 1))
done
exit $failed
