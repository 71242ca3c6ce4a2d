//! Jute, ZooKeeper's serialization format: the two traits every record implements and the
//! primitive encodings they are built from.
//!
//! Jute has no tags, no padding and no self-description: a record is its fields in declaration
//! order. Integers are big-endian; `buffer`, `ustring` and `vector` carry an `int` length (or
//! count) prefix where `-1` means null. Because the format trusts lengths blindly, decoding is
//! where all the defensiveness lives: every length is checked against the remaining input before
//! anything is read or allocated, so hostile bytes end in a [`DecodeError`], never in a panic or
//! a huge allocation.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::error::DecodeError;

/// Appends the jute encoding of a value.
///
/// Encoding is infallible: it writes into a growable buffer. Size limits (`jute.maxbuffer`) are a
/// framing concern and are checked by whoever sends the frame.
pub trait Encode {
    /// Appends `self` to `buf`.
    fn encode(&self, buf: &mut BytesMut);
}

/// Reads a value from the front of a buffer, consuming exactly its bytes.
///
/// Decoding from `Bytes` lets byte fields be split off without copying. On error the buffer's
/// position is unspecified; the frame should be discarded.
pub trait Decode: Sized {
    /// The fewest bytes any encoding of `Self` occupies.
    ///
    /// Vector decoding multiplies a declared element count by this and rejects counts the input
    /// cannot possibly hold before allocating. It must never exceed the true minimum (that would
    /// reject valid input); the default of 1 is safe for any type that consumes at least one byte.
    const MIN_ENCODED_LEN: usize = 1;

    /// Decodes one value from the front of `buf`.
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError>;
}

/// Fails with `UnexpectedEof` unless `n` bytes remain.
fn ensure(buf: &Bytes, n: usize) -> Result<(), DecodeError> {
    if buf.remaining() < n {
        Err(DecodeError::UnexpectedEof {
            needed: n,
            remaining: buf.remaining(),
        })
    } else {
        Ok(())
    }
}

/// Reads a `buffer`/`ustring` length prefix: `None` for null (-1), otherwise a length already
/// checked to fit in the remaining input.
pub(crate) fn read_len(buf: &mut Bytes) -> Result<Option<usize>, DecodeError> {
    let len = i32::decode(buf)?;
    if len == -1 {
        return Ok(None);
    }
    let len = usize::try_from(len).map_err(|_| DecodeError::NegativeLength(len))?;
    if len > buf.remaining() {
        return Err(DecodeError::LengthExceedsInput {
            len,
            remaining: buf.remaining(),
        });
    }
    Ok(Some(len))
}

/// Writes a length prefix. Lengths beyond `i32::MAX` cannot be expressed in jute; they saturate
/// (such a frame is far above any server's `jute.maxbuffer` and would be refused anyway).
fn put_len(buf: &mut BytesMut, len: usize) {
    buf.put_i32(i32::try_from(len).unwrap_or(i32::MAX));
}

/// Appends a jute `ustring` from a borrowed `&str`, so callers need not build a `String` first.
pub fn put_str(buf: &mut BytesMut, s: &str) {
    put_buffer(buf, s.as_bytes());
}

/// Appends a jute `buffer` from a borrowed slice, so callers need not build a `Bytes` first.
pub fn put_buffer(buf: &mut BytesMut, b: &[u8]) {
    buf.reserve(4 + b.len());
    put_len(buf, b.len());
    buf.put_slice(b);
}

/// Appends a null `buffer`/`ustring`/`vector` (length -1).
pub fn put_null(buf: &mut BytesMut) {
    buf.put_i32(-1);
}

/// jute `int`: 4 bytes big-endian.
impl Encode for i32 {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_i32(*self);
    }
}

/// jute `int`: 4 bytes big-endian.
impl Decode for i32 {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        ensure(buf, 4)?;
        Ok(buf.get_i32())
    }
}

/// jute `long`: 8 bytes big-endian.
impl Encode for i64 {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_i64(*self);
    }
}

/// jute `long`: 8 bytes big-endian.
impl Decode for i64 {
    const MIN_ENCODED_LEN: usize = 8;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        ensure(buf, 8)?;
        Ok(buf.get_i64())
    }
}

/// jute `boolean`: one byte, 1 or 0.
impl Encode for bool {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u8(u8::from(*self));
    }
}

/// jute `boolean`: one byte; any non-zero value is true, as in Java's `readBool`.
impl Decode for bool {
    const MIN_ENCODED_LEN: usize = 1;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        ensure(buf, 1)?;
        Ok(buf.get_u8() != 0)
    }
}

/// jute `buffer`: length + bytes. An empty `Bytes` is written as length 0, never as null.
impl Encode for Bytes {
    fn encode(&self, buf: &mut BytesMut) {
        put_buffer(buf, self);
    }
}

/// jute `buffer`, split off the input without copying. Null decodes as empty because no caller
/// of this crate needs to tell the two apart (use `Option<Bytes>` where it matters).
impl Decode for Bytes {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        Ok(Option::<Bytes>::decode(buf)?.unwrap_or_default())
    }
}

/// jute `buffer` where null is written as `None`.
impl Encode for Option<Bytes> {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Some(b) => b.encode(buf),
            None => put_null(buf),
        }
    }
}

/// jute `buffer` where null (-1) is kept as `None`.
impl Decode for Option<Bytes> {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        Ok(read_len(buf)?.map(|len| buf.split_to(len)))
    }
}

/// jute `ustring`: byte length + UTF-8.
impl Encode for str {
    fn encode(&self, buf: &mut BytesMut) {
        put_str(buf, self);
    }
}

/// jute `ustring`: byte length + UTF-8.
impl Encode for String {
    fn encode(&self, buf: &mut BytesMut) {
        put_str(buf, self);
    }
}

/// jute `ustring`; null decodes as `""` (ZooKeeper never distinguishes them in replies).
impl Decode for String {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        Ok(Option::<String>::decode(buf)?.unwrap_or_default())
    }
}

/// jute `ustring` where `None` is written as null.
impl Encode for Option<String> {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Some(s) => put_str(buf, s),
            None => put_null(buf),
        }
    }
}

/// jute `ustring` where null (-1) is kept as `None`. UTF-8 is validated before allocating.
impl Decode for Option<String> {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        let Some(len) = read_len(buf)? else {
            return Ok(None);
        };
        let s = std::str::from_utf8(&buf[..len])
            .map_err(|_| DecodeError::InvalidUtf8)?
            .to_owned();
        buf.advance(len);
        Ok(Some(s))
    }
}

/// jute `vector`: element count + elements.
impl<T: Encode> Encode for [T] {
    fn encode(&self, buf: &mut BytesMut) {
        put_len(buf, self.len());
        for item in self {
            item.encode(buf);
        }
    }
}

/// jute `vector`: element count + elements.
impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, buf: &mut BytesMut) {
        self.as_slice().encode(buf);
    }
}

/// jute `vector`; null decodes as empty. The count is checked against the remaining input
/// (count × the element's minimum size) before the vector is allocated.
impl<T: Decode> Decode for Vec<T> {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        let count = i32::decode(buf)?;
        if count == -1 {
            return Ok(Vec::new());
        }
        let count = usize::try_from(count).map_err(|_| DecodeError::NegativeLength(count))?;
        let needed = count.saturating_mul(T::MIN_ENCODED_LEN.max(1));
        if needed > buf.remaining() {
            return Err(DecodeError::LengthExceedsInput {
                len: needed,
                remaining: buf.remaining(),
            });
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(T::decode(buf)?);
        }
        Ok(items)
    }
}

/// Lets `&record` be passed wherever an encodable value is expected.
impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self, buf: &mut BytesMut) {
        (**self).encode(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc<T: Encode + ?Sized>(v: &T) -> Vec<u8> {
        let mut b = BytesMut::new();
        v.encode(&mut b);
        b.to_vec()
    }

    fn dec<T: Decode>(bytes: &[u8]) -> Result<(T, usize), DecodeError> {
        let mut b = Bytes::copy_from_slice(bytes);
        let v = T::decode(&mut b)?;
        Ok((v, b.remaining()))
    }

    #[test]
    fn int_and_long_are_big_endian() {
        assert_eq!(enc(&0x0102_0304i32), [1, 2, 3, 4]);
        assert_eq!(enc(&-1i32), [0xff; 4]);
        assert_eq!(enc(&0x0102_0304_0506_0708i64), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(enc(&i64::MIN), [0x80, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(dec::<i32>(&[0xff, 0xff, 0xff, 0x9b]), Ok((-101, 0)));
        assert_eq!(dec::<i64>(&[0, 0, 0, 0, 0, 0, 1, 0, 9]), Ok((256, 1)));
        assert_eq!(
            dec::<i32>(&[1, 2, 3]),
            Err(DecodeError::UnexpectedEof {
                needed: 4,
                remaining: 3
            })
        );
        assert!(dec::<i64>(&[0; 7]).is_err());
    }

    #[test]
    fn bool_is_one_byte_nonzero_true() {
        assert_eq!(enc(&true), [1]);
        assert_eq!(enc(&false), [0]);
        assert_eq!(dec::<bool>(&[0]), Ok((false, 0)));
        assert_eq!(dec::<bool>(&[2]), Ok((true, 0)));
        assert_eq!(dec::<bool>(&[0xff, 7]), Ok((true, 1)));
        assert!(dec::<bool>(&[]).is_err());
    }

    #[test]
    fn buffer_and_string_vectors() {
        assert_eq!(enc(&Bytes::from_static(b"ab")), [0, 0, 0, 2, b'a', b'b']);
        assert_eq!(enc(&Bytes::new()), [0, 0, 0, 0]);
        assert_eq!(enc(&Option::<Bytes>::None), [0xff; 4]);
        assert_eq!(enc("/zk"), [0, 0, 0, 3, b'/', b'z', b'k']);
        assert_eq!(enc(&Option::<String>::None), [0xff; 4]);
        let mut b = BytesMut::new();
        put_str(&mut b, "é");
        assert_eq!(&b[..], [0, 0, 0, 2, 0xc3, 0xa9]);
        assert_eq!(
            dec::<Bytes>(&[0, 0, 0, 2, 9, 8, 7]),
            Ok((Bytes::from_static(&[9, 8]), 1))
        );
        assert_eq!(dec::<Bytes>(&[0xff; 4]), Ok((Bytes::new(), 0)));
        assert_eq!(dec::<Option<Bytes>>(&[0xff; 4]), Ok((None, 0)));
        assert_eq!(dec::<String>(&[0xff; 4]), Ok((String::new(), 0)));
        assert_eq!(dec::<Option<String>>(&[0xff; 4]), Ok((None, 0)));
        assert_eq!(dec::<String>(&[0, 0, 0, 1, b'x']), Ok(("x".to_string(), 0)));
        assert_eq!(
            enc(&vec!["a".to_string(), "bc".to_string()]),
            [0, 0, 0, 2, 0, 0, 0, 1, b'a', 0, 0, 0, 2, b'b', b'c']
        );
        assert_eq!(enc(&Vec::<i32>::new()), [0, 0, 0, 0]);
        assert_eq!(dec::<Vec<i32>>(&[0xff; 4]), Ok((vec![], 0)));
        assert_eq!(
            dec::<Vec<i32>>(&[0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]),
            Ok((vec![1, -2], 0))
        );
    }

    #[test]
    fn bad_lengths_are_rejected_before_reading() {
        assert_eq!(
            dec::<Bytes>(&[0xff, 0xff, 0xff, 0xfe]),
            Err(DecodeError::NegativeLength(-2))
        );
        assert_eq!(
            dec::<String>(&[0x80, 0, 0, 0]),
            Err(DecodeError::NegativeLength(i32::MIN))
        );
        assert_eq!(
            dec::<Bytes>(&[0x7f, 0xff, 0xff, 0xff, 1]),
            Err(DecodeError::LengthExceedsInput {
                len: i32::MAX as usize,
                remaining: 1
            })
        );
        assert_eq!(
            dec::<String>(&[0, 0, 0, 2, 0xc3]),
            Err(DecodeError::LengthExceedsInput {
                len: 2,
                remaining: 1
            })
        );
        assert_eq!(
            dec::<String>(&[0, 0, 0, 2, 0xc3, 0x28]),
            Err(DecodeError::InvalidUtf8)
        );
        // A count of i32::MAX strings needs at least 4 bytes each: refused before allocating.
        assert_eq!(
            dec::<Vec<String>>(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
            Err(DecodeError::LengthExceedsInput {
                len: i32::MAX as usize * 4,
                remaining: 4
            })
        );
        // Two ints need 8 bytes, only 7 are there.
        assert!(matches!(
            dec::<Vec<i32>>(&[0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0]),
            Err(DecodeError::LengthExceedsInput { len: 8, .. })
        ));
        assert_eq!(
            dec::<Vec<i32>>(&[0xff, 0xff, 0xff, 0xfd]),
            Err(DecodeError::NegativeLength(-3))
        );
    }

    #[test]
    fn decoded_buffer_shares_the_input() {
        let input = Bytes::from(vec![0, 0, 0, 3, 1, 2, 3]);
        let base = input.as_ptr() as usize;
        let mut b = input.clone();
        let out = Bytes::decode(&mut b).unwrap();
        assert_eq!(out.as_ptr() as usize, base + 4);
    }

    proptest! {
        #[test]
        fn primitives_round_trip(
            i in any::<i32>(),
            l in any::<i64>(),
            f in any::<bool>(),
            s in ".{0,20}",
            o in proptest::option::of(".{0,5}"),
            b in proptest::collection::vec(any::<u8>(), 0..40),
            v in proptest::collection::vec(any::<i64>(), 0..10),
        ) {
            let mut buf = BytesMut::new();
            i.encode(&mut buf);
            l.encode(&mut buf);
            f.encode(&mut buf);
            s.encode(&mut buf);
            o.encode(&mut buf);
            Bytes::from(b.clone()).encode(&mut buf);
            v.encode(&mut buf);
            let mut input = buf.freeze();
            prop_assert_eq!(i32::decode(&mut input)?, i);
            prop_assert_eq!(i64::decode(&mut input)?, l);
            prop_assert_eq!(bool::decode(&mut input)?, f);
            prop_assert_eq!(String::decode(&mut input)?, s);
            prop_assert_eq!(Option::<String>::decode(&mut input)?, o);
            prop_assert_eq!(Bytes::decode(&mut input)?, Bytes::from(b));
            prop_assert_eq!(Vec::<i64>::decode(&mut input)?, v);
            prop_assert_eq!(input.remaining(), 0);
        }
    }
}
