/* round_sync.c: the federated round boundary and the ddp baseline's per-step exchange (see
 * trainer.h). After H local steps the federation averages the silos' models (fed_sync) and the
 * inner optimizer state is kept, reset or averaged (federation.inner_state); every rank of every
 * silo continues from the new global weights. */
#include "trainer.h"

#include <string.h>

#include "check.h"

void round_participants(const Trainer *tr, long round, int *participating)
{
    const FedConfig *f = &tr->cfg.fed;
    const int S = tr->topo.num_silos;
    if (f->mode == MODE_FEDERATED) fed_sample_clients(f->sample_seed, round, S, f->clients_per_round, participating);
    else for (int s = 0; s < S; s++) participating[s] = 1;
}

/* mode = ddp: the baseline averages the silos' mean gradients (host memory) over the weak links
 * every step; the leader's result reaches its silo. */
void ddp_average_silos(void *ctx, float *grads, size_t n)
{
    Trainer *tr = ctx;
    StepResult *r = tr->step_comm;
    if (tr->topo.is_leader) {
        RoundStats st;
        double t0 = MPI_Wtime();
        fed_allreduce_mean(tr->fed, grads, n, &st);
        r->comm_s = MPI_Wtime() - t0;
        r->modeled_comm_s = st.modeled_seconds;
        r->bytes = (double)st.bytes_total;
    }
    if (tr->topo.silo_size > 1) mpiCheck(MPI_Bcast(grads, (int)n, MPI_FLOAT, 0, tr->topo.silo_comm));
}

void trainer_reset_inner(Trainer *tr)
{
    const size_t n = tr->model.num_parameters;
    memset(tr->adam_m, 0, n * sizeof(float));
    memset(tr->adam_v, 0, n * sizeof(float));
    tr->adam_t = 0;
}

/* The federation's average of the silos' models. Returns the round's statistics (leaders and
 * server). */
static void federated_sync(Trainer *tr, long round, const int *participating, RoundStats *st)
{
    const RunConfig *c = &tr->cfg;
    GPT *m = &tr->model;
    const size_t n = m->num_parameters;
    const int average = c->fed.inner_state == INNER_AVERAGE || c->fed.inner_state == INNER_AVERAGE_M;
    const int average_v = c->fed.inner_state == INNER_AVERAGE;
    memset(st, 0, sizeof *st);
    int my_dropped = 0;
    if (tr->topo.is_leader || tr->topo.is_server) {
        const int me = tr->topo.is_server ? -1 : tr->topo.silo;
        const double weight = me >= 0 && participating[me]
            ? (double)round_plan_steps(&tr->plan, round) * c->run.batch_size * c->model.max_seq_len * tr->topo.silo_size : 0.0;
        /* The outer optimizer's schedules (constant by default: the deck's values, unchanged). */
        OuterOpt *outer = fed_outer(tr->fed);
        if (outer) {
            const double p = tr->plan.progress[round];
            outer->cfg.lr = (float)round_schedule_at(&c->fed.outer_lr_schedule, p);
            outer->cfg.momentum = (float)round_schedule_at(&c->fed.outer_momentum_schedule, p);
        }
        fed_sync(tr->fed, round, participating, m->params_memory, weight, tr->theta_global, st);
        if (me >= 0) my_dropped = st->dropped[me];
        if (average && !st->skipped) {
            const uint64_t before = st->bytes_total;
            fed_mean(tr->fed, tr->adam_m, tr->topo.is_server ? NULL : tr->adam_m, n, st);
            /* v in fp32 even in a compressed round (fed_mean_exact says why). */
            if (average_v) fed_mean_exact(tr->fed, tr->adam_v, tr->topo.is_server ? NULL : tr->adam_v, n, st);
            st->state_bytes = (double)(st->bytes_total - before);
        }
    }
    if (tr->topo.is_server) return;
    /* Inside the silo: the new global weights (and averaged moments) from the leader. */
    if (tr->topo.is_leader) memcpy(m->params_memory, tr->theta_global, n * sizeof(float));
    if (tr->topo.silo_size > 1) {
        mpiCheck(MPI_Bcast(m->params_memory, (int)n, MPI_FLOAT, 0, tr->topo.silo_comm));
        mpiCheck(MPI_Bcast(&my_dropped, 1, MPI_INT, 0, tr->topo.silo_comm));
        if (average) mpiCheck(MPI_Bcast(tr->adam_m, (int)n, MPI_FLOAT, 0, tr->topo.silo_comm));
        if (average_v) mpiCheck(MPI_Bcast(tr->adam_v, (int)n, MPI_FLOAT, 0, tr->topo.silo_comm));
    }
    /* A dropped silo is resynchronised: its moments may be as broken as its update was. */
    if (c->fed.inner_state == INNER_RESET || my_dropped) trainer_reset_inner(tr);
}

void round_boundary(Trainer *tr, RoundTally *t, const int *participating, int eval_now, EvalScope scope,
                    double *local_loss, RoundStats *st)
{
    const RunConfig *c = &tr->cfg;
    /* Round bookkeeping over the workers (telemetry: not counted as inter-silo traffic). */
    const int reports = t->active && tr->group_rank == 0;
    t->loss_sums[0] = reports ? t->loss_sum / (t->steps ? t->steps : 1) : 0;
    t->loss_sums[1] = reports ? 1 : 0;
    t->loss_sums[2] = reports ? (double)t->clipped : 0;
    t->loss_sums[3] = reports ? (double)t->steps : 0;
    t->compute_max = t->compute_s;
    if (!tr->topo.is_server) {
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, t->loss_sums, 4, MPI_DOUBLE, MPI_SUM, tr->workers));
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, &t->compute_max, 1, MPI_DOUBLE, MPI_MAX, tr->workers));
    }
    memset(st, 0, sizeof *st);
    if (tr->frag) {
        /* Streaming sync: the fragments synced during the round's steps (fragments.h). The round
         * reports the last exchange's flags, all exchanges' bytes, and the modeled time that did
         * not hide behind the overlap's τ steps of compute (the slowest silo's mean step). */
        if (eval_now) evaluate_local(tr, scope, local_loss);
        if (t->frag_synced) *st = t->frag_st;
        const double step_s = t->steps ? t->compute_max / (double)t->steps : 0.0;
        const long last = c->run.steps - 1;
        st->bytes_total = 0;
        st->modeled_seconds = 0.0;
        for (int i = 0; i < t->nfrag; i++) {
            FragExchange *x = &t->frag_log[i];
            const double hidden = x->step == last ? 0.0 : c->fed.overlap_steps * step_s;
            x->exposed_s = x->modeled_s > hidden ? x->modeled_s - hidden : 0.0;
            st->bytes_total += (uint64_t)x->bytes;
            st->modeled_seconds += x->exposed_s;
        }
        st->comm_seconds = t->frag_comm_s;
    } else if (c->fed.mode == MODE_FEDERATED && !t->sync) {
        if (eval_now) evaluate_local(tr, scope, local_loss);
        if (tr->fed) fed_set_round_compute(tr->fed, t->compute_max); // codec = auto's budget (measured)
        double t0 = MPI_Wtime();
        federated_sync(tr, t->round, participating, st);
        st->comm_seconds = MPI_Wtime() - t0;
    } else {
        st->modeled_seconds = t->ddp_modeled;
        st->comm_seconds = t->ddp_comm;
        st->bytes_total = (uint64_t)t->ddp_bytes;
    }
    /* The server knows the round's traffic; rank 0 reports it. */
    t->traffic[0] = (double)st->bytes_total;
    t->traffic[1] = st->modeled_seconds;
    t->traffic[2] = st->comm_seconds;
    t->traffic[3] = st->state_bytes;
    mpiCheck(MPI_Allreduce(MPI_IN_PLACE, t->traffic, 4, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
    const double tokens_per_rank_step = (double)c->run.batch_size * c->model.max_seq_len;
    tr->tokens_seen += tokens_per_rank_step * t->steps *
                       (c->fed.mode == MODE_CENTRALIZED ? tr->group_size : t->active_silos * tr->topo.silo_size);
    tr->modeled_wall_s += t->compute_max + t->traffic[1];
    tr->inter_bytes_total += t->traffic[0];
    tr->compute_s_total += t->compute_max;
    tr->clipped_steps += t->loss_sums[2];
    tr->counted_steps += t->loss_sums[3];
}
