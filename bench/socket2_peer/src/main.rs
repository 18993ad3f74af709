//! The socket2 row of `make bench`: `socket2::Socket::new` + drop against the bare
//! `socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)` + `close`, measured in this process the way
//! `bench/bench.c` measures its rows: rounds of bare calls and of socket2 calls, the order
//! alternating from round to round, one warm-up round discarded, and the median, smallest and
//! largest ratio socket2 / bare over the rounds. Prints one row of that table.
//!
//! ```text
//! cargo run --release --manifest-path bench/socket2_peer/Cargo.toml -- [rounds]
//! ```
//!
//! A cargo project of its own (`make bench` builds it), so that csock's lockfile and an offline
//! build of the library never need socket2.

use std::hint::black_box;
use std::io;
use std::process::ExitCode;
use std::time::Instant;

use socket2::{Domain, Socket, Type};

/// Each side of a round runs for about this long.
const ROUND_NS: f64 = 4_000_000.0;

/// `socket(2)` and `close(2)`, straight through libc.
fn bare() -> io::Result<()> {
    // SAFETY: socket(2) takes no pointers; the descriptor it returns is closed below, once.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is the descriptor socket(2) just returned, owned here and closed once.
    if unsafe { libc::close(black_box(fd)) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// socket2 sets `SOCK_CLOEXEC` itself on Linux: the same single system call.
fn socket2() -> io::Result<()> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    drop(black_box(socket));
    Ok(())
}

/// Runs `calls` calls of `op`; the mean time per call in nanoseconds.
fn time(op: fn() -> io::Result<()>, calls: u32) -> io::Result<f64> {
    let start = Instant::now();
    for _ in 0..calls {
        op()?;
    }
    Ok(start.elapsed().as_nanos() as f64 / f64::from(calls))
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn run(rounds: usize) -> io::Result<()> {
    let calls = ((ROUND_NS / time(bare, 200)?.max(1.0)) as u32).max(100);
    let (mut base, mut meas, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    // Round 0 is the warm-up.
    for r in 0..=rounds {
        let (b, m) = if r % 2 == 1 {
            let b = time(bare, calls)?;
            (b, time(socket2, calls)?)
        } else {
            let m = time(socket2, calls)?;
            (time(bare, calls)?, m)
        };
        if r > 0 {
            base.push(b);
            meas.push(m);
            ratio.push(m / b);
        }
    }
    let ratio = sorted(ratio);
    println!(
        "| {:<26} | {:<38} | {:>8.0} | {:>8.0} | {:>6.2} | {:>5.2} | {:>5.2} | {:<7} |",
        "socket2 Socket::new + drop",
        "socket(SOCK_CLOEXEC) + close, in Rust",
        median(&sorted(base)),
        median(&sorted(meas)),
        median(&ratio),
        ratio[0],
        ratio[ratio.len() - 1],
        "-"
    );
    Ok(())
}

fn main() -> ExitCode {
    let rounds = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => 51,
        Some(Ok(n)) if (1..=1001).contains(&n) => n,
        Some(_) => {
            eprintln!("usage: socket2_peer [rounds, 1..1001]");
            return ExitCode::from(2);
        }
    };
    match run(rounds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("socket2_peer: {err}");
            ExitCode::FAILURE
        }
    }
}
