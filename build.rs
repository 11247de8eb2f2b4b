//! Finds which fields of `MPI_Status` hold a message's size, so a receive can read its
//! byte count straight from the status instead of calling `MPI_Get_count`.
//!
//! It finds the MPI the same way rsmpi's own build does (`build_probe_mpi::probe`, with
//! the same environment), reads that MPI's `mpi.h` and sets one cfg:
//!
//! - `rspar_status="ucount"`: Open MPI, whose status has `size_t _ucount` (bytes);
//! - `rspar_status="count_lo_hi"`: MPICH and its derivatives (Intel MPI, MVAPICH, Cray),
//!   whose status has `int count_lo` and `int count_hi_and_cancelled` (bytes, split).
//!
//! Anything else sets neither, and rspar asks `MPI_Get_count`, which works everywhere.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(rspar_status, values(\"ucount\", \"count_lo_hi\"))");
    for variable in [
        "MPI_PKG_CONFIG",
        "CRAY_MPICH_DIR",
        "MPICC",
        "PKG_CONFIG_PATH",
    ] {
        println!("cargo:rerun-if-env-changed={variable}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    let Some(header) = mpi_header() else {
        println!("cargo:warning=rspar: mpi.h not found; message sizes come from MPI_Get_count");
        return;
    };
    println!("cargo:rerun-if-changed={}", header.display());
    let text = std::fs::read_to_string(&header).unwrap_or_default();
    if text.contains("size_t _ucount;") {
        println!("cargo:rustc-cfg=rspar_status=\"ucount\"");
    } else if text.contains("count_lo;") && text.contains("count_hi_and_cancelled;") {
        println!("cargo:rustc-cfg=rspar_status=\"count_lo_hi\"");
    }
}

/// The `mpi.h` of the MPI that rsmpi builds against: the first in the include path its
/// probe reports (the one rsmpi's bindings are generated from).
fn mpi_header() -> Option<PathBuf> {
    let library = build_probe_mpi::probe().ok()?;
    library
        .include_paths
        .into_iter()
        .map(|dir| dir.join("mpi.h"))
        .find(|header| header.is_file())
}
