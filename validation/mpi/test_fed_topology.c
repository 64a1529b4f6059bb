/* test_fed_topology.c: topology_create on every (P ranks, S silos, with/without server) that fits
 * in the launched job: for each P in 1..world_size the first P ranks form a sub-world and try
 * S = 0..P+1 with and without a server. Good splits are checked rank by rank (silo, leader,
 * communicator sizes, that the communicators really connect the right ranks); bad ones must fail
 * on every rank with a message naming -np values that fit. Run with 7 ranks (test_fed_topology.sh). */
#include <stdio.h>
#include <string.h>

#include "topology.h"
#include "test_fed_util.h"

static void check_split(MPI_Comm sub, int P, int S, int server)
{
    Topology t;
    char err[512] = "";
    int rc = topology_create(&t, sub, S, server, err, sizeof err);
    int clients = P - server;
    int fits = S >= 1 && clients >= S && clients % S == 0;
    CHECK(rc == (fits ? 0 : -1), "P=%d S=%d server=%d: rc %d (%s)", P, S, server, rc, err);
    if (!fits) {
        if (rc == 0) {
            topology_free(&t);
            return;
        }
        if (S < 1) {
            CHECK(strstr(err, "at least 1") != NULL, "P=%d S=%d: message '%s'", P, S, err);
            return;
        }
        char want[128];
        snprintf(want, sizeof want, "-np %d, %d or %d", S + server, 2 * S + server, 3 * S + server);
        CHECK(strstr(err, want) != NULL, "P=%d S=%d server=%d: message '%s' lacks '%s'", P, S, server,
              err, want);
        CHECK(strstr(err, server ? "plus 1" : "multiple of") != NULL, "message '%s'", err);
        return;
    }
    if (rc != 0) return;

    int rank = t.world_rank, per = clients / S;
    CHECK(t.world_size == P && t.num_silos == S && t.with_server == server, "P=%d S=%d: sizes", P, S);
    int want_server = server && rank == P - 1;
    CHECK(t.is_server == want_server, "P=%d S=%d rank %d: is_server %d", P, S, rank, t.is_server);
    if (want_server) {
        CHECK(t.silo == -1 && t.silo_comm == MPI_COMM_NULL && !t.is_leader && t.leaders == MPI_COMM_NULL,
              "server rank has no silo");
    } else {
        CHECK(t.silo == rank / per && t.silo_rank == rank % per && t.silo_size == per,
              "P=%d S=%d rank %d: silo %d rank %d size %d", P, S, rank, t.silo, t.silo_rank, t.silo_size);
        int n, r;
        MPI_Comm_size(t.silo_comm, &n);
        MPI_Comm_rank(t.silo_comm, &r);
        CHECK(n == per && r == t.silo_rank, "silo_comm size %d rank %d", n, r);
        // The silo communicator joins exactly the silo's ranks: the sum of their world ranks.
        int sum = 0, want = 0;
        MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, t.silo_comm);
        for (int i = 0; i < per; i++) want += t.silo * per + i;
        CHECK(sum == want, "silo %d joins world ranks summing to %d, want %d", t.silo, sum, want);
        CHECK(t.is_leader == (t.silo_rank == 0), "leader flag");
    }
    if (t.is_leader) {
        int n, r;
        MPI_Comm_size(t.leaders, &n);
        MPI_Comm_rank(t.leaders, &r);
        CHECK(n == S && r == t.silo, "leaders comm size %d rank %d (silo %d)", n, r, t.silo);
    } else {
        CHECK(t.leaders == MPI_COMM_NULL, "non-leaders have no leaders comm");
    }
    if (server && (t.is_leader || t.is_server)) {
        int local, remote, inter;
        MPI_Comm_test_inter(t.server_inter, &inter);
        MPI_Comm_size(t.server_inter, &local);
        MPI_Comm_remote_size(t.server_inter, &remote);
        CHECK(inter, "server_inter is an intercommunicator");
        CHECK(local == (t.is_server ? 1 : S) && remote == (t.is_server ? S : 1),
              "server_inter sizes local %d remote %d", local, remote);
        // The server reaches every leader: it broadcasts P, each leader answers its silo.
        int v = P;
        MPI_Bcast(&v, 1, MPI_INT, t.is_server ? MPI_ROOT : 0, t.server_inter);
        CHECK(v == P, "bcast over server_inter gave %d", v);
        int *silos = t.is_server ? calloc((size_t)S, sizeof(int)) : NULL;
        MPI_Gather(&t.silo, 1, MPI_INT, silos, 1, MPI_INT, t.is_server ? MPI_ROOT : 0, t.server_inter);
        for (int k = 0; t.is_server && k < S; k++) CHECK(silos[k] == k, "leader %d is silo %d", k, silos[k]);
        free(silos);
    } else {
        CHECK(t.server_inter == MPI_COMM_NULL, "no server_inter on rank %d", rank);
    }
    topology_free(&t);
    CHECK(t.silo_comm == MPI_COMM_NULL && t.leaders == MPI_COMM_NULL && t.server_inter == MPI_COMM_NULL,
          "topology_free leaves null handles");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size, tried = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int P = 1; P <= size; P++) {
        MPI_Comm sub;
        MPI_Comm_split(MPI_COMM_WORLD, rank < P ? 0 : MPI_UNDEFINED, rank, &sub);
        if (sub != MPI_COMM_NULL) {
            for (int server = 0; server <= 1; server++)
                for (int S = 0; S <= P + 1; S++) {
                    check_split(sub, P, S, server);
                    tried++;
                }
            MPI_Comm_free(&sub);
        }
    }
    int failures = 0;
    MPI_Allreduce(&test_failures, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("test_fed_topology: %d splits on up to %d ranks: %s\n", tried, size, failures ? "FAIL" : "PASS");
    MPI_Finalize();
    return failures ? 1 : 0;
}
