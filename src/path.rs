//! ZooKeeper path validation, done on the client because the server checks paths only partly.

use crate::error::Error;

/// Checks `path` the way ZooKeeper's `PathUtils.validatePath` does: absolute, no trailing `/`
/// (except the root), no empty, `.` or `..` segments, no NUL or control characters.
///
/// ```
/// assert!(zksync::validate_path("/app/lock").is_ok());
/// assert!(zksync::validate_path("app").is_err());
/// assert!(zksync::validate_path("/a//b").is_err());
/// ```
pub fn validate_path(path: &str) -> Result<(), Error> {
    validate(path, false)
}

/// Like [`validate_path`], for the prefix of a sequential create: a trailing `/` is allowed
/// there because the server appends the sequence number.
pub fn validate_sequential_prefix(path: &str) -> Result<(), Error> {
    validate(path, true)
}

fn validate(path: &str, sequential: bool) -> Result<(), Error> {
    let err = |reason| {
        Err(Error::InvalidPath {
            path: path.to_string(),
            reason,
        })
    };
    if path.is_empty() {
        return err("path must not be empty");
    }
    if !path.starts_with('/') {
        return err("path must start with '/'");
    }
    if path == "/" {
        return Ok(());
    }
    // A sequential prefix may end with '/': the server appends the number to it.
    let body = if sequential {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    if body.ends_with('/') {
        return err("path must not end with '/'");
    }
    for c in path.chars() {
        if c == '\0' {
            return err("path must not contain NUL");
        }
        if matches!(c, '\u{1}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{fff0}'..='\u{ffff}')
            || ('\u{e000}'..='\u{f8ff}').contains(&c)
        {
            return err("path contains a control or reserved character");
        }
    }
    for seg in body[1..].split('/') {
        match seg {
            "" => return err("path must not contain an empty segment"),
            "." | ".." => return err("path must not contain '.' or '..' segments"),
            _ => {}
        }
    }
    Ok(())
}

/// The parent of a valid path (`/a/b` -> `/a`, `/a` -> `/`); `None` for the root.
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// Joins a parent path and a child name (`/` + `a` -> `/a`, `/x` + `a` -> `/x/a`).
pub fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_paths() {
        for p in [
            "/",
            "/a",
            "/a/b",
            "/a-b_c.d",
            "/zksync-test/x/_c_ab-write-",
            "/\u{e9}t\u{e9}",
        ] {
            assert!(validate_path(p).is_ok(), "{p}");
        }
        assert!(validate_sequential_prefix("/a/").is_ok());
        assert!(validate_sequential_prefix("/a/n-").is_ok());
    }

    #[test]
    fn rejects_invalid_paths() {
        for p in [
            "",
            "a",
            "/a/",
            "//",
            "/a//b",
            "/a/./b",
            "/..",
            "/a\0b",
            "/a\u{1}",
            "/a\u{f000}",
        ] {
            assert!(validate_path(p).is_err(), "{p:?}");
        }
        assert!(validate_sequential_prefix("/a//").is_err());
    }

    #[test]
    fn parent_and_join() {
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
