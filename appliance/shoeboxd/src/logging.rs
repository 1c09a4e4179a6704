//! Where the log goes: to journald, with its fields as journal fields, when systemd connected our
//! stderr to the journal; to stderr otherwise (a terminal, a test, a container).

use std::io::IsTerminal;

use tracing_journald::{Priority, PriorityMappings};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

pub fn init(level: &str) {
    // nom-exif reports every tag it reads at INFO; only its errors matter here.
    let quiet_deps = if level.contains("nom_exif") { String::new() } else { ",nom_exif=error".into() };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("{level}{quiet_deps}")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);

    if stderr_is_the_journal() {
        match tracing_journald::layer() {
            Ok(journal) => {
                // The crate maps INFO to "notice"; an upload stored is routine, so syslog "info".
                let priorities = PriorityMappings {
                    info: Priority::Informational,
                    debug: Priority::Debug,
                    ..PriorityMappings::new()
                };
                registry
                    .with(journal.with_syslog_identifier("shoeboxd".into()).with_priority_mappings(priorities))
                    .init();
                return;
            }
            // The socket is gone (journald restarting, a chroot): stderr still reaches it as text.
            Err(e) => eprintln!("shoeboxd: cannot log to journald natively ({e}); logging to stderr"),
        }
    }
    registry
        .with(tracing_subscriber::fmt::layer().with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr))
        .init();
}

/// systemd sets `JOURNAL_STREAM=<device>:<inode>` for the stream it gives a service as stderr. A
/// match with our own stderr (not one inherited by a child whose stderr was redirected) means the
/// journal is reading it (systemd.exec(5)).
fn stderr_is_the_journal() -> bool {
    let Some(wanted) = std::env::var_os("JOURNAL_STREAM") else { return false };
    let Some((dev, ino)) = wanted.to_str().and_then(|s| s.split_once(':')) else { return false };
    // Parsed as whatever integer types this target's stat has.
    match rustix::fs::fstat(std::io::stderr()) {
        Ok(st) => dev.parse() == Ok(st.st_dev) && ino.parse() == Ok(st.st_ino),
        Err(_) => false,
    }
}
