//! A message storm: nothing is lost, duplicated, corrupted or reordered under load.
//!
//! Every rank sends thousands of objects (0 B to exactly 1 MiB of payload, most small,
//! some just around the 64 KiB line where an object starts to travel as two MPI messages)
//! with random tags to random ranks, itself included, mixing `isend`, blocking `send`,
//! any-source/any-tag receives, `ireceive` polling, `wait_any` and receives from one
//! source. Every rank derives every rank's send plan from one seeded RNG, so each knows
//! exactly which messages it must get: each must arrive once, with the right content and
//! checksum, and per (source, tag) in posting order (MPI's non-overtaking rule); after a
//! barrier nothing more may be pending, and a watchdog reports what never came.
//!
//! Deadlock-free by construction. Each rank (1) posts its isends, (2) makes blocking sends
//! only to itself (held locally, never blocks) or higher ranks, (3) receives everything it
//! expects, (4) waits its isends, (5) meets a barrier. A receive naming a source `s` is
//! made only while a message `s` posted with `isend` is due (isends precede all of `s`'s
//! blocking sends, so it is the next match, and it completes whatever `s` is doing);
//! every other receive (or one request of a `wait_any`) accepts any source and tag. So
//! the highest rank blocked in (2) has its target in (3), which takes some message: the
//! job always moves on. `RSPAR_STORM_SEED` and `RSPAR_STORM_MESSAGES` vary the storm.

mod common;

use common::spmd_runs;
use rspar::{Any, Communicator, ReceiveRequest, SendRequest, Status};
use serde::{Deserialize, Serialize};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const NAME: &str = "storm_nothing_lost_under_load";
const SIZES: &[usize] = &[2, 3, 4, 5, 6];
/// Messages per job, shared among the ranks (2000 per rank at 2 ranks).
const MESSAGES: usize = 4000;
const TAGS: u64 = 8;
const MIB: u64 = 1 << 20;
/// A rank still waiting this long has lost a message (a storm takes ~20 s here).
const WATCHDOG: Duration = Duration::from_secs(75);

#[derive(Serialize, Deserialize)]
struct Msg {
    source: u32,
    seq: u32,
    tag: i32,
    words: Vec<u64>,
    tail: Vec<u8>,
    checksum: u64,
}

/// splitmix64: a tiny deterministic RNG, the same on every rank.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let z = (self.0 ^ (self.0 >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One message of a send plan; its index in the plan is its `seq` (posting order).
#[derive(Clone, Copy)]
struct Planned {
    dest: usize,
    tag: i32,
    bytes: u64,
    blocking: bool,
}

/// Payload bytes: mostly small, some around the 64 KiB split line, a few up to 1 MiB.
fn payload_size(rng: &mut Rng) -> u64 {
    match rng.below(100) {
        0..=4 => 0,
        5..=59 => rng.below(256),
        60..=79 => 256 + rng.below(16 << 10),
        80..=86 => rng.below(64 << 10),
        87..=91 => (64 << 10) - 160 + rng.below(256),
        92..=98 => rng.below(MIB),
        _ => MIB,
    }
}

/// The send plan of `source`, isends first then blocking sends, as they are posted.
fn plan(seed: u64, source: usize, size: usize, count: usize) -> Vec<Planned> {
    let mut rng = Rng(seed ^ Rng(source as u64).next());
    let all = (0..count).map(|_| {
        let dest = rng.below(size as u64) as usize;
        let tag = rng.below(TAGS) as i32;
        let bytes = payload_size(&mut rng);
        let blocking = dest >= source && rng.below(2) == 0;
        Planned {
            dest,
            tag,
            bytes,
            blocking,
        }
    });
    let (mut isends, blocking): (Vec<_>, Vec<_>) = all.partition(|p| !p.blocking);
    isends.extend(blocking);
    isends
}

fn key(source: usize, seq: usize) -> u64 {
    Rng(((source as u64) << 32) | seq as u64).next()
}

fn checksum(m: &Msg) -> u64 {
    let head = [m.source, m.seq, m.tag as u32].map(u64::from);
    let tail = m.tail.iter().map(|&b| u64::from(b));
    let all = head.into_iter().chain(m.words.iter().copied()).chain(tail);
    all.fold(0xCBF2_9CE4_8422_2325, |h, w| {
        (h ^ w).wrapping_mul(0x100_0000_01B3)
    })
}

/// Message `seq` of `source`: its payload follows from (source, seq) alone.
fn message(source: usize, seq: usize, p: &Planned) -> Msg {
    let k = key(source, seq);
    let word = |i: u64| k.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut m = Msg {
        source: source as u32,
        seq: seq as u32,
        tag: p.tag,
        words: (0..p.bytes / 8).map(word).collect(),
        tail: (0..p.bytes % 8).map(|i| (k >> (8 * i)) as u8).collect(),
        checksum: 0,
    };
    m.checksum = checksum(&m);
    m
}

/// The messages one source sends me with one tag: seqs in posting order, how many of
/// the first ones are isends, how many arrived.
#[derive(Clone, Default)]
struct Stream {
    seqs: Vec<usize>,
    isends: usize,
    got: usize,
}

/// What a rank expects, as streams indexed by `source * TAGS + tag`.
struct Expect {
    streams: Vec<Stream>,
    left: usize,
}

impl Expect {
    fn new(plans: &[Vec<Planned>], me: usize) -> Expect {
        let mut streams = vec![Stream::default(); plans.len() * TAGS as usize];
        let mut left = 0;
        for (source, plan) in plans.iter().enumerate() {
            for (seq, p) in plan.iter().enumerate().filter(|(_, p)| p.dest == me) {
                let stream = &mut streams[source * TAGS as usize + p.tag as usize];
                stream.seqs.push(seq);
                stream.isends += usize::from(!p.blocking || source == me);
                left += 1;
            }
        }
        Expect { streams, left }
    }

    /// Tags whose next message from `source` was posted with isend (or sent to myself:
    /// then it is held already), so a receive naming them cannot wait for a blocked rank.
    fn safe_tags(&self, source: usize) -> Vec<i32> {
        let streams = &self.streams[source * TAGS as usize..][..TAGS as usize];
        (0..TAGS as i32)
            .filter(|&t| streams[t as usize].got < streams[t as usize].isends)
            .collect()
    }

    /// Check one received message against the plan and count it.
    fn take(&mut self, plans: &[Vec<Planned>], me: usize, m: &Msg, st: Status) {
        let (s, t, seq) = (m.source as usize, m.tag, m.seq as usize);
        let stream = &mut self.streams[s * TAGS as usize + t as usize];
        let due = stream.seqs.get(stream.got).copied();
        let what = format!("rank {me}: from {s} tag {t} seq {seq} ({due:?} due), status {st:?}");
        assert_eq!(
            (st.source, st.tag, due),
            (s, t, Some(seq)),
            "lost, extra or late: {what}"
        );
        let want = message(s, seq, &plans[s][seq]);
        let intact = m.words == want.words && m.tail == want.tail;
        assert!(intact && m.checksum == want.checksum, "corrupt: {what}");
        assert_eq!(checksum(m), m.checksum, "checksum: {what}");
        stream.got += 1;
        self.left -= 1;
    }

    /// The messages still due, for a report.
    fn missing(&self) -> String {
        let (n, streams) = (TAGS as usize, self.streams.iter().enumerate());
        let due = streams.map(|(i, s)| (i / n, i % n, &s.seqs[s.got..]));
        let due = due.filter(|(_, _, seqs)| !seqs.is_empty());
        due.map(|(s, t, seqs)| format!("from {s} tag {t}: {seqs:?}; "))
            .collect()
    }
}

/// One receive, in a way picked by `rng`; always one that cannot deadlock (see top).
fn receive_one(
    world: &Communicator,
    e: &Mutex<Expect>,
    rng: &mut Rng,
    polls: &mut u64,
) -> rspar::Result<(Msg, Status)> {
    let source = rng.below(world.size() as u64) as usize;
    let safe = e.lock().unwrap().safe_tags(source);
    match rng.below(6) {
        0 => world.tag(Any).with_status().receive(Any),
        1 => {
            let mut request = world.tag(Any).with_status().ireceive::<Msg>(Any);
            loop {
                if let Some(got) = request.test()? {
                    return Ok(got);
                }
                *polls += 1;
                std::thread::yield_now();
            }
        }
        2 if !safe.is_empty() => world.tag(Any).with_status().receive(source),
        3 if !safe.is_empty() => {
            let tag = safe[rng.below(safe.len() as u64) as usize];
            if rng.below(2) == 0 {
                world.tag(tag).with_status().receive(source)
            } else {
                world.tag(tag).with_status().ireceive(source).wait()
            }
        }
        4 => {
            // Several requests at once: any tag from `source` if safe, one tag from
            // anyone, and one that takes anything, so some request can always complete.
            let mut requests: Vec<ReceiveRequest<Msg, Status>> = Vec::new();
            if !safe.is_empty() {
                requests.push(world.tag(Any).with_status().ireceive(source));
            }
            requests.push(
                world
                    .tag(rng.below(TAGS) as i32)
                    .with_status()
                    .ireceive(Any),
            );
            requests.push(world.tag(Any).with_status().ireceive(Any));
            let (_, (m, st)) = ReceiveRequest::wait_any(&mut requests)?;
            Ok((m, st))
        }
        _ => world.tag(Any).with_status().ireceive(Any).wait(),
    }
}

/// Errors panic here (rspar's panic hook aborts the job at once): returned with `?`, they
/// would first drop the pending isends, and dropping a `SendRequest` waits for its send,
/// which never completes if its receiver is blocked on this failed rank.
fn ok<T>(result: rspar::Result<T>) -> T {
    result.unwrap_or_else(|e| panic!("rank failed: {e}"))
}

fn storm(world: &Communicator) -> rspar::Result<()> {
    let (me, size) = (world.rank(), world.size());
    let env = |k: &str, d: u64| std::env::var(k).map_or(d, |v| v.parse().expect(k));
    let seed = env("RSPAR_STORM_SEED", 0x5EED_2024);
    let count = env("RSPAR_STORM_MESSAGES", MESSAGES as u64) as usize / size;
    let plans: Vec<Vec<Planned>> = (0..size).map(|r| plan(seed, r, size, count)).collect();
    let mine = &plans[me];
    let start = std::time::Instant::now();
    // A lost message would block a receive forever: a watchdog names what is missing.
    let expect = Arc::new(Mutex::new(Expect::new(&plans, me)));
    let (done, finished) = mpsc::channel::<()>();
    let watched = Arc::clone(&expect);
    let watchdog = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(WATCHDOG) {
            let missing = watched.lock().map(|e| e.missing()).unwrap_or_default();
            eprintln!("storm: rank {me}: still due after {WATCHDOG:?}: {missing}");
            std::process::abort();
        }
    });
    // (1) isends, pruning finished ones now and then.
    let mut sends: Vec<SendRequest> = Vec::new();
    for (seq, p) in mine.iter().enumerate().filter(|(_, p)| !p.blocking) {
        sends.push(ok(world.tag(p.tag).isend(&message(me, seq, p), p.dest)));
        if seq % 64 == 63 {
            sends.retain_mut(|s| !ok(s.test()));
        }
    }
    // (2) blocking sends, to myself or higher ranks only.
    for (seq, p) in mine.iter().enumerate().filter(|(_, p)| p.blocking) {
        assert!(p.dest >= me);
        ok(world.tag(p.tag).send(&message(me, seq, p), p.dest));
    }
    let sent_at = start.elapsed().as_secs_f64();
    // (3) everything due, checked on arrival.
    let expected = expect.lock().unwrap().left;
    let mut rng = Rng(seed ^ 0xA5A5 ^ me as u64);
    let (mut polls, mut got) = (0, 0);
    while expect.lock().unwrap().left > 0 {
        let (m, st) = ok(receive_one(world, &expect, &mut rng, &mut polls));
        expect.lock().unwrap().take(&plans, me, &m, st);
        got += plans[m.source as usize][m.seq as usize].bytes;
    }
    // (4) the isends: half by polling, half by waiting.
    let waited = sends.split_off(sends.len() / 2);
    for mut send in sends {
        while !ok(send.test()) {
            std::thread::yield_now();
        }
    }
    ok(SendRequest::wait_all(waited));
    // (5) everyone is done sending; nothing more may be waiting for me.
    world.barrier()?;
    for _ in 0..1000 {
        let extra = world.tag(Any).ireceive::<Msg>(Any).test()?;
        assert!(extra.is_none(), "rank {me}: an unexpected extra message");
    }
    world.barrier()?;
    done.send(()).unwrap();
    watchdog.join().unwrap();
    let sent: u64 = mine.iter().map(|p| p.bytes).sum();
    let blocking = mine.iter().filter(|p| p.blocking).count();
    let time = start.elapsed().as_secs_f64();
    println!(
        "storm: rank {me} of {size}: sent {count} ({blocking} blocking, {sent} B), received \
         {expected} ({got} B), {polls} polls, {time:.2} s ({sent_at:.2} s sending), seed {seed:#x}"
    );
    Ok(())
}

#[test]
fn storm_nothing_lost_under_load() {
    for run in spmd_runs(NAME, SIZES, storm) {
        eprintln!("{}: {:.1?}", run.command, run.elapsed);
        // A rank's line may follow another rank's unfinished libtest line.
        for line in run.stdout.split("storm: rank ").skip(1) {
            eprintln!("  rank {}", line.lines().next().unwrap_or_default());
        }
    }
}
