#!/bin/sh
# Faults while writing and hostile checkpoints: no hang, no silent acceptance, nothing lost.
#   A. one rank's checkpoint write fails with ENOSPC (PHOTON_TEST_FAIL_WRITE): every rank stops
#      within a time bound, exit 1, the message names the file, the rank and strerror; the
#      previous checkpoint is kept (no .tmp, no final.h5) and resumes bitwise
#   A2. the disk fills after the free-space check: the space reservation fails before any write
#   B. a real full disk (a small tmpfs in a mount namespace, where one can be mounted): the
#      checkpoint directory full, the run directory full before final.h5, with no room at all
#      (deck.effective), and filling up with metrics.jsonl; final.h5 as a directory; output paths
#      that cannot be created (train, export, prep) name strerror
#   C. root attributes edited (round, metrics_offset, tokens_seen; round = 2^62), a dataset or an
#      attribute missing (/outer/m, tokens_seen), format_version 1: --resume latest skips the file
#      naming it and why, and falls back to the intact older one (bitwise); by name: refused
#   D. eval, sample and export verify what they read: a flipped /params value in a checkpoint or
#      in final.h5, a damaged shape attribute (no allocation from it), a data file given as weights
#   E. --resume from an older checkpoint removes the newer ones: a later --resume latest continues
#      the new history, params and metrics == uninterrupted
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
ckpt_setup
every="checkpoint.every_rounds=2"
train 2 full $every
T=${PHOTON_FAULT_TIMEOUT:-120}

# ---- A. an injected ENOSPC on the last rank's write of round 4's checkpoint
st=0; PHOTON_TEST_FAIL_WRITE=ckpt:4 timeout $T "$LAUNCH" 2 "$PHOTON" train "$DECK" run.dir="$work/A" $every \
  >"$work/log" 2>&1 || st=$?
[ $st -ne 124 ] && [ $st -ne 137 ] || { cat "$work/log"; fail "A: the job hung in the failed checkpoint (timeout ${T}s)"; }
[ $st -ne 0 ] || { cat "$work/log"; fail "A: a failed checkpoint exited 0"; }
grep -q "rank 1: .*ckpt-000004.h5.tmp: cannot write dataset /inner/adam_m: No space left on device" "$work/log" ||
  { cat "$work/log"; fail "A: no message naming the file, the rank and the cause"; }
test -f "$work/A/checkpoints/ckpt-000002.h5" || fail "A: the previous checkpoint is gone"
test ! -e "$work/A/checkpoints/ckpt-000004.h5" && test ! -e "$work/A/checkpoints/ckpt-000004.h5.tmp" ||
  { ls "$work/A/checkpoints"; fail "A: a partial checkpoint was left"; }
test ! -e "$work/A/final.h5" || fail "A: final.h5 written after a failed checkpoint"
train 2 A $every --resume latest
grep -q "resumed from .*ckpt-000002.h5" "$work/log" || { cat "$work/log"; fail "A: did not resume from round 2"; }
same_params full A && same_metrics full A || exit 1
check A "one rank's ENOSPC: exit $st, no hang, file + rank + strerror named, previous checkpoint resumes bitwise"

# ---- A2. the disk fills after the free-space check: the space reservation (posix_fallocate, before
# any collective write) fails, every rank stops, nothing partial is left
st=0; PHOTON_TEST_FAIL_WRITE=reserve:4 timeout $T "$LAUNCH" 2 "$PHOTON" train "$DECK" run.dir="$work/A2" $every \
  >"$work/log" 2>&1 || st=$?
[ $st -ne 124 ] && [ $st -ne 137 ] && [ $st -ne 0 ] || { cat "$work/log"; fail "A2: a failed reservation exited $st"; }
grep -q "ckpt-000004.h5.tmp: cannot reserve [0-9]* KiB for the checkpoint: No space left on device" "$work/log" ||
  { cat "$work/log"; fail "A2: no message naming the file and the cause"; }
test -f "$work/A2/checkpoints/ckpt-000002.h5" && test ! -e "$work/A2/checkpoints/ckpt-000004.h5.tmp" &&
  test ! -e "$work/A2/checkpoints/ckpt-000004.h5" || { ls "$work/A2/checkpoints"; fail "A2: checkpoints wrong"; }
check A2 "the reservation finds the disk full: exit $st, named, previous checkpoint kept, nothing partial"

# ---- B. real full file systems: a tmpfs of SIZE on DIR for the command's lifetime only
in_tmpfs() {
  size=$1; dir=$2; shift 2
  mkdir -p "$dir"
  timeout $T unshare -m sh -c 'size=$1; dir=$2; shift 2; mount -t tmpfs -o size=$size tmpfs "$dir" && "$@"' sh "$size" "$dir" "$@"
}
if mkdir -p "$work/probe" && unshare -m sh -c "mount -t tmpfs -o size=64k tmpfs '$work/probe'" 2>/dev/null; then
  # B1. the checkpoint directory fills up: round 2 and 4 fit, round 6 does not. Everything is
  # copied off the tmpfs before it goes, then resumed on the real disk.
  st=0
  in_tmpfs 600k "$work/B1" sh -c '"$@" >"$0/log" 2>&1; st=$?; cp -r "$0" "$0.kept"; exit $st' "$work/B1" \
    "$LAUNCH" 2 "$PHOTON" train "$DECK" run.dir="$work/B1" $every || st=$?
  log=$work/B1.kept/log
  [ $st -ne 124 ] && [ $st -ne 137 ] || { cat "$log" 2>/dev/null || :; fail "B1: the job hung on a full disk (timeout ${T}s)"; }
  [ $st -ne 0 ] || { cat "$log"; fail "B1: a full disk exited 0"; }
  grep -q "checkpoints: No space left on device" "$log" || { cat "$log"; fail "B1: no ENOSPC message naming the directory"; }
  test ! -e "$work/B1.kept/final.h5" || fail "B1: final.h5 written after a failed checkpoint"
  ls "$work/B1.kept/checkpoints" | grep -q '\.tmp$' && fail "B1: a partial checkpoint was left"
  rm -rf "$work/B1" && mv "$work/B1.kept" "$work/B1"
  train 2 B1 $every --resume latest
  same_params full B1 && same_metrics full B1 || exit 1
  check B1 "checkpoint directory full: exit $st, ENOSPC named, the kept checkpoint resumes bitwise"

  # B2. the run directory has room for deck.effective and metrics.jsonl, not for final.h5
  # (checkpoints elsewhere; final.h5 takes about 36 KiB, deck.effective and metrics.jsonl 3 pages):
  # exit 1, final.h5 absent, not renamed into place with zeros.
  st=0
  in_tmpfs 28k "$work/B2" sh -c '"$@" >"$0.log" 2>&1; st=$?; ls -la "$0" >>"$0.log"; test ! -e "$0/final.h5" || echo FINAL_PRESENT >>"$0.log"; exit $st' \
    "$work/B2" "$LAUNCH" 2 "$PHOTON" train "$DECK" run.dir="$work/B2" checkpoint.dir="$work/B2ck" || st=$?
  [ $st -ne 0 ] && [ $st -ne 124 ] || { cat "$work/B2.log"; fail "B2: a run that cannot write final.h5 exited $st"; }
  grep -q "final.h5: .*No space left on device\|final.h5: .*differs from the weights in memory" "$work/B2.log" ||
    { cat "$work/B2.log"; fail "B2: no message naming final.h5 and the cause"; }
  ! grep -q FINAL_PRESENT "$work/B2.log" || { cat "$work/B2.log"; fail "B2: a final.h5 was left in a full directory"; }
  test -f "$work/B2ck/ckpt-000006.h5" || fail "B2: the last checkpoint is missing"
  check B2 "run directory full at final.h5: exit $st, named, no final.h5, checkpoint kept"

  # B3. no room at all: the run directory lock (the first file written) cannot be written.
  st=0
  in_tmpfs 16k "$work/B3a" sh -c 'dd if=/dev/zero of="$0/fill" bs=4k 2>/dev/null; "$@" >"$0.log" 2>&1' \
    "$work/B3a" "$LAUNCH" 2 "$PHOTON" train "$DECK" run.dir="$work/B3a" || st=$?
  [ $st -ne 0 ] && [ $st -ne 124 ] || { cat "$work/B3a.log"; fail "B3a: a full run directory exited $st"; }
  grep -q "photon.lock: cannot write the lock file: No space left on device" "$work/B3a.log" ||
    { cat "$work/B3a.log"; fail "B3a: no message"; }
  check B3a "run directory without room: exit $st, the lock file named with strerror"
  # ... and with a stale lock file already there (its page is reused), deck.effective is next.
  st=0
  in_tmpfs 16k "$work/B3" sh -c 'echo stale > "$0/photon.lock"; dd if=/dev/zero of="$0/fill" bs=4k 2>/dev/null
    "$@" >"$0.log" 2>&1' "$work/B3" "$LAUNCH" 2 "$PHOTON" train "$DECK" run.dir="$work/B3" || st=$?
  [ $st -ne 0 ] && [ $st -ne 124 ] || { cat "$work/B3.log"; fail "B3: a full run directory exited $st"; }
  grep -q "deck.effective: cannot write: No space left on device" "$work/B3.log" || { cat "$work/B3.log"; fail "B3: no message"; }
  check B3 "run directory without room: exit $st, deck.effective named with strerror"

  # B6. metrics.jsonl finds the run directory full (photon.lock and deck.effective took its two pages; checkpoints
  # elsewhere):
  # the next checkpoint refuses to record an offset into a file that lost records, exit 1.
  st=0
  in_tmpfs 8k "$work/B6" sh -c '"$@" >"$0.log" 2>&1' "$work/B6" "$LAUNCH" 2 "$PHOTON" train "$DECK" run.dir="$work/B6" \
    checkpoint.dir="$work/B6ck" $every || st=$?
  [ $st -ne 0 ] && [ $st -ne 124 ] || { cat "$work/B6.log"; fail "B6: a run that lost metrics records exited $st"; }
  grep -q "metrics.jsonl: cannot write: No space left on device" "$work/B6.log" || { cat "$work/B6.log"; fail "B6: no message"; }
  check B6 "metrics.jsonl full mid-run: exit $st, named with strerror"
else
  echo "note: no tmpfs can be mounted here (unshare -m / mount refused): B1-B3 left out; A covers ENOSPC by injection"
fi
# B4. final.h5 is a directory: the run says so and exits 1 (its checkpoints are kept).
mkdir -p "$work/B4/final.h5"
st=0; train_try 2 B4 || st=$?
[ $st -eq 1 ] || { cat "$work/log"; fail "B4: final.h5 as a directory exited $st"; }
grep -q "final.h5: cannot rename its .tmp file into place: Is a directory" "$work/log" || { cat "$work/log"; fail "B4: no message"; }
test -f "$work/B4/checkpoints/ckpt-000006.h5" || fail "B4: checkpoint missing"
# B5. a run directory that cannot be created says why.
: > "$work/plainfile"
expect_error "B5: run dir under a file" 2 "cannot create run directory [run] dir = $work/plainfile/run: Not a directory" \
  "$LAUNCH" 2 "$PHOTON" train "$DECK" run.dir="$work/plainfile/run"
expect_error "B5: export under a file" 2 "plainfile/x.bin.tmp: cannot create: Not a directory" \
  "$PHOTON" export "$work/full/final.h5" --format llmc -o "$work/plainfile/x.bin"
expect_error "B5: safetensors under a file" 2 "plainfile/st: cannot create the output directory: Not a directory" \
  "$PHOTON" export "$work/full/final.h5" --format safetensors -o "$work/plainfile/st"
expect_error "B5: prep under a file" 2 "cannot create $work/plainfile/d.h5.tmp" \
  "$PHOTON" prep -q -o "$work/plainfile/d.h5" $(ls -d "$work"/corpus/*/)
grep -q "d.h5.tmp.[0-9]*: Not a directory" "$work/err" || fail "B5: prep: no strerror"
check B "final.h5 as a directory: exit 1, named; impossible output paths: strerror"

# ---- C. hostile checkpoints: edit the newest (round 6) of a copy, resume latest
edit() { # DIR PYTHON-STATEMENTS (f is the newest checkpoint, opened r+)
  rm -rf "$work/$1"; cp -r "$work/full" "$work/$1"
  $PY - "$work/$1/checkpoints/ckpt-000006.h5" "$2" <<'PYEOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    exec(sys.argv[2])
PYEOF
}
fallback() { # NAME DIR MESSAGE: resume latest skips round 6 naming MESSAGE, resumes round 4, bitwise
  train 2 "$2" --resume latest
  grep -qF "skipping checkpoint: $work/$2/checkpoints/ckpt-000006.h5: $3" "$work/log" &&
    grep -q "resumed from .*ckpt-000004.h5" "$work/log" || { cat "$work/log"; fail "C: $1: no fallback to round 4"; }
  same_params full "$2" && same_metrics full "$2" || exit 1
  echo "ok    C: $1: skipped (named), resumed from round 4, == uninterrupted"
}
sealed="the root attributes do not match their SHA-256"
edit C1 'f.attrs["round"] = np.int64(5)';                 fallback "round edited" C1 "$sealed"
edit C2 'f.attrs["metrics_offset"] = np.int64(10)';       fallback "metrics_offset edited" C2 "$sealed"
edit C3 'f.attrs["tokens_seen"] = np.float64(7.0)';       fallback "tokens_seen edited" C3 "$sealed"
edit C4 'f.attrs["round"] = np.int64(2**62)'
expect_error "C: round 2^62 by name" 2 "ckpt-000006.h5: $sealed" train_cmd 2 C4 --resume "$work/C4/checkpoints/ckpt-000006.h5"
fallback "round = 2^62" C4 "$sealed"
edit C5 'del f["outer/m"]';                               fallback "/outer/m missing" C5 "dataset /outer/m is missing"
edit C6 'del f.attrs["tokens_seen"]';                     fallback "tokens_seen missing" C6 "attribute 'tokens_seen' of / is missing"
edit C7 'f.attrs["format_version"] = np.int64(1)';        fallback "format_version 1" C7 "checkpoint format_version 1 (written by an older photon"
# A consistent forgery (attributes re-sealed) is still range-checked: round beyond the steps.
edit C8 '
import hashlib, struct
f.attrs["round"] = np.int64(2**62)
names = ["format","format_version","num_layers","num_heads","channels","max_seq_len","vocab_size","bias","num_parameters",
  "mode","topology","optimizer","outer","data_file","num_silos","silo_size","world_size","local_steps","steps","round","step",
  "tokens_seen","modeled_wall_s","inter_bytes_total","compute_s_total","last_val_loss","metrics_offset","outer_t",
  "clipped_steps","counted_steps"]
b = b""
for n in names:
    v = f.attrs[n]
    b += n.encode() + b"\0"
    if isinstance(v, (bytes, str, np.bytes_)): b += (v.decode() if isinstance(v, (bytes, np.bytes_)) else v).encode() + b"\0"
    elif np.issubdtype(np.asarray(v).dtype, np.floating): b += struct.pack("<d", float(v))
    else: b += struct.pack("<q", int(v))
f.attrs["attrs_sha256"] = np.frombuffer(hashlib.sha256(b).digest(), dtype=np.uint8)'
fallback "round = 2^62, re-sealed" C8 "root attributes round = 4611686018427387904, step = 12 are out of range"
check C "edited, missing and old-format checkpoints skipped with the reason; latest falls back bitwise"

# ---- D. the weights readers verify
ck=$work/full/checkpoints/ckpt-000006.h5
W=$work/full/final.h5
"$PHOTON" eval "$ck" >/dev/null 2>&1 || fail "D: eval of an intact checkpoint"
"$PHOTON" eval "$W" >/dev/null 2>&1 || fail "D: eval of an intact final.h5"
cp "$ck" "$work/bad-ck.h5"; cp "$W" "$work/bad-final.h5"; cp "$W" "$work/big-final.h5"
$PY - "$work/bad-ck.h5" "$work/bad-final.h5" "$work/big-final.h5" <<'PYEOF'
import sys, h5py, numpy as np
for p in sys.argv[1:3]:
    with h5py.File(p, "r+") as f:
        v = f["params"][5:6].view(np.uint8).copy(); v[0] ^= 1
        f["params"][5:6] = v.view(np.float32)
with h5py.File(sys.argv[3], "r+") as f:   # an unsealed file (no attrs_sha256) with a huge shape
    if "attrs_sha256" in f.attrs: del f.attrs["attrs_sha256"]
    f.attrs["num_layers"] = np.int32(20000)
PYEOF
for f in bad-ck bad-final; do
  m="$f.h5: dataset /params does not match its SHA-256"
  expect_error "D: eval, $f" 2 "$m" "$PHOTON" eval "$work/$f.h5"
  expect_error "D: sample, $f" 2 "$m" "$PHOTON" sample "$work/$f.h5" --prompt x
  expect_error "D: export, $f" 2 "$m" "$PHOTON" export "$work/$f.h5" --format llmc -o "$work/x.bin"
done
test ! -e "$work/x.bin" || fail "D: export wrote a file from damaged weights"
# 20000 layers would be ~60 MB of parameters per layer in this shape's activations: the count is
# checked first, under a 1 GiB address-space limit.
# (AddressSanitizer cannot start under an address-space limit: an ASan build runs without it.)
limit="ulimit -v 1048576;"; ldd "$PHOTON" 2>/dev/null | grep -q libasan && limit=""
expect_error "D: huge num_layers" 2 "describe a model of" sh -c "$limit"' exec "$@"' sh "$PHOTON" eval "$work/big-final.h5"
expect_error "D: data file as weights" 2 "two.h5 is a photon data file (photon prep's output), not a weights file" \
  "$PHOTON" sample "$work/two.h5" --prompt x
check D "eval, sample and export refuse damaged checkpoints and final.h5; shape checked before allocating"

# ---- E. --resume from round 2 while 4 and 6 exist: the newer ones go; stop after round 3, then
# --resume latest must continue from 3 (not jump to the stale 6), == uninterrupted.
rm -rf "$work/E"; cp -r "$work/full" "$work/E"; rm "$work/E/final.h5"
train 2 E $every run.stop_after_rounds=1 --resume "$work/E/checkpoints/ckpt-000002.h5"
grep -q "removed 2 checkpoint file(s) newer than round 2" "$work/log" || { cat "$work/log"; fail "E: newer checkpoints not removed"; }
ls "$work/E/checkpoints"
test -f "$work/E/checkpoints/ckpt-000003.h5" && test ! -e "$work/E/checkpoints/ckpt-000006.h5" || fail "E: wrong checkpoints left"
train 2 E $every --resume latest
grep -q "resumed from .*ckpt-000003.h5" "$work/log" || { cat "$work/log"; fail "E: latest did not continue the new history"; }
same_params full E && same_metrics full E || exit 1
check E "resume from an older checkpoint: the newer ones removed, latest continues it, == uninterrupted"
echo "test_ckpt_faults: $passed passed, 0 failed"
