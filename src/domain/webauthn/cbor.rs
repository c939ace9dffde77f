//! A strict decoder of the CBOR subset WebAuthn uses (RFC 8949): unsigned and negative integers
//! that fit an `i64`, byte strings, text strings, arrays, maps, `true`, `false` and `null`.
//!
//! Everything else is refused: indefinite lengths, tags, floats, other simple values, map keys
//! that repeat or are not integers or text, text that is not UTF-8, nesting deeper than
//! [`MAX_DEPTH`], arrays and maps of more than [`MAX_ENTRIES`]. Every length is
//! checked against the bytes left before anything is read or allocated, so no input panics or
//! makes it allocate more than the input's size. Non-shortest integer heads are accepted: CTAP2
//! asks authenticators for canonical CBOR, but refusing a key over its encoding buys nothing.
//!
//! Why not a crate: attestation objects, COSE keys and extension maps need only this subset,
//! which is ~150 lines here; a general crate costs more wasm (see the commit that added it).

/// Arrays and maps inside arrays and maps: a COSE key is depth 1, an attestation object 2.
pub const MAX_DEPTH: usize = 8;

/// Items of an array or entries of a map: WebAuthn's largest, a COSE RSA key or a packed
/// statement, has 4 or 5. The bound keeps the repeated-key check (quadratic) cheap.
pub const MAX_ENTRIES: usize = 32;

/// A decoded CBOR data item, borrowing its strings from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    Text(&'a str),
    Array(Vec<Value<'a>>),
    Map(Vec<(Value<'a>, Value<'a>)>),
    Bool(bool),
    Null,
}

impl<'a> Value<'a> {
    /// The value under `key` when `self` is a map.
    pub fn get(&self, key: &Value<'_>) -> Option<&Value<'a>> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value under the integer key `key` (COSE labels).
    pub fn get_int(&self, key: i64) -> Option<&Value<'a>> {
        self.get(&Value::Int(key))
    }

    /// The value under the text key `key` (attestation object members).
    pub fn get_text(&self, key: &str) -> Option<&Value<'a>> {
        self.get(&Value::Text(key))
    }
}

/// Why a CBOR input was refused (all collapse to one "malformed" for callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CborError;

/// Decodes exactly one data item filling the whole input.
pub fn decode(input: &[u8]) -> Result<Value<'_>, CborError> {
    let (value, used) = decode_prefix(input)?;
    if used == input.len() {
        Ok(value)
    } else {
        Err(CborError)
    }
}

/// Decodes one data item at the start of `input`; answers it and how many bytes it took (the
/// COSE key inside authenticator data is followed by more bytes and carries no length).
pub fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, usize), CborError> {
    let mut reader = Reader { input, pos: 0 };
    let value = reader.item(0)?;
    Ok((value, reader.pos))
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        if n > self.remaining() {
            return Err(CborError);
        }
        let bytes = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    /// The argument of a head whose additional information is `info` (RFC 8949 §3).
    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        let width = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(CborError), // 28..30 reserved, 31 indefinite length
        };
        Ok(self.take(width)?.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A length that must fit in the bytes left (each element of an array or map takes at
    /// least one byte, so this also bounds the element counts before any allocation).
    fn length(&mut self, info: u8) -> Result<usize, CborError> {
        let n = self.argument(info)?;
        match usize::try_from(n) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => Err(CborError),
        }
    }

    /// The count of an array or map, at most [`MAX_ENTRIES`].
    fn entries(&mut self, info: u8) -> Result<usize, CborError> {
        match self.length(info)? {
            n if n <= MAX_ENTRIES => Ok(n),
            _ => Err(CborError),
        }
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, CborError> {
        let head = self.take(1)?[0];
        let (major, info) = (head >> 5, head & 0x1f);
        match major {
            0 => i64::try_from(self.argument(info)?).map(Value::Int).map_err(|_| CborError),
            1 => {
                let n = i64::try_from(self.argument(info)?).map_err(|_| CborError)?;
                Ok(Value::Int(-1 - n))
            }
            2 => {
                let n = self.length(info)?;
                Ok(Value::Bytes(self.take(n)?))
            }
            3 => {
                let n = self.length(info)?;
                let text = std::str::from_utf8(self.take(n)?).map_err(|_| CborError)?;
                Ok(Value::Text(text))
            }
            4 | 5 if depth >= MAX_DEPTH => Err(CborError),
            4 => {
                let n = self.entries(info)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let n = self.entries(info)?;
                let mut entries: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.item(depth + 1)?;
                    let plain = matches!(key, Value::Int(_) | Value::Text(_));
                    if !plain || entries.iter().any(|(k, _)| *k == key) {
                        return Err(CborError);
                    }
                    let value = self.item(depth + 1)?;
                    entries.push((key, value));
                }
                Ok(Value::Map(entries))
            }
            7 => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                _ => Err(CborError),
            },
            _ => Err(CborError), // 6: tags
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webauthn_subset_decodes() {
        // {"fmt": "none", 1: -7, 2: h'0102', 3: [true, false, null]}
        let input = [
            0xa4, 0x63, b'f', b'm', b't', 0x64, b'n', b'o', b'n', b'e', 0x01, 0x26, 0x02, 0x42, 0x01, 0x02, 0x03, 0x83,
            0xf5, 0xf4, 0xf6,
        ];
        let value = decode(&input).unwrap();
        assert_eq!(value.get_text("fmt"), Some(&Value::Text("none")));
        assert_eq!(value.get_int(1), Some(&Value::Int(-7)));
        assert_eq!(value.get_int(2), Some(&Value::Bytes(&[1, 2])));
        assert_eq!(value.get_int(3), Some(&Value::Array(vec![Value::Bool(true), Value::Bool(false), Value::Null])));
    }

    #[test]
    fn long_heads_and_the_extreme_integers_decode() {
        assert_eq!(decode(&[0x19, 0x01, 0x00]), Ok(Value::Int(256)));
        assert_eq!(decode(&[0x39, 0x01, 0x00]), Ok(Value::Int(-257)));
        let max = [0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(decode(&max), Ok(Value::Int(i64::MAX)));
        let min = [0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(decode(&min), Ok(Value::Int(i64::MIN)));
    }

    #[test]
    fn what_webauthn_does_not_use_is_refused() {
        let refused: &[&[u8]] = &[
            &[],                                                     // nothing
            &[0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0],                      // > i64::MAX
            &[0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0],                      // < i64::MIN
            &[0x5f, 0x41, 0x00, 0xff],                               // indefinite bytes
            &[0x9f, 0xff],                                           // indefinite array
            &[0xc2, 0x41, 0x01],                                     // tag
            &[0xf9, 0x3c, 0x00],                                     // half float
            &[0xf7],                                                 // undefined
            &[0x1c],                                                 // reserved info
            &[0x62, 0xff, 0xfe],                                     // text not UTF-8
            &[0xa2, 0x01, 0x01, 0x01, 0x02],                         // repeated key
            &[0x5a, 0xff, 0xff, 0xff, 0xff],                         // 4 GB of bytes promised
            &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // 2^64 items promised
            &[0x01, 0x02],                                           // trailing bytes
        ];
        for input in refused {
            assert_eq!(decode(input), Err(CborError), "{input:02x?}");
        }
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused() {
        let mut deep = vec![0x81; MAX_DEPTH];
        deep.push(0x00);
        assert!(decode(&deep).is_ok());
        let mut deeper = vec![0x81; MAX_DEPTH + 1];
        deeper.push(0x00);
        assert_eq!(decode(&deeper), Err(CborError));
    }

    #[test]
    fn maps_keyed_by_other_than_integers_or_text_are_refused() {
        assert_eq!(decode(&[0xa1, 0x41, 0x00, 0x00]), Err(CborError)); // {h'00': 0}
        assert_eq!(decode(&[0xa1, 0xf6, 0x00]), Err(CborError)); // {null: 0}
        assert_eq!(decode(&[0xa1, 0x80, 0x00]), Err(CborError)); // {[]: 0}
    }

    #[test]
    fn arrays_and_maps_over_the_entry_limit_are_refused() {
        let array = |n: usize| [vec![0x98, n as u8], vec![0x00; n]].concat();
        assert!(decode(&array(MAX_ENTRIES)).is_ok());
        assert_eq!(decode(&array(MAX_ENTRIES + 1)), Err(CborError));
        let map = |n: usize| [vec![0xb8, n as u8], (0..n as u8).flat_map(|k| [0x18, k, 0x00]).collect()].concat();
        assert!(decode(&map(MAX_ENTRIES)).is_ok());
        assert_eq!(decode(&map(MAX_ENTRIES + 1)), Err(CborError));
    }

    #[test]
    fn a_prefix_answers_the_bytes_it_took() {
        assert_eq!(decode_prefix(&[0x41, 0x07, 0xff]), Ok((Value::Bytes(&[7]), 2)));
    }
}
