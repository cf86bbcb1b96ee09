//! Subcommands of the `herald` binary, one per module.

pub mod bench_match;
pub mod matching;
pub mod normalize;
pub mod serve;

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// A line-oriented reader over a file with a progress bar on standard error (bytes read of
/// the file's size) while it is read, drawn only when standard error is a terminal.
pub fn open_lines_with_progress(path: &Path, what: &str) -> io::Result<Box<dyn BufRead>> {
    let inner = open_lines(path)?;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if path.as_os_str() == "-" || size == 0 {
        return Ok(inner);
    }
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    Ok(Box::new(Progress { inner, bar }))
}

/// A reader that advances a progress bar by what is consumed, and clears it at the end.
struct Progress {
    inner: Box<dyn BufRead>,
    bar: indicatif::ProgressBar,
}

impl io::Read for Progress {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

impl BufRead for Progress {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.bar.inc(amount as u64);
        self.inner.consume(amount);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// A line-oriented reader over a file, or standard input for `-`.
pub fn open_lines(path: &Path) -> io::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    let file = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(Box::new(BufReader::with_capacity(1 << 16, file)))
}

/// The filter limits (spec 15, decision 10), shared by every subcommand that reads filters.
#[derive(clap::Args, Clone, Debug)]
pub struct FilterLimits {
    /// Maximum number of conditions of a written filter (each `in`/`ids` value counts one),
    /// as Kuzzle's `limits.subscriptionConditionsCount`.
    #[arg(long, env = "HERALD_MAX_CONDITIONS", default_value_t = herald_filters::Options::DEFAULT_MAX_CONDITIONS)]
    pub max_conditions: usize,
    /// Maximum number of subfilters of a filter's canonical form (OR of ANDs), checked before
    /// it is expanded.
    #[arg(long, env = "HERALD_MAX_SUBFILTERS", default_value_t = herald_filters::Options::DEFAULT_MAX_SUBFILTERS)]
    pub max_subfilters: usize,
    /// Maximum number of points of one `geoPolygon`.
    #[arg(long, env = "HERALD_MAX_POLYGON_POINTS", default_value_t = herald_filters::Options::DEFAULT_MAX_POLYGON_POINTS)]
    pub max_polygon_points: usize,
    /// Maximum estimated memory of one filter's compiled regexps, in bytes.
    #[arg(long, env = "HERALD_MAX_REGEXP_BYTES", default_value_t = herald_filters::Options::DEFAULT_MAX_REGEXP_BYTES)]
    pub max_regexp_bytes: usize,
}

impl FilterLimits {
    pub fn options(&self) -> herald_filters::Options {
        herald_filters::Options {
            max_conditions: self.max_conditions,
            max_subfilters: self.max_subfilters,
            max_polygon_points: self.max_polygon_points,
            max_regexp_bytes: self.max_regexp_bytes,
            ..herald_filters::Options::default()
        }
    }
}
