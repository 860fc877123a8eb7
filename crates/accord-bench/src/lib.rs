//! Scorers the benchmarks and the quality tests share (they read benchmark data and
//! labels, so they are no part of any shipped crate's API).

pub mod logs_eval;
pub mod logs_select;
