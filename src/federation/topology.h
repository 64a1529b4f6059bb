/* topology.h: how the MPI ranks of a run form silos, and the communicators that join them.
 *
 * A silo is a group of consecutive world ranks that train one model replica together (data
 * parallel inside the silo, over fast links). Silos talk to each other only through their
 * leaders (silo rank 0), over weak inter-silo links:
 *   - topology allreduce: the S leaders form one intracommunicator `leaders` (rank == silo);
 *   - topology server: one extra rank, the LAST world rank, is the aggregator; the leaders reach
 *     it through the intercommunicator `server_inter` (leaders' group <-> {server}).
 * doc/federation.md draws both. */
#ifndef PHOTON_TOPOLOGY_H
#define PHOTON_TOPOLOGY_H

#include <stddef.h>
#include <mpi.h>

typedef struct {
    MPI_Comm world;
    int world_rank, world_size;
    int num_silos;          // S
    int silo;               // this rank's silo in [0,S), -1 on the server rank
    MPI_Comm silo_comm;     // the ranks of this silo (MPI_COMM_NULL on the server)
    int silo_rank, silo_size; // (-1, 0 on the server)
    int is_leader;          // silo_rank == 0
    int with_server;        // topology = server
    int is_server;          // this rank is the aggregator (the LAST world rank)
    MPI_Comm leaders;       // intracomm of the S leaders, rank == silo (MPI_COMM_NULL elsewhere)
    MPI_Comm server_inter;  // intercomm leaders <-> server (MPI_COMM_NULL elsewhere and without server)
} Topology;

/* Split `world` (collective over it) into `num_silos` silos of equal size: world_size (minus 1
 * with a server) must be a positive multiple of num_silos. On a bad combination every rank returns
 * -1 with a message in err naming the -np values that fit, before any communication, so no rank
 * is left waiting. */
int topology_create(Topology *t, MPI_Comm world, int num_silos, int with_server, char *err,
                    size_t errlen);
/* Free the communicators topology_create made (collective like their creation). */
void topology_free(Topology *t);

#endif
