"""The Python side of examples/mpmd.rs, with mpi4py: every rank but 0 runs this, rank 0
runs the Rust program, all in one MPI_COMM_WORLD:

    python3 -m pip install mpi4py
    mpirun -n 1 target/release/examples/mpmd : -n 2 python3 examples/python/mpmd_peer.py

The same plain MPI calls as examples/c/mpmd_peer.c (mpi4py's upper-case, buffer
methods), each matching one rspar call on the Rust rank's interop path. A wrong value
aborts the whole job with exit code 3.
"""
import sys
from array import array

from mpi4py import MPI

world = MPI.COMM_WORLD
rank, size = world.Get_rank(), world.Get_size()


def fail(what):
    sys.stderr.write(f"mpmd_peer.py: rank {rank} of {size}: wrong {what}\n")
    sys.stderr.flush()
    world.Abort(3)


if len(sys.argv) > 1 and sys.argv[1] == "--help":
    if rank == 1:
        print("usage: mpirun -n 1 mpmd : -n N python3 mpmd_peer.py")
    sys.exit(0)
if rank == 0:
    sys.stderr.write("mpmd_peer.py: rank 0 must be the Rust program (mpmd)\n")
    world.Abort(2)

# 1. world.tag(7).send_buffer(&[f64; 8], rank) on rank 0.
d = array("d", [0.0] * 8)
world.Recv([d, MPI.DOUBLE], source=0, tag=7)
if list(d) != [rank * 100 + i for i in range(8)]:
    fail("doubles (tag 7)")
# 2. world.tag(8).receive_buffer_into(&mut [i32; 4], Any) on rank 0.
world.Send([array("i", [rank * 10 + i for i in range(4)]), MPI.INT], dest=0, tag=8)
# 3. world.tag(9).receive_buffer::<f64>(rank) on rank 0.
world.Send([array("d", [x * 2 for x in d]), MPI.DOUBLE], dest=0, tag=9)

# 4. An rspar object (tag 10): MPI_BYTE in rspar's codec; passed back unread.
status = MPI.Status()
world.Probe(source=0, tag=10, status=status)
raw = bytearray(status.Get_count(MPI.BYTE))
world.Recv([raw, MPI.BYTE], source=0, tag=10)
world.Send([raw, MPI.BYTE], dest=0, tag=11)

# 5. Collectives over all ranks, in the Rust rank's order.
table = array("Q", [0] * 5)
world.Bcast([table, MPI.UINT64_T], root=0)
if list(table) != [7 * (i + 1) for i in range(5)]:
    fail("broadcast")
sums = array("d", [0.0, 0.0])
world.Allreduce([array("d", [rank, 1.0]), MPI.DOUBLE], [sums, MPI.DOUBLE], op=MPI.SUM)
if list(sums) != [size * (size - 1) / 2, size]:
    fail("all-reduce")
world.Reduce([array("q", [3 * rank]), MPI.INT64_T], None, op=MPI.MAX, root=0)
world.Gather([array("i", [rank, rank * rank]), MPI.INT], None, root=0)
block = array("d", [0.0] * 3)
world.Scatter(None, [block, MPI.DOUBLE], root=0)
if list(block) != [10 * rank + i for i in range(3)]:
    fail("scattered block")
world.Barrier()
