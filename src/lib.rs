//! Herald — stub being written.
pub mod workload;
