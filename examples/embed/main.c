/* A C program that uses rspar inside: MPI_Init here, then rspar_embed_run (Rust, the
 * static library of examples/embed) on MPI_COMM_WORLD and on a communicator of its own,
 * then MPI again, then MPI_Finalize here. Prints "embed ok" on rank 0.
 *
 *     cargo build --release -p rspar-embed
 *     mpicc -o embed examples/embed/main.c target/release/librspar_embed.a -lm -ldl -lpthread
 *     mpirun -n 2 ./embed */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int rspar_embed_run(MPI_Comm comm, long *checksum);

static const long CHECKSUM = 328350; /* the sum of the squares of 0..100 */

static int check(int rank, const char *what, int failed, long sum) {
    if (failed || sum != CHECKSUM) {
        fprintf(stderr, "embed: rank %d: rspar_embed_run on %s: returned %d, checksum %ld\n",
                rank, what, failed, sum);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: mpirun -n N embed\n"
               "Runs rspar (Rust) on MPI_COMM_WORLD and on a duplicate of it from a C program\n"
               "that owns MPI; checks the results, prints \"embed ok\", exits 0.\n");
        return 0;
    }
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    long sum = 0;
    int failed = rspar_embed_run(MPI_COMM_WORLD, &sum);
    int bad = check(rank, "MPI_COMM_WORLD", failed, sum);

    MPI_Comm mine;
    MPI_Comm_dup(MPI_COMM_WORLD, &mine);
    sum = 0;
    failed = rspar_embed_run(mine, &sum);
    bad |= check(rank, "a duplicate", failed, sum);
    MPI_Comm_free(&mine);

    /* MPI again, after rspar has returned. */
    int all_bad = 1;
    MPI_Allreduce(&bad, &all_bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0 && !all_bad) printf("embed ok\n");
    MPI_Finalize();
    return all_bad;
}
