//! Reads the `mpi.h` of the MPI that rsmpi builds against (found the same way rsmpi's own
//! build does: `build_probe_mpi::probe`, with the same environment) and tells the crate:
//!
//! - which fields of `MPI_Status` hold a message's size, so a receive reads its byte
//!   count from the status instead of calling `MPI_Get_count`:
//!   `rspar_status="ucount"` (Open MPI: `size_t _ucount`, bytes) or
//!   `rspar_status="count_lo_hi"` (MPICH and its derivatives: `count_lo` and
//!   `count_hi_and_cancelled`); neither for another MPI (`MPI_Get_count`);
//! - which MPI configuration of `src/flavours.txt` it is (`src/flavour.rs`, the table
//!   the scripts read too): `RSPAR_MPI_CONFIG` (`openmpi`, `mpich`, `ulfm`, or empty),
//!   and the cfg `rspar_ulfm` when it is `ulfm` (Open MPI with the `ftmpi` extension: the
//!   `MPIX_` fault-tolerance functions exist);
//! - `RSPAR_MPI_BIN`: the MPI's `bin` directory, where the test launcher looks for its
//!   `mpirun` first;
//! - for `ulfm`, `src/ffi/ulfm.c` compiled and linked (an MPI error handler), and an rpath to its library directory on this package's tests and examples,
//!   so they load it rather than the system's Open MPI (the same soname, `libmpi.so.40`).

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "src/flavour.rs"]
mod flavour;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(rspar_status, values(\"ucount\", \"count_lo_hi\"))");
    println!("cargo::rustc-check-cfg=cfg(rspar_ulfm)");
    for variable in [
        "MPI_PKG_CONFIG",
        "CRAY_MPICH_DIR",
        "MPICC",
        "PKG_CONFIG_PATH",
    ] {
        println!("cargo:rerun-if-env-changed={variable}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/flavour.rs");
    println!("cargo:rerun-if-changed=src/flavours.txt");
    let library = build_probe_mpi::probe().ok();
    let header = library.as_ref().and_then(|lib| {
        lib.include_paths
            .iter()
            .map(|dir| dir.join("mpi.h"))
            .find(|header| header.is_file())
    });
    let Some(header) = header else {
        println!("cargo:warning=rspar: mpi.h not found; message sizes come from MPI_Get_count");
        println!("cargo:rustc-env=RSPAR_MPI_CONFIG=");
        println!("cargo:rustc-env=RSPAR_MPI_BIN=");
        return;
    };
    println!("cargo:rerun-if-changed={}", header.display());
    let text = std::fs::read_to_string(&header).unwrap_or_default();
    if text.contains("size_t _ucount;") {
        println!("cargo:rustc-cfg=rspar_status=\"ucount\"");
    } else if text.contains("count_lo;") && text.contains("count_hi_and_cancelled;") {
        println!("cargo:rustc-cfg=rspar_status=\"count_lo_hi\"");
    }
    let ext_header = header.with_file_name("mpi-ext.h");
    let ext = std::fs::read_to_string(&ext_header).unwrap_or_default();
    let config = flavour::Config::from_headers(&text, &ext);
    let name = config.as_ref().map_or("", |c| c.name);
    println!("cargo:rustc-env=RSPAR_MPI_CONFIG={name}");
    println!("cargo:rerun-if-changed=src/ffi/ulfm.c");
    if name == "ulfm" {
        println!("cargo:rustc-cfg=rspar_ulfm");
        let mut c = cc::Build::new();
        c.file("src/ffi/ulfm.c").warnings(true);
        for dir in library.iter().flat_map(|lib| &lib.include_paths) {
            c.include(dir);
        }
        c.compile("rspar_ulfm");
        for dir in library.iter().flat_map(|lib| &lib.lib_paths) {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        }
    }
    let bin = library
        .as_ref()
        .and_then(|lib| bin_dir(lib.mpicc.as_deref(), &header));
    println!(
        "cargo:rustc-env=RSPAR_MPI_BIN={}",
        bin.map(|b| b.display().to_string()).unwrap_or_default()
    );
}

/// The MPI's `bin` directory: the one of the `mpicc` the probe ran, when given as a path,
/// else `include/../bin` when it exists.
fn bin_dir(mpicc: Option<&str>, header: &Path) -> Option<PathBuf> {
    if let Some(dir) = mpicc
        .map(Path::new)
        .filter(|p| p.is_absolute())
        .and_then(Path::parent)
    {
        return Some(dir.to_path_buf());
    }
    let bin = header.parent()?.parent()?.join("bin");
    bin.is_dir().then_some(bin)
}
