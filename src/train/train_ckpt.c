/* train_ckpt.c: the driver's side of checkpoints (see trainer.h, checkpoint.h): what this rank
 * holds of the run's state, the run's identity that a checkpoint records and checks, writing one
 * at a round boundary and --resume. */
#include "trainer.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"

/* The effective deck as text (what deck.effective holds). */
static char *effective_deck(const Deck *d)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) PHOTON_FATAL("open_memstream failed");
    deck_print_values(d, mem);
    fclose(mem);
    return text;
}

void train_identity(Trainer *tr)
{
    const RunConfig *c = &tr->cfg;
    tr->effective = effective_deck(&tr->deck);
    tr->id = (RunIdentity){.config = tr->model.config, .mode = c->fed.mode, .topology = c->fed.topology,
                           .optimizer = c->inner.kind, .outer = c->outer.kind, .local_steps = c->fed.local_steps,
                           .steps = c->run.steps, .codec = c->compress.adaptive ? CODEC_CHOICE_AUTO : c->compress.codec.kind,
                           .error_feedback = c->compress.error_feedback, .fragments = c->fed.fragments,
                           .overlap_steps = c->fed.overlap_steps, .round_first = tr->plan.first,
                           .num_rounds = tr->plan.num_rounds, .data_file = tr->data_file_abs, .deck_text = tr->deck.deck_text,
                           .overrides = tr->deck.overrides, .effective = tr->effective};
}

/* What this rank holds of the run's state, for checkpoint.c. cursor: storage for the loader's. */
static CkptView trainer_view(Trainer *tr, LoaderCursor *cursor)
{
    CkptView v = {.id = &tr->id, .topo = &tr->topo, .n = tr->model.num_parameters, .params = tr->model.params_memory,
                  .state = &tr->ckpt};
    if (!tr->topo.is_server) {
        v.adam_m = tr->adam_m;
        v.adam_v = tr->adam_v;
        v.adam_t = &tr->adam_t;
        v.cursor = cursor;
    } else {
        /* The server's copy of the global weights is theta_global (its model is not updated). */
        v.params = tr->theta_global;
    }
    if (tr->fed) {
        v.outer = fed_outer(tr->fed);
        v.residual = fed_residual(tr->fed);
        v.residual_down = fed_residual_down(tr->fed);
    }
    if (tr->frag) {
        /* Streaming sync: /params is θ_global (every rank holds it), each silo's own model
         * travels beside it, and the fragments' federations show as one (fragments.h). */
        v.params = tr->theta_global;
        v.local_params = tr->topo.is_server ? NULL : tr->model.params_memory;
        v.outer = fragments_outer_view(tr->frag);
        v.residual = fragments_residual_view(tr->frag);
        v.residual_down = fragments_residual_down_view(tr->frag);
        v.frag_state = fragments_state(tr->frag);
    }
    return v;
}

/* Rank 0's counters and metrics offset are the run's. */
int train_checkpoint(Trainer *tr, long rounds, long steps, double last_val, char *path, size_t pathlen, char *err,
                     size_t errlen)
{
    /* A metrics.jsonl that lost records cannot be cut back to a consistent offset on resume. */
    int lost = trainer_is_root(tr) && metrics_status(&tr->metrics, err, errlen);
    if (photon_any_failed(lost, MPI_COMM_WORLD)) {
        if (!lost) snprintf(err, errlen, "rank 0 cannot write metrics.jsonl");
        return -1;
    }
    CkptState *s = &tr->ckpt;
    s->round = rounds;
    s->step = steps;
    s->tokens_seen = tr->tokens_seen;
    s->modeled_wall_s = tr->modeled_wall_s;
    s->inter_bytes_total = tr->inter_bytes_total;
    s->compute_s_total = tr->compute_s_total;
    s->clipped_steps = tr->clipped_steps;
    s->counted_steps = tr->counted_steps;
    s->last_val_loss = last_val;
    s->metrics_offset = 0;
    if (trainer_is_root(tr) && tr->metrics.jsonl) {
        struct stat sb;
        fflush(tr->metrics.jsonl);
        if (!fstat(fileno(tr->metrics.jsonl), &sb)) s->metrics_offset = (int64_t)sb.st_size;
    }
    mpiCheck(MPI_Bcast(s, (int)sizeof *s, MPI_BYTE, 0, MPI_COMM_WORLD));
    LoaderCursor cursor = {0, 0};
    if (tr->loader) cursor = loader_get_cursor(tr->loader);
    if (tr->frag) fragments_before_write(tr->frag); // the fragments' states as full-length buffers
    CkptView v = trainer_view(tr, &cursor);
    return ckpt_write(&v, tr->cfg.ckpt.dir, tr->cfg.ckpt.keep, path, pathlen, err, errlen);
}

/* Rank 0 chooses and verifies the file, then every rank reads its part. */
int train_resume(Trainer *tr, char *err, size_t errlen)
{
    const char *dir = tr->cfg.ckpt.dir;
    char path[CKPT_PATH_MAX] = "";
    int found = 0;
    if (trainer_is_root(tr)) found = ckpt_find(tr->resume, dir, path, sizeof path, err, errlen);
    mpiCheck(MPI_Bcast(&found, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (found < 0) return -1;
    if (found == 1) {
        if (trainer_is_root(tr)) printf("resume: no checkpoint in %s: starting a new run\n", dir);
        return 0;
    }
    mpiCheck(MPI_Bcast(path, (int)sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD));
    LoaderCursor cursor = {0, 0};
    CkptView v = trainer_view(tr, &cursor);
    if (ckpt_read(&v, path, err, errlen)) return -1;
    const size_t n = tr->model.num_parameters;
    if (tr->frag) fragments_after_read(tr->frag);
    else if (tr->topo.is_server) memcpy(tr->model.params_memory, tr->theta_global, n * sizeof(float));
    else if (tr->theta_global) memcpy(tr->theta_global, tr->model.params_memory, n * sizeof(float));
    if (tr->loader) loader_set_cursor(tr->loader, cursor);
    tr->tokens_seen = tr->ckpt.tokens_seen;
    tr->modeled_wall_s = tr->ckpt.modeled_wall_s;
    tr->inter_bytes_total = tr->ckpt.inter_bytes_total;
    tr->compute_s_total = tr->ckpt.compute_s_total;
    tr->clipped_steps = tr->ckpt.clipped_steps;
    tr->counted_steps = tr->ckpt.counted_steps;
    snprintf(tr->resumed_from, sizeof tr->resumed_from, "%s", path);
    /* From an older checkpoint than the newest: the newer ones belong to the history this run
     * replaces (a later --resume latest must not jump to them). */
    if (trainer_is_root(tr)) {
        int removed = ckpt_remove_newer(dir, tr->ckpt.round);
        if (removed) printf("resume: removed %d checkpoint file(s) newer than round %ld from %s (the history from there on is rewritten)\n",
                            removed, tr->ckpt.round, dir);
    }
    return 0;
}
