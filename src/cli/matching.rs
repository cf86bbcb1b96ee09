//! `herald match --filters F --docs D`: registers every filter in one collection of the
//! matcher, then streams the documents and prints, for each, the ascending line numbers of the
//! filters it matches.
//!
//! Documents are read, matched and printed one at a time, so memory does not grow with their
//! number. Identical filters (same id) are registered once; every line holding one is reported.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use herald_filters::engine::{CollectionName, Engine};
use herald_filters::{normalize, FilterId, Options};
use serde_json::Value;

pub fn run(filters: &Path, docs: &Path, options: &Options) -> io::Result<ExitCode> {
    let engine = Engine::new();
    let collection = CollectionName::new("cli", "match");
    let mut lines_of: HashMap<FilterId, Vec<usize>> = HashMap::new();
    for (number, line) in super::open_lines_with_progress(filters, "registering")?
        .lines()
        .enumerate()
    {
        let line = line?;
        let filter: Value = serde_json::from_str(&line)
            .map_err(|e| invalid(filters, number, &format!("invalid JSON: {e}")))?;
        let normalized =
            normalize(&filter, options).map_err(|e| invalid(filters, number, &e.to_string()))?;
        engine.register(&collection, normalized.id, &normalized.canonical);
        lines_of.entry(normalized.id).or_default().push(number);
    }

    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut bad_documents = 0usize;
    let mut ids: Vec<FilterId> = Vec::new();
    let mut matches: Vec<usize> = Vec::new();
    for (number, line) in super::open_lines_with_progress(docs, "matching")?
        .lines()
        .enumerate()
    {
        let line = line?;
        let doc: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                bad_documents += 1;
                eprintln!(
                    "herald: {}: line {}: invalid JSON document: {e}",
                    docs.display(),
                    number + 1
                );
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "error": format!("invalid JSON: {e}") })
                )?;
                continue;
            }
        };
        ids.clear();
        engine.test(&collection, &doc, &mut ids);
        matches.clear();
        for id in &ids {
            if let Some(lines) = lines_of.get(id) {
                matches.extend_from_slice(lines);
            }
        }
        matches.sort_unstable();
        write_array(&mut out, &matches)?;
    }
    out.flush()?;
    Ok(if bad_documents == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_array(out: &mut impl Write, numbers: &[usize]) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, n) in numbers.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(out, "{n}")?;
    }
    out.write_all(b"]\n")
}

fn invalid(file: &Path, number: usize, message: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{}: line {}: invalid filter: {message}",
            file.display(),
            number + 1
        ),
    )
}
