//! [`Communicator`]: a group of ranks that talk to each other; the world is one.

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::Communicator as _;

use crate::env::{Env, Threading};
use crate::envelope::Tag;
use crate::error::{ErrorKind, Result};
use crate::p2p::Tagged;
use crate::pending::Pending;

/// A group of ranks that exchange messages: the world from [`init`](crate::init), or a
/// communicator made from it. Point-to-point calls live in `p2p` (objects) and `buffer`
/// (plain data) and are methods of this type.
///
/// ```no_run
/// let world = rspar::init()?;
/// println!("I am rank {} of {} on {}", world.rank(), world.size(), world.processor_name());
/// world.barrier()?;
/// # Ok::<(), rspar::Error>(())
/// ```
pub struct Communicator {
    // Field order is drop order: held messages are received before the communicator is
    // freed, and MPI is finalized (when this holds the last `Env`) last of all.
    pending: RefCell<Pending>,
    // The communicator the user sees (`raw()`); rspar sends nothing on it.
    raw: SimpleCommunicator,
    // A private duplicate for rspar's point-to-point messages, whose MPI error handler
    // returns error codes (a message longer than a receive buffer is an `Err`, not an
    // abort of the job).
    p2p: SimpleCommunicator,
    // A private duplicate for rspar's collectives, so their traffic can never match or be
    // matched by a point-to-point message.
    lib: SimpleCommunicator,
    // Where object messages land: received straight into it, decoded from it.
    landing: RefCell<Vec<u8>>,
    // Where small objects are encoded before sending; reused, so sends do not allocate.
    scratch: RefCell<Vec<u8>>,
    rank: usize,
    size: usize,
    env: Rc<Env>,
}

impl Communicator {
    pub(crate) fn new(raw: SimpleCommunicator, env: Rc<Env>) -> Communicator {
        let p2p = raw.duplicate();
        crate::ffi::errors_return(&p2p);
        Communicator {
            pending: RefCell::default(),
            rank: raw.rank() as usize,
            size: raw.size() as usize,
            p2p,
            lib: raw.duplicate(),
            raw,
            landing: RefCell::default(),
            scratch: RefCell::default(),
            env,
        }
    }

    /// A new communicator with the same ranks and a separate message space: messages on
    /// one never match receives on the other. Every rank must call it.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let library = world.duplicate()?;
    /// assert_eq!(library.size(), world.size());
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn duplicate(&self) -> Result<Communicator> {
        Ok(Communicator::new(
            self.raw.duplicate(),
            Rc::clone(&self.env),
        ))
    }

    /// Split into sub-communicators: ranks that give the same `color` form one, ordered
    /// by `key` (ties by rank). A rank that gives `None` joins none and gets `None`.
    /// Every rank must call it.
    ///
    /// ```no_run
    /// // Rows of a process grid with 2 columns.
    /// let world = rspar::init()?;
    /// let row = world.split(Some(world.rank() as u32 / 2), world.rank() as i32)?.unwrap();
    /// assert!(row.size() <= 2);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn split(&self, color: Option<u32>, key: i32) -> Result<Option<Communicator>> {
        let color = match color {
            Some(c) => Color::with_value(
                i32::try_from(c).map_err(|_| ErrorKind::InvalidColor { color: c })?,
            ),
            None => Color::undefined(),
        };
        Ok(self
            .raw
            .split_by_color_with_key(color, key)
            .map(|raw| Communicator::new(raw, Rc::clone(&self.env))))
    }

    /// This process's rank: `0..size()`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// How many ranks the communicator has.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The name of the node this rank runs on (`MPI_Get_processor_name`).
    pub fn processor_name(&self) -> String {
        mpi::environment::processor_name()
            .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
    }

    /// The thread level MPI granted.
    pub fn threading(&self) -> Threading {
        self.env.threading
    }

    /// Wait until every rank of the communicator has called `barrier`.
    pub fn barrier(&self) -> Result<()> {
        let _wait = crate::watch::collective("barrier", None);
        mpi::traits::CommunicatorCollectives::barrier(&self.raw);
        Ok(())
    }

    /// End the whole MPI job with exit code `code` (`MPI_Abort`), after printing
    /// `rspar: rank <r> of <n> called abort(<code>)` to stderr; the same as
    /// [`rspar::abort`](crate::abort).
    pub fn abort(&self, code: i32) -> ! {
        crate::env::abort(code)
    }

    /// A view of this communicator whose sends and receives use `tag` (a value in
    /// `0..=MAX_TAG`, or [`Any`](crate::Any) for receives). Calls on the communicator
    /// itself use [`DEFAULT_TAG`](crate::DEFAULT_TAG).
    ///
    /// ```no_run
    /// use rspar::Any;
    /// let world = rspar::init()?;
    /// if world.rank() == 0 {
    ///     world.tag(7).send(&"urgent", world.size() - 1)?;
    /// }
    /// if world.rank() == world.size() - 1 {
    ///     let text: String = world.tag(7).receive(Any)?;
    ///     assert_eq!(text, "urgent");
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn tag(&self, tag: impl Into<Tag>) -> Tagged<'_> {
        Tagged::new(self, tag.into())
    }

    /// Finalize MPI now, consuming the world. Dropping the last communicator does the
    /// same; `finalize` also reports when other communicators still hold MPI open.
    pub fn finalize(self) -> Result<()> {
        self.env.request_finalize();
        let others = Rc::strong_count(&self.env) - 1;
        drop(self);
        if others > 0 {
            return Err(ErrorKind::InUse { others }.into());
        }
        Ok(())
    }

    /// `rank` as an MPI rank of this communicator, or `Err(InvalidRank)`.
    #[inline]
    pub(crate) fn check_rank(&self, rank: usize) -> Result<i32> {
        if rank < self.size {
            Ok(rank as i32)
        } else {
            Err(invalid_rank(rank, self.size))
        }
    }

    /// The rsmpi communicator underneath, for MPI calls rspar does not wrap (through the
    /// re-exported [`mpi`](crate::mpi) crate). rspar's own messages travel on private
    /// duplicates of it, so raw MPI traffic on it and rspar's traffic never mix.
    ///
    /// ```no_run
    /// use rspar::mpi::traits::Communicator as _;
    /// let world = rspar::init()?;
    /// assert_eq!(world.raw().size() as usize, world.size());
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn raw(&self) -> &SimpleCommunicator {
        &self.raw
    }

    /// The private communicator for rspar's point-to-point messages (errors return).
    pub(crate) fn p2p(&self) -> &SimpleCommunicator {
        &self.p2p
    }

    /// The private communicator for rspar's collectives.
    pub(crate) fn lib(&self) -> &SimpleCommunicator {
        &self.lib
    }

    /// The landing buffer of object messages, `len` bytes long (allocated on first use).
    pub(crate) fn landing(&self, len: usize) -> RefMut<'_, Vec<u8>> {
        let mut landing = self.landing.borrow_mut();
        if landing.len() < len {
            landing.resize(len, 0);
        }
        landing
    }

    /// The reusable encode buffer of sends.
    pub(crate) fn scratch(&self) -> RefMut<'_, Vec<u8>> {
        self.scratch.borrow_mut()
    }

    #[inline]
    pub(crate) fn pending(&self) -> RefMut<'_, Pending> {
        self.pending.borrow_mut()
    }
}

#[cold]
fn invalid_rank(rank: usize, size: usize) -> crate::Error {
    ErrorKind::InvalidRank { rank, size }.into()
}

impl std::fmt::Debug for Communicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Communicator")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}
