/* bench_loader.c: tokens per second the loader delivers, against what training consumes.
 * usage: [mpirun -np R] bench_loader FILE [SILO (default 0)] [TRAIN_TOKENS_PER_S (default 2500)]
 *                       [SECONDS per configuration (default 2)]
 * For (B, T) = (4, 256), (8, 512), (16, 1024), (32, 1024): the ranks share SILO as one
 * data-parallel group; prints each rank-0 batch stream's tokens/s (inputs, B*T per step) and
 * the ratio to the training rate (photon trains at ~2-3k tokens/s per rank on a 2-core
 * machine, so a ratio far above 1 means data loading is never the bottleneck). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "loader.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 2) {
        if (rank == 0) fprintf(stderr, "usage: bench_loader FILE [SILO] [TRAIN_TOKENS_PER_S] [SECONDS]\n");
        MPI_Finalize();
        return 2;
    }
    const char *path = argv[1];
    int silo = argc > 2 ? atoi(argv[2]) : 0;
    double train_rate = argc > 3 ? atof(argv[3]) : 2500.0;
    double seconds = argc > 4 ? atof(argv[4]) : 2.0;
    static const int configs[][2] = { { 4, 256 }, { 8, 512 }, { 16, 1024 }, { 32, 1024 } };
    if (rank == 0)
        printf("bench_loader %s silo %d, %d rank(s); training consumes %.0f tokens/s per rank\n"
               "%4s %6s %10s %14s %10s %8s\n", path, silo, size, train_rate, "B", "T", "steps",
               "tokens/s/rank", "ms/step", "ratio");
    int status = 0;
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        int B = configs[c][0], T = configs[c][1];
        char err[2048];
        Loader *L = loader_open(path, MPI_COMM_WORLD, &silo, 1, rank, size, B, T, 1, err,
                                sizeof err);
        if (!L) {
            if (rank == 0) printf("%4d %6d  skipped: %s\n", B, T, err);
            continue;
        }
        int *in = malloc((size_t)B * T * sizeof(int)), *tg = malloc((size_t)B * T * sizeof(int));
        loader_next(L, in, tg);   // warm up: the first epoch's permutation, caches
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime(), el = 0;
        long steps = 0;
        int go = 1;
        while (go) {
            loader_next(L, in, tg);
            steps++;
            el = MPI_Wtime() - t0;
            // all ranks stop together (their loaders are independent, but keep it fair)
            int mine = el < seconds;
            MPI_Allreduce(&mine, &go, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        }
        double rate = (double)steps * B * T / el;
        if (rank == 0)
            printf("%4d %6d %10ld %14.0f %10.3f %8.0f\n", B, T, steps, rate, 1e3 * el / steps,
                   rate / train_rate);
        free(in);
        free(tg);
        loader_close(L);
    }
    MPI_Finalize();
    return status;
}
