#!/bin/sh
# scaling-study.sh: submit a sweep of photon runs to Slurm, one job per (deck, silos, ranks per
# silo), then one job that gathers their results (jobs/gather.py) once they have all ended.
#
#   jobs/scaling-study.sh [-n] [-N] [-o OUTDIR] [-s "1 2 4"] [-r "1 2"] [-d DATA] [DECK ...] [-- OVERRIDES ...]
#
#   DECK         input decks, one model size each (default: inputs/tiny.deck)
#   -s LIST      silo counts (default "1 2 4")
#   -r LIST      ranks per silo (default "1")
#   -o OUTDIR    run directories OUTDIR/<deck>-s<S>-r<R> (default runs/scaling)
#   -d DATA      data file of each run, "{S}" replaced by the silo count (a data file holds a
#                fixed number of silos: prep one per count), e.g. -d cache/brown-{S}silos.h5;
#                default: each deck's [data] file, which must then have every count's silos
#   -n           print the sbatch commands instead of submitting them
#   -N           one silo per node: each job runs jobs/cpu-multi-node.sbatch on S nodes with R
#                tasks per node (the default: jobs/cpu-single-node.sbatch on one node)
#   -- ...       overrides given to every run (section.key=value)
#
# Every job runs jobs/cpu-single-node.sbatch with --ntasks = S x R (with -N: cpu-multi-node.sbatch
# on S nodes, R tasks each); every run writes its
# metrics.jsonl, whose "end" record gather.py collects into OUTDIR/scaling.csv and
# OUTDIR/scaling.png. Environment: SBATCH_FLAGS (extra sbatch flags for every job, e.g. a
# partition or account), PHOTON (the photon binary, passed to the jobs).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
silos="1 2 4"; ranks="1"; out=runs/scaling; dry=0; data=""; multi=0
while getopts "nNs:r:o:d:h" opt; do
    case $opt in
        n) dry=1 ;;
        N) multi=1 ;;
        s) silos=$OPTARG ;;
        r) ranks=$OPTARG ;;
        o) out=$OPTARG ;;
        d) data=$OPTARG ;;
        *) sed -n '2,25p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
decks=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do decks="$decks $1"; shift; done
[ $# -gt 0 ] && shift # the "--"; what is left are overrides
[ -n "$decks" ] || decks=inputs/tiny.deck
for d in $decks; do [ -f "$d" ] || { echo "scaling-study.sh: no deck $d" >&2; exit 2; }; done
mkdir -p "$out"

submit() { # prints the job id (or the command with -n)
    if [ $dry = 1 ]; then echo "sbatch $*" >&2; echo "DRY"; else sbatch --parsable ${SBATCH_FLAGS:-} "$@"; fi
}
ids=""
for deck in $decks; do
    name=$(basename "$deck" .deck)
    for s in $silos; do
        file=""
        if [ -n "$data" ]; then
            file=$(printf '%s' "$data" | sed "s/{S}/$s/g")
            [ $dry = 1 ] || [ -f "$file" ] || { echo "scaling-study.sh: no data file $file (-d $data) for $s silos" >&2; exit 2; }
        fi
        for r in $ranks; do
            run="$out/$name-s$s-r$r"
            if [ $multi = 1 ]; then
                where="--nodes=$s --ntasks-per-node=$r"; script=cpu-multi-node.sbatch
            else
                where="--ntasks=$((s * r))"; script=cpu-single-node.sbatch
            fi
            id=$(submit --job-name="photon-$name-s$s-r$r" $where --output="$out/%x-%j.out" \
                "$here/$script" "$deck" run.dir="$run" federation.silos="$s" ${file:+"data.file=$file"} "$@")
            ids="$ids:$id"
            echo "submitted $run: $s silos x $r ranks (job $id)"
        done
    done
done
# gather when every run has ended, whatever its state
submit --job-name=photon-gather --ntasks=1 --output="$out/%x-%j.out" --dependency="afterany$ids" \
    --wrap="/usr/bin/python3 $here/gather.py $out -o $out/scaling.csv --plot $out/scaling.png" >/dev/null
echo "gather job: $out/scaling.csv, $out/scaling.png once the runs end"
