/* train.c: `photon train`, the driver. One loop serves the three modes:
 *   centralized  all ranks are one data-parallel group over the union of the data;
 *   ddp          S silos, gradients all-reduced inside each silo and across silos every step;
 *   federated    S silos train H local steps, then the federation averages them (Photon).
 * A round is H = local_steps global steps in every mode, so that evaluations and metrics line up
 * at equal token counts. With topology = server the last rank is the aggregator: it holds no data
 * and mirrors the leaders' federation calls. */
#include "config.h" /* PHOTON_CUDA */
#include "train.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <glib.h>
#include <hdf5.h>

#include "check.h"
#include "checkpoint.h"
#include "datafile.h"
#include "h5util.h"
#include "deck.h"
#include "eval.h"
#include "fedavg.h"
#include "gpt.h"
#include "link.h"
#include "loader.h"
#include "metrics.h"
#include "optim.h"
#include "outer.h"
#include "topology.h"
#ifdef PHOTON_CUDA
#include "device.h"
#endif

typedef struct {
    Deck deck;
    DataInfo info;
    Topology topo;
    int rank, world;
    MPI_Comm group;       /* the data-parallel group this rank trains in (silo, or all workers) */
    int group_rank, group_size;
    MPI_Comm workers;     /* every rank but the server */
    GPT model;
    float *adam_m, *adam_v; /* inner optimizer state, params layout */
    long adam_t;            /* steps this rank's optimizer has taken (bias correction) */
    float *theta_global;    /* federated: the global weights (leaders and the server) */
    Federation *fed;
    Loader *loader;
    EvalSet evalset;
    LRSchedule schedule;
    int *inputs, *targets;
    Metrics metrics;
    /* counters */
    double tokens_seen;           /* global, all silos */
    double modeled_wall_s;        /* compute + modeled inter-silo time */
    double inter_bytes_total;     /* all inter-silo bytes so far */
    double compute_s_total;
    /* durability */
    const char *resume;           /* --resume argument (a file or "latest"), NULL = fresh start */
    char resumed_from[CKPT_PATH_MAX]; /* "" unless resumed */
    CkptState ckpt;               /* where the run starts: round 0, or the checkpoint's */
#ifdef PHOTON_CUDA
    DeviceBackend gpu;            /* run.device = cuda: the steps run there (device.h) */
#endif
} Trainer;

/* SIGTERM / SIGUSR1 (Slurm's --signal, scontrol requeue): the handler only records the signal;
 * the run loop agrees on it over all ranks at the end of the round, checkpoints and stops. */
static volatile sig_atomic_t stop_signal = 0;
static void on_stop_signal(int sig) { stop_signal = sig; }

static int is_root(const Trainer *tr) { return tr->rank == 0; }

static void report_error(const Trainer *tr, const char *msg)
{
    if (is_root(tr)) fprintf(stderr, "photon train: %s\n", msg);
}

/* ---- one optimizer step of this rank's data-parallel group ----------------------------------- */

typedef struct { float loss; double grad_norm; float lr; double modeled_comm_s; double comm_s; double bytes; } StepResult;

/* mode = ddp: the baseline averages the silos' mean gradients (host grads_memory) over the weak
 * links every step. */
static void ddp_average_silos(Trainer *tr, StepResult *r)
{
    GPT *m = &tr->model;
    const size_t n = m->num_parameters;
    if (tr->topo.is_leader) {
        RoundStats st;
        double t0 = MPI_Wtime();
        fed_allreduce_mean(tr->fed, m->grads_memory, n, &st);
        r->comm_s = MPI_Wtime() - t0;
        r->modeled_comm_s = st.modeled_seconds;
        r->bytes = (double)st.bytes_total;
    }
    if (tr->topo.silo_size > 1)
        mpiCheck(MPI_Bcast(m->grads_memory, (int)n, MPI_FLOAT, 0, tr->topo.silo_comm));
}

#ifdef PHOTON_CUDA
/* The same step on the GPU: the silo's gradient average is NCCL's, inside the backward pass;
 * the ddp baseline stages the gradients through the host for the federation's links. */
static StepResult train_step_gpu(Trainer *tr, long step)
{
    StepResult r = {0};
    GpuModel *g = tr->gpu.model;
    const Deck *d = &tr->deck;
    gpu_model_zero_grad(g);
    loader_next(tr->loader, tr->inputs, tr->targets);
    float loss = gpu_model_forward(g, tr->inputs, tr->targets, d->batch_size, d->seq_len);
    gpu_model_backward(g);
    if (tr->group_size > 1) {
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, &loss, 1, MPI_FLOAT, MPI_SUM, tr->group));
        loss *= 1.0f / (float)tr->group_size;
    }
    if (d->mode == MODE_DDP && tr->topo.num_silos > 1) {
        gpu_model_download_grads(g, tr->model.grads_memory);
        ddp_average_silos(tr, &r);
        gpu_model_upload_grads(g, tr->model.grads_memory);
    }
    r.grad_norm = gpu_model_clip_grad_norm(g, d->grad_clip);
    r.lr = lr_at(&tr->schedule, step);
    if (d->optimizer == OPTIM_ADAMW) {
        tr->adam_t++;
        gpu_model_adamw_update(g, r.lr, (float)d->beta1, (float)d->beta2, (float)d->eps, (float)d->weight_decay,
                               tr->adam_t);
    } else {
        gpu_model_sgd_update(g, r.lr, (float)d->weight_decay);
    }
    r.loss = loss;
    return r;
}
#endif

static StepResult train_step(Trainer *tr, long step)
{
#ifdef PHOTON_CUDA
    if (tr->gpu.model) return train_step_gpu(tr, step);
#endif
    StepResult r = {0};
    GPT *m = &tr->model;
    const Deck *d = &tr->deck;
    const size_t n = m->num_parameters;
    gpt_zero_grad(m);
    loader_next(tr->loader, tr->inputs, tr->targets);
    gpt_forward(m, tr->inputs, tr->targets, d->batch_size, d->seq_len);
    gpt_backward(m);
    float loss = m->mean_loss;
    if (tr->group_size > 1) {
        /* Mean gradient of the group: equal micro-batches, so the mean of the means. */
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, m->grads_memory, (int)n, MPI_FLOAT, MPI_SUM, tr->group));
        const float scale = 1.0f / (float)tr->group_size;
        for (size_t i = 0; i < n; i++) m->grads_memory[i] *= scale;
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, &loss, 1, MPI_FLOAT, MPI_SUM, tr->group));
        loss *= scale;
    }
    if (d->mode == MODE_DDP && tr->topo.num_silos > 1) ddp_average_silos(tr, &r);
    r.grad_norm = clip_grad_norm(m->grads_memory, n, d->grad_clip);
    r.lr = lr_at(&tr->schedule, step);
    if (d->optimizer == OPTIM_ADAMW) {
        tr->adam_t++;
        gpt_adamw_update(m, tr->adam_m, tr->adam_v, r.lr, (float)d->beta1, (float)d->beta2, (float)d->eps,
                         (float)d->weight_decay, tr->adam_t);
    } else {
        gpt_sgd_update(m, r.lr, (float)d->weight_decay);
    }
    r.loss = loss;
    return r;
}

/* ---- evaluation ------------------------------------------------------------------------------ */

static void write_eval(Trainer *tr, long round, long step, const double *per_source, double overall, const double *local)
{
    if (!is_root(tr)) return;
    const DataInfo *info = &tr->info;
    GString *extra = g_string_new("\"per_source\":{");
    for (int s = 0; s < info->num_sources; s++) {
        char *name = json_quote(info->source_names[s]);
        g_string_append_printf(extra, "%s%s:%.6f", s ? "," : "", name, per_source[s]);
        free(name);
    }
    g_string_append_c(extra, '}');
    if (local) {
        g_string_append(extra, ",\"local_silo_loss\":[");
        for (int s = 0; s < tr->topo.num_silos; s++) g_string_append_printf(extra, "%s%.6f", s ? "," : "", local[s]);
        g_string_append_c(extra, ']');
    }
    metrics_record(&tr->metrics, "\"type\":\"eval\",\"round\":%ld,\"step\":%ld,\"tokens\":%.0f,\"val_loss\":%.6f,\"val_ppl\":%.4f,\"modeled_wall_s\":%.3f,\"elapsed_s\":%.3f,%s",
                   round, step, tr->tokens_seen, overall, exp(overall), tr->modeled_wall_s, MPI_Wtime() - tr->metrics.start_s, extra->str);
    g_string_free(extra, TRUE);
    printf("eval  round %ld step %ld | val loss %.4f | ppl %.2f", round, step, overall, exp(overall));
    if (local) {
        printf(" | local silos:");
        for (int s = 0; s < tr->topo.num_silos; s++) printf(" %.3f", local[s]);
    }
    printf("\n");
    fflush(stdout);
}

/* Validation of the weights every worker holds now (the global model). */
static double evaluate_global(Trainer *tr, long round, long step, const double *local)
{
    if (tr->topo.is_server) return NAN;
    double *per_source = callocCheck((size_t)tr->info.num_sources, sizeof(double));
    double overall;
    evalset_run(&tr->evalset, &tr->model, tr->workers, per_source, &overall);
    write_eval(tr, round, step, per_source, overall, local);
    free(per_source);
    return overall;
}

/* Validation of each silo's local model before averaging: silo s's leader puts its loss in
 * local[s]; the array is then summed over the workers (telemetry, not inter-silo traffic). */
static void evaluate_local(Trainer *tr, double *local)
{
    const int S = tr->topo.num_silos;
    memset(local, 0, (size_t)S * sizeof *local);
    if (!tr->topo.is_server) {
        double *per_source = callocCheck((size_t)tr->info.num_sources, sizeof(double));
        double overall;
        evalset_run(&tr->evalset, &tr->model, tr->topo.silo_comm, per_source, &overall);
        if (tr->topo.is_leader) local[tr->topo.silo] = overall;
        free(per_source);
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, local, S, MPI_DOUBLE, MPI_SUM, tr->workers));
    }
}

/* ---- set-up ------------------------------------------------------------------------------------ */

static int setup(Trainer *tr, char *err, size_t errlen)
{
    Deck *d = &tr->deck;
    int failed = 0;
    /* The data file decides the vocabulary and the silos the data was cut into. */
    if (datafile_read_info(d->data_file, &tr->info, err, errlen)) return -1;
    char *abs = realpath(d->data_file, NULL);
    snprintf(d->data_file_abs, sizeof d->data_file_abs, "%s", abs ? abs : d->data_file);
    free(abs);
    if (d->vocab_size == 0) d->vocab_size = tr->info.vocab_size;
    if (d->vocab_size != tr->info.vocab_size) {
        snprintf(err, errlen, "%s: [model] vocab_size = %d but the data file %s has a vocabulary of %d; set vocab_size = %d (or 0)",
                 d->deck_path, d->vocab_size, d->data_file, tr->info.vocab_size, tr->info.vocab_size);
        return -1;
    }
    if (d->mode != MODE_CENTRALIZED && d->silos != tr->info.num_silos) {
        snprintf(err, errlen, "%s: [federation] silos = %d but the data file %s has %d silos; prep the data with --silos %d or set silos = %d",
                 d->deck_path, d->silos, d->data_file, tr->info.num_silos, d->silos, tr->info.num_silos);
        return -1;
    }
#ifndef PHOTON_CUDA
    if (d->device != DEVICE_CPU) {
        snprintf(err, errlen, "%s: run.device = cuda: this photon was built without the CUDA backend (./configure --with-cuda)", d->deck_path);
        return -1;
    }
#endif
    const int S = d->mode == MODE_CENTRALIZED ? 1 : d->silos;
    const int with_server = d->mode == MODE_FEDERATED && d->topology == TOPOLOGY_SERVER;
    if (topology_create(&tr->topo, MPI_COMM_WORLD, S, with_server, err, errlen)) return -1;
    mpiCheck(MPI_Comm_split(MPI_COMM_WORLD, tr->topo.is_server ? MPI_UNDEFINED : 0, tr->rank, &tr->workers));
    tr->group = tr->topo.silo_comm;
    if (!tr->topo.is_server) {
        MPI_Comm_rank(tr->group, &tr->group_rank);
        MPI_Comm_size(tr->group, &tr->group_size);
    }

    GPTConfig mc = {.max_seq_len = d->seq_len, .vocab_size = d->vocab_size, .num_layers = d->layers,
                    .num_heads = d->heads, .channels = d->channels, .bias = d->bias};
    if (gpt_config_check(&mc, err, errlen)) return -1;
    /* The server only holds weights: plan activations for a single token. */
    if (tr->topo.is_server) gpt_build(&tr->model, &mc, 1, 1);
    else gpt_build(&tr->model, &mc, d->batch_size, d->seq_len);
    gpt_init_weights(&tr->model, (unsigned long)d->seed);
    const size_t n = tr->model.num_parameters;
    tr->adam_m = callocCheck(n, sizeof(float));
    tr->adam_v = callocCheck(n, sizeof(float));
    tr->inputs = mallocCheck((size_t)d->batch_size * d->seq_len * sizeof(int));
    tr->targets = mallocCheck((size_t)d->batch_size * d->seq_len * sizeof(int));
    tr->schedule = (LRSchedule){.lr = (float)d->lr, .warmup_steps = d->warmup_steps, .total_steps = d->steps,
                                .final_fraction = (float)d->lr_floor};
#ifdef PHOTON_CUDA
    /* The server holds weights only: it stays on the host. */
    if (d->device == DEVICE_CUDA && !tr->topo.is_server)
        failed = device_open(&tr->gpu, &mc, d->batch_size, d->seq_len, d->precision, tr->group, err, errlen) != 0;
    if (photon_any_failed(failed, MPI_COMM_WORLD)) {
        if (failed && !is_root(tr)) fprintf(stderr, "photon train: %s\n", err);
        if (!failed) snprintf(err, errlen, "another rank has no CUDA device (see its message)");
        return -1;
    }
#endif

    /* Data: a silo reads its own shard; the centralized baseline reads the union of all. */
    if (!tr->topo.is_server) {
        int *silos = mallocCheck((size_t)tr->info.num_silos * sizeof(int));
        int nsilos = 1;
        if (d->mode == MODE_CENTRALIZED) {
            nsilos = tr->info.num_silos;
            for (int s = 0; s < nsilos; s++) silos[s] = s;
        } else {
            silos[0] = tr->topo.silo;
        }
        tr->loader = loader_open(d->data_file, tr->group, silos, nsilos, tr->group_rank, tr->group_size, d->batch_size,
                                 d->seq_len, (unsigned long)d->data_seed, err, errlen);
        free(silos);
        failed = tr->loader == NULL;
        if (!failed && evalset_load(&tr->evalset, d->data_file, tr->info.num_sources, d->seq_len, d->eval_tokens, err, errlen))
            failed = 1;
    }
    if (photon_any_failed(failed, MPI_COMM_WORLD)) {
        /* The first failing rank's message is what rank 0 would print; make sure one is shown. */
        if (failed && !is_root(tr)) fprintf(stderr, "photon train: %s\n", err);
        if (!failed) snprintf(err, errlen, "another rank failed to open the data (see its message)");
        return -1;
    }

    /* The federation (and the ddp baseline's cross-silo all-reduce) on leaders and the server. */
    if ((d->mode != MODE_CENTRALIZED) && (tr->topo.is_leader || tr->topo.is_server)) {
        OuterConfig oc = {.kind = (OuterKind)d->outer, .lr = (float)d->outer_lr, .momentum = (float)d->outer_momentum,
                          .beta1 = (float)d->outer_beta1, .beta2 = (float)d->outer_beta2, .tau = (float)d->outer_tau};
        DropPolicy dp = {.outlier_factor = d->outlier_factor, .min_clients = d->min_clients};
        LinkConfig lc = {.bandwidth_mbps = d->bandwidth_mbps, .latency_ms = d->latency_ms, .emulate = (LinkEmulation)d->emulate};
        FaultConfig fc = {.silo = d->fault_silo, .rounds = d->fault_rounds, .num_rounds = d->num_fault_rounds,
                          .prob = d->fault_prob, .seed = (unsigned long)d->sample_seed};
        if (fed_config_check(&tr->topo, &oc, &dp, &lc, &fc, err, errlen)) {
            failed = 1;
        } else {
            tr->fed = fed_create(&tr->topo, &oc, n, &dp, &lc);
            fed_set_fault(tr->fed, &fc);
        }
        if (d->mode == MODE_FEDERATED) {
            tr->theta_global = mallocCheck(n * sizeof(float));
            memcpy(tr->theta_global, tr->model.params_memory, n * sizeof(float));
        }
    }
    if (photon_any_failed(failed, MPI_COMM_WORLD)) return -1;
    return 0;
}

static void teardown(Trainer *tr)
{
#ifdef PHOTON_CUDA
    if (tr->gpu.model) device_close(&tr->gpu);
#endif
    if (tr->fed) fed_free(tr->fed);
    if (tr->loader) loader_close(tr->loader);
    evalset_free(&tr->evalset);
    gpt_free(&tr->model);
    free(tr->adam_m);
    free(tr->adam_v);
    free(tr->theta_global);
    free(tr->inputs);
    free(tr->targets);
    if (tr->workers != MPI_COMM_NULL) MPI_Comm_free(&tr->workers);
    topology_free(&tr->topo);
    datafile_info_free(&tr->info);
    metrics_close(&tr->metrics);
    deck_free(&tr->deck);
}

/* ---- the federated round's synchronisation ------------------------------------------------------ */

/* After H local steps: the federation averages the silos' models; every rank of every silo
 * continues from the new global weights. Returns the round's statistics (leaders and server). */
static void federated_sync(Trainer *tr, long round, const int *participating, RoundStats *st)
{
    const Deck *d = &tr->deck;
    GPT *m = &tr->model;
    const size_t n = m->num_parameters;
    const int S = tr->topo.num_silos;
    memset(st, 0, sizeof *st);
    int reset_inner = d->inner_state == INNER_RESET;
    int my_dropped = 0;
    if (tr->topo.is_leader || tr->topo.is_server) {
        const int me = tr->topo.is_server ? -1 : tr->topo.silo;
        const double weight = me >= 0 && participating[me] ? (double)d->local_steps * d->batch_size * d->seq_len * tr->topo.silo_size : 0.0;
        fed_sync(tr->fed, round, participating, m->params_memory, weight, tr->theta_global, st);
        if (me >= 0) my_dropped = st->dropped[me];
        if (d->inner_state == INNER_AVERAGE && !st->skipped) {
            fed_mean(tr->fed, tr->adam_m, tr->topo.is_server ? NULL : tr->adam_m, n, st);
            fed_mean(tr->fed, tr->adam_v, tr->topo.is_server ? NULL : tr->adam_v, n, st);
        }
    }
    if (tr->topo.is_server) return;
    /* Inside the silo: the new global weights (and averaged moments) from the leader. */
    if (tr->topo.is_leader) memcpy(m->params_memory, tr->theta_global, n * sizeof(float));
    if (tr->topo.silo_size > 1) {
        mpiCheck(MPI_Bcast(m->params_memory, (int)n, MPI_FLOAT, 0, tr->topo.silo_comm));
        mpiCheck(MPI_Bcast(&my_dropped, 1, MPI_INT, 0, tr->topo.silo_comm));
        if (d->inner_state == INNER_AVERAGE) {
            mpiCheck(MPI_Bcast(tr->adam_m, (int)n, MPI_FLOAT, 0, tr->topo.silo_comm));
            mpiCheck(MPI_Bcast(tr->adam_v, (int)n, MPI_FLOAT, 0, tr->topo.silo_comm));
        }
    }
    /* A dropped silo is resynchronised: its moments may be as broken as its update was. */
    if (reset_inner || my_dropped) {
        memset(tr->adam_m, 0, n * sizeof(float));
        memset(tr->adam_v, 0, n * sizeof(float));
        tr->adam_t = 0;
    }
    (void)S;
}

/* ---- the run ---------------------------------------------------------------------------------- */

static void print_banner(const Trainer *tr)
{
    if (!is_root(tr)) return;
    const Deck *d = &tr->deck;
    const GPT *m = &tr->model;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("photon train: %s mode, %d ranks = %d silo(s) x %d rank(s)%s, %d thread(s)/rank\n", deck_mode_name(d->mode),
           tr->world, tr->topo.num_silos, tr->topo.silo_size, tr->topo.with_server ? " + 1 aggregator" : "", threads);
    printf("model: L=%d C=%d NH=%d T=%d V=%d%s, %zu parameters, %.1f MiB planned per rank\n", d->layers, d->channels, d->heads,
           d->seq_len, d->vocab_size, d->bias ? "" : " (no bias)", m->num_parameters, m->peak_bytes / 1048576.0);
    printf("data: %s (%d silos, %d sources); batch %d x %d tokens per rank\n", d->data_file, tr->info.num_silos,
           tr->info.num_sources, d->batch_size, d->seq_len);
    if (d->mode == MODE_FEDERATED)
        printf("federation: %ld rounds x %d local steps, outer %s lr %g, inner state %s, topology %s\n", d->steps / d->local_steps,
               d->local_steps, outer_kind_name((OuterKind)d->outer), d->outer_lr, d->inner_state == INNER_KEEP ? "keep" : d->inner_state == INNER_RESET ? "reset" : "average",
               d->topology == TOPOLOGY_SERVER ? "server" : "allreduce");
#ifdef PHOTON_CUDA
    if (tr->gpu.model)
        printf("device: cuda, %s on rank 0, %s, silo gradients over %s\n", tr->gpu.name,
               d->precision == PRECISION_BF16 ? "bf16 (fp32 master weights)" : "fp32",
               tr->gpu.nccl ? "NCCL" : "no communication (1 rank per silo)");
#endif
    if (d->mode != MODE_CENTRALIZED)
        printf("links: %g Mbps, %g ms latency, emulation %s\n", d->bandwidth_mbps, d->latency_ms,
               link_emulation_name((LinkEmulation)d->emulate));
    fflush(stdout);
}

static int write_final_weights(const Trainer *tr, char *err, size_t errlen);

/* ---- checkpoints ------------------------------------------------------------------------------- */

/* What this rank holds of the run's state, for checkpoint.c. cursor: storage for the loader's. */
static CkptView trainer_view(Trainer *tr, LoaderCursor *cursor)
{
    CkptView v = {.deck = &tr->deck, .topo = &tr->topo, .config = tr->model.config, .n = tr->model.num_parameters,
                  .params = tr->model.params_memory, .state = &tr->ckpt};
    if (!tr->topo.is_server) {
        v.adam_m = tr->adam_m;
        v.adam_v = tr->adam_v;
        v.adam_t = &tr->adam_t;
        v.cursor = cursor;
    } else {
        /* The server's copy of the global weights is theta_global (its model is not updated). */
        v.params = tr->theta_global;
    }
    if (tr->fed) v.outer = fed_outer(tr->fed);
    return v;
}

/* Collective: the state after `rounds` rounds and `steps` steps. Rank 0's counters and metrics
 * offset are the run's. */
static int write_checkpoint(Trainer *tr, long rounds, long steps, double last_val, char *path, size_t pathlen, char *err,
                            size_t errlen)
{
    CkptState *s = &tr->ckpt;
    s->round = rounds;
    s->step = steps;
    s->tokens_seen = tr->tokens_seen;
    s->modeled_wall_s = tr->modeled_wall_s;
    s->inter_bytes_total = tr->inter_bytes_total;
    s->compute_s_total = tr->compute_s_total;
    s->last_val_loss = last_val;
    s->metrics_offset = 0;
    if (is_root(tr) && tr->metrics.jsonl) {
        struct stat sb;
        fflush(tr->metrics.jsonl);
        if (!fstat(fileno(tr->metrics.jsonl), &sb)) s->metrics_offset = (int64_t)sb.st_size;
    }
    mpiCheck(MPI_Bcast(s, (int)sizeof *s, MPI_BYTE, 0, MPI_COMM_WORLD));
    LoaderCursor cursor = {0, 0};
    if (tr->loader) cursor = loader_get_cursor(tr->loader);
    CkptView v = trainer_view(tr, &cursor);
    return ckpt_write(&v, tr->deck.ckpt_dir, tr->deck.ckpt_keep, path, pathlen, err, errlen);
}

/* --resume: rank 0 chooses and verifies the file, then every rank reads its part. Returns 0 (a
 * checkpoint was loaded, or "latest" found none: a fresh start), or -1 with a message. */
static int resume_run(Trainer *tr, char *err, size_t errlen)
{
    char path[CKPT_PATH_MAX] = "";
    int found = 0;
    if (is_root(tr)) found = ckpt_find(tr->resume, tr->deck.ckpt_dir, path, sizeof path, err, errlen);
    mpiCheck(MPI_Bcast(&found, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (found < 0) return -1;
    if (found == 1) {
        if (is_root(tr)) printf("resume: no checkpoint in %s: starting a new run\n", tr->deck.ckpt_dir);
        return 0;
    }
    mpiCheck(MPI_Bcast(path, (int)sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD));
    LoaderCursor cursor = {0, 0};
    CkptView v = trainer_view(tr, &cursor);
    if (ckpt_read(&v, path, err, errlen)) return -1;
    const size_t n = tr->model.num_parameters;
    if (tr->topo.is_server) memcpy(tr->model.params_memory, tr->theta_global, n * sizeof(float));
    else if (tr->theta_global) memcpy(tr->theta_global, tr->model.params_memory, n * sizeof(float));
    if (tr->loader) loader_set_cursor(tr->loader, cursor);
    tr->tokens_seen = tr->ckpt.tokens_seen;
    tr->modeled_wall_s = tr->ckpt.modeled_wall_s;
    tr->inter_bytes_total = tr->ckpt.inter_bytes_total;
    tr->compute_s_total = tr->ckpt.compute_s_total;
    snprintf(tr->resumed_from, sizeof tr->resumed_from, "%s", path);
    return 0;
}

static int run(Trainer *tr)
{
    const Deck *d = &tr->deck;
    const int S = tr->topo.num_silos;
    const long H = d->local_steps;
    const long rounds = (d->steps + H - 1) / H;
    const double tokens_per_rank_step = (double)d->batch_size * d->seq_len;
    int *participating = mallocCheck((size_t)S * sizeof(int));
    double *local_loss = callocCheck((size_t)S, sizeof(double));
    double last_val = tr->ckpt.last_val_loss;
    char eta[32], elapsed[32];
    const long start_round = tr->ckpt.round;
    long step = start_round * H - 1;
    int stopped = 0, ckpt_failed = 0;
    char ckpt_path[CKPT_PATH_MAX] = "";
    for (long round = start_round; round < rounds; round++) {
        if (d->mode == MODE_FEDERATED) fed_sample_clients((unsigned long)d->sample_seed, round, S, d->clients_per_round, participating);
        else for (int s = 0; s < S; s++) participating[s] = 1;
        const int active = tr->topo.is_server ? 0 : participating[tr->topo.silo];
        int active_silos = 0;
        for (int s = 0; s < S; s++) active_silos += participating[s];

        double t_round = MPI_Wtime(), compute_s = 0, round_loss = 0, ddp_modeled = 0, ddp_comm = 0, ddp_bytes = 0;
        long steps_this_round = 0;
        const long first_step = round * H;
#ifdef PHOTON_CUDA
        /* The round's steps run on the GPU from the host's state (the federation's new weights). */
        if (tr->gpu.model) device_upload(&tr->gpu, tr->model.params_memory, tr->adam_m, tr->adam_v);
#endif
        for (long h = 0; h < H && first_step + h < d->steps; h++) {
            step = first_step + h;
            steps_this_round++;
            if (!active) continue;
            double t0 = MPI_Wtime();
            StepResult r = train_step(tr, step);
            compute_s += MPI_Wtime() - t0 - r.comm_s;
            ddp_modeled += r.modeled_comm_s;
            ddp_comm += r.comm_s;
            ddp_bytes += r.bytes;
            round_loss += r.loss;
            if (is_root(tr) && (step % d->log_every == 0 || step == d->steps - 1)) {
                double el = MPI_Wtime() - tr->metrics.start_s;
                double done = (double)(step + 1) / d->steps;
                format_duration(el, elapsed, sizeof elapsed);
                format_duration(el / done * (1 - done), eta, sizeof eta);
                double tok = tr->tokens_seen + (h + 1) * tokens_per_rank_step * tr->group_size * (d->mode == MODE_CENTRALIZED ? 1 : active_silos);
                printf("step %6ld/%ld | round %4ld | loss %.4f | lr %.3e | norm %.3f | %7.0f tok/s | elapsed %s | eta %s\n", step + 1,
                       d->steps, round, r.loss, r.lr, r.grad_norm, tok / el, elapsed, eta);
                fflush(stdout);
            }
            if (is_root(tr))
                metrics_record(&tr->metrics, "\"type\":\"step\",\"step\":%ld,\"round\":%ld,\"loss\":%.6f,\"lr\":%.6e,\"grad_norm\":%.6f,\"elapsed_s\":%.4f",
                               step, round, r.loss, r.lr, r.grad_norm, MPI_Wtime() - tr->metrics.start_s);
        }
#ifdef PHOTON_CUDA
        /* Back to the host for evaluation, the federation and checkpoints. */
        if (tr->gpu.model) device_download(&tr->gpu, tr->model.params_memory, tr->adam_m, tr->adam_v);
#endif
        const int last_round = round == rounds - 1;
        const int eval_now = last_round || (d->eval_every > 0 && (round + 1) % d->eval_every == 0);

        /* Round bookkeeping over the workers (telemetry: not counted as inter-silo traffic). */
        double sums[3] = {active && tr->group_rank == 0 ? round_loss / (steps_this_round ? steps_this_round : 1) : 0,
                          active && tr->group_rank == 0 ? 1 : 0, compute_s};
        double compute_max = compute_s;
        if (!tr->topo.is_server) {
            mpiCheck(MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, tr->workers));
            mpiCheck(MPI_Allreduce(MPI_IN_PLACE, &compute_max, 1, MPI_DOUBLE, MPI_MAX, tr->workers));
        }

        RoundStats st;
        memset(&st, 0, sizeof st);
        if (d->mode == MODE_FEDERATED) {
            if (eval_now) evaluate_local(tr, local_loss);
            double t0 = MPI_Wtime();
            federated_sync(tr, round, participating, &st);
            st.comm_seconds = MPI_Wtime() - t0;
        } else {
            st.modeled_seconds = ddp_modeled;
            st.comm_seconds = ddp_comm;
            st.bytes_total = (uint64_t)ddp_bytes;
        }
        /* The server knows the round's traffic; rank 0 reports it. */
        double traffic[3] = {(double)st.bytes_total, st.modeled_seconds, st.comm_seconds};
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, traffic, 3, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
        tr->tokens_seen += tokens_per_rank_step * steps_this_round * (d->mode == MODE_CENTRALIZED ? tr->group_size : active_silos * tr->topo.silo_size);
        tr->modeled_wall_s += compute_max + traffic[1];
        tr->inter_bytes_total += traffic[0];
        tr->compute_s_total += compute_max;
        if (is_root(tr)) {
            GString *flags = g_string_new("\"participants\":[");
            for (int s = 0; s < S; s++) g_string_append_printf(flags, "%s%d", s ? "," : "", participating[s]);
            g_string_append(flags, "],\"dropped\":[");
            for (int s = 0; s < S; s++) g_string_append_printf(flags, "%s%d", s ? "," : "", st.dropped ? st.dropped[s] : 0);
            g_string_append_printf(flags, "],\"skipped\":%d", st.skipped);
            metrics_record(&tr->metrics,
                           "\"type\":\"round\",\"round\":%ld,\"step\":%ld,\"tokens\":%.0f,\"train_loss\":%.6f,\"bytes\":%.0f,\"bytes_per_silo\":%.0f,"
                           "\"bytes_total\":%.0f,\"comm_s\":%.4f,\"modeled_comm_s\":%.4f,\"compute_s\":%.4f,\"round_s\":%.4f,\"modeled_wall_s\":%.4f,%s",
                           round, step + 1, tr->tokens_seen, sums[1] > 0 ? sums[0] / sums[1] : NAN, traffic[0], traffic[0] / S,
                           tr->inter_bytes_total, traffic[2], traffic[1], compute_max, MPI_Wtime() - t_round, tr->modeled_wall_s, flags->str);
            g_string_free(flags, TRUE);
            if (d->mode != MODE_CENTRALIZED && (st.skipped || (st.reason[0])))
                printf("round %ld: %s\n", round, st.reason);
        }
        if (eval_now) last_val = evaluate_global(tr, round, step + 1, d->mode == MODE_FEDERATED ? local_loss : NULL);
        /* leaders' RoundStats arrays belong to the federation; nothing to free here */

        /* Checkpoint at the round boundary: periodically, at the end, and before stopping on a
         * signal (any rank's) or after stop_after_rounds rounds of this invocation. */
        int sig = (int)stop_signal;
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, &sig, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
        const int stop = !last_round && (sig || (d->stop_after_rounds > 0 && round + 1 - start_round >= d->stop_after_rounds));
        if (last_round || stop || (d->ckpt_every > 0 && (round + 1) % d->ckpt_every == 0)) {
            char err[2048];
            if (write_checkpoint(tr, round + 1, step + 1, last_val, ckpt_path, sizeof ckpt_path, err, sizeof err)) {
                report_error(tr, err);
                ckpt_failed = 1;
            } else if (is_root(tr)) {
                printf("checkpoint: %s\n", ckpt_path);
                fflush(stdout);
            }
        }
        if (stop) {
            if (is_root(tr)) {
                if (sig) printf("stopped after round %ld on signal %d (%s)", round, sig, sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "?");
                else printf("stopped after round %ld (run.stop_after_rounds = %ld)", round, d->stop_after_rounds);
                if (!ckpt_failed) printf(": continue with --resume latest\n");
                else printf(": the checkpoint failed\n");
                fflush(stdout);
            }
            stopped = 1;
            break;
        }
    }
    if (stopped) {
        free(participating);
        free(local_loss);
        return ckpt_failed ? 1 : 0;
    }
    double val = last_val;
    mpiCheck(MPI_Bcast(&val, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD));
    if (is_root(tr)) {
        double el = MPI_Wtime() - tr->metrics.start_s;
        metrics_record(&tr->metrics, "\"type\":\"end\",\"steps\":%ld,\"tokens\":%.0f,\"val_loss\":%.6f,\"val_ppl\":%.4f,\"elapsed_s\":%.3f,"
                       "\"modeled_wall_s\":%.3f,\"compute_s\":%.3f,\"inter_silo_bytes\":%.0f",
                       d->steps, tr->tokens_seen, val, exp(val), el, tr->modeled_wall_s, tr->compute_s_total, tr->inter_bytes_total);
        format_duration(el, elapsed, sizeof elapsed);
        printf("done: %ld steps, %.0f tokens in %s | final val loss %.4f | ppl %.2f | inter-silo %.1f MB | modeled wall %.1f s\n",
               d->steps, tr->tokens_seen, elapsed, val, exp(val), tr->inter_bytes_total / 1e6, tr->modeled_wall_s);
        char err[1024];
        if (write_final_weights(tr, err, sizeof err)) fprintf(stderr, "photon train: %s\n", err);
        printf("metrics: %s/metrics.jsonl, final weights: %s/final.h5\n", d->run_dir, d->run_dir);
        fflush(stdout);
    }
    free(participating);
    free(local_loss);
    return ckpt_failed ? 1 : 0;
}

/* The final weights, RUN_DIR/final.h5: one float32 dataset per named tensor and the flat vector
 * `params` (what tests compare bitwise), with the model shape as attributes. Rank 0 holds the
 * global model in every mode (a worker: the server, if any, is the last rank). Written under a
 * temporary name and renamed, so a reader never sees half a file. */
static int write_final_weights(const Trainer *tr, char *err, size_t errlen)
{
    const GPT *m = &tr->model;
    char path[DECK_STR_MAX + 32], tmp[DECK_STR_MAX + 48];
    snprintf(path, sizeof path, "%s/final.h5", tr->deck.run_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) { snprintf(err, errlen, "%s: cannot create", tmp); return -1; }
    int rc = 0;
    hsize_t n = m->num_parameters;
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t ds = H5Dcreate2(f, "params", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->params_memory) < 0) rc = -1;
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(space);
    const int shape[6] = {m->config.num_layers, m->config.num_heads, m->config.channels, m->config.max_seq_len,
                          m->config.vocab_size, m->config.bias};
    const char *names[6] = {"num_layers", "num_heads", "channels", "max_seq_len", "vocab_size", "bias"};
    for (int i = 0; i < 6 && rc == 0; i++) {
        hid_t as = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(f, names[i], H5T_STD_I32LE, as, H5P_DEFAULT, H5P_DEFAULT);
        if (a < 0 || H5Awrite(a, H5T_NATIVE_INT, &shape[i]) < 0) rc = -1;
        if (a >= 0) H5Aclose(a);
        H5Sclose(as);
    }
    /* eval and sample find the tokenizer and validation sets here when not told otherwise */
    if (rc == 0 && h5_attr_write_fixed_string(f, "data_file", tr->deck.data_file_abs)) rc = -1;
    if (H5Fclose(f) < 0) rc = -1;
    if (rc == 0 && rename(tmp, path)) rc = -1;
    if (rc) { snprintf(err, errlen, "%s: cannot write the final weights", path); remove(tmp); }
    return rc;
}

/* Keep the deck as given and as understood beside the metrics. */
static int write_run_dir(const Trainer *tr, char *err, size_t errlen)
{
    const Deck *d = &tr->deck;
    if (make_dirs(d->run_dir)) {
        snprintf(err, errlen, "%s: cannot create run directory [run] dir = %s", d->deck_path, d->run_dir);
        return -1;
    }
    char path[DECK_STR_MAX + 32];
    snprintf(path, sizeof path, "%s/deck.effective", d->run_dir);
    FILE *f = fopen(path, "w");
    if (!f) { snprintf(err, errlen, "%s: cannot write", path); return -1; }
    fprintf(f, "# effective deck of this run: %s %s\n", d->deck_path, d->overrides ? d->overrides : "");
    deck_print_values(d, f);
    fclose(f);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    Trainer tr;
    memset(&tr, 0, sizeof tr);
    tr.workers = MPI_COMM_NULL;
    /* teardown frees these; setup may fail before topology_create sets them */
    tr.topo.silo_comm = tr.topo.leaders = tr.topo.server_inter = MPI_COMM_NULL;
    MPI_Comm_rank(MPI_COMM_WORLD, &tr.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &tr.world);
    char err[2048] = "";
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        if (is_root(&tr)) deck_print_help(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--help-markdown")) {
        if (is_root(&tr)) deck_print_markdown(stdout);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        if (is_root(&tr)) fprintf(stderr, "usage: photon train DECK [section.key=value ...] [--resume [PATH|latest]]   (photon train --help)\n");
        return 2;
    }
    /* --resume [PATH|latest] may stand anywhere after the deck; the rest are overrides. */
    char **overrides = mallocCheck((size_t)argc * sizeof *overrides);
    int noverrides = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--resume")) {
            tr.resume = "latest";
            if (i + 1 < argc && argv[i + 1][0] != '-' && !strchr(argv[i + 1], '=')) tr.resume = argv[++i];
        } else {
            overrides[noverrides++] = argv[i];
        }
    }
    tr.ckpt.last_val_loss = NAN;
    /* Every rank parses the deck (a small file): all reach the same verdict without messages. */
    int rc = 2;
    int failed = 0;
    if (deck_load(&tr.deck, argv[1], overrides, noverrides, err, sizeof err)) {
        report_error(&tr, err);
        free(overrides);
        deck_free(&tr.deck);
        return 2;
    }
    free(overrides);
    if (is_root(&tr) && write_run_dir(&tr, err, sizeof err)) failed = 1;
    if (photon_any_failed(failed, MPI_COMM_WORLD)) { report_error(&tr, err); goto done; }
    if (setup(&tr, err, sizeof err)) { report_error(&tr, err); goto done; }
    if (tr.resume && resume_run(&tr, err, sizeof err)) { report_error(&tr, err); goto done; }
    if (!tr.resumed_from[0] && is_root(&tr)) {
        /* A fresh run owns its run directory: metrics.jsonl is rewritten, old checkpoints go. */
        int removed = ckpt_clear(tr.deck.ckpt_dir);
        if (removed) printf("removed %d checkpoint file(s) of an earlier run from %s (continue a run with --resume latest)\n", removed, tr.deck.ckpt_dir);
    }
    if (tr.resumed_from[0]) {
        if (metrics_reopen(&tr.metrics, tr.deck.run_dir, tr.rank, tr.ckpt.metrics_offset, err, sizeof err)) failed = 1;
    } else if (metrics_open(&tr.metrics, tr.deck.run_dir, tr.rank, err, sizeof err)) {
        failed = 1;
    }
    if (photon_any_failed(failed, MPI_COMM_WORLD)) { report_error(&tr, err); goto done; }
    print_banner(&tr);
    if (tr.resumed_from[0]) {
        if (is_root(&tr)) printf("resumed from %s: round %ld, step %ld\n", tr.resumed_from, tr.ckpt.round, tr.ckpt.step);
        char *ckpt = json_quote(tr.resumed_from);
        metrics_record(&tr.metrics, "\"type\":\"resume\",\"round\":%ld,\"step\":%ld,\"ranks\":%d,\"checkpoint\":%s",
                       tr.ckpt.round, tr.ckpt.step, tr.world, ckpt);
        free(ckpt);
    } else {
        char *deck = json_quote(tr.deck.deck_path);
        metrics_record(&tr.metrics, "\"type\":\"start\",\"mode\":\"%s\",\"ranks\":%d,\"silos\":%d,\"parameters\":%zu,\"deck\":%s",
                       deck_mode_name(tr.deck.mode), tr.world, tr.topo.num_silos, tr.model.num_parameters, deck);
        free(deck);
    }
    /* Slurm's --signal and scontrol requeue: finish the round, checkpoint, exit 0. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    rc = run(&tr);
done:
    teardown(&tr);
    return rc;
}
