/* C reference for examples/pingpong.rs: the same protocol with plain MPI_Send/MPI_Recv.
 *
 *   mpicc -O2 -o pingpong benches/c/pingpong.c
 *   mpirun -n 2 ./pingpong [MAX_BYTES] [SAMPLES] [ITERATIONS] [PASSES]
 *
 * Rank 0 sends SIZE bytes to rank 1, which sends them back; one-way time is half the
 * round trip. For each size (1 B, then powers of 4 up to MAX_BYTES, default 4 MiB): a
 * warm-up, then SAMPLES timed samples (default 7) of ITERATIONS round trips; the median
 * sample is printed as CSV `c,pingpong,SIZE,MICROSECONDS` on rank 0. ITERATIONS is the
 * table in iterations() in bench.h, shared with the Rust side, unless given: then the same
 * at every size, as the Rust side's --iterations (0: the table).
 *
 * PASSES (default "1") gives the launch the call structure of the rspar launch it is
 * compared with: one pass per rspar mode, in the same order, each a comma-separated
 * element size: 1 for a mode of bytes (every size), 8 for a mode of f64 (sizes that are
 * multiples of 8 only, as the Rust side skips the others). Each pass at each size is
 * barrier, warm-up and samples, as one mode of the Rust program, and prints its own line,
 * in the order run (scripts/bench.sh numbers them and pairs rspar's k-th pass at a size
 * with C's k-th). "1,1,1,8": rspar's launch with three byte modes and object-f64. */
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
    int elems[16], passes = 0;
    const char *spec = argc > 4 ? argv[4] : "1";
    for (const char *p = spec; *p && passes < 16; p++) {
        if (*p == ',') continue;
        elems[passes++] = *p == '8' ? 8 : 1;
        while (p[1] && p[1] != ',') p++;
    }
    if (samples < 1 || passes == 0) {
        if (rank == 0) fprintf(stderr, "pingpong: bad SAMPLES or PASSES\n");
        MPI_Finalize();
        return 2;
    }
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
        for (int pass = 0; pass < passes; pass++) {
            if (bytes % elems[pass] != 0) continue;
            for (long i = 0; i < bytes; i++) buf[i] = (unsigned char)(i * 7 + bytes);
            MPI_Barrier(MPI_COMM_WORLD);
            for (int s = -1; s < samples; s++) {
                long n = s < 0 ? iters / 10 + 1 : iters; /* sample -1 is the warm-up */
                double start = MPI_Wtime();
                for (long i = 0; i < n; i++) {
                    if (rank == 0) {
                        MPI_Send(buf, (int)bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
                        MPI_Recv(buf, (int)bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD,
                                 MPI_STATUS_IGNORE);
                    } else if (rank == 1) {
                        MPI_Recv(buf, (int)bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD,
                                 MPI_STATUS_IGNORE);
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
    }
    free(times);
    free(buf);
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any && rank == 0) fprintf(stderr, "pingpong: data corrupted\n");
    MPI_Finalize();
    return any;
}
