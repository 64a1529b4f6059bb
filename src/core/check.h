/* check.h: fail-fast wrappers that name the failing call, file and line (llm.c's fopenCheck,
 * PETSc's PetscCall). Used where an error cannot be handled better than by stopping the run;
 * code that can recover (bad user input) reports and returns instead. */
#ifndef PHOTON_CHECK_H
#define PHOTON_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <mpi.h>

/* Stop every rank: one rank's fatal error must not leave the others hanging in a collective. */
_Noreturn void photon_abort(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define PHOTON_FATAL(...) photon_abort(__FILE__, __LINE__, __VA_ARGS__)

void *photon_malloc_check(size_t size, const char *file, int line);
void *photon_calloc_check(size_t n, size_t size, const char *file, int line);
FILE *photon_fopen_check(const char *path, const char *mode, const char *file, int line);

#define mallocCheck(size) photon_malloc_check((size), __FILE__, __LINE__)
#define callocCheck(n, size) photon_calloc_check((n), (size), __FILE__, __LINE__)
#define fopenCheck(path, mode) photon_fopen_check((path), (mode), __FILE__, __LINE__)

/* Collective over comm: whether any rank passed failed != 0, so that every rank takes the same
 * branch before the next collective (one rank's error must not leave the others waiting). */
int photon_any_failed(int failed, MPI_Comm comm);
/* Whether MPI was initialised with MPI_THREAD_MULTIPLE (photon.c; 0 in programs that call MPI_Init). */
extern int photon_mpi_thread_multiple;

/* MPI calls return MPI_SUCCESS or an error code (with MPI_ERRORS_RETURN installed). */
#define mpiCheck(call)                                                                  \
    do {                                                                                \
        int mpi_check_rc_ = (call);                                                     \
        if (mpi_check_rc_ != MPI_SUCCESS) {                                             \
            char mpi_check_msg_[MPI_MAX_ERROR_STRING];                                  \
            int mpi_check_len_ = 0;                                                     \
            MPI_Error_string(mpi_check_rc_, mpi_check_msg_, &mpi_check_len_);           \
            photon_abort(__FILE__, __LINE__, "%s failed: %s", #call, mpi_check_msg_);   \
        }                                                                               \
    } while (0)

/* HDF5 calls return a negative value on failure; h5Check is for calls that cannot fail on
 * valid input. Reading user files uses the error-returning helpers in h5util.h instead. */
#define h5Check(call)                                                                   \
    do {                                                                                \
        if ((call) < 0) photon_abort(__FILE__, __LINE__, "%s failed", #call);           \
    } while (0)

#endif
