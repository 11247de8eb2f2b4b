//! rspar inside a C program: `rspar_embed_run`, called by the C `main` in `main.c` with
//! a communicator after its `MPI_Init`, runs rspar on that communicator (objects, a
//! collective, a farm map) and returns; the C program then uses MPI again and
//! finalizes. Built as a static library and linked with `mpicc`:
//!
//! ```sh
//! cargo build --release -p rspar-embed
//! mpicc -o embed examples/embed/main.c target/release/librspar_embed.a -lm -ldl -lpthread
//! mpirun -n 2 ./embed
//! ```

use std::os::raw::{c_int, c_long};

use rspar::mpi::ffi::MPI_Comm;

/// What `rspar_embed_run` hands back on every rank: the sum of the squares of 0..100.
pub const CHECKSUM: c_long = 328_350;

/// Run rspar on `comm` (every rank of it calls this) and write [`CHECKSUM`], computed by
/// a farm map, to `*checksum`. Returns 0, or 1 after printing what went wrong. rspar
/// adopts the host's MPI and leaves it initialized; its communicators are freed before
/// this returns.
///
/// # Safety
/// `comm` is a live intra-communicator of the caller's MPI, valid until this returns;
/// `checksum` points to a writable `long`.
#[no_mangle]
pub unsafe extern "C" fn rspar_embed_run(comm: MPI_Comm, checksum: *mut c_long) -> c_int {
    // SAFETY: the caller's promise: a live communicator, valid for this call.
    let comm = match unsafe { rspar::Init::new().wrap_raw(comm) } {
        Ok(comm) => comm,
        Err(err) => {
            eprintln!("rspar_embed_run: {err}");
            return 1;
        }
    };
    match run(&comm) {
        Ok(sum) => {
            // SAFETY: the caller's promise: a writable long.
            unsafe { *checksum = sum };
            0
        }
        Err(err) => {
            eprintln!("rspar_embed_run: rank {}: {err}", comm.rank());
            1
        }
    }
}

fn run(comm: &rspar::Communicator) -> rspar::Result<c_long> {
    let (rank, size) = (comm.rank(), comm.size());
    // Objects: a string around the ring.
    let next = (rank + 1) % size;
    let prev = (rank + size - 1) % size;
    comm.send(&format!("from {rank}"), next)?;
    let got: String = comm.receive(prev)?;
    if got != format!("from {prev}") {
        return Err(rspar::ErrorKind::Decode {
            reason: format!("ring: got {got:?}"),
        }
        .into());
    }
    // A collective: every rank agrees on the size.
    let ranks = comm.all_reduce(&1usize, |a, b| a + b)?;
    if ranks != size {
        return Err(rspar::ErrorKind::Decode {
            reason: format!("{ranks} ranks"),
        }
        .into());
    }
    // A farm map: the squares of 0..100 on all ranks, summed on rank 0, broadcast.
    let squares = rspar::farm::map(comm, (0..100i64).collect(), |x| x * x)?;
    let sum = squares.map(|all| all.iter().sum::<i64>());
    let sum: Option<i64> = comm.broadcast(&sum, 0)?;
    Ok(sum.unwrap_or(-1) as c_long)
}
