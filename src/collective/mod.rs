//! Collectives, methods of `Communicator`: the one agreement protocol on counts and
//! failures (`agree`), the object path (`object`: broadcast, scatter, gather,
//! all-gather, all-to-all, print_ordered), object reductions with closures (`reduce`),
//! the buffer path on MPI's own collectives (`buffer`) and its operations (`op`). All run
//! on the communicator's private copy for collectives.

mod agree;
mod buffer;
mod object;
mod op;
mod reduce;

pub use agree::limit_counts;
pub use op::{Loc, Number, Op};
