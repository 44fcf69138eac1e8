//! leakcheck's benchmarks live in `benches/benches/` (criterion) and `benches/*.sh` (whole
//! process); results in `benches/README.md`. This library is empty.
