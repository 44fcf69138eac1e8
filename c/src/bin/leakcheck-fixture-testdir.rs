//! `leakcheck-fixture-testdir DIR`: lay out a regrtest --testdir with the leaking fixtures
//! (used by the README's demo command).

fn main() {
    let Some(dest) = std::env::args_os().nth(1) else {
        eprintln!("usage: leakcheck-fixture-testdir DIR");
        std::process::exit(64);
    };
    match leakcheck_fixtures::populate_testdir(std::path::Path::new(&dest)) {
        Ok(dir) => println!("{}", dir.display()),
        Err(err) => {
            eprintln!("leakcheck-fixture-testdir: {err}");
            std::process::exit(1);
        }
    }
}
