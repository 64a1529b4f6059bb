/* transport.c: what every topology's transport shares (transport.h): creation, the canonical
 * accumulation, and the timed, counted phases. */
#include "transport_impl.h"

#include <limits.h>
#include <stdlib.h>

Transport *transport_create(const Topology *topo, const LinkConfig *link)
{
    Transport *t = callocCheck(1, sizeof *t);
    t->ops = topo->with_server ? &transport_server_ops : &transport_allreduce_ops;
    t->topo = topo;
    t->S = topo->num_silos;
    t->link = *link;
    // The four count arrays in one block.
    t->sc = mallocCheck(4 * (size_t)t->S * sizeof(int));
    t->sd = t->sc + t->S;
    t->rc = t->sd + t->S;
    t->rd = t->rc + t->S;
    t->phase_bytes = callocCheck(3 * ((size_t)t->S + 1), sizeof(uint64_t));
    t->phase.up = t->phase_bytes;
    t->phase.down = t->phase.up + t->S + 1;
    t->silo_bytes = t->phase.down + t->S + 1;
    t->phase.ranks = t->S + 1;
    return t;
}

void transport_free(Transport *t)
{
    if (!t) return;
    free(t->sc);
    free(t->phase_bytes);
    free(t->send);
    free(t->recv);
    free(t->dec);
    free(t);
}

const TransportOps *transport_ops(const Transport *t) { return t->ops; }

void transport_check_count(size_t n, size_t bytes)
{
    if (bytes > (size_t)INT_MAX || n > (size_t)INT_MAX / sizeof(float))
        PHOTON_FATAL("a vector of %zu values (%zu bytes) exceeds one MPI message (%d bytes)", n,
                     bytes > n * sizeof(float) ? bytes : n * sizeof(float), INT_MAX);
}

int mpi_count(size_t bytes)
{
    if (bytes > (size_t)INT_MAX) PHOTON_FATAL("%zu bytes exceed one MPI message (%d bytes)", bytes, INT_MAX);
    return (int)bytes;
}

void *transport_scratch(void **buf, size_t *cap, size_t bytes)
{
    if (bytes > *cap) {
        free(*buf);
        *buf = mallocCheck(bytes);
        *cap = bytes;
    }
    return *buf;
}

void transport_accumulate(float *acc, const float *x, size_t cnt, float p, int first)
{
    if (first) {
#pragma omp parallel for schedule(static) if (cnt > 65536)
        for (size_t i = 0; i < cnt; i++) acc[i] = p * x[i];
    } else {
#pragma omp parallel for schedule(static) if (cnt > 65536)
        for (size_t i = 0; i < cnt; i++) acc[i] += p * x[i];
    }
}

void transport_decode_accumulate(Transport *t, const PayloadJob *job, int silo, const double *hdr,
                                 const void *payload, float p, int first)
{
    CodecConfig cc = *job->codec;
    cc.kind = (CodecKind)hdr[HDR_CODEC];
    const Codec *c = codec_of(cc.kind);
    const size_t bytes = (size_t)hdr[HDR_BYTES];
    float *x = transport_scratch(&t->dec, &t->dec_cap, job->n * sizeof(float));
    if (!c || c->decode(&cc, payload, bytes, job->n, x) != 0)
        PHOTON_FATAL("silo %d's payload (%zu bytes, codec %s) does not decode as %zu values: a corrupt "
                     "transfer or mismatched [compress] settings", silo, bytes, c ? c->name : "?", job->n);
    transport_accumulate(job->out, x, job->n, p, first);
}

void phase_end(const Transport *t, Phase *ph, Traffic *tr)
{
    double modeled = link_phase_seconds(&t->link, &t->phase);
    int64_t slept = link_wait(&t->link, ph->mpi_ns, modeled);
    tr->comm_seconds += (double)(ph->mpi_ns + slept) * 1e-9;
    tr->modeled_seconds += modeled;
    tr->bytes_total += t->phase.total_bytes;
}

void transport_last_upload(const Transport *t, uint64_t *bytes, double *seconds)
{
    *bytes = t->upload_bytes;
    *seconds = (double)t->upload_ns * 1e-9;
}
