//! The one way a receive reports the [`Status`] of its message: the [`WithStatus`] view.
//!
//! Every receive returns only what it received; the same receive through
//! `with_status()` returns that and the status. Nothing here receives by itself: each
//! call is the [`Tagged`] call of the same name, with the status kept.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::nonblocking::ReceiveRequest;
use super::tagged::Tagged;
use crate::envelope::{Source, Status};
use crate::error::Result;
use crate::ffi::Plain;

/// A view whose receives return the [`Status`] of their message (source, tag, size) with
/// what they received; made by [`Communicator::with_status`](crate::Communicator::with_status)
/// or [`Tagged::with_status`], last in a chain such as
/// `world.tag(Any).timeout(limit).with_status()`. It has the receives of [`Tagged`], with
/// the same arguments, tag and timeout, and nothing else.
///
/// ```no_run
/// use rspar::Any;
/// let world = rspar::init()?;
/// world.tag(7).send(&"urgent", world.rank())?;
/// let (text, status) = world.tag(Any).with_status().receive::<String>(Any)?;
/// assert_eq!((text.as_str(), status.tag), ("urgent", 7));
/// # Ok::<(), rspar::Error>(())
/// ```
///
/// Like every view it borrows its communicator, so it cannot outlive it:
///
/// ```compile_fail,E0505
/// let world = rspar::init()?;
/// let view = world.with_status();
/// drop(world); // the world is still borrowed by `view`
/// let (n, _) = view.receive::<u64>(0)?;
/// # Ok::<(), rspar::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WithStatus<'c> {
    view: Tagged<'c>,
}

impl<'c> Tagged<'c> {
    /// The same view whose receives return the [`Status`] of their message too; see
    /// [`WithStatus`].
    pub fn with_status(self) -> WithStatus<'c> {
        WithStatus { view: self }
    }
}

impl<'c> WithStatus<'c> {
    /// [`Tagged::receive`], and the message's status.
    pub fn receive<T: DeserializeOwned>(&self, source: impl Into<Source>) -> Result<(T, Status)> {
        self.view.receive_status(source)
    }

    /// [`Tagged::sendrecv`], and the received message's status.
    pub fn sendrecv<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        value: &T,
        dest: usize,
        source: impl Into<Source>,
    ) -> Result<(R, Status)> {
        self.view.sendrecv_status(value, dest, source)
    }

    /// [`Tagged::receive_buffer`], and the message's status.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// world.send_buffer(&[1.5f64; 4], world.rank())?;
    /// let (data, status) = world.with_status().receive_buffer::<f64>(world.rank())?;
    /// assert_eq!((data.len(), status.bytes), (4, 32));
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn receive_buffer<T: Plain>(&self, source: impl Into<Source>) -> Result<(Vec<T>, Status)> {
        self.view.receive_buffer_status(source)
    }

    /// [`Tagged::receive_buffer_into`], and the message's status.
    pub fn receive_buffer_into<T: Plain>(
        &self,
        data: &mut [T],
        source: impl Into<Source>,
    ) -> Result<Status> {
        self.view.receive_into_status(data, source)
    }

    /// [`Tagged::ireceive`]: a request whose `wait` and `test` give the value and its
    /// status, `(T, Status)`.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// world.tag(3).send(&9u8, world.rank())?;
    /// let incoming = world.tag(rspar::Any).with_status().ireceive::<u8>(world.rank());
    /// let (n, status) = incoming.wait()?;
    /// assert_eq!((n, status.tag), (9, 3));
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn ireceive<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
    ) -> ReceiveRequest<'c, T, Status> {
        self.view.request(source.into())
    }
}
