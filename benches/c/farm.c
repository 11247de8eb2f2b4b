/* C reference for examples/farm_rate.rs: the same tiny tasks (x * 3 for x = 0 .. N-1)
 * through a master-worker farm in plain MPI, with rspar's pool's batching.
 *
 *   mpicc -O2 -o farm benches/c/farm.c
 *   mpirun -n 2 ./farm [TASKS] [ROUNDS]
 *
 * As rspar's pool: the master (rank 0) computes too, and hands out batches by guided
 * self-scheduling, each about an eighth of an equal share of what is still queued
 * (remaining / (8 * ranks), at least 1): every worker gets one at the start, and a new
 * one as it sends its results back; between hand-outs the master runs a batch itself
 * (rspar's root runs its short batches between hand-outs too; it moves a batch of 1 ms
 * or more to a compute thread, which this single-threaded master does not). A batch
 * travels as its first index and its inputs (u64), its results come back the same way
 * (rspar's messages also carry each task's id and its encoding's header). The task is
 * called through a function pointer, as a pool calls the user's function, so the
 * compiler cannot turn a batch into one vector loop.
 *
 * On one rank the master runs every task itself (no messages). Prints the median over
 * ROUNDS (default 3) of `map` rates and the share of tasks the workers ran, as CSV:
 * `farm_tasks_per_s,RATE` and `remote_share,SHARE`. Results are checked; a wrong one
 * exits with 1. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

enum { WORK = 1, RESULT = 2, STOP = 3 };

static uint64_t task(uint64_t x) { return x * 3; }
static uint64_t (*volatile task_ptr)(uint64_t) = task;

/* The size of the next batch: rspar's take_batch. */
static long batch_size(long remaining, int ranks) {
    long size = remaining / (8L * ranks);
    if (size < 1) size = 1;
    return size < remaining ? size : remaining;
}

static void worker(long tasks) {
    uint64_t *buf = malloc(sizeof(uint64_t) * (tasks + 1));
    uint64_t (*f)(uint64_t) = task_ptr;
    for (;;) {
        MPI_Status st;
        MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        if (st.MPI_TAG == STOP) {
            MPI_Recv(NULL, 0, MPI_BYTE, 0, STOP, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            break;
        }
        int count;
        MPI_Get_count(&st, MPI_UINT64_T, &count);
        MPI_Recv(buf, count, MPI_UINT64_T, 0, WORK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (int i = 1; i < count; i++) buf[i] = f(buf[i]);
        MPI_Send(buf, count, MPI_UINT64_T, 0, RESULT, MPI_COMM_WORLD);
    }
    free(buf);
}

/* One map over 0 .. tasks-1 on `ranks` ranks; returns the tasks the workers ran. */
static long map(long tasks, int ranks, const uint64_t *in, uint64_t *out, uint64_t *buf) {
    uint64_t (*f)(uint64_t) = task_ptr;
    long next = 0, done = 0, remote = 0;
    /* Hand a batch to `w`; 0 when the queue is empty. */
#define HAND_OUT(w)                                                                  \
    do {                                                                             \
        long n = batch_size(tasks - next, ranks);                                    \
        buf[0] = (uint64_t)next;                                                     \
        for (long i = 0; i < n; i++) buf[i + 1] = in[next + i];                      \
        MPI_Send(buf, (int)n + 1, MPI_UINT64_T, (w), WORK, MPI_COMM_WORLD);          \
        next += n;                                                                   \
    } while (0)
    for (int w = 1; w < ranks && next < tasks; w++) HAND_OUT(w);
    while (done < tasks) {
        int flag = 0;
        MPI_Status st;
        if (next < tasks)
            MPI_Iprobe(MPI_ANY_SOURCE, RESULT, MPI_COMM_WORLD, &flag, &st);
        else {
            MPI_Probe(MPI_ANY_SOURCE, RESULT, MPI_COMM_WORLD, &st);
            flag = 1;
        }
        if (flag) {
            int count;
            MPI_Get_count(&st, MPI_UINT64_T, &count);
            MPI_Recv(buf, count, MPI_UINT64_T, st.MPI_SOURCE, RESULT, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            long start = (long)buf[0];
            for (int i = 1; i < count; i++) out[start + i - 1] = buf[i];
            done += count - 1;
            remote += count - 1;
            if (next < tasks) HAND_OUT(st.MPI_SOURCE);
            continue;
        }
        /* The master's own batch, between hand-outs. */
        long n = batch_size(tasks - next, ranks);
        for (long i = 0; i < n; i++) out[next + i] = f(in[next + i]);
        next += n;
        done += n;
    }
#undef HAND_OUT
    return remote;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    long tasks = argc > 1 ? atol(argv[1]) : 1000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (tasks < 1 || rounds < 1) {
        if (rank == 0) fprintf(stderr, "farm: TASKS and ROUNDS must be positive\n");
        MPI_Finalize();
        return 2;
    }
    int failed = 0;
    if (rank != 0) {
        for (int r = 0; r < rounds; r++) worker(tasks);
    } else {
        uint64_t *in = malloc(sizeof(uint64_t) * tasks), *out = malloc(sizeof(uint64_t) * tasks);
        uint64_t *buf = malloc(sizeof(uint64_t) * (tasks + 1));
        double *rates = malloc(sizeof(double) * rounds), *shares = malloc(sizeof(double) * rounds);
        for (long i = 0; i < tasks; i++) in[i] = (uint64_t)i;
        for (int r = 0; r < rounds; r++) {
            double start = MPI_Wtime();
            long remote = map(tasks, ranks, in, out, buf);
            rates[r] = tasks / (MPI_Wtime() - start);
            shares[r] = (double)remote / tasks;
            for (int w = 1; w < ranks; w++) MPI_Send(NULL, 0, MPI_BYTE, w, STOP, MPI_COMM_WORLD);
            for (long i = 0; i < tasks; i++)
                if (out[i] != in[i] * 3) failed = 1;
        }
        qsort(rates, rounds, sizeof(double), cmp);
        qsort(shares, rounds, sizeof(double), cmp);
        printf("farm_tasks_per_s,%.0f\nremote_share,%.4f\n", rates[rounds / 2], shares[rounds / 2]);
        if (failed) fprintf(stderr, "farm: wrong results\n");
        free(in), free(out), free(buf), free(rates), free(shares);
    }
    MPI_Finalize();
    return failed;
}
