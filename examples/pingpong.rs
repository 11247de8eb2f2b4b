//! Ping-pong latency and bandwidth between ranks 0 and 1, by message size, for each way
//! rspar can carry data (PyPar's `network_timing`, OSU's `osu_latency`). Rank 0 sends a
//! message to rank 1, which sends it back; the one-way time is half the round trip. Other
//! ranks wait. Each size is warmed up, then timed in several samples; the median sample is
//! reported. The protocol and iteration counts match the C reference `benches/c/pingpong.c`.
//!
//!     mpirun -n 2 target/release/examples/pingpong
//!     mpirun -n 2 target/release/examples/pingpong --mode buffer-u8 --mode object-f64 --csv
//!
//! Modes: `buffer-u8` and `buffer-f64` (the zero-copy path: `send_buffer` /
//! `receive_buffer_into`), `object-u8` and `object-f64` (`Vec<u8>` / `Vec<f64>` as serde
//! values: `send` / `receive`), `object-struct` (a small struct, one size only) and
//! `rsmpi` (raw rsmpi calls through `rspar::mpi`, for comparison). Every received message
//! is checked; a wrong byte is reported and the program exits with 1.

use clap::{Parser, ValueEnum};
use rspar::mpi::traits::{Communicator as _, Destination as _, Source as _};
use rspar::Communicator;
use serde::{Deserialize, Serialize};

/// Ping-pong latency (one-way microseconds) and bandwidth (MB/s) between ranks 0 and 1.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Modes to run (repeat the flag); all of them by default.
    #[arg(long, value_enum)]
    mode: Vec<Mode>,
    /// Largest message in bytes; sizes are 1 B and the powers of 4 up to this.
    #[arg(long, default_value_t = 4 << 20)]
    max_size: usize,
    /// Exact sizes in bytes to run instead (repeat the flag), e.g. `--size 256 --size 280`
    /// (`object-struct` keeps its own size).
    #[arg(long)]
    size: Vec<usize>,
    /// Timed samples per size; the median is reported.
    #[arg(long, default_value_t = 7)]
    samples: usize,
    /// Round trips per sample (default: 2000 up to 8 KiB, 300 up to 256 KiB, then 40,
    /// as in the C reference).
    #[arg(long)]
    iterations: Option<usize>,
    /// Print `mode,pingpong,size_bytes,microseconds` lines instead of a table.
    #[arg(long)]
    csv: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    BufferU8,
    BufferF64,
    ObjectU8,
    ObjectF64,
    ObjectStruct,
    Rsmpi,
}

impl Mode {
    fn name(self) -> String {
        self.to_possible_value().unwrap().get_name().to_owned()
    }
}

/// The small struct of `object-struct`: a typical "task description" message.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
struct Sample {
    id: u64,
    position: [f64; 3],
    label: String,
    active: bool,
}

/// How long to measure each size.
#[derive(Clone, Copy)]
struct Plan {
    samples: usize,
    iterations: Option<usize>,
}

/// Round trips per sample for a message of `bytes` (the same table as the C reference).
fn iterations(bytes: usize) -> usize {
    match bytes {
        0..=8192 => 2000,
        8193..=262_144 => 300,
        _ => 40,
    }
}

/// Time `round_trip` for one size: a warm-up, then `plan.samples` samples; the median one-way
/// time in microseconds (rank 0's clock; other ranks return 0).
fn time(
    world: &Communicator,
    bytes: usize,
    plan: Plan,
    mut round_trip: impl FnMut() -> rspar::Result<()>,
) -> rspar::Result<f64> {
    let iters = plan.iterations.unwrap_or_else(|| iterations(bytes)).max(1);
    world.barrier()?;
    let mut times = Vec::with_capacity(plan.samples);
    for sample in 0..=plan.samples {
        let n = if sample == 0 { iters / 10 + 1 } else { iters };
        let start = rspar::wtime();
        if world.rank() < 2 {
            for _ in 0..n {
                round_trip()?;
            }
        }
        if sample > 0 {
            times.push((rspar::wtime() - start) / (2.0 * n as f64) * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn fail(what: &str) -> ! {
    eprintln!("pingpong: {what}");
    rspar::abort(1)
}

/// The buffer modes' memory, allocated once per launch and reused at every size, as the
/// C reference reuses its one buffer: a fresh buffer per size would time the pages the
/// allocator hands out that time as much as the message path.
struct Buffers {
    u8: Vec<u8>,
    f64: Vec<f64>,
}

impl Buffers {
    fn new(max_size: usize) -> Buffers {
        Buffers {
            u8: vec![0; max_size.max(1)],
            f64: vec![0.0; (max_size / 8).max(1)],
        }
    }
}

/// The bytes of a `u8` message of `bytes` bytes, and the elements of an `f64` one.
fn byte_at(i: usize, bytes: usize) -> u8 {
    (i * 7 + bytes) as u8
}
fn f64_at(i: usize) -> f64 {
    i as f64 * 0.5
}

/// One mode at one size: the median one-way microseconds.
fn measure(
    world: &Communicator,
    buffers: &mut Buffers,
    mode: Mode,
    bytes: usize,
    plan: Plan,
) -> rspar::Result<f64> {
    match mode {
        Mode::BufferU8 | Mode::Rsmpi => {
            let buf = &mut buffers.u8[..bytes];
            let fill = |i| byte_at(i, bytes);
            buffer(world, bytes, plan, buf, fill, mode == Mode::Rsmpi)
        }
        Mode::BufferF64 => {
            let buf = &mut buffers.f64[..bytes / 8];
            buffer(world, bytes, plan, buf, f64_at, false)
        }
        Mode::ObjectU8 => {
            let expect: Vec<u8> = (0..bytes).map(|i| byte_at(i, bytes)).collect();
            object(world, bytes, plan, expect)
        }
        Mode::ObjectF64 => {
            let expect: Vec<f64> = (0..bytes / 8).map(f64_at).collect();
            object(world, bytes, plan, expect)
        }
        Mode::ObjectStruct => {
            let expect = Sample {
                id: 42,
                position: [1.0, -2.5, 3.25],
                label: "particle".into(),
                active: true,
            };
            object(world, bytes, plan, expect)
        }
    }
}

/// Ping-pong `buf`, filled with `fill(i)`, with `send_buffer` / `receive_buffer_into` (or raw
/// rsmpi calls, hence rsmpi's `Equivalence`); it must come back unchanged.
fn buffer<T: rspar::Plain + rspar::mpi::traits::Equivalence + PartialEq>(
    world: &Communicator,
    bytes: usize,
    plan: Plan,
    buf: &mut [T],
    fill: impl Fn(usize) -> T,
    raw_rsmpi: bool,
) -> rspar::Result<f64> {
    for (i, x) in buf.iter_mut().enumerate() {
        *x = fill(i);
    }
    let peer = 1 - world.rank().min(1);
    let to = world.raw().process_at_rank(peer as i32);
    let t = time(world, bytes, plan, || {
        match (raw_rsmpi, world.rank() == 0) {
            (true, true) => {
                to.send(&buf[..]);
                to.receive_into(&mut buf[..]);
            }
            (true, false) => {
                to.receive_into(&mut buf[..]);
                to.send(&buf[..]);
            }
            (false, true) => {
                world.send_buffer(buf, peer)?;
                world.receive_buffer_into(buf, peer)?;
            }
            (false, false) => {
                world.receive_buffer_into(buf, peer)?;
                world.send_buffer(buf, peer)?;
            }
        }
        Ok(())
    })?;
    if world.rank() < 2 && buf.iter().enumerate().any(|(i, x)| *x != fill(i)) {
        fail("a buffer came back changed");
    }
    Ok(t)
}

/// Ping-pong a serde value: each side receives a fresh value and sends it on.
fn object<T>(world: &Communicator, bytes: usize, plan: Plan, value: T) -> rspar::Result<f64>
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + Clone,
{
    let peer = 1 - world.rank().min(1);
    let expect = (world.rank() < 2).then(|| value.clone());
    let mut held = Some(value);
    let t = time(world, bytes, plan, || {
        if world.rank() == 0 {
            world.send(held.as_ref().unwrap(), peer)?;
            held = Some(world.receive(peer)?);
        } else {
            let got: T = world.receive(peer)?;
            world.send(&got, peer)?;
            held = Some(got);
        }
        Ok(())
    })?;
    if let Some(expect) = expect {
        if held.as_ref() != Some(&expect) {
            fail("an object came back changed");
        }
    }
    Ok(t)
}

fn sizes(max: usize) -> Vec<usize> {
    std::iter::successors(Some(1usize), |&s| Some(if s == 1 { 4 } else { s * 4 }))
        .take_while(|&s| s <= max)
        .collect()
}

fn main() -> rspar::Result<()> {
    let args = Args::parse();
    let world = rspar::init()?;
    if world.size() < 2 {
        eprintln!("pingpong needs at least 2 ranks: mpirun -n 2 ...");
        std::process::exit(2);
    }
    let modes = if args.mode.is_empty() {
        Mode::value_variants().to_vec()
    } else {
        args.mode.clone()
    };
    let plan = Plan {
        samples: args.samples.max(1),
        iterations: args.iterations,
    };
    let chosen = |max: usize| {
        if args.size.is_empty() {
            sizes(max)
        } else {
            args.size.clone()
        }
    };
    let largest = args.size.iter().copied().max().unwrap_or(args.max_size);
    let mut buffers = Buffers::new(largest);
    let struct_bytes = rspar_size_of_struct();
    let sizes_of = |mode: Mode| match mode {
        Mode::ObjectStruct => vec![struct_bytes],
        Mode::BufferF64 | Mode::ObjectF64 => chosen(args.max_size)
            .into_iter()
            .filter(|s| s % 8 == 0)
            .collect(),
        _ => chosen(args.max_size),
    };
    // Size by size, every mode in turn: the modes at one size run moments apart, so a
    // machine that changes speed during the launch changes it for all of them alike.
    let mode_sizes: Vec<Vec<usize>> = modes.iter().map(|&m| sizes_of(m)).collect();
    let mut all: Vec<usize> = mode_sizes.concat();
    all.sort_unstable();
    all.dedup();
    let mut rows: Vec<(usize, usize, f64)> = Vec::new();
    for bytes in all {
        for (index, &mode) in modes.iter().enumerate() {
            if !mode_sizes[index].contains(&bytes) {
                continue;
            }
            let us = measure(&world, &mut buffers, mode, bytes, plan)?;
            if world.rank() == 0 {
                if args.csv {
                    println!("{},pingpong,{bytes},{us:.4}", mode.name());
                } else {
                    rows.push((index, bytes, us));
                }
            }
        }
    }
    if world.rank() == 0 && !args.csv {
        println!(
            "{:<14} {:>10} {:>12} {:>12}",
            "mode", "bytes", "one-way us", "MB/s"
        );
        rows.sort_by_key(|&(index, bytes, _)| (index, bytes));
        for (index, bytes, us) in rows {
            let mode = modes[index].name();
            println!(
                "{mode:<14} {bytes:>10} {us:>12.3} {:>12.1}",
                bytes as f64 / us
            );
        }
    }
    Ok(())
}

/// The payload size of [`Sample`] as the object path counts it: its bincode size.
fn rspar_size_of_struct() -> usize {
    // id 8 + position 24 + label (8 + 8) + active 1
    8 + 24 + 8 + "particle".len() + 1
}
