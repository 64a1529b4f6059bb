/* check.c: the fatal paths behind check.h. */
#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

void photon_abort(const char *file, int line, const char *fmt, ...)
{
    int rank = -1, initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr, "photon: fatal error");
    if (rank >= 0) fprintf(stderr, " on rank %d", rank);
    fprintf(stderr, " at %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

void *photon_malloc_check(size_t size, const char *file, int line)
{
    void *p = malloc(size ? size : 1);
    if (!p) photon_abort(file, line, "malloc of %zu bytes failed", size);
    return p;
}

void *photon_calloc_check(size_t n, size_t size, const char *file, int line)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) photon_abort(file, line, "calloc of %zu x %zu bytes failed", n, size);
    return p;
}

FILE *photon_fopen_check(const char *path, const char *mode, const char *file, int line)
{
    FILE *f = fopen(path, mode);
    if (!f) photon_abort(file, line, "cannot open %s (mode %s): %s", path, mode, strerror(errno));
    return f;
}

int photon_any_failed(int failed, MPI_Comm comm)
{
    // Callers pass return codes too (-1 on failure): a MAX over raw values would let 0 outrank -1.
    int mine = failed != 0, any = 0;
    mpiCheck(MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm));
    return any;
}

int photon_mpi_thread_multiple = 0;
