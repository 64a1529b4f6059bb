/* fragments.c: streaming sync (fragments.h). */
#include "fragments.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "trainer.h"

struct Fragments {
    int F, tau;
    long H;
    float alpha;
    size_t n, max_size;
    FragRange **ranges;
    int *nranges;
    size_t *size;
    Federation **fed;  // (F) on leaders and the server, else NULL entries
    float *x, *g;      // (max_size) packed local and global values
    int64_t *state;    // (F, 3): due step of the pending merge (-1: none), last sync step (-1:
                       // none yet), the fragment's outer steps (holders; checkpoints)
    struct Exchange *ex; // (F) each fragment's exchange in flight (at most one per fragment)
    OuterOpt view;     // the fragments' outer states as one full-length optimizer (holders)
    float *resid_view, *resid_down_view; // (n) likewise for the residuals, or NULL
};
enum { ST_DUE, ST_LAST, ST_OUTER_T, ST_LEN };

/* One fragment's exchange: started after its step on the leader's exchange thread (or at once),
 * completed by the main thread when its merge is due. */
typedef struct Exchange {
    Trainer *tr;
    Fragments *fr;
    int f, active, threaded;
    long round, step;
    double weight;
    float *x, *g;      // (size[f]) packed local and global values: the thread's own copies
    RoundStats st;
    pthread_t thread;
} Exchange;

/* ---- the plan ------------------------------------------------------------------------------ */

// r has room for every range a fragment can get (one per tensor and layer).
static void add_range(FragRange *r, int *nr, size_t off, size_t cnt)
{
    if (!cnt) return;
    if (*nr > 0 && r[*nr - 1].off + r[*nr - 1].cnt == off) { // adjacent: one range
        r[*nr - 1].cnt += cnt;
        return;
    }
    r[(*nr)++] = (FragRange){off, cnt};
}

void fragments_plan(const GPTConfig *c, int F, FragRange ***ranges, int **nranges, size_t **size)
{
    size_t sizes[GPT_NUM_TENSORS];
    gpt_tensor_sizes(c, sizes);
    *ranges = callocCheck((size_t)F, sizeof **ranges);
    *nranges = callocCheck((size_t)F, sizeof **nranges);
    *size = callocCheck((size_t)F, sizeof **size);
    const size_t L = (size_t)c->num_layers;
    for (int f = 0; f < F; f++) (*ranges)[f] = mallocCheck(GPT_NUM_TENSORS * (L + 1) * sizeof(FragRange));
    size_t off = 0;
    for (int i = 0; i < GPT_NUM_TENSORS; i++) {
        const size_t s = sizes[i];
        // wte, wpe (0, 1) and lnfw, lnfb (14, 15) are not per layer: F contiguous pieces.
        if (i <= 1 || i >= 14) {
            const size_t base = s / (size_t)F, rem = s % (size_t)F;
            size_t o = off;
            for (int f = 0; f < F; f++) {
                const size_t cnt = base + ((size_t)f < rem);
                add_range((*ranges)[f], &(*nranges)[f], o, cnt);
                o += cnt;
            }
        } else {
            const size_t per = s / L;
            for (size_t l = 0; l < L; l++)
                add_range((*ranges)[l % (size_t)F], &(*nranges)[l % (size_t)F], off + l * per, per);
        }
        off += s;
    }
    for (int f = 0; f < F; f++)
        for (int j = 0; j < (*nranges)[f]; j++) (*size)[f] += (*ranges)[f][j].cnt;
}

int fragment_syncs_after(long step, long H, int F, int tau, int f)
{
    // Fragment f lands (its merge) after the local steps ≡ f·H/F (mod H) of each round (fragment
    // 0 on the round boundary), so it starts τ steps earlier: every exchange of a round ends
    // inside it (fragments.h).
    const long land = (long)f * (H / F);
    return (step + 1 + tau) % H == land % H && step + 1 + tau >= (land ? land : H);
}

/* ---- packing ------------------------------------------------------------------------------- */

static void pack(const Fragments *fr, int f, const float *full, float *packed)
{
    size_t k = 0;
    for (int j = 0; j < fr->nranges[f]; j++) {
        memcpy(packed + k, full + fr->ranges[f][j].off, fr->ranges[f][j].cnt * sizeof(float));
        k += fr->ranges[f][j].cnt;
    }
}

static void unpack(const Fragments *fr, int f, const float *packed, float *full)
{
    size_t k = 0;
    for (int j = 0; j < fr->nranges[f]; j++) {
        memcpy(full + fr->ranges[f][j].off, packed + k, fr->ranges[f][j].cnt * sizeof(float));
        k += fr->ranges[f][j].cnt;
    }
}

/* ---- life ---------------------------------------------------------------------------------- */

Fragments *fragments_create(Trainer *tr)
{
    const RunConfig *c = &tr->cfg;
    Fragments *fr = callocCheck(1, sizeof *fr);
    fr->F = c->fed.fragments;
    fr->tau = c->fed.overlap_steps;
    fr->H = c->fed.local_steps;
    fr->alpha = c->fed.mix_alpha;
    fr->n = tr->model.num_parameters;
    fragments_plan(&tr->model.config, fr->F, &fr->ranges, &fr->nranges, &fr->size);
    for (int f = 0; f < fr->F; f++)
        if (fr->size[f] > fr->max_size) fr->max_size = fr->size[f];
    for (int f = 0; f < fr->F; f++)
        if (fr->size[f] == 0)
            PHOTON_FATAL("federation.fragments = %d: fragment %d of this model would be empty (use at most %d fragments)",
                         fr->F, f, f);
    fr->x = mallocCheck(fr->max_size * sizeof(float));
    fr->g = mallocCheck(fr->max_size * sizeof(float));
    fr->state = mallocCheck((size_t)fr->F * ST_LEN * sizeof(int64_t));
    for (int f = 0; f < fr->F; f++) {
        fr->state[f * ST_LEN + ST_DUE] = -1;
        fr->state[f * ST_LEN + ST_LAST] = -1;
        fr->state[f * ST_LEN + ST_OUTER_T] = 0;
    }
    fr->fed = callocCheck((size_t)fr->F, sizeof *fr->fed);
    fr->ex = callocCheck((size_t)fr->F, sizeof *fr->ex);
    for (int f = 0; f < fr->F; f++) {
        fr->ex[f].x = mallocCheck(fr->size[f] * sizeof(float));
        fr->ex[f].g = mallocCheck(fr->size[f] * sizeof(float));
    }
    if (tr->topo.is_leader || tr->topo.is_server) {
        for (int f = 0; f < fr->F; f++) {
            fr->fed[f] = fed_create(&tr->topo, &c->outer, fr->size[f], &c->fed.drop, &c->link);
            fed_set_fault(fr->fed[f], &c->fed.fault);
            fed_set_compress(fr->fed[f], &c->compress);
        }
        OuterOpt *o0 = fed_outer(fr->fed[0]);
        if (o0) {
            outer_init(&fr->view, &c->outer, fr->n);
            if (fed_residual_down(fr->fed[0])) fr->resid_down_view = callocCheck(fr->n, sizeof(float));
        }
        if (fed_residual(fr->fed[0])) fr->resid_view = callocCheck(fr->n, sizeof(float));
    }
    return fr;
}

void fragments_free(Fragments *fr)
{
    if (!fr) return;
    for (int f = 0; f < fr->F; f++) {
        if (fr->ex[f].active && fr->ex[f].threaded) pthread_join(fr->ex[f].thread, NULL);
        if (fr->fed[f]) fed_free(fr->fed[f]);
        free(fr->ranges[f]);
        free(fr->ex[f].x);
        free(fr->ex[f].g);
    }
    free(fr->ex);
    if (fr->view.ops) outer_free(&fr->view);
    free(fr->fed);
    free(fr->ranges);
    free(fr->nranges);
    free(fr->size);
    free(fr->x);
    free(fr->g);
    free(fr->state);
    free(fr->resid_view);
    free(fr->resid_down_view);
    free(fr);
}

/* ---- the steps ----------------------------------------------------------------------------- */

// θ_local ← a·θ_local + (1 − a)·θ_global on fragment f (workers).
static void merge(Trainer *tr, Fragments *fr, int f, float a)
{
    fr->state[f * ST_LEN + ST_DUE] = -1;
    if (tr->topo.is_server) return;
    float *p = tr->model.params_memory;
    const float *g = tr->theta_global, b = 1.0f - a;
    for (int j = 0; j < fr->nranges[f]; j++) {
        const size_t o = fr->ranges[f][j].off, cnt = fr->ranges[f][j].cnt;
        if (a == 0.0f) memcpy(p + o, g + o, cnt * sizeof(float)); // replaced, bitwise
        else
            for (size_t i = o; i < o + cnt; i++) p[i] = a * p[i] + b * g[i];
    }
}

/* The exchange proper: the fragment's federated round (fed_sync), on a leader's exchange thread
 * or inline. It touches only the fragment's Federation and the exchange's own buffers. */
static void *run_exchange(void *arg)
{
    Exchange *e = arg;
    // participating NULL: every silo (streaming sync has no client sampling).
    fed_sync(e->fr->fed[e->f], e->round, NULL, e->tr->topo.is_server ? NULL : e->x, e->weight, e->g, &e->st);
    return NULL;
}

/* Start fragment f's exchange after `step` (every rank): the leaders and the server take copies
 * of its values; a leader hands them to its exchange thread when the merge is τ > 0 steps away
 * and MPI allows threads, else the exchange runs now. */
static void start_exchange(Trainer *tr, Fragments *fr, int f, long round, long step, int defer)
{
    const RunConfig *c = &tr->cfg;
    Exchange *e = &fr->ex[f];
    *e = (Exchange){.tr = tr, .fr = fr, .f = f, .active = 1, .round = round, .step = step, .x = e->x, .g = e->g};
    const long since = step - fr->state[f * ST_LEN + ST_LAST];
    fr->state[f * ST_LEN + ST_LAST] = step;
    fr->state[f * ST_LEN + ST_DUE] = defer ? step + fr->tau : step;
    if (!(tr->topo.is_leader || tr->topo.is_server)) return;
    e->weight = tr->topo.is_server ? 0.0 : (double)since * c->run.batch_size * c->model.max_seq_len * tr->topo.silo_size;
    if (!tr->topo.is_server) pack(fr, f, tr->model.params_memory, e->x);
    pack(fr, f, tr->theta_global, e->g);
    // The server has no compute to hide the exchange behind: it waits in it.
    // Test hook: PHOTON_TEST_INLINE_EXCHANGE=1 runs every exchange inline (the same arithmetic,
    // no overlap), so that a test can compare the threaded path with it bitwise.
    const char *inline_hook = getenv("PHOTON_TEST_INLINE_EXCHANGE");
    e->threaded = defer && tr->topo.is_leader && photon_mpi_thread_multiple && !(inline_hook && inline_hook[0] == '1');
    if (e->threaded) {
        int rc = pthread_create(&e->thread, NULL, run_exchange, e);
        if (rc) PHOTON_FATAL("pthread_create of fragment %d's exchange failed: %s", f, strerror(rc));
    } else {
        run_exchange(e);
    }
}

/* Complete fragment f's exchange (every rank): wait for it, the new global values to every
 * rank of the silo and into θ_global, the record; the merge into the local model. */
static void finish_exchange(Trainer *tr, Fragments *fr, int f, FragExchange *log, int *nlog, RoundStats *st)
{
    Exchange *e = &fr->ex[f];
    const size_t nf = fr->size[f];
    int dropped = 0;
    if (e->threaded) {
        int rc = pthread_join(e->thread, NULL);
        if (rc) PHOTON_FATAL("pthread_join of fragment %d's exchange failed: %s", f, strerror(rc));
    }
    if (tr->topo.is_leader || tr->topo.is_server) {
        if (!tr->topo.is_server) dropped = e->st.dropped[tr->topo.silo] != DROP_NONE;
        OuterOpt *o = fed_outer(fr->fed[f]);
        if (o) fr->state[f * ST_LEN + ST_OUTER_T] = o->t;
        *st = e->st;
        if (*nlog < FRAG_LOG_MAX)
            log[(*nlog)++] = (FragExchange){f, e->step, (double)e->st.bytes_total, e->st.modeled_seconds, 0.0};
    }
    if (!tr->topo.is_server && tr->topo.silo_size > 1) {
        mpiCheck(MPI_Bcast(e->g, (int)nf, MPI_FLOAT, 0, tr->topo.silo_comm));
        mpiCheck(MPI_Bcast(&dropped, 1, MPI_INT, 0, tr->topo.silo_comm));
    }
    unpack(fr, f, e->g, tr->theta_global);
    e->active = e->threaded = 0;
    // A dropped silo is resynchronised at once (replaced, α ignored), its moments forgotten
    // (round_sync.c's rule).
    merge(tr, fr, f, dropped ? 0.0f : fr->alpha);
    if (dropped) trainer_reset_inner(tr);
}

int fragments_after_step(Trainer *tr, long round, long step, FragExchange *log, int *nlog, RoundStats *st)
{
    Fragments *fr = tr->frag;
    const int last = step == tr->cfg.run.steps - 1;
    int due = 0;
    for (int f = 0; f < fr->F; f++)
        due |= (fr->ex[f].active && fr->state[f * ST_LEN + ST_DUE] == step) ||
               fragment_syncs_after(step, fr->H, fr->F, fr->tau, f) || (last && fr->state[f * ST_LEN + ST_LAST] < step);
    if (!due) return 0;
    tr->backend.ops->download(&tr->backend);
    int done = 0;
    // First the exchanges whose merge lands now, then the ones that start now.
    for (int f = 0; f < fr->F; f++)
        if (fr->ex[f].active && fr->state[f * ST_LEN + ST_DUE] == step) {
            finish_exchange(tr, fr, f, log, nlog, st);
            done = 1;
        }
    for (int f = 0; f < fr->F; f++) {
        // At the last step every fragment with steps since its last exchange syncs, at once.
        const int flush = last && fr->state[f * ST_LEN + ST_LAST] < step;
        if (!fragment_syncs_after(step, fr->H, fr->F, fr->tau, f) && !flush) continue;
        const int defer = fr->tau > 0 && !last;
        start_exchange(tr, fr, f, round, step, defer);
        if (!defer) {
            finish_exchange(tr, fr, f, log, nlog, st);
            done = 1;
        }
    }
    tr->backend.ops->upload(&tr->backend);
    return done;
}

void fragments_swap_global(Trainer *tr)
{
    if (tr->topo.is_server) return;
    float *p = tr->model.params_memory, *g = tr->theta_global;
    for (size_t i = 0; i < tr->model.num_parameters; i++) {
        float t = p[i];
        p[i] = g[i];
        g[i] = t;
    }
}

/* ---- checkpoints --------------------------------------------------------------------------- */

static void gather_scatter(Fragments *fr, int gather)
{
    for (int f = 0; f < fr->F; f++) {
        Federation *fed = fr->fed[f];
        if (!fed) continue;
        OuterOpt *o = fed_outer(fed);
        float *bufs[OUTER_STATE_MAX + 2] = {0}, *views[OUTER_STATE_MAX + 2] = {0};
        int nb = 0;
        for (int i = 0; o && i < OUTER_STATE_MAX && o->state[i]; i++) {
            bufs[nb] = o->state[i];
            views[nb++] = fr->view.state[i];
        }
        if (fr->resid_view) { bufs[nb] = fed_residual(fed); views[nb++] = fr->resid_view; }
        if (fr->resid_down_view) { bufs[nb] = fed_residual_down(fed); views[nb++] = fr->resid_down_view; }
        for (int b = 0; b < nb; b++) {
            if (gather) unpack(fr, f, bufs[b], views[b]);
            else pack(fr, f, views[b], bufs[b]);
        }
        if (o && gather && f == 0) fr->view.t = o->t;
        if (o && !gather) o->t = (long)fr->state[f * ST_LEN + ST_OUTER_T];
    }
}

void fragments_before_write(Fragments *fr) { gather_scatter(fr, 1); }
void fragments_after_read(Fragments *fr) { gather_scatter(fr, 0); }
OuterOpt *fragments_outer_view(Fragments *fr) { return fr->view.ops ? &fr->view : NULL; }
float *fragments_residual_view(Fragments *fr) { return fr->resid_view; }
float *fragments_residual_down_view(Fragments *fr) { return fr->resid_down_view; }
int64_t *fragments_state(Fragments *fr) { return fr->state; }
int fragments_count(const Fragments *fr) { return fr->F; }
