//! leakcheck: run CPython's test suite under leak checks and explain what it finds.
//!
//! Data flows one way (see DESIGN.md): [`cli`] -> [`launch`] -> [`supervise`] -> ([`regrtest`],
//! [`shim_events`]) -> [`leaks`] -> [`report`]. [`run`] ties them together for one run; the
//! binary only parses flags, calls [`run::execute`], prints and exits with an [`exit`] status.
//! Library modules never print and never exit.

pub mod cli;
pub mod escape;
pub mod exit;
pub mod hang;
pub mod launch;
pub mod leaks;
pub mod outputs;
pub mod regrtest;
pub mod report;
pub mod run;
pub mod sanitizer;
pub mod shim_events;
pub mod sites;
pub mod supervise;
pub mod suppress;
pub mod symbolize;
