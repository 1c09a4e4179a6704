//! Progress for people (a bar on a terminal) and for scripts and logs (one line per event).

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `total_bytes` when stderr is a terminal, plain lines otherwise.
    pub fn new(total_bytes: u64) -> Progress {
        let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = ProgressBar::new(total_bytes);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar }
    }

    /// A line that stays: above the bar, or on its own.
    pub fn line(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }

    /// Bytes sent in a resumable upload: the bar moves, or a line says where it is.
    pub fn sent(&self, name: &str, bytes: u64, offset: u64, total: u64) {
        match &self.bar {
            Some(bar) => {
                bar.inc(bytes);
                bar.set_message(name.to_string());
            }
            None => eprintln!("{name}: {offset}/{total} bytes"),
        }
    }

    /// A whole file done (or skipped) in one go.
    pub fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
