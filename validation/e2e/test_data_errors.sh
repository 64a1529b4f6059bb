#!/bin/sh
# test_data_errors.sh: every user error of photon prep, photon info and the loader exits 2
# (prep, info) or fails to open (loader) with a message naming the file and what to change.
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
set -u
work_dir data
cd "$work" || exit 99
gen_corpus 4 3
P="$PREPINFO prep -q --vocab-size 300"

mkdir -p bad/empty bad/latin1 bad/nodocs bad/one/solo bad/one/many
cp corpus/english/doc000.txt bad/empty/good.txt; : > bad/empty/empty.txt
printf 'caf\351 au lait\n' > bad/latin1/menu.txt
cp corpus/english/doc000.txt bad/one/solo/only.txt
cp corpus/english/doc001.txt bad/one/many/a.txt; cp corpus/english/doc002.txt bad/one/many/b.txt

expect_error empty-file 2 "bad/empty/empty.txt is empty" $P -o x.h5 bad/empty
expect_error non-utf8 2 "bad/latin1/menu.txt is not UTF-8
byte offset 3" $P -o x.h5 bad/latin1
expect_error no-documents 2 "no documents
bad/nodocs" $P -o x.h5 bad/nodocs
expect_error missing-input 2 "input missing/dir: No such file" $P -o x.h5 missing/dir
expect_error no-output 2 "give -o OUT.h5" $P corpus
expect_error no-inputs 2 "no inputs" $P -o x.h5
expect_error vocab-small 2 "--vocab-size 100
257..65536" $P --vocab-size 100 -o x.h5 corpus
expect_error vocab-large 2 "--vocab-size 70000" $P --vocab-size 70000 -o x.h5 corpus
expect_error bad-partition 2 "--partition random
by-source" $P --partition random -o x.h5 corpus
expect_error bad-alpha 2 "dirichlet:0.5" $P --partition dirichlet:-1 -o x.h5 corpus
expect_error by-source-silos 2 "5 sources, --silos 6" $P --silos 6 --partition by-source -o x.h5 corpus
expect_error too-many-silos 2 "--silos 40" $P --silos 40 -o x.h5 corpus
expect_error val-fraction 2 "--val-fraction 1.5" $P --val-fraction 1.5 -o x.h5 corpus
expect_error lonely-source 2 "source 'solo' has 1 document
--val-fraction" $P -o x.h5 bad/one
expect_error bad-format 2 "--format xml" $P --format xml -o x.h5 corpus
expect_error brown-name 2 "corpus/english/doc000.txt is not a Brown corpus text" $P --format brown -o x.h5 corpus/english/doc000.txt
expect_error bad-option 2 "unknown option" $P --vocabulary 5 -o x.h5 corpus
printf 'corpus/english/doc000.txt\tone\n' > partial.tsv
expect_error map-missing 2 "corpus/english/doc001.txt is not listed in source map partial.tsv" $P --source-map partial.tsv -o x.h5 corpus/english
printf 'corpus/english/doc000.txt one\n' > spaces.tsv
expect_error map-syntax 2 "source map spaces.tsv line 1
path<TAB>source" $P --source-map spaces.tsv -o x.h5 corpus/english
expect_error map-missing-file 2 "cannot read source map nomap.tsv" $P --source-map nomap.tsv -o x.h5 corpus
expect_error output-dir 2 "cannot write nodir/x.h5
directory nodir does not exist" $P -o nodir/x.h5 corpus
[ -e x.h5 ] && fail "a failed prep left x.h5"
[ -z "$(find . -name '*.tmp.*')" ] || fail "a failed prep left a temporary file: $(find . -name '*.tmp.*')"

# photon info
$P --silos 2 -o good.h5 corpus || fail "prep good.h5"
expect_error info-missing 2 "nothere.h5: No such file
photon prep" "$PREPINFO" info nothere.h5
cp partial.tsv map.tsv; expect_error info-not-hdf5 2 "map.tsv is not an HDF5 file" "$PREPINFO" info map.tsv
expect_error info-usage 2 "give one data file" "$PREPINFO" info
cp good.h5 other.h5 && "$CHECKFILE" --set-string other.h5 format model-checkpoint || fail "set format"
expect_error info-other-format 2 "other.h5 is an HDF5 file but not a photon data file
'model-checkpoint'" "$PREPINFO" info other.h5
cp good.h5 v2.h5 && "$CHECKFILE" --set-int v2.h5 format_version 2 || fail "set version"
expect_error info-version 2 "v2.h5 has photon-data format version 2
re-run photon prep" "$PREPINFO" info v2.h5

# the loader
expect_error loader-silo 2 "good.h5 has 2 silos
silo 2 is out of range" "$LOADER" open good.h5 2 16 2
expect_error loader-small 2 "good.h5
one step needs nranks*B
lower B or T" "$LOADER" open good.h5 0 512 64
expect_error loader-missing 2 "nothere.h5: No such file" "$LOADER" open nothere.h5 0 16 2
expect_error loader-version 2 "v2.h5 has photon-data format version 2" "$LOADER" open v2.h5 0 16 2
expect_error loader-format 2 "other.h5 is an HDF5 file but not a photon data file" "$LOADER" open other.h5 0 16 2
expect_error loader-missing-2ranks 2 "nothere.h5" "$LAUNCH" 2 "$LOADER" open nothere.h5 0 16 2
"$LOADER" open good.h5 0,1 16 2 >/dev/null || fail "loader open good.h5 0,1"
echo "test_data_errors: $passed error paths checked"
