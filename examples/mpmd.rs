//! One MPI job, two programs: rank 0 is this Rust program, the other ranks the C program
//! `examples/c/mpmd_peer.c`. They exchange buffers, objects and collectives on
//! `MPI_COMM_WORLD` itself (`Init::interop`), each side with the obvious calls.
//!
//!     mpicc -o mpmd_peer examples/c/mpmd_peer.c
//!     mpirun -n 1 target/release/examples/mpmd : -n 2 ./mpmd_peer
//!
//! Rank 0 checks every value it gets and prints `mpmd ok`; a C rank that gets a wrong
//! value aborts the job.

use clap::Parser;
use rspar::{Any, Communicator, Op};

/// Rank 0 of an MPMD job whose other ranks run examples/c/mpmd_peer.c: point-to-point
/// buffers both ways (tags, any-source, unknown length), an object passed through C as
/// bytes (nonblocking), a broadcast, reduce, all-reduce, gather, scatter and barrier over
/// all ranks. Prints "mpmd ok" when every value checked out.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Panic after the first exchange, while the C ranks wait: the job must still end.
    #[arg(long)]
    panic: bool,
}

fn main() -> rspar::Result<()> {
    let args = Args::parse();
    // Interop: no private copies (a collective over every rank that the C ranks would
    // never join); every call below is one plain MPI call on MPI_COMM_WORLD.
    let world = rspar::Init::new().interop(true).init()?;
    let (rank, size) = (world.rank(), world.size());
    if rank != 0 {
        eprintln!("mpmd: run one Rust rank first: mpirun -n 1 mpmd : -n 2 mpmd_peer");
        world.abort(2);
    }
    let peers = 1..size;
    // 1. To each C rank: 8 doubles with tag 7 (MPI_Recv(b, 8, MPI_DOUBLE, 0, 7, ...)).
    for peer in peers.clone() {
        let values: Vec<f64> = (0..8).map(|i| (peer * 100 + i) as f64).collect();
        world.tag(7).send_buffer(&values, peer)?;
    }
    if args.panic {
        panic!("asked to panic with --panic");
    }
    // 2. From every C rank, in any order: 4 ints with tag 8.
    let mut seen = vec![false; size];
    for _ in peers.clone() {
        let mut got = [0i32; 4];
        let status = world
            .tag(8)
            .with_status()
            .receive_buffer_into(&mut got, Any)?;
        let from = status.source;
        check(&got, &expected_ints(from), "ints from", from);
        seen[from] = true;
    }
    check(&seen[1..], &vec![true; size - 1], "answers from", 0);
    // 3. Each C rank doubles the doubles and sends them back with tag 9 (length unknown
    //    here: a probe, then the receive).
    for peer in peers.clone() {
        let got: Vec<f64> = world.tag(9).receive_buffer(peer)?;
        let want: Vec<f64> = (0..8).map(|i| 2.0 * (peer * 100 + i) as f64).collect();
        check(&got, &want, "doubled doubles from", peer);
    }
    // 4. An object, nonblocking: the C rank passes its MPI_BYTE message back unread.
    objects(&world)?;
    // 5. Collectives over all ranks.
    collectives(&world)?;
    println!("mpmd ok");
    Ok(())
}

/// Rank `from`'s four ints.
fn expected_ints(from: usize) -> Vec<i32> {
    (0..4).map(|i| (from * 10 + i) as i32).collect()
}

/// A string to every C rank (`isend`, tag 10), and back from each (`ireceive`, tag 11).
fn objects(world: &Communicator) -> rspar::Result<()> {
    let sent: Vec<String> = (1..world.size())
        .map(|p| format!("hello, rank {p}"))
        .collect();
    let sends = (1..world.size())
        .map(|peer| world.tag(10).isend(&sent[peer - 1], peer))
        .collect::<rspar::Result<Vec<_>>>()?;
    let receives = (1..world.size())
        .map(|peer| world.tag(11).ireceive::<String>(peer))
        .collect::<Vec<_>>();
    rspar::SendRequest::wait_all(sends)?;
    let back = rspar::ReceiveRequest::wait_all(receives)?;
    check(&back, &sent, "objects passed back by", 0);
    Ok(())
}

fn collectives(world: &Communicator) -> rspar::Result<()> {
    let size = world.size();
    // MPI_Bcast of 5 uint64 from rank 0.
    let mut table = [7u64, 14, 21, 28, 35];
    world.broadcast_buffer(&mut table, 0)?;
    // MPI_Allreduce of [rank, 1.0] with MPI_SUM.
    let mut sums = [0.0f64; 2];
    world.all_reduce_buffer(&[0.0, 1.0], &mut sums, Op::Sum)?;
    let ranks = (size * (size - 1) / 2) as f64;
    check(&sums, &[ranks, size as f64], "all-reduce sums", 0);
    // MPI_Reduce of rank * 3 with MPI_MAX to rank 0.
    let mut max = [0i64];
    world.reduce_buffer(&[0i64], &mut max, Op::Max, 0)?;
    check(&max, &[3 * (size as i64 - 1)], "reduced max", 0);
    // MPI_Gather of [rank, rank * rank] (int) to rank 0.
    let mut all = vec![0i32; 2 * size];
    world.gather_buffer_into(&[0i32, 0], &mut all, 0)?;
    let want: Vec<i32> = (0..size as i32).flat_map(|r| [r, r * r]).collect();
    check(&all, &want, "gathered pairs", 0);
    // MPI_Scatter of 3 doubles per rank from rank 0 (rank r gets 10r, 10r+1, 10r+2).
    let blocks: Vec<f64> = (0..3 * size)
        .map(|i| (10 * (i / 3) + i % 3) as f64)
        .collect();
    let mut mine = [0.0f64; 3];
    world.scatter_buffer_into(&blocks, &mut mine, 0)?;
    check(&mine, &[0.0, 1.0, 2.0], "scattered block", 0);
    // MPI_Barrier.
    world.barrier()
}

/// Abort the whole job (C ranks included) when `got` is not `want`.
fn check<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T], what: &str, rank: usize) {
    if got != want {
        eprintln!("mpmd: wrong {what} {rank}: got {got:?}, expected {want:?}");
        rspar::abort(1);
    }
}
