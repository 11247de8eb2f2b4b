//! A worker rank's side of a pool, and the messages between the root and its workers.
//!
//! A worker waits for an order with the sleeping back-off (`backoff::poll_until`), so a
//! worker that has finished leaves its core to the root at once, runs the batch, reports
//! every task's value or failure message, and waits again until the root says stop.

use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::comm::Communicator;
use crate::error::Result;
use crate::wire;

/// The root's rank in the pool's communicator.
pub(crate) const ROOT: usize = 0;
/// Tag of the root's orders.
pub(crate) const ORDER: i32 = 1;
/// Tag of the workers' reports.
pub(crate) const REPORT: i32 = 2;

/// What the root sends a worker: a batch of tasks (their inputs); stop (the pool is
/// closed); or release (the pool shrank: a spawned worker serves no more pools).
#[derive(Serialize, Deserialize)]
pub(crate) enum Order {
    Work(Bundle),
    /// The ranks of a spawned worker's group that serve on (empty for launched ranks).
    Stop(Vec<usize>),
    Release,
}

/// How a worker's service ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    Stopped(Vec<usize>),
    Released,
}

/// Each task's id and its value or failure message: a worker's report once the root
/// has unpacked it, and the root's own results.
pub(crate) type Report<O> = Vec<(u64, std::result::Result<O, String>)>;

/// Values of one type, each encoded on its own, with their task ids: a batch of inputs
/// (root to worker) or of outcomes (worker to root). One value that cannot be encoded
/// or decoded fails its own task and no other, and the bundle itself (ids, offsets,
/// messages, bytes, the values' fingerprint) always encodes and decodes, so the side
/// that receives it always learns which tasks it held.
#[derive(Serialize, Deserialize)]
pub(crate) struct Bundle {
    /// The values' type ([`wire::fingerprint`]): a bundle of another type fails every
    /// task it holds instead of decoding as the wrong one.
    kind: u64,
    /// Each task's id, and the end of its value's bytes in `bytes` or why it has none.
    items: Vec<(u64, std::result::Result<u64, String>)>,
    #[serde(with = "raw")]
    bytes: Vec<u8>,
}

impl Bundle {
    /// Encode each value (`what` names it in messages: input, output); an `Err` stays the task's failure, and so does a value that
    /// cannot be encoded (its message says so).
    pub(crate) fn pack<T: Serialize>(
        what: &str,
        items: impl IntoIterator<Item = (u64, std::result::Result<T, String>)>,
    ) -> Bundle {
        let mut bundle = Bundle {
            kind: wire::fingerprint::<T>(),
            items: Vec::new(),
            bytes: Vec::new(),
        };
        for (id, item) in items {
            let end = item.and_then(|value| {
                wire::encode_bare_into(&value, &mut bundle.bytes)
                    .map(|()| bundle.bytes.len() as u64)
                    .map_err(|err| format!("its {what} cannot be encoded: {err}"))
            });
            bundle.items.push((id, end));
        }
        bundle
    }

    /// Take out the tasks that have no value (their failure messages).
    pub(crate) fn take_failures(&mut self) -> Vec<(u64, String)> {
        let mut failures = Vec::new();
        self.items.retain_mut(|(id, item)| match item {
            Ok(_) => true,
            Err(message) => {
                failures.push((*id, std::mem::take(message)));
                false
            }
        });
        failures
    }

    /// The task ids it holds, in order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.items.iter().map(|(id, _)| *id)
    }

    /// Decode each value; one that cannot be decoded as a `T` is its task's failure.
    pub(crate) fn unpack<T: DeserializeOwned>(self, what: &str) -> Report<T> {
        let wrong_kind = (self.kind != wire::fingerprint::<T>()).then(|| {
            format!(
                "its {what} was sent as another type than {} (do all ranks run the same program?)",
                std::any::type_name::<T>()
            )
        });
        let mut start = 0usize;
        let bytes = self.bytes;
        self.items
            .into_iter()
            .map(|(id, end)| {
                let outcome = end.and_then(|end| {
                    let range = usize::try_from(end)
                        .ok()
                        .filter(|&end| end >= start && end <= bytes.len())
                        .map(|end| start..end);
                    let Some(range) = range else {
                        return Err(format!("its {what}'s bytes are out of bounds"));
                    };
                    start = range.end;
                    if let Some(message) = &wrong_kind {
                        return Err(message.clone());
                    }
                    wire::decode_bare(&bytes[range])
                        .map_err(|err| format!("its {what} cannot be decoded: {err}"))
                });
                (id, outcome)
            })
            .collect()
    }
}

/// Serde for a `Vec<u8>` as one block of bytes (bincode copies it whole rather than
/// one element at a time).
mod raw {
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(Bytes)
    }

    struct Bytes;

    impl serde::de::Visitor<'_> for Bytes {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("bytes")
        }

        fn visit_bytes<E>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
            Ok(bytes.to_vec())
        }

        fn visit_byte_buf<E>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(bytes)
        }
    }
}

/// A worker's wait for its next order: polls (a blocking MPI receive would spin on the
/// core the root may need).
fn wait_for_order(comm: &Communicator) -> Result<Order> {
    let mut request = comm.tag(ORDER).ireceive::<Order>(ROOT);
    let _wait = crate::trace::receiving("pool (worker waiting for work)", Some(ROOT), Some(ORDER));
    let order = crate::backoff::poll_until(None, || request.test())?
        .expect("with no limit, poll_until returns only what it found");
    Ok(order)
}

/// Serve batches until the root says stop or release.
pub(crate) fn serve<I, O>(
    comm: &Communicator,
    f: &dyn Fn(I) -> std::result::Result<O, String>,
) -> Result<Ended>
where
    I: DeserializeOwned,
    O: Serialize,
{
    loop {
        let batch = match wait_for_order(comm)? {
            Order::Work(batch) => batch,
            Order::Stop(active) => return Ok(Ended::Stopped(active)),
            Order::Release => return Ok(Ended::Released),
        };
        // An input that does not decode, or an output that does not encode, fails its
        // own task, not the batch or the pool.
        let outcomes = batch
            .unpack::<I>("input")
            .into_iter()
            .map(|(id, input)| (id, input.and_then(|input| run_task(f, input))));
        let bytes = wire::encode(&Bundle::pack("output", outcomes))?;
        comm.tag(REPORT).send_encoded(bytes, ROOT)?;
    }
}

/// Run one task; a panic becomes the failure message (an `Err` already is one).
pub(crate) fn run_task<I, O>(
    f: &dyn Fn(I) -> std::result::Result<O, String>,
    input: I,
) -> std::result::Result<O, String> {
    match crate::env::catch_task_panic(|| f(input)) {
        Ok(outcome) => outcome,
        Err(panic) => Err(format!("panicked: {panic}")),
    }
}

/// The user's fallible function as the pool stores it: its `Err` as text.
pub(crate) fn boxed<'f, I, O, E, F>(
    f: F,
) -> Box<dyn Fn(I) -> std::result::Result<O, String> + Sync + 'f>
where
    E: Display,
    F: Fn(I) -> std::result::Result<O, E> + Sync + 'f,
{
    Box::new(move |input| f(input).map_err(|err| err.to_string()))
}
