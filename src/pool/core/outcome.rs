//! A task's outcome on the root: a failure with retries left goes back in the queue
//! (its input decoded again from the copy kept for retries), anything else is the
//! task's last outcome (`conclude`), which its owner takes or, if its owner dropped it,
//! nobody keeps.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Core, State};
use crate::wire;

impl<I, O> Core<'_, I, O>
where
    I: Serialize + DeserializeOwned + Send,
    O: Serialize + DeserializeOwned + Send,
{
    /// Record one task's outcome from worker `rank` (its id; the root is 0): a failure
    /// with retries left goes back in the queue.
    pub(super) fn finish(&mut self, id: u64, outcome: std::result::Result<O, String>, rank: usize) {
        self.ran[rank] += 1;
        let outcome = match outcome {
            Ok(value) => Ok(value),
            Err(message) => match self.retry(id) {
                Ok(()) => return,
                Err(None) => Err((rank, message)),
                Err(Some(why)) => Err((rank, format!("{message} (not retried: {why})"))),
            },
        };
        self.conclude(id, outcome);
    }

    /// Queue failed task `id` again if it has retries left: `Err(None)` when it has
    /// none, `Err(Some(why))` when its input cannot be had again.
    fn retry(&mut self, id: u64) -> std::result::Result<(), Option<String>> {
        let retries = self.retries;
        let Some(slot) = self.slot(id) else {
            return Err(None);
        };
        if slot.tries >= retries || slot.detached {
            return Err(None);
        }
        let input = match self.keep.get(&id).map(|bytes| wire::decode::<I>(bytes)) {
            Some(Ok(input)) => input,
            Some(Err(err)) => return Err(Some(format!("its input cannot be decoded: {err}"))),
            None => return Err(Some("its input cannot be encoded".to_string())),
        };
        let slot = self.slot_mut(id).expect("a task with a slot");
        slot.tries += 1;
        slot.state = State::Queued;
        self.queue.push_back((id, input));
        Ok(())
    }

    /// The task's last outcome: done (its value, or the rank and message of its
    /// failure), or gone if its owner dropped it.
    pub(super) fn conclude(&mut self, id: u64, outcome: std::result::Result<O, (usize, String)>) {
        if self.retries > 0 {
            self.keep.remove(&id);
        }
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        if slot.detached {
            slot.state = State::Gone;
        } else {
            slot.state = State::Done(outcome);
            if let Some(stream) = slot.notify {
                self.finished.entry(stream).or_default().push_back(id);
            }
        }
        self.trim();
    }
}
