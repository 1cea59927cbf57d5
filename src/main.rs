//! The `toongan` command: parses arguments and calls the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // SAFETY: first statement of main, before any thread exists.
    unsafe { toongan::backend::quiet_mesa_device_select() };
    toongan::backend::keep_freed_memory();
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
