//! `herald normalize --filters F`: one output line per filter line, the id and canonical form
//! or the error.

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use herald_filters::{normalize, Options};
use serde_json::{json, Value};

pub fn run(filters: &Path, options: &Options) -> io::Result<ExitCode> {
    let input = super::open_lines(filters)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for line in input.lines() {
        let line = line?;
        let result = serde_json::from_str::<Value>(&line)
            .map_err(|e| ("".to_string(), format!("invalid JSON: {e}")))
            .and_then(|filter| normalize(&filter, options).map_err(|e| (e.path, e.message)));
        match result {
            Ok(normalized) => {
                writeln!(
                    out,
                    "{{\"id\":\"{}\",\"canonical\":{}}}",
                    normalized.id,
                    normalized.canonical.to_canonical_string()
                )?;
            }
            Err((path, message)) => {
                writeln!(
                    out,
                    "{}",
                    json!({"error": {"path": path, "message": message}})
                )?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
