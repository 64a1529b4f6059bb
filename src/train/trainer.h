/* trainer.h: the driver's state and its parts (src/train). `photon train` (train.c) builds one
 * Trainer from the deck's typed configs (trainer.c), runs rounds of steps on a backend, closes
 * each round at its boundary (round_sync.c), reports (train_report.c) and checkpoints
 * (train_ckpt.c). Every function here is called on every rank of MPI_COMM_WORLD in the same
 * order unless it says otherwise; the ranks' roles come from the topology (silo leaders, the
 * server with topology = server), never from a device or a mode test in the loop. */
#ifndef PHOTON_TRAINER_H
#define PHOTON_TRAINER_H

#include <mpi.h>
#include <stddef.h>

#include "backend.h"
#include "checkpoint.h"
#include "datafile.h"
#include "deck.h"
#include "eval.h"
#include "fedavg.h"
#include "fragments.h"
#include "gpt.h"
#include "loader.h"
#include "metrics.h"
#include "run_config.h"
#include "round_plan.h"
#include "run_lock.h"
#include "topology.h"
#include "watchdog.h"

/* One step's outcome as the reports see it. comm_*: the ddp baseline's cross-silo exchange. */
typedef struct { float loss; double grad_norm; float lr; double modeled_comm_s; double comm_s; double bytes; int clipped; } StepResult;

/* One round's running totals (this rank's), from its first step to its report. */
typedef struct {
    long round, first_step, steps;   // steps: global steps in this round (all ranks count them)
    int active, active_silos;        // this rank's silo takes part; how many silos do
    int sync;                        // a synchronous round (federation.sync_steps): ddp steps, no average
    long clipped;                    // this rank's steps whose gradient was clipped
    double t_start, compute_s, loss_sum, ddp_modeled, ddp_comm, ddp_bytes;
    /* At the boundary: the workers' sum of the silo leaders' mean losses and their count, the
     * slowest compute time, and the round's traffic (bytes, modeled s, measured s). */
    double loss_sums[4], compute_max, traffic[4]; // loss_sums[2], [3]: the leaders' clipped steps and steps; traffic[3]: state bytes
    /* The non-finite guard (train_guard.c): this rank's first step whose loss or gradient norm
     * was not finite (-1: none), with those values. */
    long bad_step;
    float bad_loss;
    double bad_grad_norm;
    int silo_bad;                    // federated: this silo's own model went non-finite before the sync
    /* Streaming sync (fragments.h): the round's exchanges, and the last one's stats. */
    FragExchange frag_log[FRAG_LOG_MAX];
    int nfrag, frag_synced;
    RoundStats frag_st;
    double frag_comm_s;              // wall time in the fragments' exchanges
} RoundTally;

typedef struct Trainer {
    Deck deck;                 /* provenance only: the layers take cfg */
    RunConfig cfg;
    RoundPlan plan;            /* the rounds' steps (round_plan.h) */
    int step_batch;            /* sequences in the batch each step's mean gradient covers */
    double lr_scale;           /* optim.lr_scaling's factor (1: none), applied to cfg.schedule.lr */
    char data_file_abs[DECK_STR_MAX]; /* cfg.run.data_file made absolute, for the weights files */
    RunIdentity id;            /* what checkpoints record (train_ckpt.c) */
    char *effective;           /* the effective deck's text, for id */
    DataInfo info;
    Topology topo;
    int rank, world;
    MPI_Comm group;            /* the data-parallel group this rank trains in (silo, or all workers) */
    int group_rank, group_size;
    MPI_Comm workers;          /* every rank but the server */
    GPT model;                 /* the host model: the federation, evaluation and checkpoints use it */
    float *adam_m, *adam_v;    /* inner optimizer state, params layout */
    long adam_t;               /* steps this rank's optimizer has taken (bias correction) */
    float *theta_global;       /* federated: the global weights (leaders and the server) */
    Backend backend;           /* where the steps run (backend.h) */
    Federation *fed;
    Fragments *frag;           /* streaming sync (fragments.h), or NULL: whole rounds */
    Loader *loader;
    EvalSet evalset;
    EvalResult final_eval;     /* the last final-scope evaluation (workers), for the end record */
    int have_final_eval;       /* 1 once this invocation made it */
    int *inputs, *targets;
    Metrics metrics;
    StepResult *step_comm;     /* the step in progress, for the ddp exchange hook */
    /* counters */
    double tokens_seen;        /* global, all silos */
    double modeled_wall_s;     /* compute + modeled inter-silo time */
    double inter_bytes_total;  /* all inter-silo bytes so far */
    double compute_s_total;
    double clipped_steps, counted_steps; /* the silo leaders' steps whose gradient was clipped, of all their steps (checkpointed) */
    /* durability */
    const char *resume;        /* --resume argument (a file or "latest"), NULL = fresh start */
    char resumed_from[CKPT_PATH_MAX]; /* "" unless resumed */
    CkptState ckpt;            /* where the run starts: round 0, or the checkpoint's */
    /* run-level guards */
    RunLock lock;              /* world rank 0: RUN_DIR/photon.lock (run_lock.h) */
    Watchdog *watchdog;        /* NULL with run.watchdog_s = 0 */
    int rollbacks;             /* on_nonfinite = rollback: how many so far */
} Trainer;

static inline int trainer_is_root(const Trainer *tr) { return tr->rank == 0; }
/* Rank 0 prints "photon train: MSG" on stderr. */
void trainer_report_error(const Trainer *tr, const char *msg);

/* trainer.c. init: an empty Trainer that teardown can always free (not collective). setup:
 * COLLECTIVE; after deck_load: data, topology, model, backend, loader, evaluation set and
 * federation. 0, or -1 with a message (the same verdict on every rank). */
void trainer_init(Trainer *tr);
int trainer_setup(Trainer *tr, char *err, size_t errlen);
void trainer_teardown(Trainer *tr);

/* round_sync.c: the round boundary. */
/* Which silos take part in `round` (federated: sampled by the seeded RNG; else all). */
void round_participants(const Trainer *tr, long round, int *participating);
/* Forget this rank's inner optimizer state (inner_state = reset, or a dropped silo). Local. */
void trainer_reset_inner(Trainer *tr);
/* GradExchange of the ddp baseline: the silos' mean gradient over the weak links (ctx = tr). */
void ddp_average_silos(void *ctx, float *grads, size_t n);
/* After a round's steps: the workers' telemetry sums, then (federated) the federation's average
 * with the inner-state policy, the round's traffic and the run's counters. local_loss: each
 * silo's validation loss (on the windows of `scope`) before averaging when eval_now
 * (federated), else untouched. */
void round_boundary(Trainer *tr, RoundTally *t, const int *participating, int eval_now, EvalScope scope,
                    double *local_loss, RoundStats *st);

/* train_report.c: what the run tells. Printing and metrics on rank 0; the evaluations are
 * collective over the workers (the server returns at once). */
void report_banner(const Trainer *tr);
void report_start(Trainer *tr);
void report_step(Trainer *tr, const RoundTally *t, long step, long h, const StepResult *r);
void report_round(Trainer *tr, const RoundTally *t, long step, const int *participating, const RoundStats *st);
void report_stop(const Trainer *tr, long round, int sig, int ckpt_failed);
/* The end record and summary carry tr->final_eval; when this invocation made no final evaluation
 * (it resumed from the last round's checkpoint) it is made here first (collective). */
int report_end(Trainer *tr);
/* Validation of the global model on the windows of `scope` (NaN on the server), reported;
 * local: silo losses or NULL. The final scope's result is kept in tr->final_eval. */
double evaluate_global(Trainer *tr, EvalScope scope, long round, long step, const double *local);
/* Validation of each silo's model before averaging into local[S] (summed over the workers). */
void evaluate_local(Trainer *tr, EvalScope scope, double *local);

/* train_ckpt.c: durability. identity: fill tr->id once after setup. checkpoint: COLLECTIVE,
 * the state after `rounds` rounds and `steps` steps into tr->cfg.ckpt.dir. resume: --resume;
 * 0 (loaded, or "latest" found none) or -1 with a message. */
void train_identity(Trainer *tr);
int train_checkpoint(Trainer *tr, long rounds, long steps, double last_val, char *path, size_t pathlen, char *err,
                     size_t errlen);
int train_resume(Trainer *tr, char *err, size_t errlen);

/* train_guard.c: the run-level guards. The non-finite guard: guard_step notes a step's loss and
 * gradient norm (and counts progress for the watchdog), guard_before_sync checks a silo's own
 * model before the federation averages it; guard_round (COLLECTIVE, after the round boundary)
 * agrees on the round over all ranks and returns 0 (finite: go on), or 1 after a rollback to
 * the last checkpoint (*round is set to continue from it), or 3, the exit status, after telling
 * why. Nothing non-finite is written in any case: checkpoints and final.h5 come after it. */
void guard_step(Trainer *tr, RoundTally *t, long step, const StepResult *r);
void guard_before_sync(Trainer *tr, RoundTally *t);
int guard_round(Trainer *tr, const RoundTally *t, const RoundStats *st, long *round, double *last_val);
/* The run directory lock and the watchdog (COLLECTIVE): claim before anything in run.dir is
 * written (0, 1 = in use or unlockable with a message; every rank gets the verdict); start the
 * watchdog when the run begins; release both at teardown. */
int guard_claim_run_dir(Trainer *tr, char *err, size_t errlen);
int guard_start_watchdog(Trainer *tr, char *err, size_t errlen);
void guard_release(Trainer *tr);

#endif
