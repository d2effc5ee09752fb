//! Record framing of the embedded log (see the module docs of `embedded` for the layout).
//!
//! Pure byte-level code: no I/O, so it is shared by the writer, the readers and recovery.

/// Size of the fixed record header.
pub const HEADER_LEN: usize = 16;

/// Largest key the framing can carry (the length field is a `u16`).
pub const MAX_KEY_LEN: usize = u16::MAX as usize;

/// Largest payload we accept. Far beyond any event envelope; the cap exists so that a
/// record (which readers buffer whole) can never demand an absurd allocation.
pub const MAX_PAYLOAD_LEN: usize = 256 * 1024 * 1024;

/// A decoded, self-consistent record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub payload_len: u32,
    pub key_len: u16,
    pub body_crc: u32,
}

impl Header {
    /// Bytes the whole record occupies on disk, header included.
    pub fn record_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.key_len) + u64::from(self.payload_len)
    }

    /// Does `body` (key followed by payload) match the checksum in the header?
    pub fn body_matches(&self, body: &[u8]) -> bool {
        crc32fast::hash(body) == self.body_crc
    }
}

/// Why 16 bytes are not a valid header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The header checksum does not match: torn write or corruption.
    Checksum,
    /// Flags we do not know: written by a newer format version (or corruption that happens
    /// to keep the header checksum valid, which is vanishingly unlikely).
    UnknownFlags(u16),
    /// A length beyond what this version ever writes.
    TooLarge(u32),
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::Checksum => write!(f, "record header checksum mismatch"),
            HeaderError::UnknownFlags(flags) => write!(f, "unknown record flags {flags:#06x}"),
            HeaderError::TooLarge(len) => {
                write!(f, "record payload length {len} exceeds the maximum")
            }
        }
    }
}

/// Encodes the header for a record, computing both checksums.
///
/// Callers run this on their own task, so checksumming is spread over all cores instead
/// of serialising on the single writer thread.
pub fn encode_header(key: &[u8], payload: &[u8]) -> [u8; HEADER_LEN] {
    debug_assert!(key.len() <= MAX_KEY_LEN && payload.len() <= MAX_PAYLOAD_LEN);
    let mut body_crc = crc32fast::Hasher::new();
    body_crc.update(key);
    body_crc.update(payload);

    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    header[4..6].copy_from_slice(&(key.len() as u16).to_le_bytes());
    // 6..8: flags, always zero in this version.
    header[8..12].copy_from_slice(&body_crc.finalize().to_le_bytes());
    let header_crc = crc32fast::hash(&header[0..12]);
    header[12..16].copy_from_slice(&header_crc.to_le_bytes());
    header
}

/// Decodes and validates a header. A valid header's lengths can be trusted, which is what
/// lets recovery tell a torn tail from corruption in the middle of the log.
pub fn decode_header(bytes: &[u8; HEADER_LEN]) -> Result<Header, HeaderError> {
    let field = |range: std::ops::Range<usize>| {
        let mut out = [0u8; 4];
        out[..range.len()].copy_from_slice(&bytes[range]);
        u32::from_le_bytes(out)
    };
    if crc32fast::hash(&bytes[0..12]) != field(12..16) {
        return Err(HeaderError::Checksum);
    }
    let payload_len = field(0..4);
    let key_len = field(4..6) as u16;
    let flags = field(6..8) as u16;
    if flags != 0 {
        return Err(HeaderError::UnknownFlags(flags));
    }
    if payload_len as usize > MAX_PAYLOAD_LEN {
        return Err(HeaderError::TooLarge(payload_len));
    }
    Ok(Header {
        payload_len,
        key_len,
        body_crc: field(8..12),
    })
}

/// Reads a header from the start of `bytes`, which must hold at least `HEADER_LEN` bytes.
pub fn header_at(bytes: &[u8]) -> Result<Header, HeaderError> {
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(&bytes[..HEADER_LEN]);
    decode_header(&header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let header = encode_header(b"tenant", b"{\"a\":1}");
        let decoded = decode_header(&header).expect("valid header");
        assert_eq!(decoded.key_len, 6);
        assert_eq!(decoded.payload_len, 7);
        assert_eq!(decoded.record_len(), 16 + 6 + 7);
        assert!(decoded.body_matches(b"tenant{\"a\":1}"));
        assert!(!decoded.body_matches(b"tenant{\"a\":2}"));
    }

    #[test]
    fn any_flipped_header_bit_is_detected() {
        let header = encode_header(b"k", b"payload");
        for byte in 0..HEADER_LEN {
            for bit in 0..8 {
                let mut damaged = header;
                damaged[byte] ^= 1 << bit;
                assert!(
                    decode_header(&damaged).is_err(),
                    "flip of byte {byte} bit {bit} undetected"
                );
            }
        }
    }

    #[test]
    fn zeroed_header_is_invalid() {
        assert_eq!(
            decode_header(&[0u8; HEADER_LEN]),
            Err(HeaderError::Checksum)
        );
    }
}
