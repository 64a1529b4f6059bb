#!/bin/sh
# test_data_hostile.sh: damaged and hostile data files. Each damage below (made with h5py on a
# good tiny file) must be refused by photon info, train and eval with exit status 2 and a message
# naming the file, the dataset or attribute, and the fix; never a hang, a crash, a huge malloc or
# a NaN loss. The checksum opt-out ([data] verify = off, --no-verify) accepts a damaged file
# with a warning. Every command that could block (a FIFO) runs under timeout.
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
set -u
need_h5py
work_dir hostile
cd "$work" || exit 99
gen_corpus 4 3
prep_tiny good.h5 --vocab-size 300
tiny_deck deck good.h5
train 1 run || fail "train on good.h5"
[ -f run/final.h5 ] || fail "no run/final.h5"
"$PHOTON" info good.h5 >/dev/null || fail "info good.h5"
# The checksums are what doc/formats.md defines: SHA-256 of the values as 4-byte little-endian.
$PY - good.h5 <<'PYEOF' || fail "good.h5's sha256 attributes are not as documented"
import sys, hashlib, h5py
f = h5py.File(sys.argv[1], "r")
names = ["tokenizer/merges"] + ["silos/%s/tokens" % s for s in f["silos"]] + \
        ["validation/%s/tokens" % s for s in f["validation"]]
for n in names:
    want = hashlib.sha256(f[n][...].astype("<u4").tobytes()).hexdigest()
    got = f[n].attrs["sha256"]
    got = got.decode() if isinstance(got, bytes) else got
    if got != want: sys.exit("%s: sha256 %s, expected %s" % (n, got, want))
print("  %d checksums as documented" % len(names))
PYEOF
check checksums-documented "every token dataset and the merges carry the documented sha256"

# damage OUT KIND: a copy of good.h5 damaged one way (the checksums left as prep wrote them,
# unless the damage is about them).
damage() {
  cp good.h5 "$1" && $PY - "$1" "$2" <<'PYEOF' || fail "damage $2"
import sys, hashlib, h5py, numpy as np
path, kind = sys.argv[1], sys.argv[2]
f = h5py.File(path, "r+")
silo = "silos/0/tokens"
val = "validation/%s/tokens" % sorted(f["validation"].keys())[0]
def replace(name, data):
    attrs = dict(f[name].attrs)
    del f[name]
    f[name] = data
    for k, v in attrs.items(): f[name].attrs[k] = v
if kind == "id":            # a token id >= vocab_size in a silo
    t = f[silo]; a = t[...]; a[5] = 300; t[...] = a
elif kind == "id-every":    # in every window of a silo (seen by the first training step)
    t = f[silo]; a = t[...]; a[3::4] = 300; t[...] = a
elif kind == "val-id":      # a token id >= vocab_size in a validation stream
    t = f[val]; a = t[...]; a[2] = 301; t[...] = a
elif kind == "ntok-big":
    f["silos/0"].attrs["num_tokens"] = np.int64(10**12)
elif kind == "ntok-neg":
    f[val.rsplit("/", 1)[0]].attrs["num_tokens"] = np.int64(-5)
elif kind == "vocab-big":
    f.attrs["vocab_size"] = np.int64(2**31 + 5)
elif kind == "float":
    replace(silo, f[silo][...].astype(np.float32))
elif kind == "string":
    replace(silo, np.array([str(x) for x in f[silo][...]], dtype=h5py.string_dtype()))
elif kind == "merge-id":    # a merge that names an id not yet defined
    m = f["tokenizer/merges"]; a = m[...]; a[3, 0] = 60000; m[...] = a
elif kind == "merge-count":  # the tokenizer's num_merges disagrees with its merges
    f["tokenizer"].attrs["num_merges"] = np.int64(7)
elif kind == "merge-swap":  # still a well-formed merge list, but not the one prep wrote
    m = f["tokenizer/merges"]; a = m[...]
    pairs = {tuple(p) for p in a.tolist()}
    b = next(b for b in range(256) if (int(a[10, 0]), b) not in pairs)
    a[10, 1] = b; m[...] = a
elif kind == "flip":        # one byte of a silo's tokens flipped (the ids stay in range)
    t = f[silo]; a = t[...]; a[7] ^= 1; t[...] = a
elif kind == "nosum":       # as the previous photon wrote them: no checksums
    def strip(name, obj):
        if isinstance(obj, h5py.Dataset) and "sha256" in obj.attrs: del obj.attrs["sha256"]
    f.visititems(strip)
elif kind == "short-val":   # a validation stream shorter than one window (T + 1 = 9), consistent
    g = f[val.rsplit("/", 1)[0]]
    a = g["tokens"][:5]
    replace(val, a)
    f[val].attrs["sha256"] = hashlib.sha256(a.astype("<u4").tobytes()).hexdigest()
    g.attrs["num_tokens"] = np.int64(5); g.attrs["num_documents"] = np.int64(1)
else:
    sys.exit("unknown damage " + kind)
f.close()
PYEOF
}

# expect_refusal NAME FILE MESSAGES: info, train and eval all refuse FILE with status 2.
expect_refusal() {
  what=$1; file=$2; must=$3
  expect_error "$what-info" 2 "$must" timeout 60 "$PHOTON" info "$file"
  expect_run_refusal "$what" "$file" "$must"
}
# expect_run_refusal NAME FILE MESSAGES: train and eval refuse FILE with status 2.
expect_run_refusal() {
  what=$1; file=$2; must=$3
  expect_error "$what-train" 2 "$must" timeout 120 "$LAUNCH" 1 "$PHOTON" train "$DECK" \
    run.dir="$work/r-$what" data.file="$work/$file"
  expect_error "$what-eval" 2 "$must" timeout 60 "$PHOTON" eval run/final.h5 --data "$file"
}

damage id.h5 id
expect_refusal bad-id id.h5 "id.h5: dataset /silos/0/tokens: token 5 is 300, outside the vocabulary 0..299 (vocab_size 300)
re-run photon prep"
damage val-id.h5 val-id
expect_refusal bad-val-id val-id.h5 "val-id.h5: dataset /validation/
token 2 is 301, outside the vocabulary 0..299"
# verify off: the readers still check the ids they read (the loader per window, eval per stream)
expect_error bad-val-id-noverify 2 "token 2 is 301, outside the vocabulary" \
  timeout 60 "$PHOTON" eval run/final.h5 --data val-id.h5 --no-verify
damage id-every.h5 id-every
got=0; timeout 120 "$LAUNCH" 1 "$PHOTON" train "$DECK" run.dir="$work/r-ide" data.file="$work/id-every.h5" \
  --no-verify >out 2>err || got=$?
[ "$got" -ne 0 ] && [ "$got" -ne 124 ] || { cat err; fail "train --no-verify on id-every.h5 exited $got"; }
grep -qF "id-every.h5: dataset /silos/0/tokens: token " err && grep -qF "is 300, outside the vocabulary 0..299" err ||
  { cat err; fail "train --no-verify: no token-id message"; }
check bad-id-loader "train --no-verify stops at the first bad window, naming file and dataset (exit $got)"

damage ntok-big.h5 ntok-big
expect_refusal ntok-big ntok-big.h5 "ntok-big.h5: /silos/0: attribute num_tokens = 1000000000000 but dataset /silos/0/tokens holds"
damage ntok-neg.h5 ntok-neg
expect_refusal ntok-neg ntok-neg.h5 "ntok-neg.h5: /validation/
attribute num_tokens = -5 but dataset"
damage vocab-big.h5 vocab-big
expect_refusal vocab-big vocab-big.h5 "vocab-big.h5: attribute vocab_size = 2147483653 is out of range 257..65536"
damage float.h5 float
expect_refusal float float.h5 "float.h5: dataset /silos/0/tokens holds floats of 4 bytes, not token ids"
expect_error float-loader 2 "dataset /silos/0/tokens holds floats" "$LOADER" open float.h5 0 16 2
damage string.h5 string
expect_refusal string string.h5 "string.h5: dataset /silos/0/tokens holds strings"
damage merge-id.h5 merge-id
expect_refusal merge-id merge-id.h5 "merge-id.h5: the tokenizer is damaged: merge 3 (60000,
re-run photon prep"
damage merge-count.h5 merge-count
expect_refusal merge-count merge-count.h5 "merge-count.h5: the tokenizer is damaged: tokenizer attributes vocab_size=300 eot_token=299 num_merges=7 do not match 43 merges"
damage merge-swap.h5 merge-swap
expect_refusal merge-swap merge-swap.h5 "merge-swap.h5: dataset /tokenizer/merges does not match its checksum"
damage flip.h5 flip
expect_refusal flip flip.h5 "flip.h5: dataset /silos/0/tokens does not match its checksum
re-run photon prep
--no-verify / [data] verify = off"
damage nosum.h5 nosum
expect_refusal nosum nosum.h5 "nosum.h5: dataset /tokenizer/merges has no 'sha256' checksum attribute
re-run photon prep
--no-verify"
# (a valid file: photon info shows it; a run with windows of 9 tokens cannot use it)
damage short.h5 short-val
"$PHOTON" info short.h5 >/dev/null || fail "info short.h5"
expect_run_refusal short-val short.h5 "short.h5: validation stream /validation/
holds 5 tokens, fewer than one window of seq_len + 1 = 9
--val-fraction"

# The opt-out: a file whose checksum fails (or that has none) is accepted, with a warning.
for f in flip nosum; do
  expect_error "$f-info-noverify" 0 "warning: $f.h5: checksums and token ids not verified" \
    "$PHOTON" info "$f.h5" --no-verify
  expect_error "$f-train-noverify" 0 "warning: $work/$f.h5: checksums and token ids not verified" \
    timeout 120 "$LAUNCH" 1 "$PHOTON" train "$DECK" run.dir="$work/r-$f-nv" data.file="$work/$f.h5" data.verify=off
  expect_error "$f-eval-noverify" 0 "warning: $f.h5: checksums and token ids not verified" \
    "$PHOTON" eval run/final.h5 --data "$f.h5" --no-verify
done
expect_error flip-train-flag 0 "checksums and token ids not verified" \
  timeout 120 "$LAUNCH" 1 "$PHOTON" train "$DECK" run.dir="$work/r-flag" data.file="$work/flip.h5" --no-verify
expect_error flip-sample-noverify 0 "checksums and token ids not verified" \
  "$PHOTON" sample run/final.h5 --data flip.h5 --prompt a -n 2 --no-verify
expect_error flip-sample 2 "flip.h5: dataset /silos/0/tokens does not match its checksum" \
  "$PHOTON" sample run/final.h5 --data flip.h5 --prompt a -n 2
# the structural checks stay on with verify off
expect_error merge-id-noverify 2 "the tokenizer is damaged" "$PHOTON" info merge-id.h5 --no-verify
expect_error ntok-noverify 2 "attribute num_tokens = 1000000000000" "$PHOTON" info ntok-big.h5 --no-verify

# Not a regular file: refused before any open, so nothing waits on a FIFO.
mkfifo fifo.h5 || fail "mkfifo"
expect_refusal fifo fifo.h5 "fifo.h5 is a FIFO (named pipe), not a regular file"
expect_error fifo-loader 2 "fifo.h5 is a FIFO" timeout 60 "$LOADER" open fifo.h5 0 16 2
expect_error device 2 "/dev/null is a character device, not a regular file" timeout 60 "$PHOTON" info /dev/null
mkdir dir.h5
expect_error directory 2 "dir.h5 is a directory" timeout 60 "$PHOTON" info dir.h5
echo "test_data_hostile: $passed checks"
