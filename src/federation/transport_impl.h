/* transport_impl.h: what the topology files (transport_*.c) share; nothing else includes it. */
#ifndef PHOTON_TRANSPORT_IMPL_H
#define PHOTON_TRANSPORT_IMPL_H

#include "round_policy.h"
#include "transport.h"

#include "check.h"

struct Transport {
    const TransportOps *ops;
    const Topology *topo;
    int S;
    LinkConfig link;
    int *sc, *sd, *rc, *rd; // (S) MPI_Alltoallv / MPI_Allgatherv byte counts and displacements
    void *send, *recv;      // encoded bytes out and in
    void *dec;              // floats: one decoded vector or chunk
    size_t send_cap, recv_cap, dec_cap; // their sizes in bytes
    LinkPhase phase;        // the phase being closed: up, down (S + 1) point into phase_bytes
    uint64_t *phase_bytes;  // (3(S + 1)) the phase's up and down, and a per-silo byte count
    uint64_t *silo_bytes;   // (S + 1) bytes per silo, for the builders that take them
    // The last payload phase: this leader's uplink bytes and its wall time in the MPI call (ns).
    uint64_t upload_bytes;
    int64_t upload_ns;
};

extern const TransportOps transport_allreduce_ops, transport_server_ops;

#define REC_BYTES (REC_LEN * sizeof(double))

/* Grow a scratch buffer to at least `bytes`. */
void *transport_scratch(void **buf, size_t *cap, size_t bytes);

/* acc = p·x (first) or acc += p·x: the one place the mean's float operations happen. */
void transport_accumulate(float *acc, const float *x, size_t cnt, float p, int first);

/* A timed, counted phase: wrap its MPI calls in PHASE_MPI, then close it with phase_end. */
typedef struct {
    int64_t mpi_ns; // this rank's time inside the phase's MPI calls
} Phase;

#define PHASE_MPI(ph, call)                                                                     \
    do {                                                                                        \
        int64_t phase_t0_ = link_now_ns();                                                      \
        mpiCheck(call);                                                                         \
        (ph)->mpi_ns += link_now_ns() - phase_t0_;                                              \
    } while (0)

/* Close a phase whose cost the link builder (link.h) wrote into t->phase: model its time, sleep
 * the difference under LINK_SLEEP, account everything. */
void phase_end(const Transport *t, Phase *ph, Traffic *tr);

/* Decode the payload of silo `silo` (its header hdr) and accumulate p·x into job->out. */
void transport_decode_accumulate(Transport *t, const PayloadJob *job, int silo, const double *hdr,
                                 const void *payload, float p, int first);

/* A byte count as an MPI int count (transport_check_count keeps vectors within it). */
int mpi_count(size_t bytes);

#endif
