/* trainer.c: set-up and teardown of the Trainer from the typed configs (see trainer.h). */
#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

void trainer_report_error(const Trainer *tr, const char *msg)
{
    if (trainer_is_root(tr)) fprintf(stderr, "photon train: %s\n", msg);
}

void trainer_init(Trainer *tr)
{
    memset(tr, 0, sizeof *tr);
    tr->workers = MPI_COMM_NULL;
    /* teardown frees these; setup may fail before topology_create sets them */
    tr->topo.silo_comm = tr->topo.leaders = tr->topo.server_inter = MPI_COMM_NULL;
    MPI_Comm_rank(MPI_COMM_WORLD, &tr->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &tr->world);
    tr->ckpt.last_val_loss = NAN;
    tr->lock.fd = -1;
}

/* The first failing rank's message is what rank 0 would print; make sure one is shown. */
static int any_failed(const Trainer *tr, int failed, const char *others, char *err, size_t errlen)
{
    if (!photon_any_failed(failed, MPI_COMM_WORLD)) return 0;
    if (failed && !trainer_is_root(tr)) fprintf(stderr, "photon train: %s\n", err);
    if (!failed) snprintf(err, errlen, "%s", others);
    return 1;
}

/* The data file decides the vocabulary and the silos the data was cut into. */
static int check_data(Trainer *tr, char *err, size_t errlen)
{
    RunConfig *c = &tr->cfg;
    const RunSettings *run = &c->run;
    if (datafile_read_info(run->data_file, &tr->info, err, errlen)) return -1;
    /* The content check reads the whole file: rank 0 makes it for all. */
    int bad = trainer_is_root(tr) && datafile_verify(run->data_file, run->verify_data, "photon train", err, errlen);
    if (any_failed(tr, bad, "rank 0 refused the data file (see its message)", err, errlen)) return -1;
    char *abs = realpath(run->data_file, NULL);
    snprintf(tr->data_file_abs, sizeof tr->data_file_abs, "%s", abs ? abs : run->data_file);
    free(abs);
    if (c->model.vocab_size == 0) c->model.vocab_size = tr->info.vocab_size;
    /* The deck's effective values (deck/effective in checkpoints) show the vocabulary used. */
    tr->deck.vocab_size = c->model.vocab_size;
    if (c->model.vocab_size != tr->info.vocab_size) {
        snprintf(err, errlen, "%s: [model] vocab_size = %d but the data file %s has a vocabulary of %d; set vocab_size = %d (or 0)",
                 run->deck_path, c->model.vocab_size, run->data_file, tr->info.vocab_size, tr->info.vocab_size);
        return -1;
    }
    if (c->fed.mode != MODE_CENTRALIZED && c->fed.silos != tr->info.num_silos) {
        snprintf(err, errlen, "%s: [federation] silos = %d but the data file %s has %d silos; prep the data with --silos %d or set silos = %d",
                 run->deck_path, c->fed.silos, run->data_file, tr->info.num_silos, c->fed.silos, tr->info.num_silos);
        return -1;
    }
    return 0;
}

/* The host model and its optimizer state; the backend the steps run on (the server, which holds
 * weights only, stays on the host). */
static int setup_model(Trainer *tr, const BackendOps *ops, char *err, size_t errlen)
{
    const RunConfig *c = &tr->cfg;
    const int B = c->run.batch_size, T = c->model.max_seq_len;
    if (gpt_config_check(&c->model, err, errlen)) return -1;
    /* The server only holds weights: plan activations for a single token. */
    if (tr->topo.is_server) gpt_build(&tr->model, &c->model, 1, 1);
    else gpt_build(&tr->model, &c->model, B, T);
    gpt_init_weights(&tr->model, c->run.seed);
    const size_t n = tr->model.num_parameters;
    tr->adam_m = callocCheck(n, sizeof(float));
    tr->adam_v = callocCheck(n, sizeof(float));
    tr->inputs = mallocCheck((size_t)B * T * sizeof(int));
    tr->targets = mallocCheck((size_t)B * T * sizeof(int));
    BackendSetup bs = {.host = &tr->model, .adam_m = tr->adam_m, .adam_v = tr->adam_v, .adam_t = &tr->adam_t,
                       .B = B, .T = T, .precision = c->run.precision, .group = tr->group, .group_size = tr->group_size};
    int failed = backend_create(&tr->backend, tr->topo.is_server ? &backend_cpu_ops : ops, &bs, err, errlen) != 0;
    return any_failed(tr, failed, "another rank has no CUDA device (see its message)", err, errlen) ? -1 : 0;
}

/* Data: a silo reads its own shard; the centralized baseline reads the union of all. */
static int setup_data(Trainer *tr, char *err, size_t errlen)
{
    const RunConfig *c = &tr->cfg;
    int failed = 0;
    eval_result_init(&tr->final_eval, tr->info.num_sources);
    if (!tr->topo.is_server) {
        int *silos = mallocCheck((size_t)tr->info.num_silos * sizeof(int));
        int nsilos = 1;
        if (c->fed.mode == MODE_CENTRALIZED) {
            nsilos = tr->info.num_silos;
            for (int s = 0; s < nsilos; s++) silos[s] = s;
        } else {
            silos[0] = tr->topo.silo;
        }
        tr->loader = loader_open(c->run.data_file, tr->group, silos, nsilos, tr->group_rank, tr->group_size,
                                 c->run.batch_size, c->model.max_seq_len, c->run.data_seed, err, errlen);
        free(silos);
        failed = tr->loader == NULL;
        if (!failed && evalset_load(&tr->evalset, c->run.data_file, tr->info.num_sources, c->model.max_seq_len,
                                    c->eval.tokens, c->eval.final_tokens, err, errlen))
            failed = 1;
    }
    return any_failed(tr, failed, "another rank failed to open the data (see its message)", err, errlen) ? -1 : 0;
}

/* The federation (and the ddp baseline's cross-silo all-reduce) on leaders and the server. */
static int setup_federation(Trainer *tr, char *err, size_t errlen)
{
    const RunConfig *c = &tr->cfg;
    const size_t n = tr->model.num_parameters;
    const int streaming = c->fed.mode == MODE_FEDERATED && (c->fed.fragments > 1 || c->fed.overlap_steps > 0);
    int failed = 0;
    if (c->fed.mode != MODE_CENTRALIZED && (tr->topo.is_leader || tr->topo.is_server)) {
        if (fed_config_check(&tr->topo, &c->outer, &c->fed.drop, &c->link, &c->fed.fault, err, errlen)) {
            failed = 1;
        } else if (!streaming) { // streaming sync: a federation per fragment (fragments.c)
            tr->fed = fed_create(&tr->topo, &c->outer, n, &c->fed.drop, &c->link);
            fed_set_fault(tr->fed, &c->fed.fault);
            if (c->fed.mode == MODE_FEDERATED) fed_set_compress(tr->fed, &c->compress);
        }
    }
    /* The global weights: on leaders and the server; with streaming sync on every worker too
     * (each merges its fragments from it, evaluations and final.h5 use it). */
    if (c->fed.mode == MODE_FEDERATED && (streaming || tr->topo.is_leader || tr->topo.is_server)) {
        tr->theta_global = mallocCheck(n * sizeof(float));
        memcpy(tr->theta_global, tr->model.params_memory, n * sizeof(float));
    }
    if (streaming && !failed) tr->frag = fragments_create(tr);
    return photon_any_failed(failed, MPI_COMM_WORLD) ? -1 : 0;
}

int trainer_setup(Trainer *tr, char *err, size_t errlen)
{
    RunConfig *c = &tr->cfg;
    run_config_from_deck(c, &tr->deck);
    if (check_data(tr, err, errlen)) return -1;
    if (c->guard.on_nonfinite == NONFINITE_ROLLBACK && c->ckpt.every <= 0) {
        snprintf(err, errlen, "%s: run.on_nonfinite = rollback reloads the last checkpoint: set checkpoint.every_rounds > 0",
                 c->run.deck_path);
        return -1;
    }
    char msg[256];
    const BackendOps *ops = backend_lookup(c->run.device, msg, sizeof msg);
    if (!ops) {
        snprintf(err, errlen, "%s: %s", c->run.deck_path, msg);
        return -1;
    }
    const int S = c->fed.mode == MODE_CENTRALIZED ? 1 : c->fed.silos;
    const int with_server = c->fed.mode == MODE_FEDERATED && c->fed.topology == TOPOLOGY_SERVER;
    if (topology_create(&tr->topo, MPI_COMM_WORLD, S, with_server, err, errlen)) return -1;
    mpiCheck(MPI_Comm_split(MPI_COMM_WORLD, tr->topo.is_server ? MPI_UNDEFINED : 0, tr->rank, &tr->workers));
    tr->group = tr->topo.silo_comm;
    if (!tr->topo.is_server) {
        MPI_Comm_rank(tr->group, &tr->group_rank);
        MPI_Comm_size(tr->group, &tr->group_size);
    }
    /* lr_scaling: the batch of the group whose mean gradient each step takes. */
    const int ranks_per_silo = (tr->world - with_server) / S;
    tr->step_batch = c->run.batch_size * ranks_per_silo * (c->fed.mode == MODE_DDP ? S : 1);
    tr->lr_scale = 1.0;
    if (c->run.lr_scaling != LR_SCALING_NONE) {
        const double ratio = (double)tr->step_batch / c->run.lr_ref_batch;
        tr->lr_scale = c->run.lr_scaling == LR_SCALING_SQRT ? sqrt(ratio) : ratio;
        c->schedule.lr = (float)(c->schedule.lr * tr->lr_scale);
    }
    round_plan_build(&tr->plan, &c->fed, c->run.steps);
    if (setup_model(tr, ops, err, errlen) || setup_data(tr, err, errlen) || setup_federation(tr, err, errlen)) return -1;
    train_identity(tr);
    return 0;
}

void trainer_teardown(Trainer *tr)
{
    backend_destroy(&tr->backend);
    if (tr->fed) fed_free(tr->fed);
    fragments_free(tr->frag);
    if (tr->loader) loader_close(tr->loader);
    evalset_free(&tr->evalset);
    eval_result_free(&tr->final_eval);
    gpt_free(&tr->model);
    free(tr->adam_m);
    free(tr->adam_v);
    free(tr->theta_global);
    free(tr->inputs);
    free(tr->targets);
    free(tr->effective);
    round_plan_free(&tr->plan);
    if (tr->workers != MPI_COMM_NULL) MPI_Comm_free(&tr->workers);
    topology_free(&tr->topo);
    datafile_info_free(&tr->info);
    metrics_close(&tr->metrics);
    guard_release(tr);   /* last: nothing of this run touches run.dir after the lock goes */
    deck_free(&tr->deck);
}
