//! How fast the farm dispatches tiny tasks: a million `x * 3` tasks, timed, against a plain
//! sequential loop calling the same task in one process. Prints medians.
//!
//!     mpirun -n 2 target/release/examples/farm_rate

use clap::Parser;

/// Measure the farm's dispatch rate for trivial tasks (tasks per second, median of rounds).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Tasks per round.
    #[arg(long, default_value_t = 1_000_000)]
    tasks: u64,
    /// Rounds; the median is reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Print `farm_tasks_per_s,<farm>,<loop>` instead of a sentence.
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
    let (mut farm_rates, mut loop_rates) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        let inputs: Vec<u64> = if world.rank() == 0 {
            (0..args.tasks).collect()
        } else {
            Vec::new()
        };
        let start = rspar::wtime();
        let out = rspar::farm::map(&world, inputs, task)?;
        let farm_secs = rspar::wtime() - start;
        if let Some(out) = out {
            if out.len() as u64 != args.tasks
                || out.iter().enumerate().any(|(i, &y)| y != task(i as u64))
            {
                eprintln!("farm_rate: wrong results");
                rspar::abort(1);
            }
            let start = rspar::wtime();
            let seq: Vec<u64> = (0..args.tasks)
                .map(|x| task(std::hint::black_box(x)))
                .collect();
            std::hint::black_box(&seq);
            loop_rates.push(args.tasks as f64 / (rspar::wtime() - start));
            farm_rates.push(args.tasks as f64 / farm_secs);
        }
    }
    if world.rank() == 0 {
        let (farm, plain) = (median(farm_rates), median(loop_rates));
        if args.csv {
            println!("farm_tasks_per_s,{farm:.0},{plain:.0}");
        } else {
            println!("farm: {farm:.0} tasks/s on {} ranks; sequential loop: {plain:.0} tasks/s (medians of {})", world.size(), args.rounds);
        }
    }
    Ok(())
}
