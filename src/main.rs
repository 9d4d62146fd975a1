//! The `kiln` binary: parse the command line, run it, map the result to an exit code.
//! Everything else lives in the library.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

// kiln parses thousands of small YAML files on all cores; glibc's allocator serialises
// those threads on its arena locks (two threads parsed slower than one on a 2-core
// machine), mimalloc's per-thread heaps do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = kiln::cli::Cli::parse();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // Not locked for the whole run: a worker thread that ever writes to stderr (a panic
    // message, say) would otherwise wait forever on the main thread's lock.
    let mut err = std::io::stderr();
    let result = kiln::commands::run(cli, &mut out, &mut err).and_then(|status| {
        out.flush()?;
        Ok(status)
    });
    match result {
        Ok(status) => ExitCode::from(status.code()),
        // A closed pipe (`kiln owners … | head`) is how Unix says "enough"; not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            ExitCode::from(kiln::diagnostics::ExitStatus::Error.code())
        }
    }
}
