//! The one table behind [`OpCode`](super::OpCode) and [`ErrorCode`](super::ErrorCode): each
//! variant is written once with its wire value (and, for error codes, the Java constant's name);
//! the enum, both mappings, the list of every named variant and the jute encoding are generated
//! from it, so they cannot disagree and no test has to list the values again.

/// Defines a wire enum from a table of `Variant = value` rows (`Variant = value => "NAME"` adds a
/// `name()` with the Java constant's name), plus a last variant `Unknown(i32)` that keeps every
/// other value. Generates the enum (with `Debug, Clone, Copy, PartialEq, Eq, Hash, Default`),
/// `from_i32` (never fails), `as_i32`, `ALL` (the named variants in table order), the `i32`
/// conversions both ways and the jute `Encode`/`Decode` as an int; each variant's doc starts
/// with its value.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $Name:ident {
            $(
                $(#[$vmeta:meta])*
                $Variant:ident = $value:literal => $java:literal,
            )+
        }
    ) => {
        wire_enum! {
            $(#[$meta])*
            pub enum $Name {
                $( $(#[$vmeta])* $Variant = $value, )+
            }
        }

        impl $Name {
            /// The Java client's constant name (`"NONODE"` style), for logs that operators
            /// compare with ZooKeeper's own messages; `"UNKNOWN"` for an unknown value.
            pub fn name(self) -> &'static str {
                match self {
                    $( $Name::$Variant => $java, )+
                    $Name::Unknown(_) => "UNKNOWN",
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub enum $Name:ident {
            $(
                $(#[$vmeta:meta])*
                $Variant:ident = $value:literal,
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $Name {
            $(
                #[doc = concat!("`", stringify!($value), "`: ")]
                $(#[$vmeta])*
                $Variant,
            )+
            /// Any other value, kept as it is: a value from a newer server never fails to
            /// decode; whoever interprets it decides whether it can handle it.
            Unknown(i32),
        }

        impl $Name {
            #[doc = concat!("Maps a wire value to its variant; never fails (other values become [`", stringify!($Name), "::Unknown`]).")]
            pub fn from_i32(v: i32) -> Self {
                match v {
                    $( $value => $Name::$Variant, )+
                    other => $Name::Unknown(other),
                }
            }

            /// The wire value; `from_i32(x.as_i32()) == x` for every value except an `Unknown`
            /// holding a known value.
            pub fn as_i32(self) -> i32 {
                match self {
                    $( $Name::$Variant => $value, )+
                    $Name::Unknown(v) => v,
                }
            }

            /// Every named variant, in the protocol table's order, for tests and tools that
            /// want to iterate over them.
            pub const ALL: [$Name; [$(stringify!($Variant)),+].len()] = [$($Name::$Variant),+];
        }

        impl From<i32> for $Name {
            fn from(v: i32) -> Self {
                $Name::from_i32(v)
            }
        }

        impl From<$Name> for i32 {
            fn from(x: $Name) -> Self {
                x.as_i32()
            }
        }

        /// Encoded as a jute int, so a header can hold one directly.
        impl $crate::proto::jute::Encode for $Name {
            fn encode(&self, buf: &mut ::bytes::BytesMut) {
                self.as_i32().encode(buf);
            }
        }

        /// Decoded from a jute int; unknown values are kept, not rejected.
        impl $crate::proto::jute::Decode for $Name {
            const MIN_ENCODED_LEN: usize = 4;
            fn decode(
                buf: &mut ::bytes::Bytes,
            ) -> Result<Self, $crate::proto::error::DecodeError> {
                i32::decode(buf).map($Name::from_i32)
            }
        }
    };
}
