//! Waiting with limits: receives with a timeout (`Err(Timeout)`, the communicator still
//! usable), the `RSPAR_TIMEOUT` watchdog (a stuck job ends with a report of who waited for
//! what), and `RSPAR_LOG` debug lines prefixed with the rank.

mod common;

use std::time::{Duration, Instant};

use common::{in_rank, launch_self, spmd, SIZES};
use rspar::{Any, ErrorKind};

#[test]
fn a_receive_with_a_timeout_gives_up_and_loses_nothing() {
    spmd(
        "a_receive_with_a_timeout_gives_up_and_loses_nothing",
        SIZES,
        |world| {
            let (rank, size) = (world.rank(), world.size());
            let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
            let limit = Duration::from_millis(50);
            // Nothing was sent: every kind of receive times out.
            let start = Instant::now();
            let err = world.timeout(limit).receive::<u64>(Any).unwrap_err();
            assert!(start.elapsed() >= limit);
            match err.kind() {
                ErrorKind::Timeout { waited, from, tag } => {
                    assert!(*waited >= limit);
                    assert_eq!((*from, *tag), (None, Some(rspar::DEFAULT_TAG)));
                }
                other => panic!("expected Timeout, got {other:?}"),
            }
            assert!(
                err.to_string().contains("no message from any rank"),
                "{err}"
            );
            let mut slice = [0u32; 3];
            let late = world
                .tag(4)
                .timeout(limit)
                .receive_buffer_into(&mut slice, Any);
            assert!(matches!(
                late.unwrap_err().kind(),
                ErrorKind::Timeout { .. }
            ));
            let late = world.timeout(limit).receive_buffer::<u32>(Any);
            assert!(matches!(
                late.unwrap_err().kind(),
                ErrorKind::Timeout { .. }
            ));
            let late = world.timeout(limit).ireceive::<String>(Any).wait();
            assert!(matches!(
                late.unwrap_err().kind(),
                ErrorKind::Timeout { .. }
            ));
            world.barrier()?;

            // A message with another tag does not end the wait, and is still there after.
            world.tag(9).send(&(rank as u64), right)?;
            world.send_buffer(&[rank as u32; 3], right)?;
            world.barrier()?;
            let wrong = world.tag(8).timeout(limit).receive::<u64>(Any);
            assert!(matches!(
                wrong.unwrap_err().kind(),
                ErrorKind::Timeout { .. }
            ));
            let long = Duration::from_secs(30);
            assert_eq!(
                world.tag(9).timeout(long).receive::<u64>(left)?,
                left as u64
            );
            let mut got = [0u32; 3];
            world.timeout(long).receive_buffer_into(&mut got, left)?;
            assert_eq!(got, [left as u32; 3]);

            // A message that comes while the receive waits is received.
            if rank == 0 {
                for to in 1..size {
                    std::thread::sleep(Duration::from_millis(20));
                    world.send(&"late", to)?;
                }
            } else {
                let text: String = world.timeout(long).receive(0)?;
                assert_eq!(text, "late");
            }
            world.barrier()
        },
    );
}

fn stuck_kind() -> String {
    std::env::var("RSPAR_STUCK").unwrap()
}

#[test]
fn the_watchdog_ends_a_stuck_job_with_a_report() {
    let name = "the_watchdog_ends_a_stuck_job_with_a_report";
    if in_rank(name) {
        let world = rspar::init().unwrap();
        let (rank, size) = (world.rank(), world.size());
        match stuck_kind().as_str() {
            // Everyone waits for its right neighbour, who never sends.
            "receive" => {
                let _: u8 = world.tag(7).receive((rank + 1) % size).unwrap();
            }
            // The last rank never joins.
            _ => {
                if rank + 1 < size {
                    world.all_gather(&1u8).unwrap();
                } else {
                    std::thread::sleep(Duration::from_secs(60));
                }
            }
        }
        return;
    }
    for (kind, n, report) in [
        ("receive", 2, "in receive for a message from rank "),
        ("receive", 3, "with tag 7 (RSPAR_TIMEOUT=1)"),
        ("collective", 3, "in all_gather"),
        ("collective", 5, "in all_gather"),
    ] {
        let env = [("RSPAR_STUCK", kind), ("RSPAR_TIMEOUT", "1")];
        let run = launch_self(name, n, &env);
        assert_eq!(run.code, Some(rspar::TIMEOUT_EXIT_CODE), "{}", run.report());
        assert!(
            run.stderr.contains("rspar: watchdog: rank "),
            "{}",
            run.report()
        );
        assert!(run.stderr.contains(report), "{}", run.report());
        assert!(run.stderr.contains("(RSPAR_TIMEOUT=1)"), "{}", run.report());
        assert!(run.elapsed < Duration::from_secs(20), "{}", run.report());
    }
}

#[test]
fn bad_settings_are_errors_from_init() {
    let name = "bad_settings_are_errors_from_init";
    if in_rank(name) {
        let err = rspar::init().unwrap_err();
        let variable = std::env::var("RSPAR_BAD").unwrap();
        match err.kind() {
            ErrorKind::Config { variable: v, .. } => assert_eq!(*v, variable),
            other => panic!("expected Config, got {other:?}"),
        }
        println!("rank error: {err}");
        return;
    }
    for (variable, value) in [
        ("RSPAR_TIMEOUT", "soon"),
        ("RSPAR_TIMEOUT", "-1"),
        ("RSPAR_LOG", "rspar=loud"),
    ] {
        let run = launch_self(name, 2, &[(variable, value), ("RSPAR_BAD", variable)]);
        run.assert_success();
        assert!(
            run.stdout.contains(&format!("invalid value \"{value}\"")),
            "{}",
            run.report()
        );
    }
}

#[test]
fn debug_logging_names_rank_peer_tag_and_size() {
    let name = "debug_logging_names_rank_peer_tag_and_size";
    if in_rank(name) {
        let world = rspar::init().unwrap();
        let (rank, size) = (world.rank(), world.size());
        world
            .tag(5)
            .send(&vec![0u8; 100], (rank + 1) % size)
            .unwrap();
        let _: Vec<u8> = world.tag(5).receive((rank + size - 1) % size).unwrap();
        world.barrier().unwrap();
        return;
    }
    let quiet = launch_self(name, 2, &[]);
    quiet.assert_success();
    assert!(!quiet.stderr.contains("DEBUG"), "{}", quiet.report());
    for n in [2, 3] {
        let run = launch_self(name, n, &[("RSPAR_LOG", "debug")]);
        run.assert_success();
        for rank in 0..n {
            let (right, left) = ((rank + 1) % n, (rank + n - 1) % n);
            let prefix = format!("[rank {rank}/{n}] ");
            let lines: Vec<&str> = run
                .stderr
                .lines()
                .filter(|l| l.starts_with(&prefix))
                .collect();
            let has = |words: &[&str]| lines.iter().any(|l| words.iter().all(|w| l.contains(w)));
            assert!(
                has(&["send", &format!("dest={right}"), "tag=5", "bytes="]),
                "{}",
                run.report()
            );
            assert!(
                has(&["receive: waiting", &format!("source={left}"), "tag=5"]),
                "{}",
                run.report()
            );
            assert!(
                has(&[
                    "receive: received",
                    &format!("source={left}"),
                    "tag=5",
                    "bytes="
                ]),
                "{}",
                run.report()
            );
            assert!(has(&["barrier"]), "{}", run.report());
        }
    }
}
