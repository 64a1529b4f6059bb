/* fuzz_mpi.c: what every harness shares. photon's readers call MPI (ranks, collective opens),
 * so MPI is initialized once per process, as a singleton (a plain ./fuzz_x run needs no
 * mpirun; as root Open MPI wants OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1). */
#include <stdio.h>
#include <stdlib.h>

#include <hdf5.h>
#include <mpi.h>

#include "fuzz_h5.h"

/* Open MPI keeps memory it allocates in MPI_Init (and in the components it loads) until the
 * process exits: LeakSanitizer's report at exit would fail every run. A leak in photon's code
 * has photon's frames in its stack, not only these libraries', so it is still reported. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libmpi.so\nleak:libopen-pal.so\nleak:libopen-rte.so\nleak:libhwloc.so\nleak:libpmix.so\n"
           "leak:libevent\nleak:MPI_Init\nleak:mca_\n";
}

/* The same at exit, where nothing of photon's is left: libFuzzer checks each input for leaks
 * itself, the exit-time check would only report MPI's. The slow unwinder: the fast one loses
 * the frames of libraries built without frame pointers, and the suppressions need them. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "leak_check_at_exit=0:fast_unwind_on_malloc=0"; }

static void finalize(void)
{
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    atexit(finalize);
    /* HDF5's error stack on stderr would drown libFuzzer's output: the readers' own
     * messages are what the harnesses exercise. */
    H5open();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* Open MPI loads its MPI-IO components on the first parallel open and keeps what they
     * allocate: done here once, so libFuzzer does not count it as the first input's leak. */
    const char *scratch = fuzz_h5_scratch("init");
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
    hid_t f = H5Fcreate(scratch, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (f >= 0) H5Fclose(f);
    H5Pclose(fapl);
    remove(scratch);
    return 0;
}
