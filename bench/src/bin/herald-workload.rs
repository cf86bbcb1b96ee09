//! `herald-workload`: writes a benchmark workload (filters.jsonl, docs.jsonl) so that
//! `herald bench-match` and `bench/koncorde/bench-match.js` measure the same inputs.
//!
//! ```text
//! cargo run --release -p herald-bench --bin herald-workload -- --name realistic --filters 100000 --out /tmp/w
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use herald_bench::workload;

/// Write a benchmark workload as filters.jsonl and docs.jsonl.
#[derive(Parser)]
#[command(name = "herald-workload", version)]
struct Args {
    // In `help`, not a doc comment: rustdoc would read `<keyword>` as an HTML tag.
    #[arg(
        long,
        help = "realistic, heavy, alerts, geo, feeds, or koncorde-<keyword>."
    )]
    name: String,
    /// Number of filters.
    #[arg(long, default_value_t = 10_000)]
    filters: usize,
    /// Number of documents.
    #[arg(long, default_value_t = 1_000)]
    docs: usize,
    /// Random seed (same seed, same files).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args.name, args.filters, args.docs, args.seed, &args.out) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("herald-workload: {err}");
            ExitCode::from(2)
        }
    }
}

fn run(name: &str, filters: usize, docs: usize, seed: u64, out: &Path) -> io::Result<ExitCode> {
    // Drawn only when standard error is a terminal.
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner.set_message(format!(
        "generating {name}: {filters} filters, {docs} documents"
    ));
    let generated = workload::by_name(name, filters, docs, seed);
    spinner.set_message(format!("writing {}", out.display()));
    let Some(w) = generated else {
        spinner.finish_and_clear();
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "unknown workload {name:?} (known: {})",
                workload::WORKLOAD_NAMES.join(", ")
            ),
        ));
    };
    let written = workload::write_jsonl(&w, out);
    spinner.finish_and_clear();
    written?;
    eprintln!(
        "wrote {} filters and {} documents to {}",
        w.filters.len(),
        w.docs.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
