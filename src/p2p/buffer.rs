//! The zero-copy buffer path: slices of plain data with an MPI datatype, sent and received
//! by MPI directly, with no serialization (PyPar's "bypass", mpi4py's upper-case methods).
//!
//! The buffer path does not check types: like MPI itself, it checks only that the sizes
//! fit. Receive with the element type that was sent. [`Plain`] (the trait and its derive)
//! lives in `ffi`: MPI sees `T`s flattened to their elements (an array as its numbers).

use std::any::{type_name, TypeId};

use super::tagged::{Dest, Tagged};
use crate::comm::Communicator;
use crate::engine::{Entry, Held, Origin};
use crate::envelope::{Source, Status};
use crate::error::{ErrorKind, Result};
use crate::ffi::{self, Matched, Plain, Received};
use crate::{trace, wire};

impl Tagged<'_> {
    /// Send the elements of `data` to `dest` as one MPI message, with no serialization.
    pub fn send_buffer<T: Plain>(&self, data: &[T], dest: usize) -> Result<()> {
        let bytes = std::mem::size_of_val(data);
        match self.dest(dest)? {
            Dest::Peer(to) => {
                let _wait = trace::sending("send_buffer", dest, to.tag, bytes);
                ffi::send(self.engine().handle(), data, to.rank, to.tag)
            }
            Dest::Myself(tag) => {
                let held = Held::Local(Box::new(data.to_vec()), type_name::<T>());
                self.engine().hold(tag, bytes, held);
                Ok(())
            }
        }
    }

    /// Receive a message of exactly `data.len()` elements into `data`, straight from MPI
    /// (`MPI_Recv`, no copy, no probe). A message of another length is an `Err`, the same
    /// whether it came from another rank or from this one, with or without a timeout:
    /// - shorter: `Err(ShortMessage { capacity, got })`; nothing is received, the message
    ///   stays queued, and a receive into `got` elements (or `receive_buffer`) gets it;
    /// - longer: `Err(Overflow { capacity, got })`; as in MPI (`MPI_ERR_TRUNCATE`) the
    ///   message is received, `data` holds its first `data.len()` elements and the rest
    ///   is lost. (MPI does not promise the start of a message it cut: MPICH may leave
    ///   `data` unwritten when a receive with no timeout took the message straight from
    ///   another rank.) Use `receive_buffer` when lengths vary.
    ///
    /// A message whose size is not a whole number of `T` is `Err(Decode)` and consumed.
    /// An object message read as bytes (`T` = `u8`) is its whole encoding, both parts of
    /// a long one, from any rank.
    ///
    /// After an `Err` other than `Overflow`, the contents of `data` are unspecified.
    /// The message's [`Status`] comes with [`with_status`](Tagged::with_status).
    pub fn receive_buffer_into<T: Plain>(
        &self,
        data: &mut [T],
        source: impl Into<Source>,
    ) -> Result<()> {
        self.receive_into_status(data, source).map(drop)
    }

    /// [`receive_buffer_into`](Self::receive_buffer_into) and the message's status.
    pub(crate) fn receive_into_status<T: Plain>(
        &self,
        data: &mut [T],
        source: impl Into<Source>,
    ) -> Result<Status> {
        let (source, tag) = self.filter(source.into())?;
        let _wait = trace::receiving("receive_buffer_into", source, tag);
        let received = self.receive_slice(data, source, tag);
        if let Ok(status) = &received {
            trace::received("receive_buffer_into", status);
        }
        received
    }

    #[inline]
    fn receive_slice<T: Plain>(
        &self,
        data: &mut [T],
        source: Option<usize>,
        tag: Option<i32>,
    ) -> Result<Status> {
        let engine = self.engine();
        if self.timeout_value().is_some() || engine.any_posted() {
            let (entry, origin) = engine.next(source, tag, self.timeout_value())?;
            let (incoming, status, origin) = self.incoming_as::<T>(entry, origin)?;
            return self.fill(data, incoming, status, origin);
        }
        if let Some((entry, origin)) = engine.take_held(source, tag) {
            let (incoming, status, origin) = self.incoming_as::<T>(entry, origin)?;
            return self.fill(data, incoming, status, origin);
        }
        engine.check_not_self(source, tag)?;
        match ffi::receive_into(engine.handle(), data, source, tag)? {
            Received::Overflow => Err(ErrorKind::Overflow {
                capacity: data.len(),
                got: None,
            }
            .into()),
            Received::Message { status } => match ffi::values_in::<T>(status.bytes) {
                Some(got) if is_split_first(&data[..got]) => {
                    // An object message read as bytes: whole, as from this rank.
                    let first = ffi::bytes_if_u8(&data[..got]).unwrap_or_default().to_vec();
                    let whole = engine.join_rest(first, status)?;
                    let status = Status {
                        bytes: whole.len(),
                        ..status
                    };
                    let whole = values_of_bytes::<T>(whole)
                        .map(Incoming::Local)
                        .ok_or_else(|| not_whole::<T>(status.bytes))?;
                    self.fill(data, whole, status, Origin::mpi(tag))
                }
                Some(got) if got == data.len() => Ok(status),
                Some(got) => {
                    let held = Held::Local(Box::new(data[..got].to_vec()), type_name::<T>());
                    engine.put_back(Entry { status, held }, Origin::mpi(tag));
                    Err(ErrorKind::ShortMessage {
                        capacity: data.len(),
                        got,
                    }
                    .into())
                }
                None => Err(not_whole::<T>(status.bytes)),
            },
        }
    }

    /// Receive a held or matched message into `data`, as a direct receive would: a
    /// shorter one is refused (put back), a longer one fills `data` with its start and
    /// is gone.
    fn fill<T: Plain>(
        &self,
        data: &mut [T],
        incoming: Incoming<T>,
        status: Status,
        origin: Origin,
    ) -> Result<Status> {
        let (capacity, got) = (data.len(), incoming.len());
        if got < capacity {
            let held = incoming.into_held();
            self.engine().put_back(Entry { status, held }, origin);
            return Err(ErrorKind::ShortMessage { capacity, got }.into());
        }
        if got > capacity {
            // Received whole, then cut here: an MPI_Mrecv that truncates aborts the job
            // in MPICH 4.0 (it ignores the communicator's error handler).
            let whole = match incoming {
                Incoming::Matched(matched, _) => matched.receive_vec::<T>()?,
                Incoming::Local(local) => local,
            };
            data.copy_from_slice(&whole[..capacity]);
            let got = Some(got);
            return Err(ErrorKind::Overflow { capacity, got }.into());
        }
        match incoming {
            Incoming::Matched(matched, _) => matched.receive_into(data)?,
            Incoming::Local(local) => data.copy_from_slice(&local),
        }
        Ok(status)
    }

    /// Receive a message of any length as a `Vec<T>`, sized from the message itself (a
    /// matched probe, then the receive): the mirror of [`send_buffer`](Self::send_buffer).
    /// Like the rest of the buffer path it checks sizes, not types: receive with the
    /// element type that was sent. The message's [`Status`] comes with
    /// [`with_status`](Tagged::with_status).
    pub fn receive_buffer<T: Plain>(&self, source: impl Into<Source>) -> Result<Vec<T>> {
        self.receive_buffer_status(source).map(|(v, _)| v)
    }

    /// [`receive_buffer`](Self::receive_buffer) and the message's status.
    pub(crate) fn receive_buffer_status<T: Plain>(
        &self,
        source: impl Into<Source>,
    ) -> Result<(Vec<T>, Status)> {
        let (incoming, status, _) = self.next_incoming::<T>(source.into())?;
        let vec = match incoming {
            Incoming::Matched(matched, _) => matched.receive_vec::<T>()?,
            Incoming::Local(local) => local,
        };
        Ok((vec, status))
    }

    /// The next message for `source` and this tag, as elements of `T`. A message that
    /// cannot be read as `T`s (an object, a buffer of another type sent to self) is
    /// refused: an `Err`, and it stays queued; a size that is not a whole number of `T`
    /// is `Err(Decode)` and consumed, as on every path.
    fn next_incoming<T: Plain>(&self, source: Source) -> Result<(Incoming<T>, Status, Origin)> {
        let (source, tag) = self.filter(source)?;
        let _wait = trace::receiving("receive_buffer", source, tag);
        let (entry, origin) = self.engine().next(source, tag, self.timeout_value())?;
        trace::received("receive_buffer", &entry.status);
        self.incoming_as(entry, origin)
    }

    /// A held or matched message as values of `T`, or refused (see `next_incoming`).
    fn incoming_as<T: Plain>(
        &self,
        entry: Entry,
        origin: Origin,
    ) -> Result<(Incoming<T>, Status, Origin)> {
        let mut status = entry.status;
        let bytes_wanted = TypeId::of::<T>() == TypeId::of::<u8>();
        let held = match entry.held {
            // Like an object message fresh from MPI, a held one reads as its bytes.
            Held::Object(bytes) if bytes_wanted => Held::Local(Box::new(bytes), type_name::<u8>()),
            // A short message read as bytes may be the first part of a split object
            // message: read whole (both parts), as from this rank.
            Held::Matched(matched) if bytes_wanted && status.bytes <= wire::SPLIT_ABOVE => {
                let bytes = self.engine().join(Held::Matched(matched))?;
                status.bytes = bytes.len();
                Held::Local(Box::new(bytes), type_name::<u8>())
            }
            held => held,
        };
        let refused = match held {
            Held::Matched(matched) => match matched.count::<T>() {
                Some(count) => return Ok((Incoming::Matched(matched, count), status, origin)),
                None => {
                    // Undecodable as `T`s: consumed and reported, as a direct receive
                    // does (dropping a matched message receives and discards it).
                    drop(matched);
                    return Err(not_whole::<T>(status.bytes));
                }
            },
            Held::Local(boxed, name) => match boxed.downcast::<Vec<T>>() {
                Ok(local) => return Ok((Incoming::Local(*local), status, origin)),
                Err(boxed) => Held::Local(boxed, name),
            },
            held @ Held::Object(_) => held,
        };
        let found = match &refused {
            Held::Local(_, name) => format!("a buffer of {name}"),
            Held::Object(bytes) => match wire::parse(bytes).and_then(|p| p.sent_type()) {
                Ok(sent) => format!("an object of {sent} (sent with send)"),
                Err(_) => "unreadable bytes".into(),
            },
            Held::Matched(..) => "a buffer".into(),
        };
        self.engine().put_back(
            Entry {
                status,
                held: refused,
            },
            origin,
        );
        Err(ErrorKind::TypeMismatch {
            expected: format!("a buffer of {}", type_name::<T>()),
            found,
        }
        .into())
    }
}

/// True when `data` (just received) is the first part of a split object message read as
/// bytes (`T` is `u8`; for any other `T` this folds to `false`).
#[inline(always)]
fn is_split_first<T: Plain>(data: &[T]) -> bool {
    ffi::bytes_if_u8(data).is_some_and(|bytes| wire::split_payload(bytes).is_some())
}

/// Bytes as values of `T` when `T` is `u8` (the callers checked), else `None`.
fn values_of_bytes<T: Plain>(bytes: Vec<u8>) -> Option<Vec<T>> {
    let boxed: Box<dyn std::any::Any> = Box::new(bytes);
    boxed.downcast::<Vec<T>>().ok().map(|values| *values)
}

fn not_whole<T>(bytes: usize) -> crate::Error {
    ErrorKind::Decode {
        reason: format!(
            "a message of {bytes} bytes is not a whole number of {} ({} bytes each)",
            type_name::<T>(),
            std::mem::size_of::<T>()
        ),
    }
    .into()
}

/// A message readable as values of `T`: matched in MPI (with its count of values), or
/// sent to self.
enum Incoming<T> {
    Matched(Matched, usize),
    Local(Vec<T>),
}

impl<T: Plain> Incoming<T> {
    fn len(&self) -> usize {
        match self {
            Incoming::Matched(_, count) => *count,
            Incoming::Local(local) => local.len(),
        }
    }

    fn into_held(self) -> Held {
        match self {
            Incoming::Matched(matched, _) => Held::Matched(matched),
            Incoming::Local(local) => Held::Local(Box::new(local), type_name::<T>()),
        }
    }
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
    ///         world.receive_buffer_into(&mut data, 0)?;
    ///         assert_eq!(data, [1.0, 2.0, 3.0]);
    ///     }
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    ///
    /// Only [`Plain`] data takes this path; anything else is a compile error, not a
    /// message of bytes MPI would misread. A `String` goes on the object path (`send`):
    ///
    /// ```compile_fail,E0277
    /// let world = rspar::init()?;
    /// world.send_buffer(&[String::from("no")], 0)?; // String is not Plain
    /// # Ok::<(), rspar::Error>(())
    /// ```
    ///
    /// and so does a `bool`, which not every byte is:
    ///
    /// ```compile_fail,E0277
    /// let world = rspar::init()?;
    /// let mut flags = [false; 4];
    /// world.receive_buffer_into(&mut flags, 0)?; // bool is not Plain
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn send_buffer<T: Plain>(&self, data: &[T], dest: usize) -> Result<()> {
        self.default_tag().send_buffer(data, dest)
    }

    /// Receive exactly `data.len()` elements into `data`; see [`Tagged::receive_buffer_into`].
    pub fn receive_buffer_into<T: Plain>(
        &self,
        data: &mut [T],
        source: impl Into<Source>,
    ) -> Result<()> {
        self.default_tag().receive_buffer_into(data, source)
    }

    /// Receive a message of unknown length as a `Vec<T>`; see [`Tagged::receive_buffer`].
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// world.send_buffer(&vec![7u32; 1000], world.rank())?;
    /// let data: Vec<u32> = world.receive_buffer(world.rank())?;
    /// assert_eq!(data.len(), 1000);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn receive_buffer<T: Plain>(&self, source: impl Into<Source>) -> Result<Vec<T>> {
        self.default_tag().receive_buffer(source)
    }
}
