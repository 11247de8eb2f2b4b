//! PyPar-style message passing for SPMD Rust programs, on top of real MPI.
//!
//! One program runs as many copies (ranks) under `mpirun`; each asks its
//! [`rank`](Communicator::rank) and the [`size`](Communicator::size) of the world, and
//! they talk with `send(&value, dest)` and `receive(source)`.
//!
//! ```no_run
//! fn main() -> rspar::Result<()> {
//!     let world = rspar::init()?; // MPI_Init; finalizes on drop
//!     let (rank, size) = (world.rank(), world.size());
//!     println!("I am rank {rank} of {size} on node {}", world.processor_name());
//!     if rank == 0 {
//!         world.send(&String::from("P0"), 1 % size)?;
//!         let (msg, status) = world.with_status().receive::<String>(size - 1)?;
//!         println!("Processor 0 received message \"{msg}\" from rank {}", status.source);
//!     } else {
//!         let mut msg: String = world.receive(rank - 1)?;
//!         msg.push_str(&format!("P{rank}"));
//!         world.send(&msg, (rank + 1) % size)?;
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # Use it from your crate
//! Add `rspar = { path = "../rspar" }` (or a git dependency on its repository) to your
//! `[dependencies]`, write `main` as above, then `cargo build` and
//! `mpirun -n 4 target/debug/yourprog`. Without `mpirun` a program is a world of one rank.
//! rsmpi is re-exported as [`mpi`] for the MPI calls rspar does not wrap.
//!
//! # Two paths, one naming rule
//! Each call has one name per path. The object path's is the plain verb; the buffer
//! path's is the same verb with `_buffer`, and `_into` after that where the call fills a
//! slice you pass instead of returning a new `Vec`. Every receive returns what it
//! received and nothing else; the [`Status`] of its message comes one way, through the
//! [`with_status`](Communicator::with_status) view ([`WithStatus`]), as a tag comes
//! through [`tag`](Communicator::tag).
//!
//! - **Objects**: [`send`](Communicator::send), [`receive`](Communicator::receive),
//!   [`sendrecv`](Communicator::sendrecv) carry any `Serialize + DeserializeOwned` value
//!   as one MPI message (two above 64 KiB), received with no probe into a landing
//!   buffer every first message fits. The receiver checks the sender's type: receiving a `Vec<f64>` that was sent as a `String` is
//!   `Err(TypeMismatch)`, and the message stays queued; it names the sent type when the
//!   message carried its name or the receiver knows that type, else its fingerprint.
//! - **Buffers**: [`send_buffer`](Communicator::send_buffer),
//!   [`receive_buffer`](Communicator::receive_buffer) (a `Vec` sized from the message),
//!   [`receive_buffer_into`](Communicator::receive_buffer_into) (your slice) move slices
//!   of [`Plain`] data (numbers, arrays of them, and structs with `#[derive(Plain)]`)
//!   with no serialization; `receive_buffer_into` is an `MPI_Recv` straight into your
//!   slice. A message shorter than the slice is [`ErrorKind::ShortMessage`] (nothing
//!   received, the message stays queued); a longer one is [`ErrorKind::Overflow`]
//!   (received, the slice holds its start, the rest is lost, as MPI does). Like MPI, this
//!   path checks sizes, not types.
//! - **Status**: `world.with_status().receive::<T>(source)` is `(T, Status)`;
//!   `with_status()` has `receive_buffer`, `receive_buffer_into`, `sendrecv` and
//!   `ireceive` too, and comes last in a chain: `world.tag(Any).timeout(limit).with_status()`.

//! # Collectives
//! Called by every rank: [`broadcast`](Communicator::broadcast),
//! [`scatter`](Communicator::scatter), [`gather`](Communicator::gather),
//! [`all_gather`](Communicator::all_gather), [`all_to_all`](Communicator::all_to_all), and
//! reductions with a Rust closure ([`reduce`](Communicator::reduce),
//! [`all_reduce`](Communicator::all_reduce), [`scan`](Communicator::scan),
//! [`exscan`](Communicator::exscan)) on the object path; on the buffer path
//! ([`broadcast_buffer`](Communicator::broadcast_buffer),
//! [`reduce_buffer`](Communicator::reduce_buffer) with an [`Op`],
//! [`all_reduce_loc_buffer`](Communicator::all_reduce_loc_buffer) with a [`Loc`], ...)
//! they run MPI's own collectives.
//! [`balance()`] is PyPar's block partition.
//!
//! # Nonblocking messages and communicators
//! [`isend`](Communicator::isend) and [`ireceive`](Communicator::ireceive) return
//! [`SendRequest`] and [`ReceiveRequest`]; [`duplicate`](Communicator::duplicate) and
//! [`split`](Communicator::split) make communicators with the same API.
//!
//! # The pool
//! [`Pool`] is `multiprocessing.Pool` over the ranks: every rank calls
//! [`Pool::new`]; the root gets the pool, the others serve tasks until it is gone. Every
//! rank computes, the root included. [`Pool::submit`] returns a [`pool::Task`] (wait,
//! check, cancel, or `.await` it); [`Pool::map`], [`Pool::imap`] and
//! [`Pool::imap_unordered`] stream lazy inputs; dynamic load balancing, batching of tiny
//! tasks, task failures reported as [`ErrorKind::TaskFailed`], retries and a progress
//! bar. [`farm::map`] is the earlier one-call form, now a thin call of the pool.
//! Run directly (no `mpirun`), the pool spawns copies of the program as workers; their
//! world is for the pool only (every rspar call on it outside a pool is
//! [`ErrorKind::Deadlock`] at once), and [`spawned()`] tells a program it is such a copy.
//!
//! # Tags and wildcards
//! Calls on the communicator use [`DEFAULT_TAG`]; `world.tag(t)` gives a [`Tagged`] view
//! with the same methods for tag `t` in `0..=`[`MAX_TAG`], of any integer type (a value
//! out of range is `Err(InvalidTag)` at the first send or receive). [`Any`] is the
//! wildcard for a source and for a receive's tag: `world.tag(Any).receive::<T>(Any)`.
//!
//! # Failure
//! Every fallible call returns [`Result`]; bad input (an invalid rank or tag, a wrong
//! type, corrupt bytes, a slice of the wrong length) is an [`Error`] with an
//! [`ErrorKind`], never a panic; its variants have fields, so match with `{ .. }`:
//! `matches!(err.kind(), ErrorKind::TypeMismatch { .. })`. A panic on any rank prints the rank and aborts the whole
//! job (opt out with [`Init::abort_on_panic`]); so does ending the program with an rspar
//! error still alive (as when `main` returns `Err`), so no rank waits forever.
//!
//! # More
//! The repository's `README.md` is this page's short path with the commands;
//! `docs/failures.md`, `docs/performance.md`, `docs/cluster.md`, `docs/slurm.md`,
//! `docs/mpi.md`, `docs/security.md` and `docs/testing.md` go deeper, and
//! `ARCHITECTURE.md` shows how rspar works inside.
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]
#![deny(unsafe_code)] // allowed in ffi only, each use with a SAFETY comment

// `#[derive(Plain)]` names `::rspar`, which must resolve in rspar's own tests too.
extern crate self as rspar;

// The facade: the communicator, its point-to-point calls and collectives, starting.
mod collective;
mod comm;
mod init;
mod p2p;
// Under it: the message engine, the environment, observers, the object codec, MPI.
mod backoff;
mod engine;
mod env;
mod fault;
mod ffi;
mod log;
mod trace;
mod watch;
mod wire;
// Leaves.
mod balance;
mod envelope;
mod error;
mod flavour;
mod launch;
mod stderr;
mod threading;
// Built on the facade.
pub mod farm;
pub mod pool;
mod testing;

#[cfg(test)]
mod layering;

pub use balance::balance;
pub use collective::{Loc, Number, Op};
pub use comm::Communicator;
pub use env::{abort, initialized, spawned, wtime, ERROR_EXIT_CODE, PANIC_EXIT_CODE};
pub use envelope::{Any, Source, Status, Tag, DEFAULT_TAG, MAX_TAG};
pub use error::{Error, ErrorKind, Result};
pub use ffi::Plain;
pub use init::{init, Init};
pub use p2p::{ReceiveRequest, Reply, SendRequest, Tagged, WithStatus};
pub use pool::Pool;
pub use threading::Threading;
pub use watch::TIMEOUT_EXIT_CODE;

/// Derive [`Plain`](trait@Plain) for a struct whose fields are all `Plain`, so slices of
/// it travel on the buffer path. The struct must be `Copy`, not generic, and have fields.
///
/// It implements [`Plain`](trait@Plain) and rsmpi's
/// [`Equivalence`](mpi::traits::Equivalence): an MPI struct datatype of the fields at
/// their offsets (padding is never sent), sized to the struct so slices of it have the
/// right stride, made on first use. Do not also derive rsmpi's `Equivalence`.
///
/// ```
/// #[derive(rspar::Plain, Clone, Copy, Debug, Default, PartialEq)]
/// struct Particle {
///     kind: u8,
///     position: [f64; 3],
///     charge: i32,
/// }
///
/// #[derive(rspar::Plain, Clone, Copy)]
/// struct Pair(Particle, [u16; 2]);
/// ```
pub use rspar_macros::Plain;

/// The MPI bindings rspar is built on (rsmpi), for anything rspar does not wrap.
pub use mpi;

/// Run a test on several ranks: plain `cargo test` launches the test binary under the
/// MPI launcher once per rank count in `ranks` (`mpirun -n N`, with the flags rspar's
/// scripts use: oversubscription, Open MPI's run-as-root variables; `RSPAR_MPIRUN`
/// names another launcher), and every rank runs the function with the world.
///
/// ```no_run
/// #[rspar::test(ranks = [1, 2, 3])]
/// fn ring_goes_round(world: &rspar::Communicator) -> rspar::Result<()> {
///     let (rank, size) = (world.rank(), world.size());
///     world.send(&rank, (rank + 1) % size)?;
///     let got: usize = world.receive((rank + size - 1) % size)?;
///     assert_eq!(got, (rank + size - 1) % size);
///     Ok(())
/// }
///
/// #[rspar::test(ranks = [2], timeout = 5)]
/// #[should_panic(expected = "rank 1")]
/// fn fails_on_rank_1(world: &rspar::Communicator) {
///     assert_ne!(world.rank(), 1, "rank 1 fails");
/// }
/// ```
///
/// - The function takes `&rspar::Communicator` and returns `()` or `Result<(), E>` with
///   `E: Debug`. Each rank count is one job, with a time limit of `timeout` seconds
///   (default 60); rspar's watchdog (`RSPAR_TIMEOUT`) is set a little below it, so a
///   rank stuck in an rspar call is named with what it waited for.
/// - A panic, a failed assertion or an `Err` on any rank ends the job and fails the
///   test, with a message that starts `rspar::test: <name> failed on N ranks: rank R of
///   N panicked at <file:line>: <message>` and then every rank's output, each line
///   prefixed `[rank r/n]`. A job that runs out of time fails with `rspar::test: <name>
///   on N ranks timed out after S s`.
/// - `#[should_panic]`, `#[ignore]`, doc comments and name filters work as on `#[test]`:
///   the driver is an ordinary `#[test]`. Jobs of one test binary run one at a time.
/// - It needs nothing in your crate but the dependency on rspar: the test binary
///   launches itself (filtered to the one test, with `RSPAR_TEST` set for its ranks).
///
/// Mistakes are compile errors: no or empty `ranks`, a rank count of 0, an unknown key,
/// a function that does not take the world.
///
/// ```compile_fail
/// #[rspar::test(ranks = [0, 2])] // a job needs at least 1 rank, not 0
/// fn t(world: &rspar::Communicator) {}
/// ```
///
/// ```compile_fail
/// #[rspar::test(ranks = [2], timout = 5)] // unknown key `timout`
/// fn t(world: &rspar::Communicator) {}
/// ```
///
/// ```compile_fail
/// #[rspar::test(ranks = [2])] // takes the world communicator
/// fn t() {}
/// ```
pub use rspar_macros::test;

/// What rspar's macros expand to calls; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::collective::limit_counts;
    pub use crate::ffi::{Derived, Field};

    /// The runtime of `#[rspar::test]`, and the launcher rspar's own test harness uses.
    pub mod test {
        pub use crate::testing::*;
    }
}

/// The names most programs need: `use rspar::prelude::*;` (`Plain` is the trait and its
/// derive).
pub mod prelude {
    pub use crate::{Any, Communicator, Plain, Result, Source, Status, Tag};
}
