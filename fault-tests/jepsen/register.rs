//! The protected resource: a register that accepts a write only with a fencing token at least
//! as high as the highest it has accepted (what a store that takes fencing tokens does).

use std::sync::Mutex;

/// An accepted write: which section wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Accepted {
    section: u64,
    token: i64,
}

/// The fenced register, shared by every worker.
#[derive(Debug, Default)]
pub struct Register {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    highest: Option<i64>,
    log: Vec<Accepted>,
    rejected: usize,
}

impl Register {
    /// A write of `section` (a unique id per critical section) with `token`. Returns whether
    /// the register accepted it.
    pub fn write(&self, section: u64, token: i64) -> bool {
        let mut s = self.inner.lock().unwrap();
        if s.highest.is_some_and(|h| token < h) {
            s.rejected += 1;
            return false;
        }
        s.highest = Some(token);
        s.log.push(Accepted { section, token });
        true
    }

    /// Writes the register turned away (stale tokens: fencing at work).
    pub fn rejected(&self) -> usize {
        self.inner.lock().unwrap().rejected
    }

    /// Violations in the accepted writes: the writes of one section must form one run (another
    /// section's write in between means two holders' writes interleaved), and tokens never go
    /// down.
    pub fn violations(&self) -> Vec<String> {
        let s = self.inner.lock().unwrap();
        let mut out = Vec::new();
        let mut finished = std::collections::HashSet::new();
        for w in s.log.windows(2) {
            let (a, b) = (w[0], w[1]);
            if b.token < a.token {
                out.push(format!(
                    "register accepted token {} after {}",
                    b.token, a.token
                ));
            }
            if a.section != b.section {
                finished.insert(a.section);
                if finished.contains(&b.section) {
                    out.push(format!(
                        "writes of section {} interleaved with another holder's (tokens {} then {})",
                        b.section, a.token, b.token
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rising_tokens_and_rejects_stale_ones() {
        let r = Register::default();
        assert!(r.write(1, 10));
        assert!(r.write(1, 10));
        assert!(r.write(2, 12));
        assert!(!r.write(1, 10), "a stale holder's late write");
        assert_eq!(r.rejected(), 1);
        assert!(r.violations().is_empty());
    }

    #[test]
    fn equal_tokens_of_two_sections_interleaving_is_a_violation() {
        // Only a broken token (two holders with the same one) lets this through.
        let r = Register::default();
        r.write(1, 10);
        r.write(2, 10);
        r.write(1, 10);
        assert_eq!(r.violations().len(), 1, "{:?}", r.violations());
    }
}
