//! Subcommands of the `herald` binary, one per module.

pub mod bench_match;
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
