//! `herald gen-workload`: writes a benchmark workload (filters.jsonl, docs.jsonl) so that
//! `herald bench-match` and `bench/koncorde/bench-match.js` measure the same inputs.

use std::io;
use std::path::Path;
use std::process::ExitCode;

use herald::workload;

pub fn run(name: &str, filters: usize, docs: usize, seed: u64, out: &Path) -> io::Result<ExitCode> {
    let Some(w) = workload::by_name(name, filters, docs, seed) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "unknown workload {name:?} (known: {})",
                workload::WORKLOAD_NAMES.join(", ")
            ),
        ));
    };
    workload::write_jsonl(&w, out)?;
    eprintln!(
        "wrote {} filters and {} documents to {}",
        w.filters.len(),
        w.docs.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
