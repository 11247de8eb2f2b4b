/* The C side of examples/mpmd.rs: every rank but 0 runs this, rank 0 runs the Rust
 * program, all in one MPI_COMM_WORLD:
 *
 *     mpicc -o mpmd_peer examples/c/mpmd_peer.c
 *     mpirun -n 1 target/release/examples/mpmd : -n 2 ./mpmd_peer
 *
 * Plain MPI calls only, each matching one rspar call on the Rust rank (its interop
 * path). A wrong value aborts the whole job with exit code 3. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size;

static void fail(const char *what) {
    fprintf(stderr, "mpmd_peer: rank %d of %d: wrong %s\n", rank, size, what);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 3);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        if (rank == 1) printf("usage: mpirun -n 1 mpmd : -n N mpmd_peer\n");
        MPI_Finalize();
        return 0;
    }
    if (rank == 0) {
        fprintf(stderr, "mpmd_peer: rank 0 must be the Rust program (mpmd)\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    /* 1. world.tag(7).send_buffer(&[f64; 8], rank) on rank 0. */
    double d[8];
    MPI_Recv(d, 8, MPI_DOUBLE, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    for (int i = 0; i < 8; i++)
        if (d[i] != rank * 100 + i) fail("doubles (tag 7)");
    /* 2. world.tag(8).receive_buffer_into(&mut [i32; 4], Any) on rank 0. */
    int ints[4];
    for (int i = 0; i < 4; i++) ints[i] = rank * 10 + i;
    MPI_Send(ints, 4, MPI_INT, 0, 8, MPI_COMM_WORLD);
    /* 3. world.tag(9).receive_buffer::<f64>(rank) on rank 0. */
    for (int i = 0; i < 8; i++) d[i] *= 2;
    MPI_Send(d, 8, MPI_DOUBLE, 0, 9, MPI_COMM_WORLD);

    /* 4. An rspar object (tag 10): MPI_BYTE in rspar's codec; passed back unread. */
    MPI_Status st;
    int n;
    MPI_Probe(0, 10, MPI_COMM_WORLD, &st);
    MPI_Get_count(&st, MPI_BYTE, &n);
    char *bytes = malloc(n > 0 ? n : 1);
    MPI_Recv(bytes, n, MPI_BYTE, 0, 10, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Send(bytes, n, MPI_BYTE, 0, 11, MPI_COMM_WORLD);
    free(bytes);

    /* 5. Collectives over all ranks, in the Rust rank's order. */
    uint64_t table[5];
    MPI_Bcast(table, 5, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    for (int i = 0; i < 5; i++)
        if (table[i] != 7u * (i + 1)) fail("broadcast");
    double mine[2] = {rank, 1.0}, sums[2];
    MPI_Allreduce(mine, sums, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    if (sums[0] != size * (size - 1) / 2 || sums[1] != size) fail("all-reduce");
    int64_t three = 3 * (int64_t)rank;
    MPI_Reduce(&three, NULL, 1, MPI_INT64_T, MPI_MAX, 0, MPI_COMM_WORLD);
    int pair[2] = {rank, rank * rank};
    MPI_Gather(pair, 2, MPI_INT, NULL, 0, MPI_INT, 0, MPI_COMM_WORLD);
    double block[3];
    MPI_Scatter(NULL, 0, MPI_DOUBLE, block, 3, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    for (int i = 0; i < 3; i++)
        if (block[i] != 10 * rank + i) fail("scattered block");
    MPI_Barrier(MPI_COMM_WORLD);

    MPI_Finalize();
    return 0;
}
