//! The MPI datatype of a struct with `#[derive(Plain)]`, built by this safe helper so the
//! generated code holds no logic: a list of [`Field`]s (offset, count, element datatype)
//! and the struct's size make an MPI struct datatype, resized to the struct's size so
//! that arrays of it have Rust's stride, committed once and cached for the program.

use std::mem::MaybeUninit;
use std::sync::OnceLock;

use mpi::datatype::DatatypeRef;
use mpi::ffi;
use mpi::raw::{AsRaw, FromRaw};
use mpi::traits::Equivalence;

use super::plain::Plain;

/// One field of a derived struct: `count` elements of an MPI datatype at `offset`.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Field {
    offset: usize,
    count: i32,
    datatype: ffi::MPI_Datatype,
}

impl Field {
    /// A field of type `F` at byte `offset` of its struct (`core::mem::offset_of!`).
    #[inline]
    pub fn of<F: Plain>(offset: usize) -> Field {
        const {
            assert!(
                F::PER_VALUE <= i32::MAX as usize,
                "#[derive(Plain)]: a field has more elements than an MPI datatype can count"
            );
        }
        Field {
            offset,
            count: F::PER_VALUE as i32,
            // `'static`: valid for the rest of the program (`Plain::Element`'s bound).
            datatype: F::Element::equivalent_datatype().as_raw(),
        }
    }
}

/// The committed datatype of one derived struct, made on first use. The generated
/// `Equivalence` impl keeps one in a `static`.
#[doc(hidden)]
#[derive(Debug)]
pub struct Derived(OnceLock<Handle>);

/// A committed datatype handle that is never freed.
#[derive(Debug)]
struct Handle(ffi::MPI_Datatype);

// SAFETY: the handle is an immutable value once committed (MPI datatypes may be used
// from any thread the threading level allows); rspar never frees or changes it.
unsafe impl Send for Handle {}
// SAFETY: as above; sharing it only hands the same value to MPI calls.
unsafe impl Sync for Handle {}

impl Derived {
    /// An empty cache, for a `static`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Derived {
        Derived(OnceLock::new())
    }

    /// The datatype of struct `name` of `size` bytes with the `fields` given, made and
    /// committed on the first call. Panics (ending the job) when MPI is not running
    /// (before `rspar::init` or after finalizing) or refuses the datatype.
    #[inline]
    pub fn get<const K: usize>(
        &'static self,
        name: &str,
        size: usize,
        fields: impl FnOnce() -> [Field; K],
    ) -> DatatypeRef<'static> {
        let handle = self.0.get_or_init(|| Handle(build(name, size, &fields())));
        // SAFETY: a committed datatype that is never freed, so valid for `'static`.
        unsafe { DatatypeRef::from_raw(handle.0) }
    }
}

#[cold]
#[inline(never)]
fn build(name: &str, size: usize, fields: &[Field]) -> ffi::MPI_Datatype {
    if !mpi::environment::is_initialized() || mpi::environment::is_finalized() {
        panic!(
            "rspar: the MPI datatype of `{name}` (#[derive(Plain)]) is made on its first \
             use, which needs MPI running: use it after rspar::init and before finalizing"
        );
    }
    let lengths: Vec<i32> = fields.iter().map(|f| f.count).collect();
    // MPI_Aint is `isize` in Open MPI's header and `i64` in MPICH's.
    let offsets: Vec<ffi::MPI_Aint> = fields.iter().map(|f| f.offset as ffi::MPI_Aint).collect();
    let types: Vec<ffi::MPI_Datatype> = fields.iter().map(|f| f.datatype).collect();
    let count = i32::try_from(fields.len()).expect("#[derive(Plain)]: too many fields");
    let mut strukt = MaybeUninit::<ffi::MPI_Datatype>::uninit();
    let mut resized = MaybeUninit::<ffi::MPI_Datatype>::uninit();
    let check = |code: i32, call: &str| {
        if code != ffi::MPI_SUCCESS as i32 {
            panic!("rspar: {call} failed for the datatype of `{name}` (error code {code})");
        }
    };
    // SAFETY: the arrays hold `count` entries each, the element datatypes are valid for
    // the program (`Plain::Element`); each call writes the new handle it is given, read
    // only after its code was checked. The struct datatype is freed once the resized one
    // (which keeps its own reference) exists; the resized one is committed and never
    // freed.
    unsafe {
        check(
            ffi::MPI_Type_create_struct(
                count,
                lengths.as_ptr(),
                offsets.as_ptr(),
                types.as_ptr(),
                strukt.as_mut_ptr(),
            ),
            "MPI_Type_create_struct",
        );
        let mut strukt = strukt.assume_init();
        let made =
            ffi::MPI_Type_create_resized(strukt, 0, size as ffi::MPI_Aint, resized.as_mut_ptr());
        ffi::MPI_Type_free(&mut strukt);
        check(made, "MPI_Type_create_resized");
        let mut resized = resized.assume_init();
        check(ffi::MPI_Type_commit(&mut resized), "MPI_Type_commit");
        resized
    }
}
