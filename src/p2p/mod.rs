//! Point-to-point calls, the public facade over the message engine: the [`Tagged`] view
//! and its one checked preamble (`tagged`), the object path (`object`), the buffer path
//! (`buffer`), nonblocking requests (`nonblocking`) and the [`WithStatus`] view
//! (`with_status`). Every call is a method of `Communicator` (default tag) and of
//! `Tagged`; each checks its arguments, traces its wait, and hands the engine
//! (`crate::engine`) ranks and tags.

mod buffer;
mod nonblocking;
mod object;
mod tagged;
mod with_status;

pub use nonblocking::{ReceiveRequest, Reply, SendRequest};
pub use tagged::Tagged;
pub use with_status::WithStatus;
