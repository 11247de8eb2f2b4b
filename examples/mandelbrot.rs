//! The Mandelbrot set, rows shared dynamically by a pool (or in static blocks, to
//! compare): writes a PNG and prints a checksum of the iteration counts that is the same
//! for any number of ranks and either schedule. With the pool, each row is drawn into
//! the PNG as soon as it and the rows above it are done (`imap`).
//!
//!     mpirun -n 3 target/release/examples/mandelbrot --output mandelbrot.png

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Render the Mandelbrot set across all ranks.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where to write the PNG.
    #[arg(long, default_value = "mandelbrot.png")]
    output: PathBuf,
    /// Image width in pixels.
    #[arg(long, default_value_t = 800)]
    width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 600)]
    height: u32,
    /// Iterations before a point counts as inside the set.
    #[arg(long, default_value_t = 1000)]
    max_iter: u32,
    /// How rows are shared: dynamic (a pool; every rank computes) or static (equal blocks
    /// per rank).
    #[arg(long, value_enum, default_value_t = Schedule::Dynamic)]
    schedule: Schedule,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
enum Schedule {
    Dynamic,
    Static,
}

/// Iteration counts of one row of pixels.
fn row(y: u32, args: &Args) -> Vec<u32> {
    let (w, h) = (args.width as f64, args.height as f64);
    let scale = (3.5 / w).max(2.5 / h);
    let ci = (y as f64 - h / 2.0) * scale;
    (0..args.width)
        .map(|x| {
            let cr = -0.75 + (x as f64 - w / 2.0) * scale;
            let (mut zr, mut zi, mut n) = (0.0f64, 0.0f64, 0);
            while n < args.max_iter && zr * zr + zi * zi <= 4.0 {
                (zr, zi) = (zr * zr - zi * zi + cr, 2.0 * zr * zi + ci);
                n += 1;
            }
            n
        })
        .collect()
}

/// A position-weighted sum, so a row in the wrong place changes it.
fn checksum(rows: &[Vec<u32>]) -> u64 {
    rows.iter()
        .flatten()
        .enumerate()
        .fold(0u64, |sum, (i, &n)| {
            sum.wrapping_add((i as u64 + 1).wrapping_mul(n as u64 + 1))
        })
}

/// Black inside the set; outside, deep blue through white to amber by escape speed.
fn colour(n: u32, max_iter: u32) -> [u8; 3] {
    if n >= max_iter {
        return [0, 0, 0];
    }
    let t = ((n as f64 + 1.0).ln() / (max_iter as f64 + 1.0).ln()).clamp(0.0, 1.0);
    let stops = [
        (0.0, [8.0, 16.0, 72.0]),
        (0.35, [32.0, 107.0, 203.0]),
        (0.6, [237.0, 255.0, 255.0]),
        (0.85, [255.0, 170.0, 0.0]),
        (1.0, [80.0, 20.0, 0.0]),
    ];
    let k = stops
        .windows(2)
        .position(|s| t <= s[1].0)
        .unwrap_or(stops.len() - 2);
    let ((t0, c0), (t1, c1)) = (stops[k], stops[k + 1]);
    let f = ((t - t0) / (t1 - t0)).clamp(0.0, 1.0);
    [0, 1, 2].map(|i| (c0[i] + (c1[i] - c0[i]) * f) as u8)
}

fn png_writer(args: &Args) -> Result<png::Writer<impl std::io::Write>, Box<dyn std::error::Error>> {
    let file = std::io::BufWriter::new(std::fs::File::create(&args.output)?);
    let mut encoder = png::Encoder::new(file, args.width, args.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    Ok(encoder.write_header()?)
}

fn pixels(row: &[u32], max_iter: u32) -> Vec<u8> {
    row.iter().flat_map(|&n| colour(n, max_iter)).collect()
}

fn write_png(rows: &[Vec<u32>], args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let pixels: Vec<u8> = rows.iter().flat_map(|r| pixels(r, args.max_iter)).collect();
    png_writer(args)?.write_image_data(&pixels)?;
    Ok(())
}

/// The pool's rows, each drawn into the PNG as soon as it and the rows above are done.
fn draw_as_they_come(
    world: &rspar::Communicator,
    args: &Args,
) -> rspar::Result<Option<Vec<Vec<u32>>>> {
    let Some(pool) = rspar::Pool::new(world, |y: u32| row(y, args))? else {
        return Ok(None);
    };
    let fail = |err: Box<dyn std::error::Error>| -> ! {
        eprintln!("mandelbrot: cannot write {}: {err}", args.output.display());
        rspar::abort(1)
    };
    let mut writer = png_writer(args).unwrap_or_else(|e| fail(e));
    let mut stream = writer.stream_writer().unwrap_or_else(|e| fail(e.into()));
    let mut rows = Vec::with_capacity(args.height as usize);
    for row in pool.imap(0..args.height) {
        let row = row?;
        if row.len() != args.width as usize {
            eprintln!("mandelbrot: a row has the wrong width");
            rspar::abort(1);
        }
        use std::io::Write;
        stream
            .write_all(&pixels(&row, args.max_iter))
            .unwrap_or_else(|e| fail(e.into()));
        rows.push(row);
    }
    stream.finish().unwrap_or_else(|e| fail(e.into()));
    Ok(Some(rows))
}

fn main() -> rspar::Result<()> {
    let args = Args::parse();
    let world = rspar::init()?;
    let (rank, size) = (world.rank(), world.size());
    let start = rspar::wtime();
    let rows: Option<Vec<Vec<u32>>> = match args.schedule {
        Schedule::Dynamic => draw_as_they_come(&world, &args)?,
        Schedule::Static => {
            let mine: Vec<Vec<u32>> = rspar::balance(args.height as usize, size, rank)
                .map(|y| row(y as u32, &args))
                .collect();
            world
                .gather(&mine, 0)?
                .map(|blocks| blocks.into_iter().flatten().collect())
        }
    };
    if let Some(rows) = rows {
        eprintln!(
            "time: {:.3} s ({:?} schedule, {size} ranks)",
            rspar::wtime() - start,
            args.schedule
        );
        if rows.len() != args.height as usize || rows.iter().any(|r| r.len() != args.width as usize)
        {
            eprintln!("mandelbrot: the image has the wrong shape");
            rspar::abort(1);
        }
        println!("checksum: {}", checksum(&rows));
        if args.schedule == Schedule::Dynamic {
            // Drawn already, row by row.
        } else if let Err(err) = write_png(&rows, &args) {
            eprintln!("mandelbrot: cannot write {}: {err}", args.output.display());
            rspar::abort(1);
        }
        println!("wrote {}", args.output.display());
    }
    Ok(())
}
