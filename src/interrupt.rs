//! Ctrl-C and SIGTERM: the first signal asks long work to stop gracefully (runs and sweeps
//! stop between rounds or units, keep what is complete and say how to resume; training
//! writes its model, best checkpoint, curve and a summary marked interrupted); a second
//! signal exits at once with status 130. The command line installs the handler; library
//! code only asks `requested()` where it can stop cleanly.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// Whether the user asked to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Asks long work to stop (what the first signal does; tests and embedding programs may
/// call it too).
pub fn request() {
    REQUESTED.store(true, Ordering::Relaxed);
}

/// Installs the handler: the first Ctrl-C or SIGTERM calls `request` and says so on
/// standard error, the second exits with status 130. Fails if a handler is already set.
pub fn install() -> Result<(), String> {
    ctrlc::set_handler(|| {
        if SIGNALS.fetch_add(1, Ordering::SeqCst) == 0 {
            request();
            // Never a panic here (a closed standard error must not kill the handler).
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "\nmechsim: stopping after the work in progress (interrupt again to quit at once)"
            );
        } else {
            std::process::exit(130);
        }
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))
}
