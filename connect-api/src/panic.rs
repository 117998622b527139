//! Turning panics into errors at the plugin boundary.
//!
//! A panic must never unwind across `extern "C"` (that aborts the process). Every exported call runs its body in
//! [`guard`], which catches the panic and returns a [`ConnectError`] of kind `Panic` with the message, the
//! location and a backtrace, so the runtime fails that task with a useful trace and keeps the worker up.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use crate::error::{ConnectError, ErrorKind, Result};

thread_local! {
    /// Location and backtrace of the last panic on this thread that happened inside a guard.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    static IN_GUARD: RefCell<u32> = const { RefCell::new(0) };
}

static INSTALL_HOOK: Once = Once::new();

/// Installs (once per copy of the standard library, so once per plugin) a panic hook that records the location
/// and backtrace of panics raised inside [`guard`] and leaves other panics to the previous hook.
fn install_hook() {
    INSTALL_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let guarded = IN_GUARD.with(|g| *g.borrow() > 0);
            if guarded {
                let location = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                let backtrace = std::backtrace::Backtrace::force_capture();
                let text = format!("panicked at {}\n{backtrace}", location.as_deref().unwrap_or("<unknown>"));
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Runs `f`, converting a panic into a [`ConnectError`] of kind [`ErrorKind::Panic`].
///
/// ```
/// use connect_api::{panic::guard, ErrorKind};
///
/// let ok: connect_api::Result<i32> = guard("compute", || Ok(1));
/// assert_eq!(ok.unwrap(), 1);
///
/// let err = guard::<(), _>("poll", || panic!("boom")).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Panic);
/// assert_eq!(err.message(), "poll panicked: boom");
/// assert!(err.trace().unwrap().contains("panicked at"));
/// ```
pub fn guard<T, F>(what: &str, f: F) -> Result<T>
where
    F: FnOnce() -> Result<T>,
{
    install_hook();
    IN_GUARD.with(|g| *g.borrow_mut() += 1);
    let outcome = catch_unwind(AssertUnwindSafe(f));
    IN_GUARD.with(|g| *g.borrow_mut() -= 1);
    match outcome {
        Ok(result) => result,
        Err(payload) => {
            let message = format!("{what} panicked: {}", payload_message(payload.as_ref()));
            let trace = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
            Err(ConnectError::with_kind(ErrorKind::Panic, message).with_trace(trace))
        }
    }
}
