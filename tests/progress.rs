//! The pool's progress report on the root: without a terminal (`RSPAR_PROGRESS=always`)
//! a plain line a second whether or not a task finished, with a rate that means
//! something for slow tasks; on a terminal a bar that ends its line, so the program's
//! next output starts a line of its own.

mod common;

use std::path::Path;
use std::time::Duration;

use rspar::pool::Progress;
use rspar::Pool;

/// Two tasks of 2.5 s each: nothing finishes for 2.5 s (5 s on one rank).
fn slow_map(world: &rspar::Communicator, progress: Progress) -> rspar::Result<()> {
    let pool = Pool::builder(world).progress(progress).build(|ms: u64| {
        std::thread::sleep(Duration::from_millis(ms));
        ms
    })?;
    if let Some(pool) = pool {
        let results = pool.map([2500u64, 2500])?;
        println!("RESULT {results:?}");
    }
    Ok(())
}

#[test]
fn progress_lines_come_every_second_with_a_rate_for_slow_tasks() {
    const NAME: &str = "progress_lines_come_every_second_with_a_rate_for_slow_tasks";
    if common::in_rank(NAME) {
        let world = rspar::init().expect("init");
        let result = slow_map(&world, Progress::Auto);
        drop(world);
        result.expect("slow map");
        return;
    }
    for n in [1, 2, 3] {
        let run = common::launch_self(NAME, n, &[("RSPAR_PROGRESS", "always")]);
        run.assert_success();
        assert!(
            run.stdout.contains("RESULT [2500, 2500]"),
            "{}",
            run.report()
        );
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("pool: "))
            .collect();
        // Lines while no task had finished yet (the first comes after 1 s).
        assert!(
            lines.iter().any(|l| l.starts_with("pool: 0/2 tasks, ")),
            "{}",
            run.report()
        );
        // The last one: both done, and a rate of slow tasks, not "0 tasks/s".
        let last = lines.last().copied().unwrap_or_default();
        assert!(
            last.starts_with("pool: 2/2 tasks, ") && last.contains(" s per task, "),
            "{}",
            run.report()
        );
        assert!(!run.stderr.contains(" 0 tasks/s"), "{}", run.report());
    }
}

#[test]
fn the_progress_bar_on_a_terminal_ends_its_line() {
    const NAME: &str = "the_progress_bar_on_a_terminal_ends_its_line";
    if common::in_rank(NAME) {
        let world = rspar::init().expect("init");
        let result = slow_map(&world, Progress::Auto);
        drop(world);
        result.expect("slow map");
        return;
    }
    // The test program run directly inside `script`, whose pseudo-terminal is the
    // root's stderr (a worker it spawns writes through Open MPI's daemon: no bar).
    let exe = std::env::current_exe().expect("current_exe");
    let command = format!(
        "RSPAR_SPMD_TEST={NAME} RSPAR_PROGRESS=auto {} {NAME} --exact --nocapture --test-threads=1",
        exe.display()
    );
    let script = Path::new("/usr/bin/script");
    if !script.exists() {
        common::note("no /usr/bin/script (util-linux): the terminal bar was not checked");
        return;
    }
    let run = common::direct(
        script,
        &["-qec", &command, "/dev/null"],
        &[],
        common::TIMEOUT,
    );
    run.assert_success();
    // The terminal got the bar, then the result on a line of its own.
    let screen = run.stdout.replace('\r', "");
    assert!(screen.contains("pool "), "no bar drawn\n{}", run.report());
    let at = screen.find("RESULT [2500, 2500]").expect("the result");
    assert!(
        screen[..at].ends_with('\n'),
        "the result shares the bar's line: {:?}\n{}",
        &screen[at.saturating_sub(60)..at + 6],
        run.report()
    );
}
