/* C reference for examples/collective_timing.rs: MPI_Bcast and MPI_Allreduce (MPI_SUM) of
 * double arrays, with the same protocol.
 *
 *   mpicc -O2 -o collectives benches/c/collectives.c
 *   mpirun -n 2 ./collectives [SAMPLES] [PASSES]
 *
 * For each size (8 B, 1 KiB, 64 KiB, 1 MiB of doubles): a warm-up, then SAMPLES timed
 * samples (default 7) of ITERATIONS calls; a sample's time is the slowest rank's average
 * per call. Rank 0 prints the median sample as CSV `c,broadcast,SIZE,MICROSECONDS` and
 * `c,allreduce,SIZE,MICROSECONDS`. Results are checked; a wrong value exits with 1.
 * PASSES (default 1) times each size that many times in a row, each pass barrier,
 * warm-up and samples with its own line: the structure of `collective_timing --raw`,
 * which times raw MPI calls and rspar's at each size (PASSES 2). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int samples = argc > 1 ? atoi(argv[1]) : 7;
    if (samples < 1) samples = 1;
    int passes = argc > 2 ? atoi(argv[2]) : 1;
    if (passes < 1) passes = 1;
    const long sizes[] = {8, 1024, 65536, 1048576};
    double *times = malloc(sizeof(double) * samples);
    int failed = 0;
    for (int op = 0; op < 2; op++) {
        for (int k = 0; k < 4 * passes; k++) {
            long bytes = sizes[k / passes], n = bytes / 8, iters = iterations(bytes);
            double *send = malloc(bytes), *recv = malloc(bytes);
            for (long i = 0; i < n; i++) send[i] = rank + i * 0.5;
            MPI_Barrier(MPI_COMM_WORLD);
            for (int s = -1; s < samples; s++) {
                long count = s < 0 ? iters / 10 + 1 : iters; /* sample -1 is the warm-up */
                double start = MPI_Wtime();
                for (long i = 0; i < count; i++) {
                    if (op == 0)
                        MPI_Bcast(send, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
                    else
                        MPI_Allreduce(send, recv, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
                }
                double mine = (MPI_Wtime() - start) / count * 1e6, slowest;
                MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
                if (s >= 0) times[s] = slowest;
            }
            for (long i = 0; i < n; i++) {
                if (op == 0 && send[i] != i * 0.5) failed = 1;
                if (op == 1 && recv[i] != size * (size - 1) / 2.0 + size * i * 0.5) failed = 1;
            }
            if (rank == 0) {
                qsort(times, samples, sizeof(double), cmp);
                printf("c,%s,%ld,%.4f\n", op == 0 ? "broadcast" : "allreduce", bytes,
                       times[samples / 2]);
                fflush(stdout);
            }
            free(send);
            free(recv);
        }
    }
    free(times);
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any && rank == 0) fprintf(stderr, "collectives: wrong results\n");
    MPI_Finalize();
    return any;
}
