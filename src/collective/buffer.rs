//! Collectives on the buffer path: slices of `Plain` data moved and reduced by MPI's own
//! collectives, with no serialization. MPI sees the values' elements (`ffi::as_elements`:
//! an array as its numbers), so counts and displacements given to MPI are in elements,
//! and lengths a caller sees are in values.
//!
//! The calls that return a new `Vec` (scatter, gather, all-gather) need `T: Default` to
//! fill it before MPI writes it: derive `Default` on your structs.
//!
//! Like MPI, these calls trust the ranks to agree on lengths where MPI needs it
//! (`broadcast_buffer`, the reductions): a length only one rank gets wrong is MPI's error.
//! What a rank can check locally it checks, and then it still takes part (with a scratch
//! buffer) before returning its `Err`, so the other ranks are not left waiting.

use mpi::datatype::PartitionMut;
use mpi::traits::{Communicator as _, CommunicatorCollectives, Root};

use super::agree::{check_count, displacements, FAILED};
use super::op::{Loc, Number, Op};
use crate::comm::Communicator;
use crate::error::{ErrorKind, Result};
use crate::ffi::{self, as_elements, as_elements_mut, element_count, Plain};
use crate::trace;

impl Communicator {
    /// The root's `data` overwrites `data` on every rank (`MPI_Bcast`). Every rank must
    /// pass the same length; any length goes (beyond `i32::MAX` elements, as one element
    /// of a datatype made for the call).
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let mut grid = vec![0.0f64; 1024];
    /// if world.rank() == 0 {
    ///     grid.fill(1.5);
    /// }
    /// world.broadcast_buffer(&mut grid, 0)?;
    /// assert!(grid.iter().all(|&x| x == 1.5));
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn broadcast_buffer<T: Plain>(&self, data: &mut [T], root: usize) -> Result<()> {
        self.usable("broadcast_buffer")?;
        let _wait = trace::in_collective("broadcast_buffer", Some(root));
        ffi::broadcast(self.collectives_handle(), data, self.check_rank(root)?)
    }

    /// The root's `data` is cut into `size` equal blocks; rank `i` gets block `i`.
    /// `data` is ignored on other ranks (pass `&[]`). A root length that is not a
    /// multiple of the size is an `Err` on the root and `Err(Peer)` elsewhere.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let all: Vec<i32> = (0..4 * world.size() as i32).collect();
    /// let mine = world.scatter_buffer(if world.rank() == 0 { &all } else { &[] }, 0)?;
    /// assert_eq!(mine.len(), 4);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn scatter_buffer<T: Plain + Default>(&self, data: &[T], root: usize) -> Result<Vec<T>> {
        self.usable("scatter_buffer")?;
        let _wait = trace::in_collective("scatter_buffer", Some(root));
        let root_rank = self.check_rank(root)?;
        let size = self.size();
        let is_root = self.rank() == root;
        let mut block = if !is_root {
            0
        } else if data.len() % size == 0 && mpi_count::<T>(data.len()).is_ok() {
            (data.len() / size) as u64
        } else {
            FAILED
        };
        let root_process = self.collectives().process_at_rank(root_rank);
        root_process.broadcast_into(&mut block);
        self.collective_outcome("MPI_Bcast")?;
        if block == FAILED {
            return Err(if is_root {
                ErrorKind::Count {
                    expected: size * (data.len() / size + 1),
                    got: data.len(),
                }
                .into()
            } else {
                ErrorKind::Peer { rank: root }.into()
            });
        }
        let mut mine = vec![T::default(); block as usize];
        if is_root {
            root_process.scatter_into_root(as_elements(data), as_elements_mut(&mut mine));
            self.collective_outcome("MPI_Scatter")?;
        } else {
            root_process.scatter_into(as_elements_mut(&mut mine));
            self.collective_outcome("MPI_Scatter")?;
        }
        Ok(mine)
    }

    /// The root gets every rank's `data` concatenated in rank order (`Some`); lengths may
    /// differ from rank to rank. Other ranks get `None`.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let mine = vec![world.rank() as u8; world.rank()];
    /// if let Some(all) = world.gather_buffer(&mine, 0)? {
    ///     assert_eq!(all.len(), (0..world.size()).sum::<usize>());
    /// }
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn gather_buffer<T: Plain + Default>(
        &self,
        data: &[T],
        root: usize,
    ) -> Result<Option<Vec<T>>> {
        self.usable("gather_buffer")?;
        let _wait = trace::in_collective("gather_buffer", Some(root));
        let root_rank = self.check_rank(root)?;
        let counts = self.element_counts::<T>(data.len())?;
        let root_process = self.collectives().process_at_rank(root_rank);
        if self.rank() != root {
            root_process.gather_varcount_into(as_elements(data));
            self.collective_outcome("MPI_Gatherv")?;
            return Ok(None);
        }
        let (counts, displs, total) = counts;
        let mut all = vec![T::default(); total];
        let mut partition = PartitionMut::new(as_elements_mut(&mut all), &counts[..], &displs[..]);
        root_process.gather_varcount_into_root(as_elements(data), &mut partition);
        self.collective_outcome("MPI_Gatherv")?;
        Ok(Some(all))
    }

    /// Every rank gets every rank's `data` concatenated in rank order; lengths may differ.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let all = world.all_gather_buffer(&[world.rank() as u32])?;
    /// assert_eq!(all, (0..world.size() as u32).collect::<Vec<_>>());
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn all_gather_buffer<T: Plain + Default>(&self, data: &[T]) -> Result<Vec<T>> {
        self.usable("all_gather_buffer")?;
        let _wait = trace::in_collective("all_gather_buffer", None);
        let (counts, displs, total) = self.element_counts::<T>(data.len())?;
        let mut all = vec![T::default(); total];
        let mut partition = PartitionMut::new(as_elements_mut(&mut all), &counts[..], &displs[..]);
        self.collectives()
            .all_gather_varcount_into(as_elements(data), &mut partition);
        self.collective_outcome("MPI_Allgatherv")?;
        Ok(all)
    }

    /// Every rank's `data` (one length on every rank) into `recv` on the root, in rank
    /// order: one `MPI_Gather`, so on an [`interop`](Communicator::interop) communicator a
    /// foreign rank takes part with `MPI_Gather` of as many elements. `recv` is ignored
    /// elsewhere (pass `&mut []`); on the root it holds `size() * data.len()` values, else
    /// the root gathers into scratch memory and returns `Err(Count)`.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let mut all = vec![0u32; if world.rank() == 0 { 2 * world.size() } else { 0 }];
    /// world.gather_buffer_into(&[world.rank() as u32; 2], &mut all, 0)?;
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn gather_buffer_into<T: Plain>(
        &self,
        data: &[T],
        recv: &mut [T],
        root: usize,
    ) -> Result<()> {
        self.usable("gather_buffer_into")?;
        let _wait = trace::in_collective("gather_buffer_into", Some(root));
        let root_rank = self.check_rank(root)?;
        let comm = self.collectives_handle();
        if self.rank() != root {
            return ffi::gather(comm, data, None, root_rank);
        }
        let expected = data.len().saturating_mul(self.size());
        if recv.len() == expected {
            return ffi::gather(comm, data, Some(recv), root_rank);
        }
        // Still take part, into scratch memory, so the other ranks complete.
        let mut scratch = data.repeat(self.size());
        ffi::gather(comm, data, Some(&mut scratch), root_rank)?;
        let got = recv.len();
        Err(ErrorKind::Count { expected, got }.into())
    }

    /// The root's `data` cut into `size()` blocks of `recv.len()` values (one length on
    /// every rank), block `i` into rank `i`'s `recv`: one `MPI_Scatter`, so on an
    /// [`interop`](Communicator::interop) communicator a foreign rank takes part with
    /// `MPI_Scatter` of as many elements. `data` is ignored elsewhere (pass `&[]`); on the
    /// root it holds `size() * recv.len()` values, else the root scatters a copy of its
    /// `recv` and returns `Err(Count)`.
    ///
    /// ```no_run
    /// let world = rspar::init()?;
    /// let all: Vec<f64> = (0..3 * world.size()).map(|i| i as f64).collect();
    /// let mut mine = [0.0f64; 3];
    /// world.scatter_buffer_into(if world.rank() == 0 { &all } else { &[] }, &mut mine, 0)?;
    /// assert_eq!(mine[0], 3.0 * world.rank() as f64);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn scatter_buffer_into<T: Plain>(
        &self,
        data: &[T],
        recv: &mut [T],
        root: usize,
    ) -> Result<()> {
        self.usable("scatter_buffer_into")?;
        let _wait = trace::in_collective("scatter_buffer_into", Some(root));
        let root_rank = self.check_rank(root)?;
        let comm = self.collectives_handle();
        if self.rank() != root {
            return ffi::scatter(comm, None, recv, root_rank);
        }
        let expected = recv.len().saturating_mul(self.size());
        if data.len() == expected {
            return ffi::scatter(comm, Some(data), recv, root_rank);
        }
        // Still take part, from scratch memory, so the other ranks complete.
        let scratch = recv.repeat(self.size());
        ffi::scatter(comm, Some(&scratch), recv, root_rank)?;
        let got = data.len();
        Err(ErrorKind::Count { expected, got }.into())
    }

    /// Element-wise `op` over every rank's `send`, into `recv` on the root (`MPI_Reduce`);
    /// `recv` is not touched elsewhere (pass `&mut []`). All `send`s have one length. A
    /// root `recv` of another length is `Err(BufferLength)` there, not written; the other
    /// ranks' calls complete.
    ///
    /// ```no_run
    /// use rspar::Op;
    /// let world = rspar::init()?;
    /// let mut total = [0.0f64; 2];
    /// world.reduce_buffer(&[1.0, world.rank() as f64], &mut total, Op::Sum, 0)?;
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn reduce_buffer<T: Plain<Element: Number>>(
        &self,
        send: &[T],
        recv: &mut [T],
        op: Op,
        root: usize,
    ) -> Result<()> {
        self.usable("reduce_buffer")?;
        let _wait = trace::in_collective("reduce_buffer", Some(root));
        let root_rank = self.check_rank(root)?;
        let (comm, op) = (self.collectives_handle(), op.to_raw());
        if self.rank() != root {
            return ffi::reduce(comm, send, &mut [], op, root_rank, false);
        }
        with_fitting(recv, send, |out| {
            ffi::reduce(comm, send, out, op, root_rank, true)
        })
    }

    /// Element-wise `op` over every rank's `send`, into `recv` on every rank
    /// (`MPI_Allreduce`). `send` and `recv` have one length on every rank. A `recv` of
    /// another length is `Err(BufferLength)` on its rank, not written; the other ranks'
    /// calls complete.
    ///
    /// ```no_run
    /// use rspar::Op;
    /// let world = rspar::init()?;
    /// let mut max = [0i64];
    /// world.all_reduce_buffer(&[world.rank() as i64], &mut max, Op::Max)?;
    /// assert_eq!(max[0] as usize, world.size() - 1);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn all_reduce_buffer<T: Plain<Element: Number>>(
        &self,
        send: &[T],
        recv: &mut [T],
        op: Op,
    ) -> Result<()> {
        self.usable("all_reduce_buffer")?;
        let _wait = trace::in_collective("all_reduce_buffer", None);
        let (comm, op) = (self.collectives_handle(), op.to_raw());
        with_fitting(recv, send, |out| ffi::all_reduce(comm, send, out, op))
    }

    /// Inclusive prefix (`MPI_Scan`): rank `r`'s `recv` gets `op` over ranks `0..=r`.
    pub fn scan_buffer<T: Plain<Element: Number>>(
        &self,
        send: &[T],
        recv: &mut [T],
        op: Op,
    ) -> Result<()> {
        self.usable("scan_buffer")?;
        let _wait = trace::in_collective("scan_buffer", None);
        mpi_count::<T>(send.len())?;
        with_fitting(recv, send, |out| {
            self.collectives()
                .scan_into(as_elements(send), as_elements_mut(out), op.to_mpi());
            self.collective_outcome("MPI_Scan")?;
            Ok(())
        })
    }

    /// Exclusive prefix (`MPI_Exscan`): rank `r`'s `recv` gets `op` over ranks `0..r`;
    /// rank 0's `recv` is left as it was.
    pub fn exscan_buffer<T: Plain<Element: Number>>(
        &self,
        send: &[T],
        recv: &mut [T],
        op: Op,
    ) -> Result<()> {
        self.usable("exscan_buffer")?;
        let _wait = trace::in_collective("exscan_buffer", None);
        mpi_count::<T>(send.len())?;
        with_fitting(recv, send, |out| {
            self.collectives().exclusive_scan_into(
                as_elements(send),
                as_elements_mut(out),
                op.to_mpi(),
            );
            self.collective_outcome("MPI_Exscan")?;
            Ok(())
        })
    }

    /// For each position, the largest (or smallest) value over all ranks and the lowest
    /// rank that holds it (MPI's MAXLOC/MINLOC), on every rank.
    ///
    /// ```no_run
    /// use rspar::Loc;
    /// let world = rspar::init()?;
    /// let load = [world.rank() as f64 * 1.5];
    /// let (value, rank) = world.all_reduce_loc_buffer(&load, Loc::Max)?[0];
    /// assert_eq!(rank, world.size() - 1);
    /// # Ok::<(), rspar::Error>(())
    /// ```
    pub fn all_reduce_loc_buffer<T: Plain<Element: Number> + PartialOrd>(
        &self,
        values: &[T],
        loc: Loc,
    ) -> Result<Vec<(T, usize)>> {
        self.usable("all_reduce_loc_buffer")?;
        let _wait = trace::in_collective("all_reduce_loc_buffer", None);
        let op = match loc {
            Loc::Max => Op::Max,
            Loc::Min => Op::Min,
        };
        let mut extremes = values.to_vec();
        self.all_reduce_buffer(values, &mut extremes, op)?;
        let size = self.size() as u64;
        let holders: Vec<u64> = values
            .iter()
            .zip(&extremes)
            .map(|(v, e)| if v == e { self.rank() as u64 } else { size })
            .collect();
        let mut owners = holders.clone();
        self.all_reduce_buffer(&holders, &mut owners, Op::Min)?;
        extremes
            .into_iter()
            .zip(owners)
            .enumerate()
            .map(|(index, (value, owner))| {
                if owner < size {
                    Ok((value, owner as usize))
                } else {
                    Err(ErrorKind::Unordered { index }.into())
                }
            })
            .collect()
    }

    /// Every rank's `mine` values of `T` as MPI counts and displacements (in elements),
    /// and the total in values. Every rank computes the same, so all fail or none.
    fn element_counts<T: Plain>(&self, mine: usize) -> Result<(Vec<i32>, Vec<i32>, usize)> {
        let counts = self.all_counts(mine as u64)?;
        let total = counts.iter().fold(0u64, |sum, &c| sum.saturating_add(c));
        let elements: Vec<u64> = counts
            .iter()
            .map(|&c| c.saturating_mul(T::PER_VALUE as u64))
            .collect();
        let (counts, displs) = displacements(&elements)?;
        Ok((counts, displs, total as usize))
    }
}

/// `len` values of `T` as an MPI count (in elements), or `TooLarge`.
fn mpi_count<T: Plain>(len: usize) -> Result<()> {
    check_count(element_count::<T>(len)?)
}

/// Run `reduce` into `recv` if it has `send`'s length; else into a scratch buffer (so
/// this rank still takes part) and report the mismatch.
#[inline]
fn with_fitting<T: Plain>(
    recv: &mut [T],
    send: &[T],
    reduce: impl FnOnce(&mut [T]) -> Result<()>,
) -> Result<()> {
    if recv.len() == send.len() {
        return reduce(recv);
    }
    let mut scratch = send.to_vec();
    reduce(&mut scratch)?;
    Err(ErrorKind::BufferLength {
        send: send.len(),
        recv: recv.len(),
    }
    .into())
}
