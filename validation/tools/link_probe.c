/* link_probe: photon's inter-silo exchanges alone, timed on whatever links join the ranks, beside
 * the link model's time for them (link.h). The multi-host tests (validation/multihost) run it
 * across shaped network namespaces to measure the model against real links without the skew of
 * training (every repetition starts at a barrier).
 *
 *   link_probe TOPOLOGY N REPS BANDWIDTH_MBPS
 *     TOPOLOGY  allreduce: every rank a silo leader; the federated mean's two phases, a
 *               reduce-scatter (MPI_Alltoallv) then an all-gather (MPI_Allgatherv) of N floats,
 *               as transport_allreduce.c does them
 *               server: ranks 0..S−1 leaders and rank S the aggregator; N floats from each
 *               leader to the server (MPI_Send/MPI_Recv), then N floats to every leader
 *               (MPI_Bcast), as transport_server.c does them, on one communicator
 *
 * Prints one JSON line per repetition on rank 0: the phases' measured seconds (the slowest
 * rank's), the model's seconds at BANDWIDTH_MBPS and latency 0, and the payload bytes the model
 * counts; model*_half_s: the same with [link] duplex = half. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"

#define CHECK_MPI(call)                                                                         \
    do {                                                                                        \
        if ((call) != MPI_SUCCESS) {                                                            \
            fprintf(stderr, "link_probe: %s failed\n", #call);                                  \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                       \
        }                                                                                       \
    } while (0)

static double slowest(double t)
{
    double m;
    CHECK_MPI(MPI_Allreduce(&t, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
    return m;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 5 || (strcmp(argv[1], "allreduce") && strcmp(argv[1], "server"))) {
        if (rank == 0) fprintf(stderr, "usage: link_probe allreduce|server N REPS BANDWIDTH_MBPS\n");
        MPI_Finalize();
        return 2;
    }
    const int server = strcmp(argv[1], "server") == 0;
    const size_t n = strtoull(argv[2], NULL, 10);
    const int reps = atoi(argv[3]);
    const int S = server ? size - 1 : size;
    LinkConfig link = {.bandwidth_mbps = atof(argv[4]), .latency_ms = 0.0, .emulate = LINK_MODEL};
    if (S < 1 || n == 0 || n > (size_t)1 << 28 || reps < 1 || !(link.bandwidth_mbps > 0)) {
        if (rank == 0) fprintf(stderr, "link_probe: need a silo, 0 < N <= 2^28, REPS >= 1, a positive bandwidth\n");
        MPI_Finalize();
        return 2;
    }
    const size_t F = sizeof(float);
    float *x = malloc(n * F), *y = malloc(n * F);
    int *sc = calloc((size_t)size, sizeof(int)), *sd = calloc((size_t)size, sizeof(int));
    int *rc = calloc((size_t)size, sizeof(int)), *rd = calloc((size_t)size, sizeof(int));
    uint64_t *up = calloc((size_t)S + 1, sizeof(uint64_t)), *down = calloc((size_t)S + 1, sizeof(uint64_t));
    uint64_t *chunk = calloc((size_t)S, sizeof(uint64_t));
    int *surv = calloc((size_t)S, sizeof(int));
    if (!x || !y || !sc || !sd || !rc || !rd || !up || !down || !chunk || !surv) {
        fprintf(stderr, "link_probe: out of memory for %zu floats\n", n);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (size_t i = 0; i < n; i++) x[i] = (float)(i % 1000) * 1e-3f + (float)rank;
    const size_t base = n / (size_t)S, rem = n % (size_t)S;
    for (int j = 0; j < S; j++) {
        surv[j] = j;
        chunk[j] = (base + ((size_t)j < rem)) * F;
    }
    LinkPhase ph = {.up = up, .down = down};

    for (int rep = 0; rep < reps; rep++) {
        double t1, t2, m1, m2, h1, h2;
        LinkConfig half = link;
        half.duplex = LINK_HALF;
        uint64_t b1, b2;
        CHECK_MPI(MPI_Barrier(MPI_COMM_WORLD));
        if (!server) {
            // The reduce-scatter: chunk j of x to rank j; then the all-gather of the chunks.
            size_t off = 0;
            for (int j = 0; j < S; j++) {
                sc[j] = (int)chunk[j];
                sd[j] = (int)off;
                rc[j] = (int)chunk[rank];
                rd[j] = (int)((size_t)j * chunk[rank]);
                off += chunk[j];
            }
            double t0 = MPI_Wtime();
            CHECK_MPI(MPI_Alltoallv(x, sc, sd, MPI_BYTE, y, rc, rd, MPI_BYTE, MPI_COMM_WORLD));
            t1 = slowest(MPI_Wtime() - t0);
            for (int j = 0; j < S; j++) {
                rc[j] = (int)chunk[j];
                rd[j] = j ? rd[j - 1] + rc[j - 1] : 0;
            }
            CHECK_MPI(MPI_Barrier(MPI_COMM_WORLD));
            t0 = MPI_Wtime();
            CHECK_MPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, y, rc, rd, MPI_BYTE, MPI_COMM_WORLD));
            t2 = slowest(MPI_Wtime() - t0);
            link_reduce_scatter(&ph, S, surv, chunk, S);
            b1 = ph.total_bytes;
            m1 = link_phase_seconds(&link, &ph);
            h1 = link_phase_seconds(&half, &ph);
            link_allgather_chunks(&ph, S, surv, chunk, S);
            b2 = ph.total_bytes;
            m2 = link_phase_seconds(&link, &ph);
            h2 = link_phase_seconds(&half, &ph);
        } else {
            // Every leader to the server, which receives in silo order; then the server's broadcast.
            double t0 = MPI_Wtime();
            if (rank == S)
                for (int k = 0; k < S; k++)
                    CHECK_MPI(MPI_Recv(y, (int)n, MPI_FLOAT, k, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
            else
                CHECK_MPI(MPI_Send(x, (int)n, MPI_FLOAT, S, 7, MPI_COMM_WORLD));
            t1 = slowest(MPI_Wtime() - t0);
            CHECK_MPI(MPI_Barrier(MPI_COMM_WORLD));
            t0 = MPI_Wtime();
            CHECK_MPI(MPI_Bcast(x, (int)n, MPI_FLOAT, S, MPI_COMM_WORLD));
            t2 = slowest(MPI_Wtime() - t0);
            uint64_t *each = chunk; // n·F from every silo
            for (int k = 0; k < S; k++) each[k] = n * F;
            link_to_server(&ph, S, each);
            b1 = ph.total_bytes;
            m1 = link_phase_seconds(&link, &ph);
            h1 = link_phase_seconds(&half, &ph);
            link_from_server(&ph, S, n * F);
            b2 = ph.total_bytes;
            m2 = link_phase_seconds(&link, &ph);
            h2 = link_phase_seconds(&half, &ph);
        }
        if (rank == 0)
            printf("{\"topology\":\"%s\",\"silos\":%d,\"floats\":%zu,\"rep\":%d,\"bandwidth_mbps\":%g,"
                   "\"phase1_s\":%.6f,\"phase2_s\":%.6f,\"model1_s\":%.6f,\"model2_s\":%.6f,"
                   "\"model1_half_s\":%.6f,\"model2_half_s\":%.6f,"
                   "\"bytes1\":%llu,\"bytes2\":%llu}\n",
                   argv[1], S, n, rep, link.bandwidth_mbps, t1, t2, m1, m2, h1, h2, (unsigned long long)b1,
                   (unsigned long long)b2);
        fflush(stdout);
    }
    free(x), free(y), free(sc), free(sd), free(rc), free(rd), free(up), free(down), free(chunk), free(surv);
    MPI_Finalize();
    return 0;
}
