//! Collectives on any serde type: the object path.
//!
//! Each value is encoded by `wire` and the bytes move with MPI's own collectives on the
//! communicator's private copy for collectives. Sizes go first, by the agreement of
//! `agree` (a broadcast, all-gather or all-to-all of byte counts, `FAILED` from a rank
//! that cannot take part), so every rank that needs a size knows it before any byte
//! moves, and every rank returns an `Err` when one could not take part.

use mpi::datatype::{Partition, PartitionMut};
use mpi::traits::{Communicator as _, CommunicatorCollectives, Root};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::agree::{
    agree_on, announce, check_count, displacements, failure, first_failed, too_large, total, FAILED,
};
use crate::comm::Communicator;
use crate::error::{ErrorKind, Result};
use crate::{ffi, trace, wire};

impl Communicator {
    /// Every rank gets the root's `value` (PyPar: `x = broadcast(x, root)`); the values
    /// other ranks pass are ignored.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let mut config = String::new();
    /// if world.rank() == 0 {
    ///     config = "iterations=10".into();
    /// }
    /// let config = world.broadcast(&config, 0)?;
    /// assert_eq!(config, "iterations=10");
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn broadcast<T: Serialize + DeserializeOwned>(&self, value: &T, root: usize) -> Result<T> {
        self.usable("broadcast")?;
        let _wait = trace::in_collective("broadcast", Some(root));
        let root_rank = self.check_rank(root)?;
        // Any size: `ffi::broadcast` carries counts beyond an `int`.
        let mine = (self.rank() == root).then(|| wire::encode(value));
        let mut len = [announce(&mine)];
        ffi::broadcast(self.collectives_handle(), &mut len, root_rank)?;
        if len[0] == FAILED {
            return Err(failure(mine, root));
        }
        let mut bytes = match mine {
            Some(Ok(bytes)) => bytes,
            _ => vec![0u8; usize::try_from(len[0]).map_err(|_| too_large(len[0]))?],
        };
        ffi::broadcast(self.collectives_handle(), &mut bytes, root_rank)?;
        wire::decode(&bytes)
    }

    /// The root's `values[i]` goes to rank `i`; `values` must have one item per rank at
    /// the root and is ignored elsewhere (pass `&[]`).
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let work: Vec<String> = (0..world.size()).map(|i| format!("task {i}")).collect();
    /// let mine: String = world.scatter(if world.rank() == 0 { &work } else { &[] }, 0)?;
    /// assert_eq!(mine, format!("task {}", world.rank()));
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn scatter<T: Serialize + DeserializeOwned>(&self, values: &[T], root: usize) -> Result<T> {
        self.usable("scatter")?;
        let _wait = trace::in_collective("scatter", Some(root));
        let root_process = self.collectives().process_at_rank(self.check_rank(root)?);
        let size = self.size();
        let mine = (self.rank() == root).then(|| {
            if values.len() != size {
                return Err(ErrorKind::Count {
                    expected: size,
                    got: values.len(),
                }
                .into());
            }
            encode_many(values)
        });
        let mut counts = match &mine {
            Some(Ok((_, counts))) => counts.clone(),
            _ => vec![FAILED; size],
        };
        root_process.broadcast_into(&mut counts[..]);
        self.collective_outcome("MPI_Bcast")?;
        if counts[0] == FAILED {
            return Err(failure(mine.map(|m| m.map(|(b, _)| b)), root));
        }
        let (counts, displs) = displacements(&counts)?;
        let mut bytes = vec![0u8; counts[self.rank()] as usize];
        match mine {
            Some(Ok((all, _))) => {
                let partition = Partition::new(&all[..], &counts[..], &displs[..]);
                root_process.scatter_varcount_into_root(&partition, &mut bytes[..]);
            }
            _ => root_process.scatter_varcount_into(&mut bytes[..]),
        }
        self.collective_outcome("MPI_Scatterv")?;
        wire::decode(&bytes)
    }

    /// The root gets every rank's `value`, in rank order (`Some`); other ranks get `None`.
    /// Values may differ in size from rank to rank.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let names = world.gather(&world.processor_name(), 0)?;
    /// if let Some(names) = names {
    ///     println!("{} ranks on {:?}", names.len(), names);
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn gather<T: Serialize + DeserializeOwned>(
        &self,
        value: &T,
        root: usize,
    ) -> Result<Option<Vec<T>>> {
        self.usable("gather")?;
        let _wait = trace::in_collective("gather", Some(root));
        let root_process = self.collectives().process_at_rank(self.check_rank(root)?);
        let (mine, counts) = self.share_counts(value)?;
        let (counts, displs) = displacements(&counts)?;
        if self.rank() != root {
            root_process.gather_varcount_into(&mine[..]);
            self.collective_outcome("MPI_Gatherv")?;
            return Ok(None);
        }
        let mut all = vec![0u8; total(&counts)];
        let mut partition = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
        root_process.gather_varcount_into_root(&mine[..], &mut partition);
        self.collective_outcome("MPI_Gatherv")?;
        decode_many(&all, &counts).map(Some)
    }

    /// Every rank gets every rank's `value`, in rank order.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let ranks: Vec<usize> = world.all_gather(&world.rank())?;
    /// assert_eq!(ranks, (0..world.size()).collect::<Vec<_>>());
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn all_gather<T: Serialize + DeserializeOwned>(&self, value: &T) -> Result<Vec<T>> {
        self.usable("all_gather")?;
        let _wait = trace::in_collective("all_gather", None);
        let (mine, counts) = self.share_counts(value)?;
        let (counts, displs) = displacements(&counts)?;
        let mut all = vec![0u8; total(&counts)];
        let mut partition = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
        self.collectives()
            .all_gather_varcount_into(&mine[..], &mut partition);
        self.collective_outcome("MPI_Allgatherv")?;
        decode_many(&all, &counts)
    }

    /// Rank `i` sends `values[j]` to rank `j` and gets, in rank order, the item every rank
    /// sent it. `values` must have one item per rank on every rank.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let me = world.rank();
    /// let out: Vec<(usize, usize)> = (0..world.size()).map(|to| (me, to)).collect();
    /// let got = world.all_to_all(&out)?;
    /// assert!(got.iter().enumerate().all(|(from, &pair)| pair == (from, me)));
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn all_to_all<T: Serialize + DeserializeOwned>(&self, values: &[T]) -> Result<Vec<T>> {
        self.usable("all_to_all")?;
        let _wait = trace::in_collective("all_to_all", None);
        let size = self.size();
        let mine = if values.len() == size {
            encode_many(values)
        } else {
            Err(ErrorKind::Count {
                expected: size,
                got: values.len(),
            }
            .into())
        };
        let send_counts = match &mine {
            Ok((_, counts)) => counts.clone(),
            Err(_) => vec![FAILED; size],
        };
        let mut recv_counts = vec![0u64; size];
        self.collectives()
            .all_to_all_into(&send_counts[..], &mut recv_counts[..]);
        self.collective_outcome("MPI_Alltoall")?;
        // A rank that failed sent FAILED to every rank (itself included), so every rank
        // sees the same failures and stops at the same point.
        if let Some(failed) = first_failed(&recv_counts) {
            return Err(failure(Some(mine.map(|(b, _)| b)), failed));
        }
        let (sent, send_counts) = mine?;
        let (send_counts, send_displs) = displacements(&send_counts)?;
        // The receive total is this rank's alone to see: agreed on before MPI_Alltoallv.
        let (recv_counts, recv_displs) = agree_on(self, displacements(&recv_counts))?;
        let mut all = vec![0u8; total(&recv_counts)];
        let partition = Partition::new(&sent[..], &send_counts[..], &send_displs[..]);
        let mut received = PartitionMut::new(&mut all[..], &recv_counts[..], &recv_displs[..]);
        self.collectives()
            .all_to_all_varcount_into(&partition, &mut received);
        self.collective_outcome("MPI_Alltoallv")?;
        decode_many(&all, &recv_counts)
    }

    /// Print `text` from every rank on rank 0's stdout, in rank order, each line prefixed
    /// with `[rank]` (output of different ranks never interleaves). Every rank must call it.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// world.print_ordered(format!("I hold block {:?}", rspar::balance(100, world.size(), world.rank())))?;
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn print_ordered(&self, text: impl std::fmt::Display) -> Result<()> {
        self.usable("print_ordered")?;
        let _wait = trace::in_collective("print_ordered", Some(0));
        if let Some(texts) = self.gather(&text.to_string(), 0)? {
            let mut out = String::new();
            for (rank, text) in texts.iter().enumerate() {
                for line in text.lines() {
                    out.push_str(&format!("[{rank}] {line}\n"));
                }
            }
            print!("{out}");
        }
        Ok(())
    }

    /// Encode `value` and all-gather every rank's byte count; `Err` on every rank if any
    /// rank could not encode.
    fn share_counts<T: Serialize + ?Sized>(&self, value: &T) -> Result<(Vec<u8>, Vec<u64>)> {
        let mine = encode_one(value);
        let len = mine.as_ref().map_or(FAILED, |bytes| bytes.len() as u64);
        let counts = self.all_counts(len)?;
        if let Some(failed) = first_failed(&counts) {
            return Err(failure(Some(mine), failed));
        }
        mine.map(|bytes| (bytes, counts))
    }
}

fn encode_one<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let bytes = wire::encode(value)?;
    check_count(bytes.len())?;
    Ok(bytes)
}

/// Encode each value into one buffer; the byte count of each.
fn encode_many<T: Serialize>(values: &[T]) -> Result<(Vec<u8>, Vec<u64>)> {
    let mut all = Vec::new();
    let mut counts = Vec::with_capacity(values.len());
    for value in values {
        let bytes = wire::encode(value)?;
        counts.push(bytes.len() as u64);
        all.extend_from_slice(&bytes);
    }
    check_count(all.len())?;
    Ok((all, counts))
}

fn decode_many<T: DeserializeOwned>(all: &[u8], counts: &[i32]) -> Result<Vec<T>> {
    let mut at = 0;
    counts
        .iter()
        .map(|&c| {
            let bytes = &all[at..at + c as usize];
            at += c as usize;
            wire::decode(bytes)
        })
        .collect()
}
