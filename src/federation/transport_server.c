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
    for (int k = 0; k < t->S; k++) t->silo_bytes[k] = REC_BYTES;
    link_to_server(&t->phase, t->S, t->silo_bytes);
    phase_end(t, &ph, tr);
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
    link_from_server(&t->phase, t->S, bytes);
    phase_end(t, &ph, tr);
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
    for (int k = 0; k < t->S; k++) t->silo_bytes[k] = 0;
    for (int j = 0; j < job->s; j++) t->silo_bytes[job->surv[j]] = bytes;
    link_to_server(&t->phase, t->S, t->silo_bytes);
    phase_end(t, &ph, tr);
}

/* The survivors' headers to the server (MPI_Gather), then each survivor sends its payload; the
 * server receives them in canonical order, decoding and accumulating as each arrives. */
static void server_payload_mean(Transport *t, const PayloadJob *job, Traffic *tr)
{
    const int H = job->hdr_len;
    const size_t hb = (size_t)H * sizeof(double);
    int i_survive = 0;
    for (int j = 0; j < job->s; j++) i_survive |= !t->topo->is_server && job->surv[j] == t->topo->silo;
    Phase ph = {0};
    if (t->topo->is_server) {
        PHASE_MPI(&ph, MPI_Gather(NULL, 0, MPI_DOUBLE, job->hdrs, H, MPI_DOUBLE, MPI_ROOT,
                                  t->topo->server_inter));
        tr->bytes_recv += (uint64_t)t->S * hb;
    } else {
        double zero[PAYLOAD_HDR_AUTO] = {0};
        PHASE_MPI(&ph, MPI_Gather(i_survive ? job->hdr : zero, H, MPI_DOUBLE, NULL, 0, MPI_DOUBLE, 0,
                                  t->topo->server_inter));
        tr->bytes_sent += hb;
    }
    for (int k = 0; k < t->S; k++) t->silo_bytes[k] = hb;
    link_to_server(&t->phase, t->S, t->silo_bytes);
    phase_end(t, &ph, tr);
    // The table back to every leader: each then knows every payload's size and fate.
    server_broadcast(t, job->hdrs, (size_t)t->S * hb, tr);

    ph = (Phase){0};
    for (int k = 0; k < t->S; k++) t->silo_bytes[k] = 0;
    for (int j = 0; j < job->s; j++)
        t->silo_bytes[job->surv[j]] = (uint64_t)job->hdrs[(size_t)job->surv[j] * H + HDR_BYTES];
    if (t->topo->is_server) {
        for (int j = 0; j < job->s; j++) {
            const int r = job->surv[j];
            const double *h = job->hdrs + (size_t)r * H;
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
        t->upload_bytes = bytes;
        t->upload_ns = ph.mpi_ns;
    }
    // Each survivor's uplink carries its payload, the server's downlink all of them.
    link_to_server(&t->phase, t->S, t->silo_bytes);
    phase_end(t, &ph, tr);
}

const TransportOps transport_server_ops = {
    .name = "server",
    .gather_records = server_gather_records,
    .broadcast = server_broadcast,
    .weighted_mean = server_weighted_mean,
    .payload_mean = server_payload_mean,
};
