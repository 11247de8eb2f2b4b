//! The command line the scripts rely on: `scripts/stress-abort.sh` and
//! `scripts/stress-ulfm.sh` pass their arguments to `xtask stress`, which documents them
//! and refuses others before building or launching anything.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("run xtask")
}

#[test]
fn stress_documents_its_flags() {
    let help = xtask(&["stress", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success(), "{text}");
    for flag in [
        "--kind",
        "--runs",
        "--seed",
        "abort",
        "ulfm",
        "[default: 50]",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}:\n{text}");
    }
}

#[test]
fn stress_refuses_bad_arguments_with_exit_2() {
    for (args, says) in [
        (&["stress", "--kind", "abort", "--bogus"][..], "--bogus"),
        (&["stress", "--kind", "abort", "--runs"], "--runs"),
        (&["stress", "--kind", "abort", "--runs", "many"], "many"),
        (&["stress", "--kind", "hang"], "hang"),
        (&["stress", "--runs", "3"], "--kind"),
    ] {
        let out = xtask(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn every_report_names_a_file_it_cannot_read() {
    for command in [
        "bench-report",
        "ulfm-report",
        "cluster-report",
        "farm-report",
    ] {
        let out = xtask(&[command, "/nonexistent/raw.csv"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.starts_with(&format!("{command}: cannot read /nonexistent/raw.csv")),
            "{command}: {stderr}"
        );
    }
}
