//! The Wi-Fi network this computer is on, read with the tools Linux desktops have: `iwgetid`
//! (wireless-tools), `nmcli` (NetworkManager) and `iw`. None of them answering means "unknown".

use std::process::Command;

/// The current SSID, or None when no tool could tell (no Wi-Fi, or no tool installed).
pub fn current_ssid() -> Option<String> {
    iwgetid().or_else(nmcli).or_else(iw)
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn iwgetid() -> Option<String> {
    let ssid = output("iwgetid", &["-r"])?.trim_end_matches('\n').to_string();
    (!ssid.is_empty()).then_some(ssid)
}

fn nmcli() -> Option<String> {
    parse_nmcli(&output("nmcli", &["-t", "-f", "active,ssid", "dev", "wifi"])?)
}

fn iw() -> Option<String> {
    parse_iw(&output("iw", &["dev"])?)
}

/// `yes:Home Wi-Fi` is the active one; nmcli's terse mode escapes `:` and `\` with a backslash.
fn parse_nmcli(text: &str) -> Option<String> {
    let line = text.lines().find_map(|l| l.strip_prefix("yes:"))?;
    let mut ssid = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            ssid.extend(chars.next());
        } else {
            ssid.push(c);
        }
    }
    (!ssid.is_empty()).then_some(ssid)
}

fn parse_iw(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.trim_start().strip_prefix("ssid ")).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nmcli_terse_output() {
        assert_eq!(parse_nmcli("no:Neighbour\nyes:Home\\: 5G\n"), Some("Home: 5G".to_string()));
        assert_eq!(parse_nmcli("no:Neighbour\n"), None);
    }

    #[test]
    fn iw_dev_output() {
        let text = "phy#0\n\tInterface wlp2s0\n\t\tifindex 3\n\t\tssid Home Wi-Fi\n\t\ttype managed\n";
        assert_eq!(parse_iw(text), Some("Home Wi-Fi".to_string()));
    }
}
