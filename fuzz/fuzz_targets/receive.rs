//! Coverage-guided fuzzing of rspar's receive path: the input's first byte picks a type,
//! the rest is sent as raw bytes (a `u8` buffer) and received as an object of that type.
//! Whatever the bytes, `receive` must return `Ok` or an `Err`, never panic or allocate
//! beyond the input, and a refused message must still be there, unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Thing {
    a: u8,
    names: Vec<String>,
    weight: Option<f64>,
    nested: Vec<(u16, Vec<u64>)>,
}

thread_local! {
    // MPI starts once per process (a world of one rank without mpirun).
    static WORLD: rspar::Communicator = rspar::init().expect("MPI init");
}

fn receive_as(world: &rspar::Communicator, kind: u8) -> rspar::Result<()> {
    match kind % 6 {
        0 => world.receive::<u64>(0).map(drop),
        1 => world.receive::<String>(0).map(drop),
        2 => world.receive::<Vec<u32>>(0).map(drop),
        3 => world.receive::<Thing>(0).map(drop),
        4 => world.receive::<Vec<Vec<String>>>(0).map(drop),
        _ => world.receive::<(u8, Option<Vec<f64>>)>(0).map(drop),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    WORLD.with(|world| {
        world.send_buffer(bytes, 0).expect("send to self");
        if let Err(err) = receive_as(world, kind) {
            if let rspar::ErrorKind::TypeMismatch { .. } = err.kind() {
                let kept = world.receive_buffer::<u8>(0).expect("drain");
                assert_eq!(kept, bytes, "a refused message changed");
            }
        }
    });
});
