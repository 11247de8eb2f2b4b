//! How fast the pool runs tiny tasks: a million `x * 3` tasks through `map`, and through
//! `submit` (one handle each, then waited for in order), timed, against a plain sequential
//! loop calling the same task in one process. Prints medians, and the share of `map`'s
//! tasks the other ranks ran (the root computes too: on one rank it runs them all, with
//! no messages at all).
//!
//!     mpirun -n 2 target/release/examples/farm_rate
//!     mpirun -n 1 target/release/examples/farm_rate --csv

use clap::Parser;

/// Measure the pool's rate for trivial tasks (tasks per second, median of rounds).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Tasks per round.
    #[arg(long, default_value_t = 1_000_000)]
    tasks: u64,
    /// Rounds; the median is reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Print `farm_tasks_per_s,<map>,<loop>`, `submit_tasks_per_s,<submit>` and
    /// `remote_share,<share of map's tasks run by other ranks>` instead of a sentence.
    #[arg(long)]
    csv: bool,
}

fn task(x: u64) -> u64 {
    x.wrapping_mul(3)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> rspar::Result<()> {
    let args = Args::parse();
    let world = rspar::init()?;
    // Every rank but the root serves tasks inside `new` until the root drops its pool.
    let Some(pool) = rspar::Pool::new(&world, task)? else {
        return Ok(());
    };
    let (mut map_rates, mut submit_rates, mut loop_rates) = (Vec::new(), Vec::new(), Vec::new());
    let mut shares = Vec::new();
    for _ in 0..args.rounds {
        let before = pool.tasks_per_rank();
        let start = rspar::wtime();
        let out = pool.map(0..args.tasks)?;
        let map_secs = rspar::wtime() - start;
        let after = pool.tasks_per_rank();
        let root = after[0] - before[0];
        let all: usize = after.iter().sum::<usize>() - before.iter().sum::<usize>();
        shares.push(1.0 - root as f64 / all.max(1) as f64);
        if out.len() as u64 != args.tasks
            || out.iter().enumerate().any(|(i, &y)| y != task(i as u64))
        {
            eprintln!("farm_rate: wrong results from map");
            rspar::abort(1);
        }
        let start = rspar::wtime();
        let handles: Vec<_> = (0..args.tasks).map(|x| pool.submit(x)).collect();
        let mut sum = 0u64;
        for handle in handles {
            sum = sum.wrapping_add(handle.wait()?);
        }
        let submit_secs = rspar::wtime() - start;
        if sum != (0..args.tasks).map(task).fold(0, u64::wrapping_add) {
            eprintln!("farm_rate: wrong results from submit");
            rspar::abort(1);
        }
        let start = rspar::wtime();
        let seq: Vec<u64> = (0..args.tasks)
            .map(|x| task(std::hint::black_box(x)))
            .collect();
        std::hint::black_box(&seq);
        loop_rates.push(args.tasks as f64 / (rspar::wtime() - start));
        map_rates.push(args.tasks as f64 / map_secs);
        submit_rates.push(args.tasks as f64 / submit_secs);
    }
    let ranks = pool.ranks();
    drop(pool);
    let (map, submit, plain) = (median(map_rates), median(submit_rates), median(loop_rates));
    let share = median(shares);
    if args.csv {
        println!("farm_tasks_per_s,{map:.0},{plain:.0}");
        println!("submit_tasks_per_s,{submit:.0}");
        println!("remote_share,{share:.4}");
    } else {
        println!(
            "pool map: {map:.0} tasks/s, submit: {submit:.0} tasks/s on {ranks} ranks \
             ({:.0}% of map's tasks run by other ranks than the root); sequential loop: \
             {plain:.0} tasks/s (medians of {})",
            share * 100.0,
            args.rounds
        );
    }
    Ok(())
}
