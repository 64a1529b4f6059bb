/* train_report.c: what `photon train` tells: the banner, progress lines, the metrics records
 * (RUN_DIR/metrics.jsonl: "start", "resume", "step", "round", "eval", "end") and the
 * evaluations behind the "eval" records. Tests and the quick start parse these lines: their
 * formats are part of the interface. Printing happens on rank 0 only. */
#include "trainer.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <glib.h>

#include "check.h"
#include "weights.h"

void report_banner(const Trainer *tr)
{
    if (!trainer_is_root(tr)) return;
    const RunConfig *c = &tr->cfg;
    const GPTConfig *mc = &c->model;
    const GPT *m = &tr->model;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("photon train: %s mode, %d ranks = %d silo(s) x %d rank(s)%s, %d thread(s)/rank\n", run_mode_names[c->fed.mode],
           tr->world, tr->topo.num_silos, tr->topo.silo_size, tr->topo.with_server ? " + 1 aggregator" : "", threads);
    printf("model: L=%d C=%d NH=%d T=%d V=%d%s, %zu parameters, %.1f MiB planned per rank\n", mc->num_layers, mc->channels,
           mc->num_heads, mc->max_seq_len, mc->vocab_size, mc->bias ? "" : " (no bias)", m->num_parameters,
           m->peak_bytes / 1048576.0);
    printf("data: %s (%d silos, %d sources); batch %d x %d tokens per rank\n", c->run.data_file, tr->info.num_silos,
           tr->info.num_sources, c->run.batch_size, mc->max_seq_len);
    if (c->fed.mode == MODE_FEDERATED) {
        const FedConfig *f = &c->fed;
        const RoundSchedule *hs = &f->local_steps_schedule, *ls = &f->outer_lr_schedule, *ms = &f->outer_momentum_schedule;
        printf("federation: %ld rounds x %d local steps", tr->plan.num_rounds, f->local_steps);
        if (hs->shape != SCHEDULE_CONSTANT) printf(" -> %g (%s)", hs->end, schedule_shape_names[hs->shape]);
        if (f->sync_steps > 0) printf(" after %ld synchronous steps", f->sync_steps);
        printf(", outer %s lr %g", outer_kind_name(c->outer.kind), tr->deck.outer_lr);
        if (ls->shape != SCHEDULE_CONSTANT) printf(" -> %g (%s)", ls->end, schedule_shape_names[ls->shape]);
        if (ms->shape != SCHEDULE_CONSTANT) printf(", momentum %g -> %g (%s)", ms->start, ms->end, schedule_shape_names[ms->shape]);
        printf(", inner state %s, topology %s\n", inner_state_names[f->inner_state], topology_names[f->topology]);
    }
    if (c->run.lr_scaling != LR_SCALING_NONE)
        printf("inner lr: %g x %.4g (%s scaling: batch %d against lr_ref_batch %d) = %g peak\n", tr->deck.lr, tr->lr_scale,
               lr_scaling_names[c->run.lr_scaling], tr->step_batch, c->run.lr_ref_batch, (double)c->schedule.lr);
    if (c->inner.clip_factor > 0)
        printf("clipping: adaptive, %g x the running RMS gradient norm (AdamW's v); %g on the first step\n", c->inner.clip_factor,
               c->inner.grad_clip);
    if (tr->evalset.unit == EVAL_UNIT_WINDOW) // rank 0 is a worker: it holds the evaluation set
        printf("evaluation: standard errors over windows, not documents: %s\n", tr->evalset.unit_note);
    char device[512];
    tr->backend.ops->describe(&tr->backend, device, sizeof device);
    fputs(device, stdout);
    if (c->fed.mode != MODE_CENTRALIZED && c->link.num_links == 0)
        printf("links: %g Mbps, %g ms latency, emulation %s%s\n", c->link.bandwidth_mbps, c->link.latency_ms,
               link_emulation_name(c->link.emulate), c->link.duplex == LINK_HALF ? ", half duplex" : "");
    else if (c->fed.mode != MODE_CENTRALIZED) {
        printf("links (Mbps/ms):");
        for (int k = 0; k < c->link.num_links; k++)
            printf(" silo %d %g/%g", k, c->link.silo_bandwidth_mbps[k], c->link.silo_latency_ms[k]);
        if (c->fed.topology == TOPOLOGY_SERVER) {
            double bw, lat;
            link_of_rank(&c->link, c->link.num_links, c->link.num_links, &bw, &lat);
            printf(", server %g/%g", bw, lat);
        }
        printf(", emulation %s%s\n", link_emulation_name(c->link.emulate), c->link.duplex == LINK_HALF ? ", half duplex" : "");
    }
    fflush(stdout);
}

void report_start(Trainer *tr)
{
    if (tr->resumed_from[0]) {
        if (trainer_is_root(tr)) printf("resumed from %s: round %ld, step %ld\n", tr->resumed_from, tr->ckpt.round, tr->ckpt.step);
        char *ckpt = json_quote(tr->resumed_from);
        metrics_record(&tr->metrics, "\"type\":\"resume\",\"round\":%ld,\"step\":%ld,\"ranks\":%d,\"checkpoint\":%s",
                       tr->ckpt.round, tr->ckpt.step, tr->world, ckpt);
        free(ckpt);
    } else {
        char *deck = json_quote(tr->cfg.run.deck_path);
        metrics_record(&tr->metrics, "\"type\":\"start\",\"mode\":\"%s\",\"ranks\":%d,\"silos\":%d,\"parameters\":%zu,\"deck\":%s",
                       run_mode_names[tr->cfg.fed.mode], tr->world, tr->topo.num_silos, tr->model.num_parameters, deck);
        free(deck);
    }
}

/* The progress line every log_every steps (and at the last), and the "step" record. */
void report_step(Trainer *tr, const RoundTally *t, long step, long h, const StepResult *r)
{
    if (!trainer_is_root(tr)) return;
    const RunConfig *c = &tr->cfg;
    const long steps = c->run.steps;
    if (step % c->run.log_every == 0 || step == steps - 1) {
        char eta[32], elapsed[32];
        const double tokens_per_rank_step = (double)c->run.batch_size * c->model.max_seq_len;
        double el = MPI_Wtime() - tr->metrics.start_s;
        double done = (double)(step + 1) / steps;
        format_duration(el, elapsed, sizeof elapsed);
        format_duration(el / done * (1 - done), eta, sizeof eta);
        double tok = tr->tokens_seen + (h + 1) * tokens_per_rank_step * tr->group_size *
                                           (c->fed.mode == MODE_CENTRALIZED ? 1 : t->active_silos);
        printf("step %6ld/%ld | round %4ld | loss %.4f | lr %.3e | norm %.3f | %7.0f tok/s | elapsed %s | eta %s\n", step + 1,
               steps, t->round, r->loss, r->lr, r->grad_norm, tok / el, elapsed, eta);
        fflush(stdout);
    }
    metrics_record(&tr->metrics, "\"type\":\"step\",\"step\":%ld,\"round\":%ld,\"loss\":%.6f,\"lr\":%.6e,\"grad_norm\":%.6f,\"elapsed_s\":%.4f",
                   step, t->round, r->loss, r->lr, r->grad_norm, MPI_Wtime() - tr->metrics.start_s);
}

/* JSON list of S ints (NULL: zeros). */
static void append_int_list(GString *s, const int *v, int S)
{
    g_string_append_c(s, '[');
    for (int i = 0; i < S; i++) g_string_append_printf(s, "%s%d", i ? "," : "", v ? v[i] : 0);
    g_string_append_c(s, ']');
}

void report_round(Trainer *tr, const RoundTally *t, long step, const int *participating, const RoundStats *st)
{
    if (!trainer_is_root(tr)) return;
    const int S = tr->topo.num_silos;
    const double *traffic = t->traffic;
    GString *flags = g_string_new("\"participants\":");
    append_int_list(flags, participating, S);
    g_string_append(flags, ",\"dropped\":");
    append_int_list(flags, st->dropped, S);
    g_string_append_printf(flags, ",\"skipped\":%d", st->skipped);
    /* The round plan (round_plan.h), the inner state's share of the bytes and the clipping. */
    const FedConfig *f = &tr->cfg.fed;
    g_string_append_printf(flags, ",\"local_steps\":%ld,\"synchronous\":%d,\"state_bytes\":%.0f,\"clipped_steps\":%.0f,\"clip_frac\":%.6f",
                           round_plan_steps(&tr->plan, t->round), t->sync, traffic[3], t->loss_sums[2],
                           t->loss_sums[3] > 0 ? t->loss_sums[2] / t->loss_sums[3] : 0.0);
    if (f->mode == MODE_FEDERATED && !t->sync) {
        const double p = tr->plan.progress[t->round];
        g_string_append_printf(flags, ",\"outer_lr\":%.6g,\"outer_momentum\":%.6g", (double)(float)round_schedule_at(&f->outer_lr_schedule, p),
                               (double)(float)round_schedule_at(&f->outer_momentum_schedule, p));
    }
    if (tr->frag) {
        // Streaming sync: each exchange of the round (fragments.h), bytes of all ranks.
        g_string_append(flags, ",\"fragments\":[");
        for (int i = 0; i < t->nfrag; i++) {
            const FragExchange *x = &t->frag_log[i];
            g_string_append_printf(flags, "%s{\"fragment\":%d,\"step\":%ld,\"bytes\":%.0f,\"modeled_s\":%.6f,\"exposed_s\":%.6f}",
                                   i ? "," : "", x->fragment, x->step, x->bytes, x->modeled_s, x->exposed_s);
        }
        g_string_append_c(flags, ']');
    }
    if (st->compressed) {
        // Per silo (null where it sent nothing this round): codec, bytes, error, residual norm.
        g_string_append(flags, ",\"codec\":[");
        for (int k = 0; k < S; k++) {
            const int c = st->codec[k];
            g_string_append_printf(flags, "%s%s%s%s", k ? "," : "", c >= 0 ? "\"" : "", c >= 0 ? codec_names[c] : "null",
                                   c >= 0 ? "\"" : "");
        }
        const double *lists[] = {st->payload_bytes, st->comp_error, st->residual_norm};
        const char *names[] = {"payload_bytes", "comp_error", "residual_norm"};
        for (int l = 0; l < 3; l++) {
            g_string_append_printf(flags, "],\"%s\":[", names[l]);
            for (int k = 0; k < S; k++) {
                if (st->codec[k] < 0) g_string_append_printf(flags, "%snull", k ? "," : "");
                else g_string_append_printf(flags, "%s%.9g", k ? "," : "", lists[l][k]);
            }
        }
        g_string_append_printf(flags, "],\"down_bytes\":%.0f,\"down_error\":%.9g", st->down_bytes, st->down_error);
        if (st->choice_reason) {
            // codec = auto: why each silo's payload took its codec, and the downlink's (the lossiest).
            g_string_append(flags, ",\"codec_reason\":[");
            for (int k = 0; k < S; k++) {
                const char *why = st->choice_reason + (size_t)k * CODEC_REASON_MAX;
                if (st->codec[k] < 0) g_string_append_printf(flags, "%snull", k ? "," : "");
                else g_string_append_printf(flags, "%s\"%s\"", k ? "," : "", why); // no quotes or backslashes in it
            }
            g_string_append_printf(flags, "],\"down_codec\":\"%s\"", codec_names[st->down_codec]);
        }
    }
    metrics_record(&tr->metrics,
                   "\"type\":\"round\",\"round\":%ld,\"step\":%ld,\"tokens\":%.0f,\"train_loss\":%.6f,\"bytes\":%.0f,\"bytes_per_silo\":%.0f,"
                   "\"bytes_total\":%.0f,\"comm_s\":%.4f,\"modeled_comm_s\":%.4f,\"compute_s\":%.4f,\"round_s\":%.4f,\"modeled_wall_s\":%.4f,%s",
                   t->round, step, tr->tokens_seen, t->loss_sums[1] > 0 ? t->loss_sums[0] / t->loss_sums[1] : NAN, traffic[0],
                   traffic[0] / S, tr->inter_bytes_total, traffic[2], traffic[1], t->compute_max, MPI_Wtime() - t->t_start,
                   tr->modeled_wall_s, flags->str);
    g_string_free(flags, TRUE);
    if (tr->cfg.fed.mode != MODE_CENTRALIZED && (st->skipped || (st->reason[0]))) printf("round %ld: %s\n", t->round, st->reason);
}

void report_stop(const Trainer *tr, long round, int sig, int ckpt_failed)
{
    if (!trainer_is_root(tr)) return;
    if (sig) printf("stopped after round %ld on signal %d (%s)", round, sig, sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "?");
    else if (ckpt_failed) printf("stopped after round %ld", round);
    else printf("stopped after round %ld (run.stop_after_rounds = %ld)", round, tr->cfg.ckpt.stop_after_rounds);
    if (!ckpt_failed) printf(": continue with --resume latest\n");
    else printf(": the checkpoint failed (earlier checkpoints are kept)\n");
    fflush(stdout);
}

/* A number for a metrics record; JSON has no NaN (a standard error of fewer than two units). */
static void append_real(GString *s, const char *fmt, double v)
{
    if (isfinite(v)) g_string_append_printf(s, fmt, v);
    else g_string_append(s, "null");
}

/* The fields an evaluation adds to its "eval" or "end" record after "val_ppl" (the SEs, the
 * tokens scored, the unit), then the per-source losses and their SEs. */
static GString *eval_fields(const Trainer *tr, const EvalResult *r)
{
    const DataInfo *info = &tr->info;
    GString *s = g_string_new("\"val_loss_se\":");
    append_real(s, "%.6g", r->loss_se); // significant digits: an SE can be far below 1e-6
    g_string_append(s, ",\"val_ppl_se\":");
    append_real(s, "%.6g", exp(r->loss) * r->loss_se); // the delta method
    g_string_append_printf(s, ",\"eval_tokens\":%.0f,\"se_unit\":\"%s\",\"se_units\":%zu,\"per_source\":{", r->tokens,
                           eval_unit_names[tr->evalset.unit], r->units);
    for (int k = 0; k < 2; k++) {
        if (k) g_string_append(s, "},\"per_source_se\":{");
        for (int i = 0; i < info->num_sources; i++) {
            char *name = json_quote(info->source_names[i]);
            g_string_append_printf(s, "%s%s:", i ? "," : "", name);
            if (k) append_real(s, "%.6g", r->per_source_se[i]);
            else g_string_append_printf(s, "%.6f", r->per_source[i]); // as before the SEs
            free(name);
        }
    }
    g_string_append_c(s, '}');
    return s;
}

/* The end record and the summary line carry the final evaluation (every rank calls this). */
static void final_evaluation(Trainer *tr)
{
    if (tr->have_final_eval || tr->topo.is_server) return;
    evalset_run(&tr->evalset, EVAL_FINAL, &tr->model, tr->workers, &tr->final_eval);
    tr->have_final_eval = 1;
}

/* The "end" record, the summary line and RUN_DIR/final.h5 (rank 0 holds the global model in
 * every mode: a worker; the server, if any, is the last rank). Every rank: 0, or -1 on every
 * rank when final.h5 or metrics.jsonl could not be written (rank 0 says which and why). */
int report_end(Trainer *tr)
{
    int failed = 0;
    final_evaluation(tr);
    if (trainer_is_root(tr)) {
        const RunConfig *c = &tr->cfg;
        const EvalResult *r = &tr->final_eval;
        const double val = r->loss;
        char elapsed[32];
        double el = MPI_Wtime() - tr->metrics.start_s;
        GString *fields = eval_fields(tr, r);
        /* New fields after the old ones: scripts match "val_ppl" ... "inter_silo_bytes" in order. */
        metrics_record(&tr->metrics, "\"type\":\"end\",\"steps\":%ld,\"tokens\":%.0f,\"val_loss\":%.6f,\"val_ppl\":%.4f,\"elapsed_s\":%.3f,"
                       "\"modeled_wall_s\":%.3f,\"compute_s\":%.3f,\"inter_silo_bytes\":%.0f,%s,\"clip_fraction\":%.6f,\"lr_peak\":%.6g",
                       c->run.steps, tr->tokens_seen, val, exp(val), el, tr->modeled_wall_s, tr->compute_s_total, tr->inter_bytes_total,
                       fields->str, tr->counted_steps > 0 ? tr->clipped_steps / tr->counted_steps : 0.0, (double)c->schedule.lr);
        g_string_free(fields, TRUE);
        format_duration(el, elapsed, sizeof elapsed);
        printf("done: %ld steps, %.0f tokens in %s | final val loss %.4f | ppl %.2f ± %.2f | inter-silo %.1f MB | modeled wall %.1f s\n",
               c->run.steps, tr->tokens_seen, elapsed, val, exp(val), exp(val) * r->loss_se, tr->inter_bytes_total / 1e6,
               tr->modeled_wall_s);
        char err[8192], path[DECK_STR_MAX + 32];
        snprintf(path, sizeof path, "%s/final.h5", c->run.dir);
        if (weights_write(path, &tr->model.config, tr->model.params_memory, tr->model.num_parameters, tr->data_file_abs, err,
                          sizeof err)) {
            fprintf(stderr, "photon train: %s\n", err);
            failed = 1;
        }
        if (metrics_sync(&tr->metrics, err, sizeof err)) {
            fprintf(stderr, "photon train: %s\n", err);
            failed = 1;
        }
        if (!failed) printf("metrics: %s/metrics.jsonl, final weights: %s/final.h5\n", c->run.dir, c->run.dir);
        fflush(stdout);
    }
    return photon_any_failed(failed, MPI_COMM_WORLD) ? -1 : 0;
}

static void write_eval(Trainer *tr, long round, long step, const EvalResult *r, const double *local)
{
    if (!trainer_is_root(tr)) return;
    GString *extra = eval_fields(tr, r);
    if (local) {
        g_string_append(extra, ",\"local_silo_loss\":[");
        for (int s = 0; s < tr->topo.num_silos; s++) g_string_append_printf(extra, "%s%.6f", s ? "," : "", local[s]);
        g_string_append_c(extra, ']');
    }
    const double overall = r->loss;
    metrics_record(&tr->metrics, "\"type\":\"eval\",\"round\":%ld,\"step\":%ld,\"tokens\":%.0f,\"val_loss\":%.6f,\"val_ppl\":%.4f,\"modeled_wall_s\":%.3f,\"elapsed_s\":%.3f,%s",
                   round, step, tr->tokens_seen, overall, exp(overall), tr->modeled_wall_s, MPI_Wtime() - tr->metrics.start_s, extra->str);
    g_string_free(extra, TRUE);
    printf("eval  round %ld step %ld | val loss %.4f | ppl %.2f ± %.2f", round, step, overall, exp(overall),
           exp(overall) * r->loss_se);
    if (local) {
        printf(" | local silos:");
        for (int s = 0; s < tr->topo.num_silos; s++) printf(" %.3f", local[s]);
    }
    printf("\n");
    fflush(stdout);
}

double evaluate_global(Trainer *tr, EvalScope scope, long round, long step, const double *local)
{
    if (tr->topo.is_server) return NAN;
    EvalResult periodic, *r = &periodic;
    if (scope == EVAL_FINAL) r = &tr->final_eval;
    else eval_result_init(&periodic, tr->info.num_sources);
    evalset_run(&tr->evalset, scope, &tr->model, tr->workers, r);
    write_eval(tr, round, step, r, local);
    const double overall = r->loss;
    if (scope == EVAL_FINAL) tr->have_final_eval = 1;
    else eval_result_free(&periodic);
    return overall;
}

/* Silo s's leader puts its loss in local[s]; the array is then summed over the workers
 * (telemetry, not inter-silo traffic). */
void evaluate_local(Trainer *tr, EvalScope scope, double *local)
{
    const int S = tr->topo.num_silos;
    memset(local, 0, (size_t)S * sizeof *local);
    if (!tr->topo.is_server) {
        EvalResult r;
        eval_result_init(&r, tr->info.num_sources);
        evalset_run(&tr->evalset, scope, &tr->model, tr->topo.silo_comm, &r);
        if (tr->topo.is_leader) local[tr->topo.silo] = r.loss;
        eval_result_free(&r);
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, local, S, MPI_DOUBLE, MPI_SUM, tr->workers));
    }
}
