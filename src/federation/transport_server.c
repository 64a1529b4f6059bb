/* transport_server.c: the server topology's transport (transport.h). One extra rank, the server,
 * talks to every leader over the intercommunicator topo->server_inter: it decides and aggregates,
 * and broadcasts what the leaders need. */
#include "transport_impl.h"

#include <string.h>

// Point-to-point tag of the uploads to the server (the only p2p traffic on server_inter).
#define FED_TAG 7302

static int server_gather_records(Transport *t, const double *mine, double *records, Traffic *tr)
{
    Phase ph = {0};
    if (t->topo->is_server) {
        PHASE_MPI(&ph, MPI_Gather(NULL, 0, MPI_DOUBLE, records, REC_LEN, MPI_DOUBLE, MPI_ROOT,
                                  t->topo->server_inter));
        tr->bytes_recv += (uint64_t)t->S * REC_BYTES;
    } else {
        PHASE_MPI(&ph, MPI_Gather(mine, REC_LEN, MPI_DOUBLE, NULL, 0, MPI_DOUBLE, 0,
                                  t->topo->server_inter));
        tr->bytes_sent += REC_BYTES;
    }
    phase_end(t, &ph, link_to_server(t->S, REC_BYTES), tr);
    return t->topo->is_server;
}

// Server -> every leader (MPI_Bcast over the intercommunicator); buf is the root's or the result.
static void server_broadcast(Transport *t, void *buf, size_t bytes, Traffic *tr)
{
    Phase ph = {0};
    if (t->topo->is_server) {
        PHASE_MPI(&ph, MPI_Bcast(buf, mpi_count(bytes), MPI_BYTE, MPI_ROOT, t->topo->server_inter));
        tr->bytes_sent += (uint64_t)t->S * bytes;
    } else {
        PHASE_MPI(&ph, MPI_Bcast(buf, mpi_count(bytes), MPI_BYTE, 0, t->topo->server_inter));
        tr->bytes_recv += bytes;
    }
    phase_end(t, &ph, link_from_server(t->S, bytes), tr);
}

/* Leaders: the s survivors upload their encoded x. The server receives them in canonical order,
 * decoding and accumulating into out as each arrives. */
static void server_weighted_mean(Transport *t, const MeanJob *job, Traffic *tr)
{
    const size_t n = job->n, bytes = n * sizeof(float);
    Phase ph = {0};
    if (t->topo->is_server) {
        unsigned char *recv = transport_scratch(&t->recv, &t->recv_cap, bytes);
        float *x = transport_scratch(&t->dec, &t->dec_cap, bytes);
        for (int j = 0; j < job->s; j++) {
            PHASE_MPI(&ph, MPI_Recv(recv, mpi_count(bytes), MPI_BYTE, job->surv[j], FED_TAG,
                                    t->topo->server_inter, MPI_STATUS_IGNORE));
            tr->bytes_recv += bytes;
            memcpy(x, recv, bytes); // (alignment)
            transport_accumulate(job->out, x, n, job->p[j], j == 0);
        }
    } else {
        int i_survive = 0;
        for (int j = 0; j < job->s; j++) i_survive |= job->surv[j] == t->topo->silo;
        if (i_survive) {
            PHASE_MPI(&ph, MPI_Send(job->x, mpi_count(bytes), MPI_BYTE, 0, FED_TAG, t->topo->server_inter));
            tr->bytes_sent += bytes;
        }
    }
    phase_end(t, &ph, link_to_server(job->s, bytes), tr);
}

/* The survivors' headers to the server (MPI_Gather), then each survivor sends its payload; the
 * server receives them in canonical order, decoding and accumulating as each arrives. */
static void server_payload_mean(Transport *t, const PayloadJob *job, Traffic *tr)
{
    const size_t hb = PAYLOAD_HDR * sizeof(double);
    int i_survive = 0;
    for (int j = 0; j < job->s; j++) i_survive |= !t->topo->is_server && job->surv[j] == t->topo->silo;
    Phase ph = {0};
    if (t->topo->is_server) {
        PHASE_MPI(&ph, MPI_Gather(NULL, 0, MPI_DOUBLE, job->hdrs, PAYLOAD_HDR, MPI_DOUBLE, MPI_ROOT,
                                  t->topo->server_inter));
        tr->bytes_recv += (uint64_t)t->S * hb;
    } else {
        double zero[PAYLOAD_HDR] = {0};
        PHASE_MPI(&ph, MPI_Gather(i_survive ? job->hdr : zero, PAYLOAD_HDR, MPI_DOUBLE, NULL, 0, MPI_DOUBLE, 0,
                                  t->topo->server_inter));
        tr->bytes_sent += hb;
    }
    phase_end(t, &ph, link_to_server(t->S, hb), tr);
    // The table back to every leader: each then knows every payload's size and fate.
    server_broadcast(t, job->hdrs, (size_t)t->S * hb, tr);

    ph = (Phase){0};
    uint64_t total = 0;
    for (int j = 0; j < job->s; j++) total += (uint64_t)job->hdrs[(size_t)job->surv[j] * PAYLOAD_HDR + HDR_BYTES];
    if (t->topo->is_server) {
        for (int j = 0; j < job->s; j++) {
            const int r = job->surv[j];
            const double *h = job->hdrs + (size_t)r * PAYLOAD_HDR;
            const size_t bytes = (size_t)h[HDR_BYTES];
            unsigned char *recv = transport_scratch(&t->recv, &t->recv_cap, bytes ? bytes : 1);
            PHASE_MPI(&ph, MPI_Recv(recv, mpi_count(bytes), MPI_BYTE, r, FED_TAG, t->topo->server_inter,
                                    MPI_STATUS_IGNORE));
            tr->bytes_recv += bytes;
            transport_decode_accumulate(t, job, r, h, recv, job->p[j], j == 0);
        }
    } else if (i_survive) {
        const size_t bytes = (size_t)job->hdr[HDR_BYTES];
        PHASE_MPI(&ph, MPI_Send(job->payload, mpi_count(bytes), MPI_BYTE, 0, FED_TAG, t->topo->server_inter));
        tr->bytes_sent += bytes;
    }
    // The server's downlink carries all the payloads.
    phase_end(t, &ph, (LinkPhase){total, total}, tr);
}

const TransportOps transport_server_ops = {
    .name = "server",
    .gather_records = server_gather_records,
    .broadcast = server_broadcast,
    .weighted_mean = server_weighted_mean,
    .payload_mean = server_payload_mean,
};
