//! The message engine: everything between a communicator's point-to-point calls and MPI.
//!
//! One [`Engine`] per communicator owns the private point-to-point copy (errors
//! returned), the held messages (`held`: refused ones and sends to self, and the matching
//! of a receive against them and MPI), the landing buffer object messages are received
//! into, the scratch buffer small objects are encoded into, and the two-part (split)
//! protocol of long object messages (`split`, the one file that knows it), and the
//! pending nonblocking receives, which match in posting order (`posted`). `object`
//! sends and receives object messages as bytes, decoded with `wire`.
//!
//! The engine names nothing of the public facade (`Communicator`, `Tagged`, the views):
//! the facade checks a call's arguments (its one preamble, `p2p::tagged`), then hands
//! the engine MPI ranks and tags. Its callers: `p2p` (objects, buffers, nonblocking)
//! and, through `Tagged`, the pool.

mod held;
mod introduced;
mod object;
mod posted;
mod split;

use std::cell::{Cell, RefCell, RefMut};
use std::rc::Rc;

use crate::ffi::{self, Handle};
use crate::threading::Threading;

pub(crate) use held::{Entry, Held, Origin};

/// The send scratch and landing buffers are kept between calls up to this size.
const BUFFER_KEEP: usize = 16 << 20;

/// Where a checked send goes: another rank of the communicator, with a tag in range
/// (the facade's preamble made both; a send to one's own rank is held instead).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    pub(crate) rank: i32,
    pub(crate) tag: i32,
}

impl Peer {
    /// The rank as an index, for traces and errors.
    #[inline]
    pub(crate) fn dest(self) -> usize {
        self.rank as usize
    }
}

/// The point-to-point state of one communicator.
pub(crate) struct Engine {
    // Field order is drop order: held messages are received (discarded) before the
    // point-to-point copy is freed.
    held: RefCell<held::Queue>,
    // Pending nonblocking receives, in posting order, and messages matched for them;
    // `any_posted` is true while one is pending (the blocking receives' one test).
    posted: RefCell<posted::Posted>,
    any_posted: Cell<bool>,
    // The private copy for rspar's point-to-point messages (`MPI_ERRORS_RETURN`), held
    // so it lives as long; `handle` is its raw handle, for the hot path.
    _p2p: Rc<Handle>,
    handle: ffi::Comm,
    // Where object messages land: received straight into it, decoded from it.
    landing: RefCell<Vec<u8>>,
    // Where small objects are encoded before sending; reused, so sends do not allocate.
    scratch: RefCell<Vec<u8>>,
    rank: usize,
    // True when other threads may send to this rank while it waits for itself.
    threads_share: bool,
    // The ranks that have the names of the types this engine sent them (last: 512 bytes
    // that the other fields' cache lines need not share).
    introduced: introduced::Introduced,
}

impl Engine {
    /// The engine over the point-to-point copy `p2p`, for this process's `rank` in it.
    pub(crate) fn new(p2p: Rc<Handle>, rank: usize, threading: Threading) -> Engine {
        Engine {
            held: RefCell::default(),
            posted: RefCell::default(),
            any_posted: Cell::new(false),
            handle: ffi::Comm::of(&p2p),
            _p2p: p2p,
            landing: RefCell::default(),
            scratch: RefCell::default(),
            introduced: Default::default(),
            rank,
            threads_share: threading >= Threading::Multiple,
        }
    }

    /// The raw handle of the point-to-point copy.
    #[inline]
    pub(crate) fn handle(&self) -> ffi::Comm {
        self.handle
    }

    /// The landing buffer of object messages, `len` bytes long (allocated on first use).
    #[inline]
    fn landing(&self, len: usize) -> RefMut<'_, Vec<u8>> {
        let mut landing = self.landing.borrow_mut();
        if landing.len() < len {
            landing.resize(len, 0);
        }
        landing
    }

    /// The reusable encode buffer of sends.
    #[inline]
    fn scratch(&self) -> RefMut<'_, Vec<u8>> {
        self.scratch.borrow_mut()
    }
}

/// A buffer grown past [`BUFFER_KEEP`] by one long message is not kept.
#[inline]
fn trim(buffer: &mut Vec<u8>) {
    if buffer.len() > BUFFER_KEEP {
        *buffer = Vec::new();
    }
}
