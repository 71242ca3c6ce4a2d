//! Chroot: a client-side path prefix, added to outgoing paths and stripped from returned ones.

/// The chroot of a session (`None` = the server's root).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chroot(Option<String>);

impl Chroot {
    /// A chroot from an already validated path; `None` or `/` mean no chroot.
    pub fn new(root: Option<String>) -> Chroot {
        Chroot(root.filter(|r| r != "/"))
    }

    /// The prefix, if any.
    pub fn prefix(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The server path for a client path (`/x` under chroot `/app` is `/app/x`; `/` is `/app`).
    pub fn apply(&self, path: &str) -> String {
        match &self.0 {
            None => path.to_string(),
            Some(root) if path == "/" => root.clone(),
            Some(root) => {
                let mut s = String::with_capacity(root.len() + path.len());
                s.push_str(root);
                s.push_str(path);
                s
            }
        }
    }

    /// The client path for a server path. Paths outside the chroot (which the server should
    /// never send) are returned unchanged rather than mangled.
    pub fn strip<'a>(&self, path: &'a str) -> &'a str {
        match &self.0 {
            None => path,
            Some(root) => match path.strip_prefix(root.as_str()) {
                Some("") => "/",
                Some(rest) if rest.starts_with('/') => rest,
                _ => path,
            },
        }
    }

    /// Owned version of [`Chroot::strip`], reusing the string when there is no chroot.
    pub fn strip_owned(&self, path: String) -> String {
        if self.0.is_none() {
            return path;
        }
        self.strip(&path).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_and_strip() {
        let c = Chroot::new(Some("/app".into()));
        assert_eq!(c.apply("/"), "/app");
        assert_eq!(c.apply("/x/y"), "/app/x/y");
        assert_eq!(c.strip("/app"), "/");
        assert_eq!(c.strip("/app/x"), "/x");
        assert_eq!(c.strip("/apple"), "/apple");
        assert_eq!(c.strip("/other"), "/other");
        let none = Chroot::new(Some("/".into()));
        assert_eq!(none.apply("/x"), "/x");
        assert_eq!(none.strip("/x"), "/x");
    }
}
