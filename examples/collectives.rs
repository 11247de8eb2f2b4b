//! A tour of every collective, on the object path (any serde type) and the buffer path
//! (plain numbers, MPI's own collectives). Each step checks its result; rank 0 prints one
//! line per step. Exits non-zero if anything is wrong.
//!
//!     mpirun -n 4 target/release/examples/collectives

use clap::Parser;
use rspar::{Communicator, Loc, Op};

/// Run every rspar collective once and check the results.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The root of the rooted collectives (default: the last rank).
    #[arg(long)]
    root: Option<usize>,
}

fn check(world: &Communicator, what: &str, ok: bool) {
    if !ok {
        eprintln!(
            "collectives: rank {}: {what} gave a wrong result",
            world.rank()
        );
        rspar::abort(1);
    }
    if world.rank() == 0 {
        println!("{what:<28} ok");
    }
}

fn main() -> rspar::Result<()> {
    let args = Args::parse();
    let world = rspar::init()?;
    let (rank, size) = (world.rank(), world.size());
    let root = args.root.unwrap_or(size - 1);
    let n = size as u64;

    // Object path.
    let greeting = world.broadcast(&format!("hello from root {rank}"), root)?;
    check(
        &world,
        "broadcast",
        greeting == format!("hello from root {root}"),
    );
    let tasks: Vec<String> = (0..size).map(|r| "t".repeat(r + 1)).collect();
    let mine = world.scatter(if rank == root { &tasks } else { &[] }, root)?;
    check(&world, "scatter", mine.len() == rank + 1);
    let gathered = world.gather(&mine, root)?;
    check(&world, "gather", gathered.is_none_or(|g| g == tasks));
    let everyone = world.all_gather(&(rank, mine.clone()))?;
    check(
        &world,
        "all_gather",
        everyone.iter().enumerate().all(|(r, (x, _))| r == *x),
    );
    let outbox: Vec<(usize, usize)> = (0..size).map(|to| (rank, to)).collect();
    let inbox = world.all_to_all(&outbox)?;
    check(
        &world,
        "all_to_all",
        inbox.iter().enumerate().all(|(from, &m)| m == (from, rank)),
    );
    let sum = world.reduce(&(rank as u64), |a, b| a + b, root)?;
    check(
        &world,
        "reduce (closure)",
        sum.is_none_or(|s| s == n * (n - 1) / 2),
    );
    let order = world.all_reduce(&rank.to_string(), |a, b| a + &b)?;
    let expected: String = (0..size).map(|r| r.to_string()).collect();
    check(&world, "all_reduce (closure)", order == expected);
    let prefix = world.scan(&1u64, |a, b| a + b)?;
    check(&world, "scan (closure)", prefix == rank as u64 + 1);
    let before = world.exscan(&1u64, |a, b| a + b)?;
    check(
        &world,
        "exscan (closure)",
        before == (rank > 0).then_some(rank as u64),
    );

    // Buffer path.
    let mut grid = vec![if rank == root { 2.5f64 } else { 0.0 }; 4096];
    world.broadcast_buffer(&mut grid, root)?;
    check(&world, "broadcast_buffer", grid.iter().all(|&x| x == 2.5));
    let all: Vec<f64> = (0..2 * size).map(|i| i as f64).collect();
    let block = world.scatter_buffer(if rank == root { &all } else { &[] }, root)?;
    check(
        &world,
        "scatter_buffer",
        block == [2.0 * rank as f64, 2.0 * rank as f64 + 1.0],
    );
    let back = world.gather_buffer(&block, root)?;
    check(&world, "gather_buffer", back.is_none_or(|b| b == all));
    let ranks = world.all_gather_buffer(&[rank as u32])?;
    check(
        &world,
        "all_gather_buffer",
        ranks == (0..size as u32).collect::<Vec<_>>(),
    );
    let mut total = [0.0f64];
    world.reduce_buffer(&[rank as f64], &mut total, Op::Sum, root)?;
    check(
        &world,
        "reduce_buffer SUM",
        rank != root || total[0] == (n * (n - 1) / 2) as f64,
    );
    // Bit `rank % 64` of each rank: all of the low `size` bits, or all 64 from 64 ranks on.
    let all_bits = 1u64.checked_shl(size as u32).map_or(u64::MAX, |b| b - 1);
    for (op, expect) in [(Op::Max, n - 1), (Op::Min, 0), (Op::BitOr, all_bits)] {
        let mine = if op == Op::BitOr {
            1u64 << (rank % 64)
        } else {
            rank as u64
        };
        let mut out = [0u64];
        world.all_reduce_buffer(&[mine], &mut out, op)?;
        check(
            &world,
            &format!("all_reduce_buffer {op:?}"),
            out[0] == expect,
        );
    }
    let mut upto = [0u64];
    world.scan_buffer(&[1], &mut upto, Op::Sum)?;
    check(&world, "scan_buffer", upto[0] == rank as u64 + 1);
    let (max, at) = world.all_reduce_loc_buffer(&[rank as f64], Loc::Max)?[0];
    check(
        &world,
        "all_reduce_loc_buffer MAXLOC",
        max == (n - 1) as f64 && at == size - 1,
    );
    world.barrier()?;
    if rank == 0 {
        println!("all collectives ok on {size} ranks");
    }
    Ok(())
}
