/* train_guard.c: the run-level guards of `photon train` (see trainer.h): one run per run
 * directory (run_lock.h), a watchdog against a job that no longer moves (watchdog.h), and the
 * non-finite guard.
 *
 * The non-finite guard. Each step's loss and gradient norm are the same on every rank of a
 * data-parallel group (the backend all-reduces both), so a rank notes its first non-finite step
 * without talking to anyone; at the round boundary every rank adds one MPI_Allgather of a few
 * numbers and checks its own weights and AdamW moments (one pass over them per round, next to
 * the round's H steps), and all reach the same verdict. A bad round stops the run (exit status
 * 3) before its evaluation and checkpoint, so nothing non-finite is ever written: the newest
 * checkpoint is the last good state. With run.on_nonfinite = rollback the run instead reloads
 * that checkpoint from disk (the --resume path, so everything a resume restores comes back:
 * weights, moments, outer state, data cursor, counters) and goes on with the learning rate
 * scaled by run.rollback_lr_factor; the data replays in the same order, so two identical runs
 * roll back identically. The scale is not stored in checkpoints: a later --resume runs on the
 * deck's optim.lr (the rollback message says so). In federated mode a silo that goes
 * non-finite is the federation's to drop (round_policy.c); the guard acts when every
 * participating silo did, or when the global weights themselves are non-finite. */
#include "trainer.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Whether x[0..n) holds only finite values: x * 0 is NaN exactly for Inf and NaN, and the sum
 * vectorises (no branch per element). */
static int all_finite(const float *x, size_t n)
{
    float s = 0.0f;
    for (size_t i = 0; i < n; i++) s += x[i] * 0.0f;
    return s == 0.0f;
}

/* Test hook: PHOTON_TEST_NAN_AT=STEP[:SILO] puts a NaN into this rank's host weights after
 * global step STEP (in every silo, or in SILO only), once per process, as a diverging step
 * would. On the CPU backend the next step computes with it; otherwise the boundary's weight
 * check sees it. A rollback replays STEP cleanly. */
static void test_nan_hook(Trainer *tr, long step)
{
    static int fired = 0;
    const char *spec = getenv("PHOTON_TEST_NAN_AT");
    long at = -1, silo = -1;
    if (fired || !spec || sscanf(spec, "%ld:%ld", &at, &silo) < 1 || step != at) return;
    if (silo >= 0 && silo != tr->topo.silo) return;
    fired = 1;
    tr->model.params_memory[0] = NAN;
    if (trainer_is_root(tr)) fprintf(stderr, "photon train: PHOTON_TEST_NAN_AT=%s: a NaN in the weights after step %ld\n", spec, step);
}

void guard_step(Trainer *tr, RoundTally *t, long step, const StepResult *r)
{
    watchdog_progress(tr->watchdog);
    test_nan_hook(tr, step);
    if (t->bad_step >= 0 || (isfinite(r->loss) && isfinite(r->grad_norm))) return;
    t->bad_step = step;
    t->bad_loss = r->loss;
    t->bad_grad_norm = r->grad_norm;
}

void guard_before_sync(Trainer *tr, RoundTally *t)
{
    if (tr->cfg.fed.mode != MODE_FEDERATED || !t->active) return;
    t->silo_bad = t->bad_step >= 0 || !all_finite(tr->model.params_memory, tr->model.num_parameters);
}

/* What each rank tells the others at the boundary (doubles: one MPI type; steps < 2^53). */
enum { G_BAD_STEP, G_SILO, G_REPORTER, G_SILO_BAD, G_STATE_BAD, G_LOSS, G_GNORM, G_N };

/* This rank's state after the boundary: what a checkpoint or final.h5 would write. */
static int state_finite(const Trainer *tr)
{
    const size_t n = tr->model.num_parameters;
    if (tr->topo.is_server) return !tr->theta_global || all_finite(tr->theta_global, n);
    return all_finite(tr->model.params_memory, n) && all_finite(tr->adam_m, n) && all_finite(tr->adam_v, n);
}

/* The round's verdict from every rank's record (the same on every rank): "" when it is good,
 * else what went non-finite. */
static void verdict(const Trainer *tr, const RoundTally *t, const double *all, char *why, size_t whylen)
{
    const int world = tr->world, federated = tr->cfg.fed.mode == MODE_FEDERATED;
    int first = -1, state_rank = -1, reporters = 0, bad_silos = 0;
    for (int r = 0; r < world; r++) {
        const double *g = all + (size_t)r * G_N;
        if (g[G_BAD_STEP] >= 0 && (first < 0 || g[G_BAD_STEP] < all[(size_t)first * G_N + G_BAD_STEP])) first = r;
        if (g[G_STATE_BAD] && state_rank < 0) state_rank = r;
        if (g[G_REPORTER]) { reporters++; bad_silos += g[G_SILO_BAD] != 0; }
    }
    why[0] = '\0';
    char at[256] = "";
    if (first >= 0) {
        const double *g = all + (size_t)first * G_N;
        char silo[32] = "";
        if (tr->cfg.fed.mode != MODE_CENTRALIZED && g[G_SILO] >= 0) snprintf(silo, sizeof silo, " of silo %d", (int)g[G_SILO]);
        snprintf(at, sizeof at, "step %ld%s (loss %g, gradient norm %g)", (long)g[G_BAD_STEP], silo, g[G_LOSS], g[G_GNORM]);
    }
    if (federated) {
        if (reporters > 0 && bad_silos == reporters)
            snprintf(why, whylen, "round %ld: every participating silo (%d) went non-finite%s%s", t->round, reporters,
                     at[0] ? ", the first at " : "", at);
        else if (state_rank >= 0)
            snprintf(why, whylen, "round %ld: the global weights or optimizer state became non-finite in the federation's "
                     "average (world rank %d)", t->round, state_rank);
    } else if (first >= 0) {
        snprintf(why, whylen, "round %ld: %s is non-finite", t->round, at);
    } else if (state_rank >= 0) {
        snprintf(why, whylen, "round %ld: the weights or optimizer state of world rank %d became non-finite (by step %ld)",
                 t->round, state_rank, t->first_step + t->steps - 1);
    }
}

/* The newest good checkpoint, found by rank 0 and known to all: 0 with its path, 1 none. */
static int last_good_checkpoint(Trainer *tr, char *path, size_t pathlen)
{
    char err[2048] = "";
    int found = 1;
    if (trainer_is_root(tr)) {
        found = ckpt_find("latest", tr->cfg.ckpt.dir, path, pathlen, err, sizeof err);
        if (found < 0) fprintf(stderr, "photon train: %s\n", err);
    }
    mpiCheck(MPI_Bcast(&found, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (found) return 1;
    mpiCheck(MPI_Bcast(path, (int)pathlen, MPI_CHAR, 0, MPI_COMM_WORLD));
    return 0;
}

/* Back to the checkpoint at path with the learning rate scaled (see the top of the file). */
static int rollback(Trainer *tr, long bad_round, const char *why, const char *path, long *round, double *last_val)
{
    const GuardConfig *g = &tr->cfg.guard;
    const char *resume = tr->resume;
    char err[2048] = "";
    tr->resume = path;
    const int failed = train_resume(tr, err, sizeof err);
    tr->resume = resume;
    if (failed) {
        trainer_report_error(tr, err);
        return 3;
    }
    tr->rollbacks++;
    tr->cfg.schedule.lr = (float)(tr->cfg.schedule.lr * g->rollback_lr_factor);
    *round = tr->ckpt.round - 1;   // the loop's round++ continues after the checkpoint's rounds
    *last_val = tr->ckpt.last_val_loss;
    if (trainer_is_root(tr)) {
        metrics_record(&tr->metrics, "\"type\":\"rollback\",\"round\":%ld,\"rollback\":%d,\"to_round\":%ld,\"lr\":%.9g",
                       bad_round, tr->rollbacks, tr->ckpt.round, tr->cfg.schedule.lr);
        printf("rollback %d of %d: %s; back to %s (after round %ld) with the learning rate x %g (peak %g); a later --resume "
               "runs on the deck's optim.lr\n", tr->rollbacks, g->max_rollbacks, why, path, tr->ckpt.round - 1,
               g->rollback_lr_factor, tr->cfg.schedule.lr);
        fflush(stdout);
    }
    return 1;
}

int guard_round(Trainer *tr, const RoundTally *t, const RoundStats *st, long *round, double *last_val)
{
    (void)st;
    watchdog_progress(tr->watchdog);
    double mine[G_N] = {[G_BAD_STEP] = t->active ? (double)t->bad_step : -1, [G_SILO] = tr->topo.silo,
                        [G_REPORTER] = tr->cfg.fed.mode == MODE_FEDERATED && tr->topo.is_leader && t->active,
                        [G_SILO_BAD] = t->silo_bad, [G_STATE_BAD] = !state_finite(tr), [G_LOSS] = t->bad_loss,
                        [G_GNORM] = t->bad_grad_norm};
    double *all = mallocCheck((size_t)tr->world * G_N * sizeof *all);
    mpiCheck(MPI_Allgather(mine, G_N, MPI_DOUBLE, all, G_N, MPI_DOUBLE, MPI_COMM_WORLD));
    char why[512];
    verdict(tr, t, all, why, sizeof why);
    free(all);
    if (!why[0]) return 0;
    char path[CKPT_PATH_MAX] = "";
    const int none = last_good_checkpoint(tr, path, sizeof path);
    const GuardConfig *g = &tr->cfg.guard;
    if (g->on_nonfinite == NONFINITE_ROLLBACK && !none && tr->rollbacks < g->max_rollbacks)
        return rollback(tr, t->round, why, path, round, last_val);
    if (trainer_is_root(tr)) {
        metrics_record(&tr->metrics, "\"type\":\"nonfinite\",\"round\":%ld,\"rollbacks\":%d", t->round, tr->rollbacks);
        char after[160] = "";
        if (g->on_nonfinite == NONFINITE_ROLLBACK)
            snprintf(after, sizeof after, "%s; ", none ? "no checkpoint to roll back to yet" : "run.max_rollbacks reached");
        if (none)
            fprintf(stderr, "photon train: %s; stopped (exit status 3), nothing non-finite was written; %sno checkpoint was "
                    "written yet: start again with a lower optim.lr\n", why, after);
        else
            fprintf(stderr, "photon train: %s; stopped (exit status 3), nothing non-finite was written; %sthe last good "
                    "checkpoint is %s: continue with --resume latest and a lower optim.lr, or set run.on_nonfinite = rollback\n",
                    why, after, path);
        fflush(stderr);
    }
    return 3;
}

int guard_claim_run_dir(Trainer *tr, char *err, size_t errlen)
{
    int failed = 0;
    if (trainer_is_root(tr)) {
        const char *dir = tr->deck.run_dir;
        char note[1024] = "";
        if (make_dirs(dir)) {
            snprintf(err, errlen, "%s: cannot create run directory [run] dir = %s: %s", tr->deck.deck_path, dir, strerror(errno));
            failed = 1;
        } else if (run_lock_acquire(&tr->lock, dir, note, sizeof note, err, errlen)) {
            failed = 1;
        } else if (note[0]) {
            printf("%s\n", note);
            fflush(stdout);
        }
    }
    if (!photon_any_failed(failed, MPI_COMM_WORLD)) return 0;
    if (!trainer_is_root(tr)) snprintf(err, errlen, "rank 0 could not claim the run directory (see its message)");
    return 1;
}

int guard_start_watchdog(Trainer *tr, char *err, size_t errlen)
{
    int failed = 0;
    if (tr->cfg.guard.watchdog_s > 0) {
        tr->watchdog = watchdog_start(tr->cfg.run.dir, tr->cfg.guard.watchdog_s, tr->rank, tr->world, tr->topo.silo, err,
                                      errlen);
        failed = tr->watchdog == NULL;
    }
    if (!photon_any_failed(failed, MPI_COMM_WORLD)) return 0;
    if (!failed) snprintf(err, errlen, "another rank could not start its watchdog (see its message)");
    return -1;
}

void guard_release(Trainer *tr)
{
    watchdog_stop(tr->watchdog);
    tr->watchdog = NULL;
    run_lock_release(&tr->lock);
}
