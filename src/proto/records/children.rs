//! The names of a getChildren reply, kept in the reply's own bytes.

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::proto::error::DecodeError;
use crate::proto::jute::{put_str, read_len, Decode, Encode};

/// The child names of a getChildren(2) reply (a jute `vector<ustring>`), without a copy: the
/// names stay in the reply's bytes (a zero-copy slice of the frame), checked once when decoded
/// (the count, every length within the input, every name valid UTF-8), and are read back as
/// `&str` by [`ChildNames::iter`]. Listing a directory of 1,000 children this way allocates
/// nothing per name; [`ChildNames::to_vec`] makes the owned `Vec<String>` when one is needed.
///
/// A null vector decodes as empty and a null name as `""`, as for `Vec<String>`. Two lists are
/// equal when they hold the same names in the same order. Holding one keeps the whole reply
/// frame in memory: drop it once the names are used.
#[derive(Clone, Default)]
#[must_use]
pub struct ChildNames {
    /// How many names `names` holds.
    count: usize,
    /// The vector's elements as they came on the wire (without the count): each a length
    /// (`-1` for null) and that many bytes of UTF-8, all checked by `decode`.
    names: Bytes,
}

impl ChildNames {
    /// How many names there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if there are no names.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The names, in the order the server sent them (no particular order).
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let mut rest: &[u8] = &self.names;
        (0..self.count).map(move |_| {
            // Every length and name was checked by `decode` (or written by `from_iter`), so
            // none of the fallbacks below is ever taken; they keep this free of panics.
            let len = if rest.len() >= 4 { rest.get_i32() } else { 0 };
            let len = usize::try_from(len).unwrap_or(0).min(rest.len());
            let (name, tail) = rest.split_at(len);
            rest = tail;
            std::str::from_utf8(name).unwrap_or_default()
        })
    }

    /// The names as owned strings, in the same order.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

/// Builds a list from owned or borrowed names (for fake servers and tests).
impl<S: AsRef<str>> FromIterator<S> for ChildNames {
    fn from_iter<I: IntoIterator<Item = S>>(names: I) -> ChildNames {
        let mut buf = BytesMut::new();
        let mut count = 0;
        for name in names {
            put_str(&mut buf, name.as_ref());
            count += 1;
        }
        ChildNames {
            count,
            names: buf.freeze(),
        }
    }
}

impl fmt::Debug for ChildNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for ChildNames {
    fn eq(&self, other: &ChildNames) -> bool {
        self.count == other.count && self.iter().eq(other.iter())
    }
}

impl Eq for ChildNames {}

/// jute `vector<ustring>`: the count, then the names as they were received.
impl Encode for ChildNames {
    fn encode(&self, buf: &mut BytesMut) {
        buf.reserve(4 + self.names.len());
        buf.put_i32(i32::try_from(self.count).unwrap_or(i32::MAX));
        buf.put_slice(&self.names);
    }
}

/// jute `vector<ustring>`, checked as `Vec<String>` is (same errors for the same input) but
/// split off the input instead of copied.
impl Decode for ChildNames {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        let count = i32::decode(buf)?;
        if count == -1 {
            return Ok(ChildNames::default());
        }
        let count = usize::try_from(count).map_err(|_| DecodeError::NegativeLength(count))?;
        let needed = count.saturating_mul(<String as Decode>::MIN_ENCODED_LEN);
        if needed > buf.remaining() {
            return Err(DecodeError::LengthExceedsInput {
                len: needed,
                remaining: buf.remaining(),
            });
        }
        // Walk a clone (cheap: a reference count) and split the checked span off the input.
        let mut walk = buf.clone();
        for _ in 0..count {
            if let Some(len) = read_len(&mut walk)? {
                std::str::from_utf8(&walk[..len]).map_err(|_| DecodeError::InvalidUtf8)?;
                walk.advance(len);
            }
        }
        let used = buf.remaining() - walk.remaining();
        Ok(ChildNames {
            count,
            names: buf.split_to(used),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(raw: &[u8]) -> Result<(ChildNames, usize), DecodeError> {
        let mut b = Bytes::copy_from_slice(raw);
        let names = ChildNames::decode(&mut b)?;
        Ok((names, b.remaining()))
    }

    #[test]
    fn decodes_in_place() {
        let raw = [0, 0, 0, 2, 0, 0, 0, 1, b'a', 0, 0, 0, 2, b'b', b'c', 9];
        let input = Bytes::copy_from_slice(&raw);
        let mut b = input.clone();
        let names = ChildNames::decode(&mut b).unwrap();
        assert_eq!(b.remaining(), 1);
        assert_eq!(names.len(), 2);
        assert!(!names.is_empty());
        assert_eq!(names.iter().collect::<Vec<_>>(), ["a", "bc"]);
        assert_eq!(names.to_vec(), ["a", "bc"]);
        assert_eq!(format!("{names:?}"), r#"["a", "bc"]"#);
        assert_eq!(names, ["a", "bc"].into_iter().collect());
        assert_ne!(names, ["a"].into_iter().collect());
        // The names are the input's own bytes.
        assert_eq!(names.names.as_ptr() as usize, input.as_ptr() as usize + 4);
        let mut out = BytesMut::new();
        names.encode(&mut out);
        assert_eq!(&out[..], &raw[..raw.len() - 1]);
    }

    #[test]
    fn nulls_decode_as_empty() {
        let (names, rest) = decode(&[0xff; 4]).unwrap();
        assert!(names.is_empty());
        assert_eq!(rest, 0);
        assert_eq!(names, ChildNames::default());
        let (names, _) = decode(&[0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, b'x']).unwrap();
        assert_eq!(names.to_vec(), ["", "x"]);
        assert_eq!(names, ["", "x"].into_iter().collect());
    }

    #[test]
    fn malformed_lists_fail_as_vec_string_does() {
        let cases: &[&[u8]] = &[
            &[],
            &[0, 0, 0],
            &[0xff, 0xff, 0xff, 0xfe],
            &[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0],
            &[0, 0, 0, 1, 0, 0, 0, 2, 0xc3],
            &[0, 0, 0, 1, 0, 0, 0, 2, 0xc3, 0x28],
            &[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfd],
            &[0, 0, 0, 2, 0, 0, 0, 0, 0, 0],
        ];
        for raw in cases {
            let want = Vec::<String>::decode(&mut Bytes::copy_from_slice(raw));
            let got = ChildNames::decode(&mut Bytes::copy_from_slice(raw));
            assert!(want.is_err(), "{raw:?}");
            assert_eq!(got.map(|n| n.to_vec()), want, "{raw:?}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_vec_string(names in crate::proto::strategies::arb_names(), tail in 0usize..3) {
            let mut b = BytesMut::new();
            names.encode(&mut b);
            b.extend(std::iter::repeat_n(7u8, tail));
            let raw = b.freeze();
            let mut mine = raw.clone();
            let decoded = ChildNames::decode(&mut mine)?;
            prop_assert_eq!(decoded.to_vec(), names.clone());
            prop_assert_eq!(mine.remaining(), tail);
            prop_assert_eq!(&decoded, &names.iter().collect::<ChildNames>());
            // Every cut of a valid encoding decodes exactly as `Vec<String>` does.
            for cut in 0..raw.len() {
                let want = Vec::<String>::decode(&mut raw.slice(..cut));
                let got = ChildNames::decode(&mut raw.slice(..cut)).map(|n| n.to_vec());
                prop_assert_eq!(got, want);
            }
        }
    }
}
