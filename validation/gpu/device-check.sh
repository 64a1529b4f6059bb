#!/bin/bash
# device-check.sh [--dry-run]: the one command for a lent GPU machine (issue "GPU backend, run for
# real"; doc/performance.md, "GPU device check"). Runs from the carried bundle (gpu-bundle/ at
# the top, or $PHOTON_GPU_BUNDLE: validation/gpu/bundle.sh makes it) and writes to $OUT (else
# ./device-check-out) three files: summary.json (every figure), device-check.log (each step's
# output, shortened) and details.tar.gz (the full outputs and metrics). Steps, each under its
# own time limit inside an 8-minute whole (a failed or timed-out step is recorded and the next
# one runs):
#   1_test_gpu        CUDA against the CPU backend (logits, loss, gradients, kernels, 20 steps)
#   2_federated       2 silos x 1 rank sharing the GPU through the bundle's mpirun, against the
#                     same run on the CPU (losses, fp32 rel 1e-3; bf16 rel 5e-2, measured); the
#                     run repeated (GPU determinism, bitwise); stopped after 2 rounds and resumed
#                     (bitwise the uninterrupted run's final weights)
#   3_bench_gpu       bench_gpu, GPT-2 124M (L=12 C=768 NH=12 T=1024 B=16, bf16); MFU against
#                     790 TFLOP/s, the dense bf16 rate measured on the lent H200
#   3_torch_compile   benchmarks/torch_gpt2_bench.py: the same model in PyTorch, torch.compile,
#                     bf16 (the summary gives photon's tokens/s over PyTorch's)
#   4_export_hf       photon export --format safetensors of the GPU-trained model, loaded by
#                     transformers' GPT2LMHeadModel: its logits against photon's (dump_logits)
#   5_largest         bench_gpu --largest: the largest GPT-2-shaped model (T=1024, B=1, bf16)
#                     that plans into memory, trained a few steps; smaller ones if it fails
# --dry-run (no GPU): steps 2 and 4 on the CPU (run.device = cpu; without transformers step 4
# checks the export with validation's PyTorch reference instead); the others are skipped.
# Exit 0 when no step failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dry=0
case ${1:-} in --dry-run) dry=1 ;; "") ;; *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;; esac
out=${OUT:-$PWD/device-check-out}
mkdir -p "$out" || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/device-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$out/device-check.log
: >"$log"
say() { echo "$*" | tee -a "$log"; }
bundle=${PHOTON_GPU_BUNDLE:-$top/gpu-bundle}
if [ ! -f "$bundle/env.sh" ] && [ $dry = 1 ]; then
  say "no bundle at $bundle: making one (validation/gpu/bundle.sh)"
  bash "$top/validation/gpu/bundle.sh" "$top/build-cuda" "$bundle" >>"$log" 2>&1 || { say "bundle.sh failed"; exit 1; }
fi
[ -f "$bundle/env.sh" ] || { say "no bundle at $bundle (carry gpu-bundle/, made by validation/gpu/bundle.sh)"; exit 1; }
# shellcheck disable=SC1091
source "$bundle/env.sh"
# A Python with numpy and h5py (the device's python3 has torch, transformers, safetensors too).
PY=
for p in ${PYTHON:-} ${TORCH_PYTHON:-} python3 /usr/bin/python3; do
  "$p" -c 'import numpy, h5py' 2>/dev/null && { PY=$p; break; }
done
figures="$top/validation/gpu/dc_figures.py"
tools_check=$top/validation/tools/check_export.py
export work bundle dry PY figures tools_check top OMP_NUM_THREADS=1
[ -n "${OPENBLAS_CORETYPE:-}" ] || . "$top/build-aux/blas-env.sh" 2>/dev/null || true
export OPENBLAS_CORETYPE
say "device-check: $(date -u +%FT%TZ) on $(uname -n), dry run $dry; bundle $bundle; runtime $PHOTON_RT; python ${PY:-none}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >>"$log" 2>&1

budget=${DEVICE_CHECK_BUDGET:-470}
t_start=$(date +%s)
results=$work/results.jsonl
: >"$results"
# step NAME LIMIT_S FUNCTION: run FUNCTION under a time limit (cut to the time left); it writes
# its figures to $work/NAME.json (a JSON object) and exits 0 (pass), 77 (skip) or else (fail).
step() {
  local name=$1 limit=$2 fn=$3 left rc status t0 secs
  left=$((budget - ($(date +%s) - t_start) - 5))
  [ "$limit" -gt "$left" ] && limit=$left
  say "== $name (limit ${limit} s)"
  if [ "$limit" -lt 10 ]; then
    rc=124; echo "no time left in the ${budget} s budget" >"$work/$name.out"
  else
    t0=$(date +%s)
    STEP=$name timeout -k 5 "$limit" bash -c "$fn" >"$work/$name.out" 2>&1
    rc=$?
  fi
  secs=$(( $(date +%s) - ${t0:-$(date +%s)} ))
  case $rc in 0) status=pass ;; 77) status=skip ;; 124|137) status=timeout ;; *) status=fail ;; esac
  tail -n 25 "$work/$name.out" | cut -c1-200 >>"$log"
  say "-- $name: $status ($secs s)"
  "$PY" - "$name" "$status" "$secs" "$work/$name.json" >>"$results" <<'PYEOF'
import json, sys
name, status, secs, path = sys.argv[1:]
try:
    fig = json.load(open(path))
except (OSError, ValueError):
    fig = None
print(json.dumps({"step": name, "status": status, "seconds": int(secs), "figures": fig}))
PYEOF
}
skip_dry() { [ "$dry" = 1 ] && { echo "dry run: needs a GPU"; exit 77; }; return 0; }
fig() { "$PY" "$figures" "$@"; } # fig SUBCOMMAND ARGS: its JSON object on stdout
figok() { # the same, or {"ok": false} where the comparison could not even run
  local j; j=$(fig "$@" 2>&1 | tail -n 1)
  case $j in "{"*) echo "$j" ;; *) echo "{\"ok\": false, \"error\": \"$(echo "$j" | tr -d '"\\')\"}" ;; esac
}
export -f skip_dry fig figok

s_test_gpu() {
  skip_dry
  test_gpu >"$work/test_gpu.txt" 2>&1; rc=$?
  cat "$work/test_gpu.txt"
  [ $rc = 77 ] && exit 77
  fig testgpu "$work/test_gpu.txt" >"$work/$STEP.json" && [ $rc = 0 ]
}

s_federated() {
  dev=cuda; [ "$dry" = 1 ] && dev=cpu
  f=$work/fed; mkdir -p "$f"
  launch() { # DIR DECK ARGS...: 2 ranks = 2 silos x 1 rank, sharing GPU 0
    local d=$1 deck=$bundle/decks/$2; shift 2
    mpirun --oversubscribe -np 2 -x OMP_NUM_THREADS ${OPENBLAS_CORETYPE:+-x OPENBLAS_CORETYPE} \
      photon train "$deck" data.file="$bundle/data/tiny.h5" run.dir="$f/$d" "$@" >>"$f/$d.log" 2>&1 && return 0
    # Shared memory between the ranks may be refused by a sandboxed kernel: TCP on loopback.
    echo "launch $d failed; again over TCP (btl self,tcp)" | tee -a "$f/$d.log"
    OMPI_MCA_btl=self,tcp mpirun --oversubscribe -np 2 -x OMP_NUM_THREADS photon train "$deck" \
      data.file="$bundle/data/tiny.h5" run.dir="$f/$d" "$@" >>"$f/$d.log" 2>&1
  }
  ok=1
  launch cpu tiny-cpu.deck || ok=0
  launch gpu tiny-cuda.deck run.device=$dev || ok=0
  launch again tiny-cuda.deck run.device=$dev || ok=0
  launch part tiny-cuda.deck run.device=$dev run.stop_after_rounds=2 &&
    launch part tiny-cuda.deck run.device=$dev --resume latest || ok=0
  [ "$dry" = 1 ] || launch bf16 tiny-cuda.deck run.precision=bf16 || ok=0
  tail -n 3 "$f"/*.log
  {
    echo "{\"device\": \"$dev\","
    echo "\"fp32_vs_cpu\": $(figok losses "$f/gpu/metrics.jsonl" "$f/cpu/metrics.jsonl" 1e-3),"
    [ "$dry" = 1 ] || echo "\"bf16_vs_cpu\": $(figok losses "$f/bf16/metrics.jsonl" "$f/cpu/metrics.jsonl" 5e-2),"
    echo "\"repeat_bitwise\": $(figok params "$f/again/final.h5" "$f/gpu/final.h5"),"
    echo "\"resume_bitwise\": $(figok params "$f/part/final.h5" "$f/gpu/final.h5"),"
    grep -q "resumed from .*ckpt-000002" "$f/part.log" && r=true || r=false
    echo "\"resumed_from_round_2\": {\"ok\": $r},"
    echo "\"launches_ok\": $([ $ok = 1 ] && echo true || echo false)}"
  } >"$work/$STEP.json"
  cat "$work/$STEP.json"
  [ $ok = 1 ] && ! grep -q '"ok": false' "$work/$STEP.json"
}

s_bench_gpu() {
  skip_dry
  bench_gpu -L 12 -H 12 -C 768 -T 1024 -B 16 -n 20 -p bf16 >"$work/bench.txt" 2>&1; rc=$?
  cat "$work/bench.txt"
  [ $rc = 77 ] && exit 77
  fig bench "$work/bench.txt" 790 >"$work/$STEP.json" && [ $rc = 0 ]
}

s_torch() {
  skip_dry
  PYTHONUNBUFFERED=1 "$PY" "$top/benchmarks/torch_gpt2_bench.py" --layers 12 --heads 12 --channels 768 \
    --seq-len 1024 --batch 16 --steps 10 --warmup 3 --peak-tflops 790 >"$work/torch.txt" 2>&1; rc=$?
  cat "$work/torch.txt"
  tail -n 1 "$work/torch.txt" >"$work/$STEP.json"
  [ $rc = 0 ]
}

s_export() {
  W=$work/fed/gpu/final.h5
  [ -f "$W" ] || { echo "no GPU-trained model (step 2 failed)"; exit 1; }
  toks="511 12 250 7 33 101 0 498 3 77 200 1"
  photon export "$W" --format safetensors -o "$work/st" || exit 1
  dump_logits "$W" "$work/logits.bin" $toks || exit 1
  if "$PY" -c 'import transformers, torch' 2>/dev/null; then
    fig hf "$work/st" "$work/logits.bin" $toks >"$work/$STEP.json"; rc=$?
  elif [ -n "$tools_check" ] && "$PY" -c 'import torch' 2>/dev/null; then
    # No transformers here: validation's own reader of the export and its PyTorch GPT.
    photon export "$W" --format llmc -o "$work/m.bin" >/dev/null || exit 1
    "$PY" "$tools_check" "$W" "$work/m.bin" "$work/st" "$work/logits.bin" $toks; rc=$?
    echo "{\"loader\": \"validation/tools/check_export.py (transformers absent)\", \"ok\": $([ $rc = 0 ] && echo true || echo false)}" >"$work/$STEP.json"
  else
    echo "neither transformers nor torch in $PY"; exit 77
  fi
  cat "$work/$STEP.json"
  exit $rc
}

s_largest() {
  skip_dry
  bench_gpu -L 1 -H 2 -C 64 -V 512 -T 64 -B 1 -n 3 --largest >"$work/largest.txt" 2>&1; rc=$?
  cat "$work/largest.txt"
  [ $rc = 77 ] && exit 77
  if [ $rc != 0 ]; then # the largest plan did not train: the next smaller ones that fit
    "$PY" -c 'import json,sys; [print(r["L"], r["NH"], r["C"]) for r in reversed(json.load(sys.stdin)["ladder"]) if r["fits"]]' \
      < <(fig bench "$work/largest.txt" 790) | tail -n +2 | while read -r L NH C; do
      echo "== retry L=$L NH=$NH C=$C"
      bench_gpu -L "$L" -H "$NH" -C "$C" -T 1024 -B 1 -n 2 >>"$work/largest.txt" 2>&1 && break
    done
  fi
  fig bench "$work/largest.txt" 790 >"$work/$STEP.json"
  "$PY" -c 'import json,sys; r=json.load(sys.stdin)["runs"]; sys.exit(0 if len(r) > 1 and "tokens_per_s" in r[-1] else 1)' <"$work/$STEP.json"
}
export -f s_test_gpu s_federated s_bench_gpu s_torch s_export s_largest

step 1_test_gpu 75 s_test_gpu
step 2_federated 100 s_federated
step 3_bench_gpu 60 s_bench_gpu
step 3_torch_compile 120 s_torch
step 4_export_hf 45 s_export
step 5_largest 70 s_largest

fig summary "$results" "$dry" >"$out/summary.json"
(cd "$work" && tar -czf "$out/details.tar.gz" --exclude='*.h5' --exclude='*.bin' --exclude='*.safetensors' .) 2>/dev/null
"$PY" - "$out/summary.json" <<'PYEOF' | tee -a "$log"
import json, sys
s = json.load(open(sys.argv[1]))
for name, r in s["steps"].items():
    print(f"  {name:18s} {r['status']:8s} {r['seconds']:4d} s")
print(f"device-check: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped")
PYEOF
say "figures: $out/summary.json; log: $log; outputs: $out/details.tar.gz ($(( $(date +%s) - t_start )) s in all)"
"$PY" -c 'import json,sys; sys.exit(1 if json.load(open(sys.argv[1]))["failed"] else 0)' "$out/summary.json"
