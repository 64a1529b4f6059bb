#!/bin/sh
# test_data_errors.sh: every user error of photon prep, photon info and the loader exits 2
# (prep, info) or fails to open (loader) with a message naming the file and what to change.
. "$PHOTON_SRCDIR/validation/test_data_lib.sh"
gen_corpus 4 3
P="$PHOTON prep -q --vocab-size 300"

mkdir -p bad/empty bad/latin1 bad/nodocs bad/one/solo bad/one/many
cp corpus/english/doc000.txt bad/empty/good.txt; : > bad/empty/empty.txt
printf 'caf\351 au lait\n' > bad/latin1/menu.txt
cp corpus/english/doc000.txt bad/one/solo/only.txt
cp corpus/english/doc001.txt bad/one/many/a.txt; cp corpus/english/doc002.txt bad/one/many/b.txt

MUST="bad/empty/empty.txt is empty";               expect_fail empty-file 2 $P -o x.h5 bad/empty
MUST="bad/latin1/menu.txt is not UTF-8
byte offset 3";                                    expect_fail non-utf8 2 $P -o x.h5 bad/latin1
MUST="no documents
bad/nodocs";                                       expect_fail no-documents 2 $P -o x.h5 bad/nodocs
MUST="input missing/dir: No such file";            expect_fail missing-input 2 $P -o x.h5 missing/dir
MUST="give -o OUT.h5";                             expect_fail no-output 2 $P corpus
MUST="no inputs";                                  expect_fail no-inputs 2 $P -o x.h5
MUST="--vocab-size 100
257..65536";                                       expect_fail vocab-small 2 $P --vocab-size 100 -o x.h5 corpus
MUST="--vocab-size 70000";                         expect_fail vocab-large 2 $P --vocab-size 70000 -o x.h5 corpus
MUST="--partition random
by-source";                                        expect_fail bad-partition 2 $P --partition random -o x.h5 corpus
MUST="dirichlet:0.5";                              expect_fail bad-alpha 2 $P --partition dirichlet:-1 -o x.h5 corpus
MUST="5 sources, --silos 6";                       expect_fail by-source-silos 2 $P --silos 6 --partition by-source -o x.h5 corpus
MUST="--silos 40";                                 expect_fail too-many-silos 2 $P --silos 40 -o x.h5 corpus
MUST="--val-fraction 1.5";                         expect_fail val-fraction 2 $P --val-fraction 1.5 -o x.h5 corpus
MUST="source 'solo' has 1 document
--val-fraction";                                   expect_fail lonely-source 2 $P -o x.h5 bad/one
MUST="--format xml";                               expect_fail bad-format 2 $P --format xml -o x.h5 corpus
MUST="corpus/english/doc000.txt is not a Brown corpus text";  expect_fail brown-name 2 $P --format brown -o x.h5 corpus/english/doc000.txt
MUST="unknown option";                             expect_fail bad-option 2 $P --vocabulary 5 -o x.h5 corpus
printf 'corpus/english/doc000.txt\tone\n' > partial.tsv
MUST="corpus/english/doc001.txt is not listed in source map partial.tsv"; expect_fail map-missing 2 $P --source-map partial.tsv -o x.h5 corpus/english
printf 'corpus/english/doc000.txt one\n' > spaces.tsv
MUST="source map spaces.tsv line 1
path<TAB>source";                                  expect_fail map-syntax 2 $P --source-map spaces.tsv -o x.h5 corpus/english
MUST="cannot read source map nomap.tsv";           expect_fail map-missing-file 2 $P --source-map nomap.tsv -o x.h5 corpus
MUST="cannot write nodir/x.h5
directory nodir does not exist";                                expect_fail output-dir 2 $P -o nodir/x.h5 corpus
[ -e x.h5 ] && fail "a failed prep left x.h5"
[ -z "$(find . -name '*.tmp.*')" ] || fail "a failed prep left a temporary file: $(find . -name '*.tmp.*')"

# photon info
$P --silos 2 -o good.h5 corpus || fail "prep good.h5"
MUST="nothere.h5: No such file
photon prep";                                      expect_fail info-missing 2 "$PHOTON" info nothere.h5
MUST="map.tsv is not an HDF5 file";                cp partial.tsv map.tsv; expect_fail info-not-hdf5 2 "$PHOTON" info map.tsv
MUST="give one data file";                         expect_fail info-usage 2 "$PHOTON" info
cp good.h5 other.h5 && "$CHECK" --set-string other.h5 format model-checkpoint || fail "set format"
MUST="other.h5 is an HDF5 file but not a photon data file
'model-checkpoint'";                               expect_fail info-other-format 2 "$PHOTON" info other.h5
cp good.h5 v2.h5 && "$CHECK" --set-int v2.h5 format_version 2 || fail "set version"
MUST="v2.h5 has photon-data format version 2
re-run photon prep";                               expect_fail info-version 2 "$PHOTON" info v2.h5

# the loader
MUST="good.h5 has 2 silos
silo 2 is out of range";                           expect_fail loader-silo 2 "$LOADER" open good.h5 2 16 2
MUST="good.h5
one step needs nranks*B
lower B or T";                                     expect_fail loader-small 2 "$LOADER" open good.h5 0 512 64
MUST="nothere.h5: No such file";                   expect_fail loader-missing 2 "$LOADER" open nothere.h5 0 16 2
MUST="v2.h5 has photon-data format version 2";     expect_fail loader-version 2 "$LOADER" open v2.h5 0 16 2
MUST="other.h5 is an HDF5 file but not a photon data file"; expect_fail loader-format 2 "$LOADER" open other.h5 0 16 2
MUST="nothere.h5";                                 expect_fail loader-missing-2ranks 2 "$LAUNCH" 2 "$LOADER" open nothere.h5 0 16 2
"$LOADER" open good.h5 0,1 16 2 >/dev/null || fail "loader open good.h5 0,1"
echo "test_data_errors: $passed error paths checked"
