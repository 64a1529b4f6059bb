/* train.c: `photon train`, the driver. One loop serves the three modes:
 *   centralized  all ranks are one data-parallel group over the union of the data;
 *   ddp          S silos, gradients all-reduced inside each silo and across silos every step;
 *   federated    S silos train H local steps, then the federation averages them (Photon).
 * A round is H = local_steps global steps in every mode, so that evaluations and metrics line up
 * at equal token counts (round_plan.h: a federated run may start with synchronous rounds and
 * schedule H over its rounds). With topology = server the last rank is the aggregator: it holds no data
 * and mirrors the leaders' federation calls. The parts: trainer.h. */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "trainer.h"

/* SIGTERM / SIGUSR1 (Slurm's --signal, scontrol requeue): the handler only records the signal;
 * the run loop agrees on it over all ranks at the end of the round, checkpoints and stops. */
static volatile sig_atomic_t stop_signal = 0;
static void on_stop_signal(int sig) { stop_signal = sig; }

/* The one optimizer step of this rank's data-parallel group, on its backend. The ddp baseline
 * (and a federated run's synchronous rounds) average the silos' gradients between the silo mean
 * and the clipping. */
static StepResult train_step(Trainer *tr, long step, int sync)
{
    StepResult r = {0};
    const GradExchange ddp = {ddp_average_silos, tr};
    const int exchange = (tr->cfg.fed.mode == MODE_DDP || sync) && tr->topo.num_silos > 1;
    tr->step_comm = &r;
    r.lr = lr_at(&tr->cfg.schedule, step);
    StepOutput o = tr->backend.ops->step(&tr->backend, tr->inputs, tr->targets, &tr->cfg.inner, r.lr, exchange ? &ddp : NULL);
    tr->step_comm = NULL;
    r.loss = o.loss;
    r.grad_norm = o.grad_norm;
    r.clipped = o.clipped;
    return r;
}

/* The round's local steps (every rank counts them; a silo that sits the round out skips them). */
static void train_round_steps(Trainer *tr, RoundTally *t)
{
    const long H = round_plan_steps(&tr->plan, t->round);
    /* The round's steps run on the backend from the host's state (the federation's new weights). */
    tr->backend.ops->upload(&tr->backend);
    for (long h = 0; h < H; h++) {
        const long step = t->first_step + h;
        t->steps++;
        if (t->active) {
            double t0 = MPI_Wtime();
            loader_next(tr->loader, tr->inputs, tr->targets);
            StepResult r = train_step(tr, step, t->sync);
            t->clipped += r.clipped;
            t->compute_s += MPI_Wtime() - t0 - r.comm_s;
            t->ddp_modeled += r.modeled_comm_s;
            t->ddp_comm += r.comm_s;
            t->ddp_bytes += r.bytes;
            t->loss_sum += r.loss;
            guard_step(tr, t, step, &r);
            report_step(tr, t, step, h, &r);
        }
        /* Streaming sync: the fragments due after this step (every rank, the server too). */
        if (tr->frag) {
            double t0 = MPI_Wtime();
            RoundStats st;
            if (fragments_after_step(tr, t->round, step, t->frag_log, &t->nfrag, &st)) {
                t->frag_st = st;
                t->frag_synced = 1;
            }
            t->frag_comm_s += MPI_Wtime() - t0;
        }
    }
    /* Back to the host for evaluation, the federation and checkpoints. */
    tr->backend.ops->download(&tr->backend);
}

static RoundTally round_begin(Trainer *tr, long round, int *participating)
{
    const int S = tr->topo.num_silos;
    const int sync = tr->plan.sync[round];
    round_participants(tr, round, participating);
    if (sync) for (int s = 0; s < S; s++) participating[s] = 1;
    /* The first round of local steps starts from the synchronised model: the silos' models are
     * the same (every step averaged the silos' gradients), so it becomes the global one. */
    if (!sync && round > 0 && tr->plan.sync[round - 1] && tr->theta_global && !tr->topo.is_server)
        memcpy(tr->theta_global, tr->model.params_memory, tr->model.num_parameters * sizeof(float));
    RoundTally t = {.round = round, .first_step = tr->plan.first[round], .bad_step = -1, .sync = sync};
    t.active = tr->topo.is_server ? 0 : participating[tr->topo.silo];
    for (int s = 0; s < S; s++) t.active_silos += participating[s];
    t.t_start = MPI_Wtime();
    return t;
}

/* Checkpoint at the round boundary: periodically, at the end, and before stopping on a signal
 * (any rank's) or after stop_after_rounds rounds of this invocation. Returns whether to stop. */
static int round_checkpoint(Trainer *tr, long round, long step, double last_val, int last_round, long start_round,
                            int *ckpt_failed)
{
    const CkptPolicy *p = &tr->cfg.ckpt;
    int sig = (int)stop_signal;
    mpiCheck(MPI_Allreduce(MPI_IN_PLACE, &sig, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    int stop = !last_round && (sig || (p->stop_after_rounds > 0 && round + 1 - start_round >= p->stop_after_rounds));
    if (last_round || stop || (p->every > 0 && (round + 1) % p->every == 0)) {
        char err[2048], path[CKPT_PATH_MAX] = "";
        if (train_checkpoint(tr, round + 1, step + 1, last_val, path, sizeof path, err, sizeof err)) {
            trainer_report_error(tr, err);
            /* The run is no longer durable (a full disk fails every later write too): stop, keeping the previous checkpoint. */
            *ckpt_failed = 1;
            stop = 1;
        } else if (trainer_is_root(tr)) {
            printf("checkpoint: %s\n", path);
            fflush(stdout);
        }
    }
    if (stop) report_stop(tr, round, sig, *ckpt_failed);
    return stop;
}

/* The run: for each round, its steps, the round boundary, evaluation and the checkpoint. */
static int run(Trainer *tr)
{
    const RunConfig *c = &tr->cfg;
    const int S = tr->topo.num_silos;
    const long rounds = tr->plan.num_rounds;
    int *participating = mallocCheck((size_t)S * sizeof(int));
    double *local_loss = callocCheck((size_t)S, sizeof(double));
    double last_val = tr->ckpt.last_val_loss;
    const long start_round = tr->ckpt.round;
    long step = tr->plan.first[start_round < rounds ? start_round : rounds] - 1;
    int stopped = 0, ckpt_failed = 0, guard_rc = 0;
    for (long round = start_round; round < rounds && !stopped; round++) {
        RoundTally t = round_begin(tr, round, participating);
        train_round_steps(tr, &t);
        guard_before_sync(tr, &t);
        step = t.first_step + t.steps - 1;
        const int last_round = round == rounds - 1;
        const int eval_now = last_round || (c->eval.every > 0 && (round + 1) % c->eval.every == 0);
        /* The last round's evaluation is the run's result: by default on every validation window. */
        const EvalScope scope = last_round ? EVAL_FINAL : EVAL_PERIODIC;
        RoundStats st;
        round_boundary(tr, &t, participating, eval_now, scope, local_loss, &st);
        report_round(tr, &t, step + 1, participating, &st);
        /* Nothing non-finite goes on to the evaluation and the checkpoint (train_guard.c). */
        guard_rc = guard_round(tr, &t, &st, &round, &last_val);
        if (guard_rc == 1) { guard_rc = 0; continue; }
        if (guard_rc) break;
        if (eval_now) {
            if (tr->frag) fragments_swap_global(tr); // the global model, not this silo's own
            last_val = evaluate_global(tr, scope, round, step + 1, c->fed.mode == MODE_FEDERATED && !t.sync ? local_loss : NULL);
            if (tr->frag) fragments_swap_global(tr);
        }
        /* leaders' RoundStats arrays belong to the federation; nothing to free here */
        stopped = round_checkpoint(tr, round, step, last_val, last_round, start_round, &ckpt_failed);
    }
    int end_failed = 0;
    if (!stopped && !guard_rc) {
        if (tr->frag) fragments_swap_global(tr); // final.h5 is θ_global
        end_failed = report_end(tr) != 0;
    }
    free(participating);
    free(local_loss);
    return guard_rc ? guard_rc : ckpt_failed || end_failed ? 1 : 0;
}

/* Keep the deck as given and as understood beside the metrics. */
static int write_run_dir(const Deck *d, char *err, size_t errlen)
{
    if (make_dirs(d->run_dir)) {
        snprintf(err, errlen, "%s: cannot create run directory [run] dir = %s: %s", d->deck_path, d->run_dir, strerror(errno));
        return -1;
    }
    char path[DECK_STR_MAX + 32];
    snprintf(path, sizeof path, "%s/deck.effective", d->run_dir);
    FILE *f = fopen(path, "w");
    if (!f) { snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno)); return -1; }
    fprintf(f, "# effective deck of this run: %s %s\n", d->deck_path, d->overrides ? d->overrides : "");
    deck_print_values(d, f);
    /* A full disk shows at the flush or the close, not at fprintf. */
    errno = 0;
    int bad = fflush(f) || ferror(f) || fsync(fileno(f));
    int e = errno;
    if (fclose(f) && !bad) { bad = 1; e = errno; }
    if (bad) { snprintf(err, errlen, "%s: cannot write: %s", path, strerror(e ? e : EIO)); return -1; }
    return 0;
}

/* A fresh run owns its run directory (metrics.jsonl is rewritten, old checkpoints go); a
 * resumed one cuts metrics.jsonl back to its checkpoint. 0, or -1 on every rank. */
static int open_run_outputs(Trainer *tr, char *err, size_t errlen)
{
    const RunConfig *c = &tr->cfg;
    int failed = 0;
    if (!tr->resumed_from[0] && trainer_is_root(tr)) {
        int removed = ckpt_clear(c->ckpt.dir);
        if (removed) printf("removed %d checkpoint file(s) of an earlier run from %s (continue a run with --resume latest)\n", removed, c->ckpt.dir);
    }
    if (tr->resumed_from[0]) {
        if (metrics_reopen(&tr->metrics, c->run.dir, tr->rank, tr->ckpt.metrics_offset, err, errlen)) failed = 1;
    } else if (metrics_open(&tr->metrics, c->run.dir, tr->rank, err, errlen)) {
        failed = 1;
    }
    return photon_any_failed(failed, MPI_COMM_WORLD) ? -1 : 0;
}

int cmd_train(int argc, char **argv)
{
    Trainer tr;
    trainer_init(&tr);
    char err[2048] = "";
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        if (trainer_is_root(&tr)) deck_print_help(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--help-markdown")) {
        if (trainer_is_root(&tr)) deck_print_markdown(stdout);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        if (trainer_is_root(&tr)) fprintf(stderr, "usage: photon train DECK [section.key=value ...] [--resume [PATH|latest]] [--no-verify]   (photon train --help)\n");
        return 2;
    }
    /* --resume [PATH|latest] may stand anywhere after the deck; the rest are overrides. */
    char **overrides = mallocCheck((size_t)argc * sizeof *overrides);
    int noverrides = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--no-verify")) {
            overrides[noverrides++] = "data.verify=off"; /* the deck key's command-line form */
        } else if (!strcmp(argv[i], "--resume")) {
            tr.resume = "latest";
            if (i + 1 < argc && argv[i + 1][0] != '-' && !strchr(argv[i + 1], '=')) tr.resume = argv[++i];
        } else {
            overrides[noverrides++] = argv[i];
        }
    }
    /* Every rank parses the deck (a small file): all reach the same verdict without messages. */
    int rc = 2;
    if (deck_load(&tr.deck, argv[1], overrides, noverrides, err, sizeof err)) {
        trainer_report_error(&tr, err);
        free(overrides);
        deck_free(&tr.deck);
        return 2;
    }
    free(overrides);
    /* One run per run directory: the lock comes before anything in it is written or pruned. */
    if (guard_claim_run_dir(&tr, err, sizeof err)) {
        trainer_report_error(&tr, err);
        goto done;
    }
    int failed = trainer_is_root(&tr) && write_run_dir(&tr.deck, err, sizeof err);
    if (photon_any_failed(failed, MPI_COMM_WORLD) || trainer_setup(&tr, err, sizeof err) ||
        (tr.resume && train_resume(&tr, err, sizeof err)) || open_run_outputs(&tr, err, sizeof err) ||
        guard_start_watchdog(&tr, err, sizeof err)) {
        trainer_report_error(&tr, err);
        goto done;
    }
    report_banner(&tr);
    report_start(&tr);
    /* Slurm's --signal and scontrol requeue: finish the round, checkpoint, exit 0. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    rc = run(&tr);
done:
    trainer_teardown(&tr);
    return rc;
}
