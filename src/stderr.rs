//! rspar's own lines on stderr (warnings, the reasons of an abort), each written whole.

/// Write `text` and a newline to stderr in one `write`, so that the launcher's own
/// messages (Open MPI's abort banner) cannot land inside the line.
pub(crate) fn say(text: &str) {
    use std::io::Write;
    let line = format!("{text}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
