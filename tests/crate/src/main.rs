//! The ring, written in a crate that only depends on rspar.

use rspar::prelude::*;

#[derive(Plain, Clone, Copy, Debug, PartialEq)]
struct Point {
    x: f64,
    y: f64,
}

fn main() -> rspar::Result<()> {
    let world = rspar::init()?;
    let (rank, size) = (world.rank(), world.size());
    if rank == 0 {
        world.send("P0", 1 % size)?;
        let (msg, status) = world.with_status().receive::<String>(size - 1)?;
        println!("downstream: rank 0 received \"{msg}\" from rank {}", status.source);
    } else {
        let mut msg: String = world.receive(rank - 1)?;
        msg.push_str(&format!("P{rank}"));
        world.send(&msg, (rank + 1) % size)?;
    }
    // A derived plain struct on the buffer path, round the ring the other way.
    let point = [Point { x: rank as f64, y: 1.0 }];
    world.send_buffer(&point, (rank + size - 1) % size)?;
    let got: Vec<Point> = world.receive_buffer((rank + 1) % size)?;
    assert_eq!(got, [Point { x: ((rank + 1) % size) as f64, y: 1.0 }]);
    Ok(())
}
