/* test_data_loader.c: the training data loader.
 * usage (under mpi-launch.sh):
 *   test_data_loader equiv FILE SILO T B STEPS
 *       R ranks with batch B must see exactly what one rank with batch R*B sees: every rank
 *       also opens a loader on MPI_COMM_SELF with nranks 1 and batch R*B and compares its own
 *       slice, step by step, over several epochs. Rank 0 checks that each epoch of the
 *       reference visits every window of the silo exactly once (windows located in the
 *       silo's stream) and that epochs are shuffled differently; targets are inputs shifted.
 *   test_data_loader cursor FILE SILOS T B
 *       1 rank: after k steps save the cursor, record m steps, restore the cursor (in the same
 *       loader and in a fresh one) and get the same m steps again; tokens_per_epoch of a
 *       union of silos is their sum.
 *   test_data_loader open FILE SILOS T B [NRANKS]
 *       opens (collective over all ranks) and prints "ok" or the error; exit 0 / 2.
 * SILOS is a comma-separated list. */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datafile.h"
#include "loader.h"

#include "test_check.h"

static int world_rank = 0, world_size = 1;

static int parse_silos(const char *s, int *silos)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < 64; t = strtok_r(NULL, ",", &save))
        silos[n++] = atoi(t);
    free(copy);
    return n;
}

static Loader *open_or_die(const char *path, MPI_Comm comm, const int *silos, int n, int rank,
                           int nranks, int B, int T)
{
    char err[2048];
    Loader *L = loader_open(path, comm, silos, n, rank, nranks, B, T, 1234, err, sizeof err);
    if (!L) {
        fprintf(stderr, "FAIL (rank %d): loader_open: %s\n", world_rank, err);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return L;
}

static int equiv(const char *path, int silo, int T, int B, int steps)
{
    int R = world_size, r = world_rank;
    Loader *L = open_or_die(path, MPI_COMM_WORLD, &silo, 1, r, R, B, T);
    Loader *ref = open_or_die(path, MPI_COMM_SELF, &silo, 1, 0, 1, R * B, T);
    CHECK(loader_steps_per_epoch(L) == loader_steps_per_epoch(ref), "steps per epoch differ");
    int *in = malloc((size_t)B * T * sizeof(int)), *tg = malloc((size_t)B * T * sizeof(int));
    int *rin = malloc((size_t)R * B * T * sizeof(int)), *rtg = malloc((size_t)R * B * T * sizeof(int));

    // rank 0: the silo's whole stream, to locate windows
    uint32_t *stream = NULL;
    size_t n = 0;
    uint64_t W = loader_windows(ref);
    unsigned char *seen = NULL;
    uint64_t *first_epoch = NULL, *order = NULL;
    if (r == 0) {
        char err[1024], name[64];
        hid_t f = datafile_open(path, H5P_DEFAULT, err, sizeof err);
        snprintf(name, sizeof name, "/silos/%d/tokens", silo);
        if (f < 0 || datafile_read_token_dataset(f, name, &stream, &n, err, sizeof err) != 0) {
            fprintf(stderr, "FAIL: %s\n", err);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        H5Fclose(f);
        CHECK(W == (n - 1) / (size_t)T, "%llu windows for %zu tokens at T=%d",
              (unsigned long long)W, n, T);
        CHECK(loader_tokens_per_epoch(ref) == n, "tokens_per_epoch %llu, stream %zu",
              (unsigned long long)loader_tokens_per_epoch(ref), n);
        seen = calloc(W, 1);
        first_epoch = malloc(W * sizeof(uint64_t));
        order = malloc(W * sizeof(uint64_t));
    }
    uint64_t spe = loader_steps_per_epoch(ref), in_epoch = 0, epochs_checked = 0;
    for (int step = 0; step < steps; step++) {
        loader_next(L, in, tg);
        loader_next(ref, rin, rtg);
        CHECK(!memcmp(in, rin + (size_t)r * B * T, (size_t)B * T * sizeof(int)) &&
              !memcmp(tg, rtg + (size_t)r * B * T, (size_t)B * T * sizeof(int)),
              "step %d: %d ranks x batch %d differ from 1 rank x batch %d", step, R, B, R * B);
        for (int b = 0; b < B; b++)
            CHECK(!memcmp(in + (size_t)b * T + 1, tg + (size_t)b * T, (size_t)(T - 1) * sizeof(int)),
                  "step %d row %d: targets are not inputs shifted by one", step, b);
        if (r == 0) {
            // locate each reference window: the start j*T whose T+1 tokens match
            for (int b = 0; b < R * B; b++) {
                const int *x = rin + (size_t)b * T;
                int64_t found = -1;
                for (uint64_t j = 0; j < W && found < 0; j++) {
                    if (seen[j]) continue;
                    int same = 1;
                    for (int t = 0; t < T && same; t++) same = stream[j * T + t] == (uint32_t)x[t];
                    same = same && stream[j * T + T] == (uint32_t)rtg[(size_t)b * T + T - 1];
                    if (same) found = (int64_t)j;
                }
                CHECK(found >= 0, "step %d: window %d is not an unvisited window of the silo",
                      step, b);
                if (found >= 0) {
                    seen[found] = 1;
                    order[in_epoch * R * B + b] = (uint64_t)found;
                }
            }
            if (++in_epoch == spe) {   // an epoch is over: all windows but the remainder seen
                uint64_t visited = 0;
                for (uint64_t j = 0; j < W; j++) visited += seen[j];
                CHECK(visited == spe * R * B, "epoch %llu visited %llu windows, expected %llu",
                      (unsigned long long)epochs_checked, (unsigned long long)visited,
                      (unsigned long long)(spe * R * B));
                if (epochs_checked == 0) memcpy(first_epoch, order, spe * R * B * sizeof(uint64_t));
                else CHECK(memcmp(first_epoch, order, spe * R * B * sizeof(uint64_t)) != 0,
                           "epoch %llu has the same order as epoch 0",
                           (unsigned long long)epochs_checked);
                memset(seen, 0, W);
                in_epoch = 0;
                epochs_checked++;
            }
        }
    }
    LoaderCursor c = loader_get_cursor(L), rc = loader_get_cursor(ref);
    CHECK(c.epoch == rc.epoch && c.position == rc.position, "cursors differ");
    if (r == 0) {
        CHECK(epochs_checked >= 2, "only %llu epochs checked: raise STEPS",
              (unsigned long long)epochs_checked);
        printf("equiv: %d ranks x B=%d = 1 rank x B=%d over %d steps (%llu epochs of %llu "
               "steps, %llu windows of T+1=%d)\n", R, B, R * B, steps,
               (unsigned long long)epochs_checked, (unsigned long long)spe,
               (unsigned long long)W, T + 1);
    }
    loader_close(ref);
    loader_close(L);
    free(in); free(tg); free(rin); free(rtg); free(stream); free(seen); free(first_epoch);
    free(order);
    return test_failures;
}

static int cursor_test(const char *path, const int *silos, int ns, int T, int B)
{
    Loader *L = open_or_die(path, MPI_COMM_WORLD, silos, ns, 0, 1, B, T);
    size_t sz = (size_t)B * T;
    // evaluation reads validation tokens while the loader holds the file open
    uint32_t *val = NULL;
    size_t nval = 0;
    char verr[1024];
    CHECK(datafile_read_validation(path, -1, &val, &nval, verr, sizeof verr) == 0 && nval > 0,
          "datafile_read_validation while the loader is open: %s", verr);
    free(val);
    int m = (int)loader_steps_per_epoch(L) + 3;   // crosses an epoch boundary
    int *in = malloc(sz * sizeof(int)), *tg = malloc(sz * sizeof(int));
    int *rec = malloc((size_t)m * 2 * sz * sizeof(int));
    for (int k = 0; k < 5; k++) loader_next(L, in, tg);
    LoaderCursor saved = loader_get_cursor(L);
    for (int k = 0; k < m; k++) {
        loader_next(L, rec + (size_t)k * 2 * sz, rec + (size_t)k * 2 * sz + sz);
    }
    LoaderCursor after = loader_get_cursor(L);
    CHECK(after.epoch == saved.epoch + 1, "cursor did not cross an epoch (%llu -> %llu)",
          (unsigned long long)saved.epoch, (unsigned long long)after.epoch);
    loader_set_cursor(L, saved);
    for (int k = 0; k < m; k++) {
        loader_next(L, in, tg);
        CHECK(!memcmp(in, rec + (size_t)k * 2 * sz, sz * sizeof(int)) &&
              !memcmp(tg, rec + (size_t)k * 2 * sz + sz, sz * sizeof(int)),
              "after set_cursor, step %d differs (same loader)", k);
    }
    LoaderCursor again = loader_get_cursor(L);
    CHECK(again.epoch == after.epoch && again.position == after.position, "cursor after replay");
    // a fresh loader (a resumed run) set to the saved cursor
    Loader *F = open_or_die(path, MPI_COMM_WORLD, silos, ns, 0, 1, B, T);
    loader_set_cursor(F, saved);
    for (int k = 0; k < m; k++) {
        loader_next(F, in, tg);
        CHECK(!memcmp(in, rec + (size_t)k * 2 * sz, sz * sizeof(int)),
              "after set_cursor, step %d differs (fresh loader)", k);
    }
    // tokens per epoch of the union = the silos' sum
    uint64_t sum = 0;
    DataInfo info;
    char err[1024];
    if (datafile_read_info(path, &info, err, sizeof err) == 0) {
        for (int i = 0; i < ns; i++) sum += (uint64_t)info.silo_tokens[silos[i]];
        datafile_info_free(&info);
    }
    CHECK(loader_tokens_per_epoch(L) == sum, "tokens_per_epoch %llu, silos hold %llu",
          (unsigned long long)loader_tokens_per_epoch(L), (unsigned long long)sum);
    printf("cursor: %d silo(s), %llu tokens, resume exact over %d steps across an epoch\n", ns,
           (unsigned long long)sum, m);
    loader_close(F);
    loader_close(L);
    free(in); free(tg); free(rec);
    return test_failures;
}

static int open_test(const char *path, const int *silos, int ns, int T, int B, int nranks)
{
    char err[2048];
    Loader *L = loader_open(path, MPI_COMM_WORLD, silos, ns, world_rank % nranks, nranks, B, T, 1,
                            err, sizeof err);
    if (!L) {
        if (world_rank == 0) fprintf(stderr, "loader: %s\n", err);
        return 2;
    }
    if (world_rank == 0)
        printf("ok: %llu tokens, %llu windows\n", (unsigned long long)loader_tokens_per_epoch(L),
               (unsigned long long)loader_windows(L));
    loader_close(L);
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    int rc = 2, silos[64];
    if (argc == 7 && !strcmp(argv[1], "equiv")) {
        rc = equiv(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
    } else if (argc == 6 && !strcmp(argv[1], "cursor")) {
        int ns = parse_silos(argv[3], silos);
        rc = cursor_test(argv[2], silos, ns, atoi(argv[4]), atoi(argv[5]));
    } else if ((argc == 6 || argc == 7) && !strcmp(argv[1], "open")) {
        int ns = parse_silos(argv[3], silos);
        rc = open_test(argv[2], silos, ns, atoi(argv[4]), atoi(argv[5]),
                       argc == 7 ? atoi(argv[6]) : world_size);
    } else if (world_rank == 0) {
        fprintf(stderr, "usage: test_data_loader equiv|cursor|open ... (see the source)\n");
    }
    int worst = 0;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return worst == 0 ? 0 : (worst == 2 ? 2 : 1);
}
