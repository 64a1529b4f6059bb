/* checkpoint.h: durable runs. One parallel HDF5 file per checkpoint holds everything a run needs
 * to continue bitwise where it stopped: the global weights, the outer optimizer's state, every
 * silo's inner optimizer state and loader cursor, the round and the trainer's counters, and the
 * deck's text (doc/formats.md, "Checkpoint file", lists every dataset and attribute).
 *
 * Writing is collective over MPI_COMM_WORLD: every rank creates the file with the MPI-IO driver
 * and the ranks that own a piece of the state write it (rank 0 the weights, silo leaders their
 * silo's row of the (S, n) inner moments, the outer optimizer's holder its state). Every dataset
 * carries a SHA-256 of its bytes per row (attribute `sha256`, uint8 (R, 32)), the root attributes
 * one over all of them (`attrs_sha256`, h5util.h): a damaged, edited or incomplete file is refused
 * with the file and the dataset or attribute named, and `--resume latest` falls back to the
 * previous one. A write that fails on any rank is agreed on before the next collective, so every
 * rank leaves the writer (no hang), with the failing rank's message on rank 0.
 *
 * Atomicity: the file is written as ckpt-RRRRRR.h5.tmp; once every rank reports success (an
 * MPI_Allreduce), rank 0 fsyncs it, renames it to ckpt-RRRRRR.h5 (RRRRRR = rounds completed),
 * fsyncs the directory and deletes all but the newest `keep` checkpoints. A run killed at any
 * moment leaves at most a .tmp file, which readers never consider. */
#ifndef PHOTON_CHECKPOINT_H
#define PHOTON_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "gpt.h"
#include "loader.h"
#include "optim.h"
#include "outer.h"
#include "run_config.h"
#include "topology.h"

#define CKPT_FORMAT "photon-checkpoint"
#define CKPT_FORMAT_VERSION 2 /* 2: the root attributes carry attrs_sha256 */
#define CKPT_PATH_MAX (512 + 64) /* a deck path (DECK_STR_MAX) and the file name */

/* What a checkpoint records about the run that wrote it, filled by the driver from its typed
 * configs: which buffers exist (mode, outer), what a resumed run must share (the rest), and the
 * deck's text for provenance. Identical on every rank. */
typedef struct {
    GPTConfig config;          // the model shape
    RunMode mode;
    TopologyKind topology;
    InnerOptimizer optimizer;
    OuterKind outer;
    int local_steps;
    long steps;
    CodecKind codec;           // [compress] codec (fp32: no compression state)
    int error_feedback;        // [compress] error_feedback
    int fragments, overlap_steps; // [federation] streaming sync (1, 0: none)
    /* The run's round plan (src/train/round_plan.h): round r starts at step round_first[r],
     * r = 0 .. num_rounds (round_first[num_rounds] = steps). NULL: rounds of local_steps. */
    const long *round_first;
    long num_rounds;
    const char *data_file;     // absolute
    const char *deck_text;     // the deck as given ("" if none)
    const char *overrides;     // the command-line overrides ("" if none)
    const char *effective;     // every key's effective value, as deck_print_values writes it
} RunIdentity;

/* Where the run stands at a round boundary: identical on every rank (rank 0's values). */
typedef struct {
    long round;               // rounds completed: a resumed run starts at this round
    long step;                // global steps completed
    double tokens_seen, modeled_wall_s, inter_bytes_total, compute_s_total;
    double last_val_loss;     // the latest validation loss (NaN if none yet)
    double clipped_steps, counted_steps; // the silo leaders' clipped steps of all their steps (0, 0 in files before them)
    int64_t metrics_offset;   // bytes of RUN_DIR/metrics.jsonl written up to this boundary
} CkptState;

/* What one rank contributes to (or receives from) a checkpoint. Pointers this rank does not
 * hold are NULL (the server has no inner state and no loader). */
typedef struct {
    const RunIdentity *id;
    const Topology *topo;
    size_t n;                  // parameters
    float *params;             // (n) the global weights: every rank holds them at a round boundary
    float *adam_m, *adam_v;    // (n) this rank's inner AdamW moments (its silo's, replicated)
    long *adam_t;              // inner optimizer steps taken
    OuterOpt *outer;           // this rank's outer optimizer (fed_outer), or NULL
    float *residual;           // (n) a leader's error-feedback residual e_k (fed_residual), or NULL
    float *residual_down;      // (n) the downlink residual on the outer state's holder, or NULL
    float *local_params;       // streaming sync: (n) this rank's own model (params is θ_global), or NULL
    int64_t *frag_state;       // streaming sync: (fragments, 3) every rank (fragments.h)
    LoaderCursor *cursor;      // this rank's loader cursor, or NULL (the server)
    CkptState *state;
} CkptView;

/* Writes RUN's checkpoint after `v->state->round` rounds into `dir` (created if needed) and prunes
 * to `keep`. COLLECTIVE over MPI_COMM_WORLD. On success every rank returns 0 and `path` holds the
 * final name; on failure every rank returns -1 (no file is left under the final name) with a
 * message on the rank(s) that failed ("another rank failed" elsewhere). */
int ckpt_write(const CkptView *v, const char *dir, int keep, char *path, size_t pathlen, char *err, size_t errlen);

/* Verifies everything a resume reads from the checkpoint `path`: the format, every root attribute
 * (present, matching attrs_sha256, in range: round within the file's steps / local_steps), every
 * dataset (present, the shape the attributes imply, matching its SHA-256), including every buffer
 * the file's outer optimizer declares. Serial (one rank). 0, or -1 with a message naming the file
 * and the dataset or attribute. */
int ckpt_verify(const char *path, char *err, size_t errlen);
/* What a weights reader takes from a checkpoint: its format, root attributes (attrs_sha256 and
 * their ranges) and /params against its SHA-256. Serial. 0, or -1 with a message. */
int ckpt_verify_weights(const char *path, char *err, size_t errlen);

/* Chooses the checkpoint to resume from (serial, one rank). `what` is a file, or "latest": the
 * newest ckpt-*.h5 in `dir` that verifies; damaged ones are skipped with a note on stderr.
 * Returns 0 with the path, 1 if `what` is "latest" and `dir` holds no checkpoint at all, or -1
 * with a message (a damaged file given by name, or every checkpoint in dir damaged). */
int ckpt_find(const char *what, const char *dir, char *path, size_t pathlen, char *err, size_t errlen);

/* Reads a checkpoint (verified beforehand) into `v`. COLLECTIVE over MPI_COMM_WORLD. The run
 * (v->id) must be compatible: the model shape, mode, silo count, inner and outer optimizer and
 * local_steps must be those it was written with (the number of ranks per silo may differ: each
 * rank takes its silo's inner state and loader cursor). 0 on every rank, or -1 on every rank with
 * a message naming the key to change. */
int ckpt_read(CkptView *v, const char *path, char *err, size_t errlen);

/* Removes every ckpt-*.h5 and ckpt-*.h5.tmp in dir (a fresh run that reuses a run directory).
 * Returns how many files were removed. */
int ckpt_clear(const char *dir);

/* A resumed run's history: removes every ckpt-*.h5 (and .tmp) in dir after `round` rounds, so
 * that the checkpoints left all lie on the history the resumed run continues (metrics.jsonl is
 * cut back to the same round). Returns how many files were removed. */
int ckpt_remove_newer(const char *dir, long round);

/* Test hook: PHOTON_TEST_CRASH_AT=PHASE:ROUND makes rank 0 _exit(137) inside ckpt_write when it
 * writes the checkpoint after ROUND rounds, at PHASE = write (tmp file half written), rename
 * (tmp complete, not yet renamed) or prune (renamed, older ones not yet deleted). */
/* Test hook: PHOTON_TEST_FAIL_WRITE=ckpt:ROUND makes the last rank's write of /inner/adam_m fail
 * with ENOSPC in the checkpoint after ROUND rounds (the agreement on a failed collective write,
 * tested where no small file system can be mounted). */

#endif
