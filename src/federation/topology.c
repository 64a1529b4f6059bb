/* topology.c: silos, leaders and the server out of MPI_COMM_WORLD (see topology.h). */
#include "topology.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

// Tag of the MPI_Intercomm_create handshake over `world` (no other traffic uses it then).
#define TOPOLOGY_INTERCOMM_TAG 7301

int topology_create(Topology *t, MPI_Comm world, int num_silos, int with_server, char *err,
                    size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->world = world;
    t->silo_comm = t->leaders = t->server_inter = MPI_COMM_NULL;
    t->with_server = with_server != 0;
    t->num_silos = num_silos;
    mpiCheck(MPI_Comm_rank(world, &t->world_rank));
    mpiCheck(MPI_Comm_size(world, &t->world_size));

    // Every rank sees the same (world_size, num_silos, with_server), so every rank takes the same
    // branch here and none is left in a collective below.
    if (num_silos < 1) {
        snprintf(err, errlen, "federation.silos must be at least 1, got %d", num_silos);
        return -1;
    }
    int clients = t->world_size - t->with_server;
    if (clients < num_silos || clients % num_silos != 0) {
        int w = t->with_server;
        snprintf(err, errlen,
                 "cannot split %d MPI ranks into %d silos of equal size%s: -np must be a multiple "
                 "of %d%s, e.g. -np %d, %d or %d",
                 t->world_size, num_silos, w ? " plus one server rank" : "", num_silos,
                 w ? " plus 1" : "", num_silos + w, 2 * num_silos + w, 3 * num_silos + w);
        return -1;
    }

    t->silo_size = clients / num_silos;
    t->is_server = t->with_server && t->world_rank == t->world_size - 1;
    if (t->is_server) {
        t->silo = -1;
        t->silo_rank = -1;
        t->silo_size = 0;
    } else {
        // Consecutive world ranks form a silo: ranks that share a node share a silo under the
        // usual block placement, so intra-silo traffic stays on the fast links.
        t->silo = t->world_rank / t->silo_size;
        t->silo_rank = t->world_rank % t->silo_size;
    }
    t->is_leader = !t->is_server && t->silo_rank == 0;

    mpiCheck(MPI_Comm_split(world, t->is_server ? MPI_UNDEFINED : t->silo, t->world_rank,
                            &t->silo_comm));
    // Keyed by silo index, so a leader's rank in `leaders` is its silo.
    mpiCheck(MPI_Comm_split(world, t->is_leader ? 0 : MPI_UNDEFINED, t->silo, &t->leaders));

    if (t->with_server) {
        // Local leaders: leader 0 (world rank 0) for the leaders' group, the server for its own.
        if (t->is_leader)
            mpiCheck(MPI_Intercomm_create(t->leaders, 0, world, t->world_size - 1,
                                          TOPOLOGY_INTERCOMM_TAG, &t->server_inter));
        else if (t->is_server)
            mpiCheck(MPI_Intercomm_create(MPI_COMM_SELF, 0, world, 0, TOPOLOGY_INTERCOMM_TAG,
                                          &t->server_inter));
    }
    return 0;
}

void topology_free(Topology *t)
{
    if (t->server_inter != MPI_COMM_NULL) mpiCheck(MPI_Comm_free(&t->server_inter));
    if (t->leaders != MPI_COMM_NULL) mpiCheck(MPI_Comm_free(&t->leaders));
    if (t->silo_comm != MPI_COMM_NULL) mpiCheck(MPI_Comm_free(&t->silo_comm));
}
