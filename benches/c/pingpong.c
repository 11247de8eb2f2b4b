/* C reference for examples/pingpong.rs: the same protocol with plain MPI_Send/MPI_Recv.
 *
 *   mpicc -O2 -o pingpong benches/c/pingpong.c
 *   mpirun -n 2 ./pingpong [MAX_BYTES] [SAMPLES] [ITERATIONS]
 *
 * Rank 0 sends SIZE bytes to rank 1, which sends them back; one-way time is half the
 * round trip. For each size (1 B, then powers of 4 up to MAX_BYTES, default 4 MiB): a
 * warm-up, then SAMPLES timed samples (default 7) of ITERATIONS round trips; the median
 * sample is printed as CSV `c,pingpong,SIZE,MICROSECONDS` on rank 0. ITERATIONS is the
 * table in iterations() in bench.h, shared with the Rust side, unless given: then the same
 * at every size, as the Rust side's --iterations. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include <string.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long max = argc > 1 ? atol(argv[1]) : 4L << 20;
    int samples = argc > 2 ? atoi(argv[2]) : 7;
    long fixed = argc > 3 ? atol(argv[3]) : 0;
    if (size < 2) {
        if (rank == 0) fprintf(stderr, "pingpong needs at least 2 ranks\n");
        MPI_Finalize();
        return 2;
    }
    unsigned char *buf = malloc(max > 0 ? max : 1);
    double *times = malloc(sizeof(double) * samples);
    int failed = 0;
    for (long bytes = 1; bytes <= max; bytes = bytes == 1 ? 4 : bytes * 4) {
        long iters = fixed > 0 ? fixed : iterations(bytes);
        for (long i = 0; i < bytes; i++) buf[i] = (unsigned char)(i * 7 + bytes);
        MPI_Barrier(MPI_COMM_WORLD);
        for (int s = -1; s < samples; s++) {
            long n = s < 0 ? iters / 10 + 1 : iters; /* sample -1 is the warm-up */
            double start = MPI_Wtime();
            for (long i = 0; i < n; i++) {
                if (rank == 0) {
                    MPI_Send(buf, (int)bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
                    MPI_Recv(buf, (int)bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                } else if (rank == 1) {
                    MPI_Recv(buf, (int)bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    MPI_Send(buf, (int)bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
                }
            }
            if (s >= 0) times[s] = (MPI_Wtime() - start) / (2.0 * n) * 1e6;
        }
        for (long i = 0; i < bytes; i++)
            if (buf[i] != (unsigned char)(i * 7 + bytes)) failed = 1;
        if (rank == 0) {
            qsort(times, samples, sizeof(double), cmp);
            printf("c,pingpong,%ld,%.4f\n", bytes, times[samples / 2]);
            fflush(stdout);
        }
    }
    free(times);
    free(buf);
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any && rank == 0) fprintf(stderr, "pingpong: data corrupted\n");
    MPI_Finalize();
    return any;
}
