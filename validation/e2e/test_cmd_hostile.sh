#!/bin/sh
# test_cmd_hostile.sh: hostile input to the commands: no crash, no hang, valid JSON.
#   eval --json of a diverged model (loss so large that exp overflows): valid JSON, null ppl;
#   sample --json with a prompt that is not UTF-8: valid JSON, the exact bytes in prompt_base64;
#   a directory or a FIFO as deck: refused at once (timeout guards the FIFO), exit 2.
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
P=$PHOTON
need_h5py
work_dir hostile
gen_corpus 10 3
prep_tiny "$work/d.h5" --silos 1 --vocab-size 300
tiny_deck "$work/t.deck" "$work/d.h5"
train 1 run
# Scale the weights so the logits explode: the validation loss exceeds 709 and exp() overflows.
cp "$work/run/final.h5" "$work/big.h5"
$PY -c '
import h5py, sys
with h5py.File(sys.argv[1], "r+") as f:
    p = f["params"]; p[...] = p[...] * 1e4
    # A legitimate (if diverged) file: its /params hash (doc/formats.md) matches the new values.
    import hashlib, numpy
    d = hashlib.sha256(p[...].astype("<f4").tobytes()).digest()
    p.attrs["sha256"] = numpy.frombuffer(d, dtype=numpy.uint8).reshape(1, 32)
' "$work/big.h5"
"$P" eval "$work/big.h5" --data "$work/d.h5" --json >"$work/e.json" 2>"$work/err" || { cat "$work/err"; fail "eval --json of a diverged model"; }
$PY -c '
import json, math, sys
e = json.load(open(sys.argv[1]))
assert e["val_ppl"] is None and (e["val_loss"] is None or e["val_loss"] > 709), e
' "$work/e.json" || { cat "$work/e.json"; fail "eval --json: not valid JSON with a null perplexity"; }
check "eval --json, diverged model" "valid JSON, perplexity null"

"$P" sample "$work/run/final.h5" --prompt "$(printf 'ab\377\376c')" -n 8 --json >"$work/s.json" 2>"$work/err" ||
  { cat "$work/err"; fail "sample --json with a non-UTF-8 prompt"; }
$PY -c '
import json, base64, sys
s = json.load(open(sys.argv[1]))
assert base64.b64decode(s["prompt_base64"]) == b"ab\xff\xfec", s
assert s["prompt"] == "ab\ufffd\ufffdc", s
assert base64.b64decode(s["text_base64"]).decode("utf-8", "replace") == s["text"], s
' "$work/s.json" || { cat "$work/s.json"; fail "sample --json: prompt bytes"; }
check "sample --json, non-UTF-8 prompt" "valid JSON, exact bytes in prompt_base64"

expect_error "eval --tokens ''" 2 "--tokens wants a count" "$P" eval "$work/run/final.h5" --tokens ""
expect_error "eval --tokens huge" 2 "--tokens wants a count" "$P" eval "$work/run/final.h5" --tokens 99999999999999999999999
mkdir "$work/adir"
expect_error "directory as deck" 2 "not a deck: it is a directory" timeout 20 "$P" train "$work/adir"
mkfifo "$work/fifo"
expect_error "FIFO as deck" 2 "not a deck: not a regular file" timeout 20 "$P" train "$work/fifo"
echo "test_cmd_hostile: $passed passed, 0 failed"
