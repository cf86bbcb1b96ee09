//! The `herald` command line: the server and the offline filter tools.
//!
//! Each subcommand lives in its own module under `cli/`; this file only parses arguments and
//! dispatches.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "herald",
    version,
    about = "A realtime room engine speaking Kuzzle's realtime protocol"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (Kuzzle-compatible WebSocket + HTTP).
    Serve(Box<cli::serve::ServeArgs>),
    /// Print the id and canonical form of each filter (one JSON filter per line).
    Normalize {
        /// File of filters, one JSON value per line ("-" for standard input).
        #[arg(long)]
        filters: PathBuf,
        #[command(flatten)]
        limits: cli::FilterLimits,
    },
    /// Register every filter of a file, then print, for each document, the line numbers of the
    /// filters it matches.
    Match {
        /// File of filters, one JSON value per line.
        #[arg(long)]
        filters: PathBuf,
        /// File of documents, one JSON object per line ("-" for standard input).
        #[arg(long)]
        docs: PathBuf,
        #[command(flatten)]
        limits: cli::FilterLimits,
    },
    /// Measure matching throughput on a workload; prints one JSON line.
    BenchMatch {
        /// File of filters, one JSON value per line (rejected lines are counted and skipped).
        #[arg(long)]
        filters: PathBuf,
        /// File of documents, one JSON object per line, matched round-robin.
        #[arg(long)]
        docs: PathBuf,
        /// How long to match.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        #[command(flatten)]
        limits: cli::FilterLimits,
    },
}

fn main() -> ExitCode {
    // Before any other thread exists (see the function's docs: a tail-latency fix).
    herald_filters::engine::tune_allocator();
    let args = Args::parse();
    let result = match args.command {
        Command::Serve(args) => cli::serve::run(*args),
        Command::Normalize { filters, limits } => cli::normalize::run(&filters, &limits.options()),
        Command::Match {
            filters,
            docs,
            limits,
        } => cli::matching::run(&filters, &docs, &limits.options()),
        Command::BenchMatch {
            filters,
            docs,
            seconds,
            limits,
        } => cli::bench_match::run(&filters, &docs, seconds, &limits.options()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("herald: {err}");
            ExitCode::from(2)
        }
    }
}
