//! The zero-copy buffer path: slices of plain data with an MPI datatype, sent and received
//! by MPI directly, with no serialization (PyPar's "bypass", mpi4py's upper-case methods).
//!
//! The buffer path does not check types: like MPI itself, it checks only that the sizes
//! fit. Receive with the element type that was sent.

use std::any::type_name;

use mpi::traits::{Communicator as _, Destination as _, Equivalence, MatchedReceiveVec};

use crate::comm::Communicator;
use crate::envelope::{Source, Status};
use crate::error::{ErrorKind, Result};
use crate::p2p::{check_count, Tagged};
use crate::pending::{self, Entry, Held, Origin};
use crate::wire;

/// Plain data the buffer path can carry: any `Copy` type with an MPI datatype: the
/// numbers, `bool`, arrays of them, and your own structs through
/// `#[derive(Equivalence)]`.
///
/// ```
/// use rspar::mpi::traits::Equivalence;
///
/// #[derive(Equivalence, Clone, Copy, Debug, PartialEq)]
/// #[mpi(crate = "::rspar::mpi")]
/// struct Particle { position: [f64; 3], charge: i32 }
///
/// fn needs_plain<T: rspar::Plain>() {}
/// needs_plain::<Particle>();
/// needs_plain::<f64>();
/// ```
pub trait Plain: Equivalence + Copy + 'static {}

impl<T: Equivalence + Copy + 'static> Plain for T {}

impl Tagged<'_> {
    /// Send the elements of `data` to `dest` as one MPI message, with no serialization.
    pub fn send_buffer<T: Plain>(&self, data: &[T], dest: usize) -> Result<()> {
        let comm = self.comm();
        let dest_rank = comm.check_rank(dest)?;
        let tag = self.tag_value().for_send()?;
        check_count(data.len())?;
        if dest == comm.rank() {
            let status = Status {
                source: dest,
                tag,
                bytes: std::mem::size_of_val(data),
            };
            let held = Held::Local(Box::new(data.to_vec()), type_name::<T>());
            comm.pending().push(Entry { status, held });
        } else {
            comm.raw()
                .process_at_rank(dest_rank)
                .send_with_tag(data, tag);
        }
        Ok(())
    }

    /// Receive a message of exactly `data.len()` elements into `data`. A message of
    /// another length is `Err(Truncated { expected, got })` and stays queued.
    pub fn receive_buffer<T: Plain>(
        &self,
        data: &mut [T],
        source: impl Into<Source>,
    ) -> Result<Status> {
        let (source, tag) = self.filter(source.into())?;
        let (entry, origin) = pending::next(self.comm(), source, tag)?;
        let status = entry.status;
        match entry.held {
            Held::Matched(message, mpi_status) => {
                let got = element_count::<T>(&mpi_status);
                if got != Some(data.len()) {
                    let got = got.unwrap_or(status.bytes / std::mem::size_of::<T>().max(1));
                    let held = Held::Matched(message, mpi_status);
                    return self.refuse(Entry { status, held }, origin, data.len(), got);
                }
                message.matched_receive_into(data);
                Ok(status)
            }
            Held::Local(boxed, name) => match boxed.downcast::<Vec<T>>() {
                Ok(elements) if elements.len() == data.len() => {
                    data.copy_from_slice(&elements);
                    Ok(status)
                }
                Ok(elements) => {
                    let got = elements.len();
                    let held = Held::Local(elements, name);
                    self.refuse(Entry { status, held }, origin, data.len(), got)
                }
                Err(boxed) => self.mismatch::<T, _>(
                    Entry {
                        status,
                        held: Held::Local(boxed, name),
                    },
                    origin,
                ),
            },
            held @ Held::Object(_) => self.mismatch::<T, _>(Entry { status, held }, origin),
        }
    }

    /// Receive a message of any length as a `Vec<T>`, sized from the message itself.
    pub fn receive_vec<T: Plain>(&self, source: impl Into<Source>) -> Result<Vec<T>> {
        self.receive_vec_with_status(source).map(|(v, _)| v)
    }

    /// Receive a message of any length as a `Vec<T>`, with its [`Status`].
    pub fn receive_vec_with_status<T: Plain>(
        &self,
        source: impl Into<Source>,
    ) -> Result<(Vec<T>, Status)> {
        let (source, tag) = self.filter(source.into())?;
        let (entry, origin) = pending::next(self.comm(), source, tag)?;
        let status = entry.status;
        match entry.held {
            Held::Matched(message, mpi_status) => {
                if element_count::<T>(&mpi_status).is_none() {
                    let element = std::mem::size_of::<T>();
                    let held = Held::Matched(message, mpi_status);
                    self.comm()
                        .pending()
                        .put_back(Entry { status, held }, origin);
                    return Err(ErrorKind::Decode {
                        reason: format!(
                            "a message of {} bytes is not a whole number of {} ({element} bytes each)",
                            status.bytes,
                            type_name::<T>()
                        ),
                    }
                    .into());
                }
                let (elements, _) = (message, mpi_status).matched_receive_vec::<T>();
                Ok((elements, status))
            }
            Held::Local(boxed, name) => match boxed.downcast::<Vec<T>>() {
                Ok(elements) => Ok((*elements, status)),
                Err(boxed) => self.mismatch::<T, _>(
                    Entry {
                        status,
                        held: Held::Local(boxed, name),
                    },
                    origin,
                ),
            },
            held @ Held::Object(_) => self.mismatch::<T, _>(Entry { status, held }, origin),
        }
    }

    fn refuse<R>(&self, entry: Entry, origin: Origin, expected: usize, got: usize) -> Result<R> {
        self.comm().pending().put_back(entry, origin);
        Err(ErrorKind::Truncated { expected, got }.into())
    }

    fn mismatch<T, R>(&self, entry: Entry, origin: Origin) -> Result<R> {
        let found = match &entry.held {
            Held::Local(_, name) => format!("a buffer of {name}"),
            Held::Object(bytes) => match wire::parse(bytes) {
                Ok(parsed) => format!("an object of {} (sent with send)", parsed.type_name),
                Err(_) => "unreadable bytes".into(),
            },
            Held::Matched(..) => "a buffer".into(),
        };
        self.comm().pending().put_back(entry, origin);
        Err(ErrorKind::TypeMismatch {
            expected: format!("a buffer of {}", type_name::<T>()),
            found,
        }
        .into())
    }
}

/// How many `T` a matched message holds, `None` if not a whole number.
fn element_count<T: Plain>(mpi_status: &mpi::point_to_point::Status) -> Option<usize> {
    usize::try_from(mpi_status.count(T::equivalent_datatype())).ok()
}

/// The buffer path on the communicator itself, with the default tag.
impl Communicator {
    /// Send a slice of plain data to `dest`, zero-copy; see [`Tagged::send_buffer`].
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// if world.size() > 1 {
    ///     if world.rank() == 0 {
    ///         world.send_buffer(&[1.0f64, 2.0, 3.0], 1)?;
    ///     } else if world.rank() == 1 {
    ///         let mut data = [0.0f64; 3];
    ///         world.receive_buffer(&mut data, 0)?;
    ///         assert_eq!(data, [1.0, 2.0, 3.0]);
    ///     }
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn send_buffer<T: Plain>(&self, data: &[T], dest: usize) -> Result<()> {
        self.tag(crate::DEFAULT_TAG).send_buffer(data, dest)
    }

    /// Receive exactly `data.len()` elements into `data`; see [`Tagged::receive_buffer`].
    pub fn receive_buffer<T: Plain>(
        &self,
        data: &mut [T],
        source: impl Into<Source>,
    ) -> Result<Status> {
        self.tag(crate::DEFAULT_TAG).receive_buffer(data, source)
    }

    /// Receive a message of unknown length as a `Vec<T>`; see [`Tagged::receive_vec`].
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// world.send_buffer(&vec![7u32; 1000], world.rank())?;
    /// let data: Vec<u32> = world.receive_vec(world.rank())?;
    /// assert_eq!(data.len(), 1000);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn receive_vec<T: Plain>(&self, source: impl Into<Source>) -> Result<Vec<T>> {
        self.tag(crate::DEFAULT_TAG).receive_vec(source)
    }

    /// Receive a `Vec<T>` of unknown length and its [`Status`].
    pub fn receive_vec_with_status<T: Plain>(
        &self,
        source: impl Into<Source>,
    ) -> Result<(Vec<T>, Status)> {
        self.tag(crate::DEFAULT_TAG).receive_vec_with_status(source)
    }
}
