//! Is anything of CMD's process group still running?
//!
//! `kill(-pgid, 0)` succeeds while any process of the group exists, zombies included. A
//! process of the group that exited after its parent did is reparented to init, and where init
//! does not reap (some container and VM inits do not), its zombie stays for good: zksync
//! would then wait out `--kill-after` and report a SIGKILL for a command that had stopped at
//! SIGTERM. On Linux the group's members are looked up in `/proc` and zombies ignored.

/// True if some process of group `pgid` has not exited (zombies do not count on Linux).
pub fn has_live_member(pgid: libc::pid_t) -> bool {
    // SAFETY: kill has no memory-safety preconditions; signal 0 only checks for existence.
    let exists = unsafe { libc::kill(-pgid, 0) == 0 };
    if !exists {
        return false;
    }
    #[cfg(target_os = "linux")]
    if let Some(live) = live_member_in_proc(pgid) {
        return live;
    }
    true
}

/// Scans `/proc/*/stat`; `None` if `/proc` cannot be read (then the caller trusts `kill`).
#[cfg(target_os = "linux")]
fn live_member_in_proc(pgid: libc::pid_t) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // A process may exit between the listing and the read: skip it.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if is_live_member(&stat, pgid) {
            return Some(true);
        }
    }
    Some(false)
}

/// Whether a `/proc/PID/stat` line is of a process in group `pgid` that is not a zombie (or
/// dead). The line is `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses,
/// so the fields are taken after the last `)`.
fn is_live_member(stat: &str, pgid: libc::pid_t) -> bool {
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    let (Some(state), Some(_ppid), Some(pgrp)) = (fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    pgrp.parse::<libc::pid_t>() == Ok(pgid) && !matches!(state, "Z" | "X" | "x")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_member_counts_and_a_zombie_does_not() {
        assert!(is_live_member("42 (sleep) S 41 40 40 0 -1 4194560 ...", 40));
        assert!(!is_live_member("42 (sleep) Z 1 40 40 0 -1 4194560 ...", 40));
        assert!(!is_live_member(
            "42 (sleep) S 41 39 39 0 -1 4194560 ...",
            40
        ));
    }

    #[test]
    fn a_command_name_with_spaces_and_parentheses_is_skipped_over() {
        assert!(is_live_member("7 (a (b) c) R 1 7 7 0", 7));
        assert!(!is_live_member("7 (a ) Z 9) Z 1 7 7 0", 7));
    }

    #[test]
    fn malformed_lines_are_not_members() {
        assert!(!is_live_member("", 7));
        assert!(!is_live_member("7 (x) S", 7));
        assert!(!is_live_member("7 (x) S 1 notanumber", 7));
    }

    #[test]
    fn this_process_group_has_a_live_member() {
        // SAFETY: getpgrp has no preconditions.
        let own = unsafe { libc::getpgrp() };
        assert!(has_live_member(own));
    }
}
