//! `herald serve`: the network server.
//!
//! The server (Kuzzle-compatible WebSocket and HTTP, issue "herald serve") is not built yet;
//! the command exists so that the documented way to start Herald stays the same.

use std::io;
use std::process::ExitCode;

pub fn run(port: u16) -> io::Result<ExitCode> {
    eprintln!(
        "herald serve: the network server is not implemented yet (it will listen on port {port}).\n\
         Available today: `herald normalize --filters F` and `herald match --filters F --docs D`."
    );
    Ok(ExitCode::from(1))
}
