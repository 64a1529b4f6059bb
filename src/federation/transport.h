/* transport.h: how a round's data moves between the silo leaders (and the server): one interface,
 * one implementation per topology (transport_allreduce.c, transport_server.c).
 *
 * fedavg.c is the only caller. Every operation is collective over the inter-silo communicators:
 * every leader and the server call the same operations in the same order; other ranks never call
 * them. Each operation times its MPI calls, counts the bytes this rank sent and received, adds
 * the link model's time (link.h) and, under LINK_SLEEP, sleeps the difference: all into the
 * caller's Traffic.
 *
 * Determinism: the weighted mean is summed in ascending silo order (the survivors' order) with
 * the same float operations by whichever rank owns an element,
 *     acc = p_first·x_first;  acc += p_k·x_k  (k ascending)
 * (transport_accumulate), so both topologies give bitwise the same mean. weighted_mean moves
 * float vectors (the lossless path: θ_k's own floats, codec.h); results (means, the new θ) travel
 * as fp32.
 *
 * Adding a topology: one file filling a TransportOps, one line in transport_create. */
#ifndef PHOTON_TRANSPORT_H
#define PHOTON_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "link.h"
#include "topology.h"

/* What this rank's inter-silo traffic cost; operations ADD to it. */
typedef struct {
    uint64_t bytes_sent, bytes_recv; // by this rank
    uint64_t bytes_total;            // by all ranks (the formulas of link.h)
    double comm_seconds;             // this rank's wall time in MPI calls (+ LINK_SLEEP delays)
    double modeled_seconds;          // the link model's time (0 with LINK_OFF)
} Traffic;

/* A weighted mean over the s survivors. */
typedef struct {
    int s;
    const int *surv;   // (s) survivors, ascending silo order
    const float *p;    // (s) their weights
    const float *x;    // (n) this leader's vector; read only when it is a survivor
    float *out;        // (n) the mean, on the ranks that aggregate (see weighted_mean); may equal x
    size_t n;
} MeanJob;

/* The lossy path: a weighted mean of encoded payloads (codec.h) of varying size. Each survivor's
 * header (PAYLOAD_HDR doubles: its payload's bytes, its CodecKind, its compression error and
 * residual norm, fedavg.h) travels first, then the payloads themselves. */
enum { HDR_BYTES, HDR_CODEC, HDR_ERROR, HDR_RESIDUAL, PAYLOAD_HDR };
/* codec = auto's longer header: also the compute time and the bandwidth its choice used. */
enum { HDR_COMPUTE_S = PAYLOAD_HDR, HDR_BANDWIDTH, PAYLOAD_HDR_AUTO };

typedef struct {
    int s;
    const int *surv;          // (s) survivors, ascending silo order
    const float *p;           // (s) their weights
    int hdr_len;              // doubles per header: PAYLOAD_HDR, or PAYLOAD_HDR_AUTO
    const double *hdr;        // (hdr_len) this leader's header; read only when a survivor
    const void *payload;      // its hdr[HDR_BYTES] encoded bytes
    const CodecConfig *codec; // the decode settings (each payload's kind comes from its header)
    double *hdrs;             // (S × hdr_len) out, on every leader and the server: every
                              // survivor's header (zeros for the others)
    float *out;               // (n) Σ_j p_j·decode(payload_j), on the aggregating ranks
    size_t n;
} PayloadJob;

typedef struct Transport Transport;

typedef struct {
    const char *name;
    /* Every leader's record (REC_LEN doubles, round_policy.h; the server passes NULL) to the ranks
     * that decide: returns 1 there, with all S records in `records` (S × REC_LEN), 0 elsewhere.
     * allreduce: every leader decides; server: the server does. */
    int (*gather_records)(Transport *t, const double *mine, double *records, Traffic *tr);
    /* `bytes` of buf from the ranks that decide or aggregate to every leader. allreduce: every
     * leader already holds them, nothing moves; server: MPI_Bcast over the intercommunicator. */
    void (*broadcast)(Transport *t, void *buf, size_t bytes, Traffic *tr);
    /* job->out = Σ_j p_j·x_{surv_j} on the aggregating ranks: every leader (allreduce:
     * reduce-scatter by MPI_Alltoallv, each chunk summed by its owner, then MPI_Allgatherv), or the
     * server (the survivors upload, the server sums as they arrive; follow with broadcast). */
    void (*weighted_mean)(Transport *t, const MeanJob *job, Traffic *tr);
    /* job->out = Σ_j p_j·decode(payload_{surv_j}), decoded and summed in ascending silo order, on
     * the aggregating ranks. allreduce: the headers, then the payloads, all-gathered by every
     * leader (MPI_Allgather, MPI_Allgatherv); server: the headers gathered and broadcast back, then
     * the survivors send their payloads, the server decodes and sums as they arrive. A payload that does not decode stops the run naming the silo. */
    void (*payload_mean)(Transport *t, const PayloadJob *job, Traffic *tr);
} TransportOps;

/* Local. The topology's transport; topo must outlive it. Only leaders and the server create one. */
Transport *transport_create(const Topology *topo, const LinkConfig *link);
void transport_free(Transport *t);
const TransportOps *transport_ops(const Transport *t);
/* This leader's last payload_mean upload: the bytes its uplink carried ((S−1)·b in the allreduce
 * all-gather, b sent to the server) and its wall time in that MPI call (s); 0, 0 before any. */
void transport_last_upload(const Transport *t, uint64_t *bytes, double *seconds);
/* Stops the run when one message of `bytes` (a vector of n floats, or its largest encoding) cannot
 * travel in one MPI message (int byte counts). */
void transport_check_count(size_t n, size_t bytes);

#endif
