//! The 68 opcodes of pickle protocols 0-5, named as `pickletools` names them.
//!
//! The table mirrors `Lib/pickletools.py` (`opcodes`): byte, name, the argument's
//! encoding and the protocol that introduced the opcode. The names are part of our
//! output contract (`artifact dis --format json` prints them), so they must match
//! pickletools letter for letter.

/// How an opcode's inline argument is encoded (pickletools' `ArgumentDescriptor`s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgEncoding {
    /// No inline argument.
    None,
    /// One unsigned byte.
    U8,
    /// Two bytes, little-endian unsigned.
    U16,
    /// Four bytes, little-endian signed (`int4`).
    I32,
    /// Four bytes, little-endian unsigned (`uint4`).
    U32,
    /// Eight bytes, little-endian unsigned (`uint8`).
    U64,
    /// Eight bytes, big-endian IEEE 754 double (`float8`).
    F64Be,
    /// A newline-terminated line of text (`decimalnl_short`, `floatnl`, `stringnl`, ...).
    Line,
    /// Two newline-terminated lines (`stringnl_noescape_pair`: module and name).
    TwoLines,
    /// A one-byte length, then that many bytes.
    Len8,
    /// A four-byte little-endian unsigned length, then that many bytes.
    LenU32,
    /// A four-byte little-endian *signed* length (negative is an error), then that many bytes.
    LenI32,
    /// An eight-byte little-endian unsigned length, then that many bytes.
    LenU64,
}

macro_rules! opcodes {
    ($($variant:ident = $byte:literal, $name:literal, $arg:ident, $proto:literal;)*) => {
        /// One pickle opcode.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Opcode {
            $($variant,)*
        }

        impl Opcode {
            /// Every opcode, in the order pickletools lists them.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$variant,)*];

            /// The opcode for a byte, if the byte is one (a table lookup: this runs once
            /// per opcode of every file).
            #[inline]
            pub fn from_byte(byte: u8) -> Option<Opcode> {
                BY_BYTE[byte as usize]
            }

            /// The byte that encodes this opcode.
            #[inline]
            pub const fn byte(self) -> u8 {
                match self {
                    $(Opcode::$variant => $byte,)*
                }
            }

            /// The name pickletools prints (`SHORT_BINUNICODE`).
            #[inline]
            pub fn name(self) -> &'static str {
                match self {
                    $(Opcode::$variant => $name,)*
                }
            }

            /// How the inline argument is encoded.
            #[inline]
            pub fn arg(self) -> ArgEncoding {
                match self {
                    $(Opcode::$variant => ArgEncoding::$arg,)*
                }
            }

            /// The pickle protocol that introduced the opcode.
            #[inline]
            pub fn protocol(self) -> u8 {
                match self {
                    $(Opcode::$variant => $proto,)*
                }
            }
        }
    };
}

opcodes! {
    // Protocol 0 and 1 stack/mark manipulation and scalars.
    Int = b'I', "INT", Line, 0;
    BinInt = b'J', "BININT", I32, 1;
    BinInt1 = b'K', "BININT1", U8, 1;
    BinInt2 = b'M', "BININT2", U16, 1;
    Long = b'L', "LONG", Line, 0;
    Long1 = 0x8a, "LONG1", Len8, 2;
    Long4 = 0x8b, "LONG4", LenI32, 2;
    String = b'S', "STRING", Line, 0;
    BinString = b'T', "BINSTRING", LenI32, 1;
    ShortBinString = b'U', "SHORT_BINSTRING", Len8, 1;
    BinBytes = b'B', "BINBYTES", LenU32, 3;
    ShortBinBytes = b'C', "SHORT_BINBYTES", Len8, 3;
    BinBytes8 = 0x8e, "BINBYTES8", LenU64, 4;
    ByteArray8 = 0x96, "BYTEARRAY8", LenU64, 5;
    NextBuffer = 0x97, "NEXT_BUFFER", None, 5;
    ReadonlyBuffer = 0x98, "READONLY_BUFFER", None, 5;
    None = b'N', "NONE", None, 0;
    NewTrue = 0x88, "NEWTRUE", None, 2;
    NewFalse = 0x89, "NEWFALSE", None, 2;
    Unicode = b'V', "UNICODE", Line, 0;
    ShortBinUnicode = 0x8c, "SHORT_BINUNICODE", Len8, 4;
    BinUnicode = b'X', "BINUNICODE", LenU32, 1;
    BinUnicode8 = 0x8d, "BINUNICODE8", LenU64, 4;
    Float = b'F', "FLOAT", Line, 0;
    BinFloat = b'G', "BINFLOAT", F64Be, 1;
    EmptyList = b']', "EMPTY_LIST", None, 1;
    Append = b'a', "APPEND", None, 0;
    Appends = b'e', "APPENDS", None, 1;
    List = b'l', "LIST", None, 0;
    EmptyTuple = b')', "EMPTY_TUPLE", None, 1;
    Tuple = b't', "TUPLE", None, 0;
    Tuple1 = 0x85, "TUPLE1", None, 2;
    Tuple2 = 0x86, "TUPLE2", None, 2;
    Tuple3 = 0x87, "TUPLE3", None, 2;
    EmptyDict = b'}', "EMPTY_DICT", None, 1;
    Dict = b'd', "DICT", None, 0;
    SetItem = b's', "SETITEM", None, 0;
    SetItems = b'u', "SETITEMS", None, 1;
    EmptySet = 0x8f, "EMPTY_SET", None, 4;
    AddItems = 0x90, "ADDITEMS", None, 4;
    FrozenSet = 0x91, "FROZENSET", None, 4;
    Pop = b'0', "POP", None, 0;
    Dup = b'2', "DUP", None, 0;
    Mark = b'(', "MARK", None, 0;
    PopMark = b'1', "POP_MARK", None, 1;
    Get = b'g', "GET", Line, 0;
    BinGet = b'h', "BINGET", U8, 1;
    LongBinGet = b'j', "LONG_BINGET", U32, 1;
    Put = b'p', "PUT", Line, 0;
    BinPut = b'q', "BINPUT", U8, 1;
    LongBinPut = b'r', "LONG_BINPUT", U32, 1;
    Memoize = 0x94, "MEMOIZE", None, 4;
    Ext1 = 0x82, "EXT1", U8, 2;
    Ext2 = 0x83, "EXT2", U16, 2;
    Ext4 = 0x84, "EXT4", I32, 2;
    Global = b'c', "GLOBAL", TwoLines, 0;
    StackGlobal = 0x93, "STACK_GLOBAL", None, 4;
    Reduce = b'R', "REDUCE", None, 0;
    Build = b'b', "BUILD", None, 0;
    Inst = b'i', "INST", TwoLines, 0;
    Obj = b'o', "OBJ", None, 1;
    NewObj = 0x81, "NEWOBJ", None, 2;
    NewObjEx = 0x92, "NEWOBJ_EX", None, 4;
    Proto = 0x80, "PROTO", U8, 2;
    Stop = b'.', "STOP", None, 0;
    Frame = 0x95, "FRAME", U64, 4;
    PersId = b'P', "PERSID", Line, 0;
    BinPersId = b'Q', "BINPERSID", None, 1;
}

const BY_BYTE: [Option<Opcode>; 256] = {
    let mut table = [None; 256];
    let mut i = 0;
    while i < Opcode::ALL.len() {
        table[Opcode::ALL[i].byte() as usize] = Some(Opcode::ALL[i]);
        i += 1;
    }
    table
};

/// The highest protocol this reader understands (and CPython 3.11 writes).
pub const HIGHEST_PROTOCOL: u8 = 5;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn there_are_68_opcodes_with_distinct_bytes_and_names() {
        assert_eq!(Opcode::ALL.len(), 68);
        let bytes: HashSet<u8> = Opcode::ALL.iter().map(|op| op.byte()).collect();
        let names: HashSet<&str> = Opcode::ALL.iter().map(|op| op.name()).collect();
        assert_eq!(bytes.len(), 68);
        assert_eq!(names.len(), 68);
    }

    #[test]
    fn from_byte_round_trips() {
        for op in Opcode::ALL {
            assert_eq!(Opcode::from_byte(op.byte()), Some(*op));
        }
        assert_eq!(Opcode::from_byte(0x00), None);
        assert_eq!(Opcode::from_byte(b'x'), None);
    }

    #[test]
    fn protocols_match_pickletools() {
        let count = |p| Opcode::ALL.iter().filter(|op| op.protocol() == p).count();
        assert_eq!(
            [count(0), count(1), count(2), count(3), count(4), count(5)],
            [22, 19, 12, 2, 10, 3]
        );
    }
}
