/* transport_allreduce.c: the allreduce topology's transport (transport.h). The leaders talk among
 * themselves over topo->leaders; every leader decides and aggregates, so nothing is broadcast. */
#include "transport_impl.h"

#include <string.h>

static int allreduce_gather_records(Transport *t, const double *mine, double *records, Traffic *tr)
{
    const int S = t->S;
    Phase ph = {0};
    PHASE_MPI(&ph, MPI_Allgather(mine, REC_LEN, MPI_DOUBLE, records, REC_LEN, MPI_DOUBLE,
                                 t->topo->leaders));
    tr->bytes_sent += (uint64_t)(S - 1) * REC_BYTES;
    tr->bytes_recv += (uint64_t)(S - 1) * REC_BYTES;
    link_allgather_records(&t->phase, S, REC_BYTES);
    phase_end(t, &ph, tr);
    return 1;
}

static void allreduce_broadcast(Transport *t, void *buf, size_t bytes, Traffic *tr)
{
    // Every leader decided and aggregated itself: it already holds what a broadcast would bring.
}

/* A hand-made reduce-scatter (MPI_Alltoallv: chunk j of every survivor's encoded x goes to
 * survivor j, who decodes the s pieces and sums them in canonical order) then an MPI_Allgatherv
 * of the summed chunks, as fp32, to every leader. */
static void allreduce_weighted_mean(Transport *t, const MeanJob *job, Traffic *tr)
{
    const size_t F = sizeof(float);
    const int S = t->S, s = job->s, me = t->topo->silo;
    const size_t n = job->n;
    int jm = -1;
    for (int j = 0; j < s; j++)
        if (job->surv[j] == me) jm = j;
    // Chunk j of n: base or base+1 values, the first n % s chunks one longer.
    const size_t base = n / (size_t)s, rem = n % (size_t)s;
#define CHUNK_CNT(j) (base + ((size_t)(j) < rem))
#define CHUNK_OFF(j) ((size_t)(j) * base + ((size_t)(j) < rem ? (size_t)(j) : rem))
    const size_t mine = jm >= 0 ? CHUNK_CNT(jm) : 0, mine_bytes = mine * F;
    uint64_t payload = 0;
    uint64_t *chunk = t->silo_bytes; // (s) chunk j's bytes, as sent and as gathered
    for (int j = 0; j < s; j++) {
        chunk[j] = CHUNK_CNT(j) * F;
        payload += chunk[j];
    }

    for (int r = 0; r < S; r++) t->sc[r] = t->sd[r] = t->rc[r] = t->rd[r] = 0;
    unsigned char *send = transport_scratch(&t->send, &t->send_cap, jm >= 0 ? (size_t)payload : 0);
    unsigned char *recv = transport_scratch(&t->recv, &t->recv_cap, (size_t)s * mine_bytes);
    if (jm >= 0) {
        size_t off = 0;
        for (int j = 0; j < s; j++) {
            const int r = job->surv[j];
            const size_t b = CHUNK_CNT(j) * F;
            if (b) memcpy(send + off, job->x + CHUNK_OFF(j), b); // b 0: send may be NULL
            t->sc[r] = mpi_count(b);
            t->sd[r] = mpi_count(off);
            t->rc[r] = mpi_count(mine_bytes);
            t->rd[r] = mpi_count((size_t)j * mine_bytes);
            off += b;
        }
    }
    Phase ph = {0};
    PHASE_MPI(&ph, MPI_Alltoallv(send, t->sc, t->sd, MPI_BYTE, recv, t->rc, t->rd, MPI_BYTE,
                                 t->topo->leaders));
    for (int r = 0; r < S; r++)
        if (r != me) {
            tr->bytes_sent += (uint64_t)t->sc[r];
            tr->bytes_recv += (uint64_t)t->rc[r];
        }
    link_reduce_scatter(&t->phase, S, job->surv, chunk, s);
    phase_end(t, &ph, tr);

    if (jm >= 0) {
        float *piece = transport_scratch(&t->dec, &t->dec_cap, mine * F);
        for (int j = 0; j < s; j++) {
            if (mine) memcpy(piece, recv + (size_t)j * mine_bytes, mine * F); // (alignment)
            transport_accumulate(job->out + CHUNK_OFF(jm), piece, mine, job->p[j], j == 0);
        }
    }

    // The summed chunks gather in place.
    for (int r = 0; r < S; r++) t->rc[r] = t->rd[r] = 0;
    for (int j = 0; j < s; j++) {
        t->rc[job->surv[j]] = mpi_count(CHUNK_CNT(j) * F);
        t->rd[job->surv[j]] = mpi_count(CHUNK_OFF(j) * F);
    }
    ph = (Phase){0};
    PHASE_MPI(&ph, MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, job->out, t->rc, t->rd,
                                  MPI_BYTE, t->topo->leaders));
    tr->bytes_sent += (uint64_t)(S - 1) * mine * F;
    for (int r = 0; r < S; r++)
        if (r != me) tr->bytes_recv += (uint64_t)t->rc[r];
    link_allgather_chunks(&t->phase, S, job->surv, chunk, s);
    phase_end(t, &ph, tr);
#undef CHUNK_CNT
#undef CHUNK_OFF
}

/* The headers (one MPI_Allgather), then the payloads (one MPI_Allgatherv of their varying sizes);
 * every leader decodes all s and sums them in canonical order. */
static void allreduce_payload_mean(Transport *t, const PayloadJob *job, Traffic *tr)
{
    const int S = t->S, me = t->topo->silo;
    int i_survive = 0;
    for (int j = 0; j < job->s; j++) i_survive |= job->surv[j] == me;
    const int H = job->hdr_len;
    double zero[PAYLOAD_HDR_AUTO] = {0};
    Phase ph = {0};
    PHASE_MPI(&ph, MPI_Allgather(i_survive ? job->hdr : zero, H, MPI_DOUBLE, job->hdrs, H, MPI_DOUBLE, t->topo->leaders));
    tr->bytes_sent += (uint64_t)(S - 1) * H * sizeof(double);
    tr->bytes_recv += (uint64_t)(S - 1) * H * sizeof(double);
    link_allgather_records(&t->phase, S, H * sizeof(double));
    phase_end(t, &ph, tr);

    uint64_t *bytes = t->silo_bytes;
    size_t total = 0;
    for (int r = 0; r < S; r++) {
        bytes[r] = (uint64_t)job->hdrs[(size_t)r * H + HDR_BYTES];
        t->rc[r] = mpi_count(bytes[r]);
        t->rd[r] = mpi_count(total);
        total += bytes[r];
    }
    unsigned char *recv = transport_scratch(&t->recv, &t->recv_cap, total);
    ph = (Phase){0};
    PHASE_MPI(&ph, MPI_Allgatherv(job->payload, t->rc[me], MPI_BYTE, recv, t->rc, t->rd, MPI_BYTE, t->topo->leaders));
    tr->bytes_sent += (uint64_t)(S - 1) * bytes[me];
    for (int r = 0; r < S; r++)
        if (r != me) tr->bytes_recv += bytes[r];
    if (bytes[me]) { // a silo that sent nothing keeps its last measurement
        t->upload_bytes = (uint64_t)(S - 1) * bytes[me];
        t->upload_ns = ph.mpi_ns;
    }
    link_allgather_payloads(&t->phase, S, bytes);
    phase_end(t, &ph, tr);

    for (int j = 0; j < job->s; j++) {
        const int r = job->surv[j];
        transport_decode_accumulate(t, job, r, job->hdrs + (size_t)r * H, recv + t->rd[r], job->p[j], j == 0);
    }
}

const TransportOps transport_allreduce_ops = {
    .name = "allreduce",
    .gather_records = allreduce_gather_records,
    .broadcast = allreduce_broadcast,
    .weighted_mean = allreduce_weighted_mean,
    .payload_mean = allreduce_payload_mean,
};
