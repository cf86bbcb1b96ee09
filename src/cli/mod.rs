//! Subcommands of the `herald` binary, one per module.

pub mod bench_match;
pub mod gen_workload;
pub mod matching;
pub mod normalize;
pub mod serve;

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// A line-oriented reader over a file, or standard input for `-`.
pub fn open_lines(path: &Path) -> io::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    let file = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(Box::new(BufReader::with_capacity(1 << 16, file)))
}
