/* watchdog.h: a job that no longer moves stops instead of spinning forever in MPI (a SIGSTOPped
 * or swapped-out peer, a hung node, a lost message). Each rank runs one watchdog thread; the
 * main thread only counts its progress (watchdog_progress: one relaxed atomic increment, no
 * system call, no collective). The thread rewrites RUN_DIR/heartbeat/rank-NNNNN every interval
 * (limit/5, within [0.5 s, 60 s]) with its rank, silo, host, pid, beat count and the main
 * thread's progress count. When its own rank has made no progress for `limit` seconds, and the
 * peers' heartbeats it then reads show no progress either for limit/2 more (so a rank that
 * waits for others, like the server during the silos' steps, does not fire while the others
 * work), it names the silent peers (those whose beat stopped: the whole process is stopped,
 * hung in the kernel or gone) or, if every watchdog still beats, the ranks furthest behind, on
 * stderr, and ends the process with _exit(WATCHDOG_EXIT). photon initializes MPI with
 * MPI_Init (MPI_THREAD_SINGLE), so the thread may not call MPI_Abort; mpirun sees a rank exit
 * without MPI_Finalize and kills the rest of the job. Reading the peers' files (O(world) small
 * reads per interval) happens only while this rank is stalled. */
#ifndef PHOTON_WATCHDOG_H
#define PHOTON_WATCHDOG_H

#include <stddef.h>

#define WATCHDOG_EXIT 4

typedef struct Watchdog Watchdog;

/* limit_s > 0. Not collective (each rank writes its own file; run_dir exists). NULL with a
 * message if the heartbeat file or the thread cannot be made. */
Watchdog *watchdog_start(const char *run_dir, double limit_s, int rank, int world, int silo, char *err, size_t errlen);
/* The main thread moved on (a step, a round boundary, an evaluation, a checkpoint). NULL: no-op. */
void watchdog_progress(Watchdog *w);
/* Stop and join the thread, remove this rank's heartbeat file. NULL: no-op. */
void watchdog_stop(Watchdog *w);

#endif
