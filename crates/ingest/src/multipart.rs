//! `multipart/mixed` (RFC 2046 §5.1), byte-exact, for Statement requests and responses
//! with attachments (§2.12).
//!
//! Why not `multer`: it is built for `multipart/form-data`, streams, and gives no control
//! over what counts as a delimiter. Here the whole body is already in memory (bounded by
//! `max_body_bytes`), part bodies are sliced out of it without copying and are never
//! decoded as text, and every malformation is a precise error for the 400 body.
//!
//! Grammar, as implemented:
//! - a delimiter line is `--boundary` at the start of the body or right after CRLF, then
//!   optional spaces/tabs, then CRLF; the CRLF before it belongs to the delimiter, not to
//!   the preceding part. `--boundary--` closes the body; the epilogue after it is ignored.
//! - `--boundary` followed by anything else is content, not a delimiter (so a part may
//!   contain the boundary text as long as it is not a whole delimiter line).
//! - a part is its headers (CRLF-terminated lines, folded lines allowed), an empty line,
//!   then the body. A part that starts with CRLF has no headers.
//! - line ends are CRLF only: a bare LF never ends a header line or starts a delimiter, so
//!   binary bodies ending in LF or CR are kept exactly.

use bytes::Bytes;
use memchr::memmem;
use std::fmt::Write as _;

/// At most this many parts are parsed; more is a 400 rather than unbounded work.
pub const MAX_PARTS: usize = 10_000;

/// One part of a multipart body: its headers (in order, as sent) and its body bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Part {
    /// First value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many times a header occurs (a repeated hash header is ambiguous).
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }
}

/// The characters RFC 2046 allows in a boundary (`bchars`; space only inside).
fn is_bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b)
}

/// Checks a boundary: 1 to 70 `bchars`, not ending in a space.
pub fn validate_boundary(boundary: &str) -> Result<(), String> {
    let b = boundary.as_bytes();
    if b.is_empty() || b.len() > 70 {
        return Err(format!(
            "multipart boundary must be 1 to 70 characters long (got {})",
            b.len()
        ));
    }
    if let Some(&c) = b.iter().find(|c| !is_bchar(**c)) {
        return Err(format!(
            "multipart boundary contains {:?}, which RFC 2046 does not allow",
            c as char
        ));
    }
    if b.last() == Some(&b' ') {
        return Err("multipart boundary must not end with a space".into());
    }
    Ok(())
}

/// The media type of a `Content-Type` value without parameters, lowercased
/// (`Multipart/Mixed; boundary=x` -> `multipart/mixed`).
pub fn media_type_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Parameters of a `Content-Type` value (`type/subtype; name=value; name="quoted"`), names
/// lowercased. Malformed parameters are an error rather than silently skipped.
pub fn media_type_parameters(content_type: &str) -> Result<Vec<(String, String)>, String> {
    let mut params = Vec::new();
    let s = content_type.as_bytes();
    let mut i = match content_type.find(';') {
        Some(i) => i,
        None => return Ok(params),
    };
    while i < s.len() {
        // At a ';' (or trailing whitespace).
        while i < s.len() && (s[i] == b';' || s[i] == b' ' || s[i] == b'\t') {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        let name_start = i;
        while i < s.len() && s[i] != b'=' && s[i] != b';' {
            i += 1;
        }
        let name = content_type[name_start..i].trim().to_ascii_lowercase();
        if i >= s.len() || s[i] != b'=' || name.is_empty() {
            return Err(format!(
                "malformed Content-Type parameter {:?}",
                content_type[name_start..i].trim()
            ));
        }
        i += 1; // '='
        let value = if s.get(i) == Some(&b'"') {
            i += 1;
            let mut v = Vec::new();
            loop {
                match s.get(i) {
                    None => return Err(format!("unterminated quoted value of parameter {name:?}")),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if i + 1 < s.len() => {
                        v.push(s[i + 1]);
                        i += 2;
                    }
                    Some(&c) => {
                        v.push(c);
                        i += 1;
                    }
                }
            }
            // The input was a &str and only ASCII quote/backslash bytes were removed.
            String::from_utf8(v).map_err(|_| format!("parameter {name:?} is not text"))?
        } else {
            let start = i;
            while i < s.len() && s[i] != b';' {
                i += 1;
            }
            content_type[start..i].trim().to_owned()
        };
        while i < s.len() && (s[i] == b' ' || s[i] == b'\t') {
            i += 1;
        }
        if i < s.len() && s[i] != b';' {
            return Err(format!("unexpected text after parameter {name:?}"));
        }
        params.push((name, value));
    }
    Ok(params)
}

/// The `boundary` parameter of a `multipart/mixed` Content-Type, validated.
pub fn boundary_of(content_type: &str) -> Result<String, String> {
    let params = media_type_parameters(content_type)?;
    let mut found = params.into_iter().filter(|(n, _)| n == "boundary");
    let boundary = found
        .next()
        .map(|(_, v)| v)
        .ok_or("multipart/mixed Content-Type has no boundary parameter")?;
    if found.next().is_some() {
        return Err("multipart/mixed Content-Type has more than one boundary parameter".into());
    }
    validate_boundary(&boundary)?;
    Ok(boundary)
}

/// A delimiter line found in the body.
struct Delimiter {
    /// Where the delimiter starts, including the CRLF that precedes it (if any).
    start: usize,
    /// First byte after the delimiter line (after its CRLF), or after `--` when closing.
    next: usize,
    close: bool,
}

struct Scanner<'a> {
    body: &'a [u8],
    dash_boundary: Vec<u8>,
    finder: memmem::Finder<'a>,
}

impl<'a> Scanner<'a> {
    /// The next delimiter line at or after `from`. `at_start` allows one at offset
    /// `from` without a preceding CRLF (only the very first delimiter of a body).
    fn next_delimiter(&self, from: usize, at_start: bool) -> Option<Delimiter> {
        let body = self.body;
        let mut search = from;
        while search <= body.len() {
            let idx = search + self.finder.find(body.get(search..)?)?;
            search = idx + 1;
            let start = if at_start && idx == from {
                idx
            } else if idx >= from + 2 && &body[idx - 2..idx] == b"\r\n" {
                idx - 2
            } else {
                continue;
            };
            let mut j = idx + self.dash_boundary.len();
            if body.get(j..j + 2) == Some(b"--") {
                return Some(Delimiter {
                    start,
                    next: j + 2,
                    close: true,
                });
            }
            while matches!(body.get(j), Some(b' ') | Some(b'\t')) {
                j += 1;
            }
            if body.get(j..j + 2) == Some(b"\r\n") {
                return Some(Delimiter {
                    start,
                    next: j + 2,
                    close: false,
                });
            }
        }
        None
    }
}

/// Splits a multipart body into its parts. `boundary` is the Content-Type parameter
/// (without the leading `--`). Errors say what is wrong and where, for a 400.
pub fn parse(body: &Bytes, boundary: &str) -> Result<Vec<Part>, String> {
    validate_boundary(boundary)?;
    let mut dash_boundary = Vec::with_capacity(boundary.len() + 2);
    dash_boundary.extend_from_slice(b"--");
    dash_boundary.extend_from_slice(boundary.as_bytes());
    let finder = memmem::Finder::new(&dash_boundary).into_owned();
    let scanner = Scanner {
        body,
        dash_boundary: dash_boundary.clone(),
        finder,
    };
    let first = scanner
        .next_delimiter(0, true)
        .ok_or_else(|| format!("multipart body has no boundary delimiter line \"--{boundary}\""))?;
    if first.close {
        return Err("multipart body has no parts".into());
    }
    let mut parts = Vec::new();
    let mut pos = first.next;
    loop {
        let number = parts.len() + 1;
        if number > MAX_PARTS {
            return Err(format!("multipart body has more than {MAX_PARTS} parts"));
        }
        let d = scanner.next_delimiter(pos, false).ok_or_else(|| {
            format!(
                "multipart part {number} is not followed by a boundary delimiter \
                 (the body must end with \"--{boundary}--\")"
            )
        })?;
        parts.push(parse_part(body.slice(pos..d.start), number)?);
        if d.close {
            return Ok(parts);
        }
        pos = d.next;
    }
}

/// Splits one part into headers and body.
fn parse_part(part: Bytes, number: usize) -> Result<Part, String> {
    if part.starts_with(b"\r\n") {
        return Ok(Part {
            headers: Vec::new(),
            body: part.slice(2..),
        });
    }
    let end = memmem::find(&part, b"\r\n\r\n")
        .ok_or_else(|| format!("multipart part {number}: no empty line after the part headers"))?;
    let headers = parse_headers(&part[..end], number)?;
    Ok(Part {
        headers,
        body: part.slice(end + 4..),
    })
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Header lines (RFC 5322 style, CRLF-separated, folding allowed). Values are trimmed
/// text; control characters other than tab (so also a bare CR or LF) are refused.
fn parse_headers(block: &[u8], number: usize) -> Result<Vec<(String, String)>, String> {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut rest = block;
    loop {
        let (line, next) = match memmem::find(rest, b"\r\n") {
            Some(i) => (&rest[..i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
        if line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(format!(
                "multipart part {number}: header line with a control character or bare CR/LF"
            ));
        }
        let text = std::str::from_utf8(line)
            .map_err(|_| format!("multipart part {number}: header line is not text"))?;
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            let Some((_, value)) = headers.last_mut() else {
                return Err(format!(
                    "multipart part {number}: continuation line before any header"
                ));
            };
            value.push(' ');
            value.push_str(text.trim());
        } else {
            let (name, value) = text.split_once(':').ok_or_else(|| {
                format!("multipart part {number}: malformed header line {text:?} (no ':')")
            })?;
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return Err(format!(
                    "multipart part {number}: malformed header name {name:?}"
                ));
            }
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        match next {
            Some(n) => rest = n,
            None => return Ok(headers),
        }
    }
}

/// A part to write: headers and body.
pub struct OutPart {
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

/// Encodes parts as a `multipart/mixed` body. Returns the boundary (for the Content-Type)
/// and the bytes. The boundary is random and checked not to occur in any part.
pub fn encode(parts: &[OutPart]) -> (String, Vec<u8>) {
    let boundary = loop {
        let candidate = format!("xapi-{:032x}", rand::random::<u128>());
        if !parts
            .iter()
            .any(|p| memmem::find(&p.body, candidate.as_bytes()).is_some())
        {
            break candidate;
        }
    };
    let size: usize = parts
        .iter()
        .map(|p| {
            p.body.len()
                + 16
                + boundary.len()
                + p.headers
                    .iter()
                    .map(|(n, v)| n.len() + v.len() + 4)
                    .sum::<usize>()
        })
        .sum::<usize>()
        + boundary.len()
        + 8;
    let mut out = Vec::with_capacity(size);
    let mut head = String::new();
    for p in parts {
        head.clear();
        let _ = write!(head, "--{boundary}\r\n");
        for (name, value) in &p.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        head.push_str("\r\n");
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&p.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (boundary, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn parse_str(body: &[u8], boundary: &str) -> Result<Vec<Part>, String> {
        parse(&Bytes::copy_from_slice(body), boundary)
    }

    #[test]
    fn boundary_parameter_plain_quoted_and_invalid() {
        assert_eq!(
            boundary_of("multipart/mixed; boundary=-------314159265358979323846").unwrap(),
            "-------314159265358979323846"
        );
        assert_eq!(
            boundary_of("multipart/mixed;boundary=\"a'()+_,-./:=? b\"").unwrap(),
            "a'()+_,-./:=? b"
        );
        assert_eq!(
            boundary_of("Multipart/Mixed; charset=utf-8; BOUNDARY=abc").unwrap(),
            "abc"
        );
        assert!(boundary_of("multipart/mixed;").is_err());
        assert!(boundary_of("multipart/mixed").is_err());
        assert!(boundary_of("multipart/mixed; boundary=").is_err());
        assert!(boundary_of("multipart/mixed; boundary=\"abc").is_err());
        assert!(boundary_of("multipart/mixed; boundary=a<b").is_err());
        assert!(boundary_of("multipart/mixed; boundary=\"ends with space \"").is_err());
        assert!(boundary_of(&format!("multipart/mixed; boundary={}", "a".repeat(71))).is_err());
        assert!(boundary_of("multipart/mixed; boundary=a; boundary=b").is_err());
    }

    #[test]
    fn parses_parts_with_preamble_epilogue_and_binary_bodies() {
        let mut body = b"preamble\r\n--B\r\nContent-Type: application/json\r\n\r\n{\"a\":1}\r\n--B  \r\nX-Experience-API-Hash: ab\r\nContent-Transfer-Encoding:binary\r\n\r\n".to_vec();
        let binary: Vec<u8> = vec![0, 0xff, b'\r', b'\n', b'-', b'-', b'B', b'x', 0x80, b'\n'];
        body.extend_from_slice(&binary);
        body.extend_from_slice(b"\r\n--B--\r\nepilogue --B\r\n");
        let parts = parse_str(&body, "B").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].header("content-type"), Some("application/json"));
        assert_eq!(&parts[0].body[..], b"{\"a\":1}");
        assert_eq!(parts[1].header("X-EXPERIENCE-API-HASH"), Some("ab"));
        assert_eq!(parts[1].header("content-transfer-encoding"), Some("binary"));
        assert_eq!(
            &parts[1].body[..],
            &binary[..],
            "binary body kept byte for byte"
        );
    }

    #[test]
    fn body_may_start_with_crlf_and_close_without_trailing_crlf() {
        // The layout the conformance suite's signing helper sends.
        let body = b"\r\n--b-1\r\nContent-Type:application/json\r\n\r\n{}\r\n--b-1\r\nContent-Type:application/octet-stream\r\n\r\nsig\r\n--b-1--";
        let parts = parse_str(body, "b-1").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].header("Content-Type"), Some("application/json"));
        assert_eq!(&parts[1].body[..], b"sig");
    }

    #[test]
    fn empty_bodies_headerless_parts_and_folded_headers() {
        let body = b"--x\r\n\r\nno headers\r\n--x\r\nA: 1\r\n  continued\r\n\r\n\r\n--x--";
        let parts = parse_str(body, "x").unwrap();
        assert!(parts[0].headers.is_empty());
        assert_eq!(&parts[0].body[..], b"no headers");
        assert_eq!(parts[1].header("a"), Some("1 continued"));
        assert!(parts[1].body.is_empty());
    }

    #[test]
    fn malformed_bodies_are_errors() {
        // No delimiter at all (boundary missing from the body).
        assert!(parse_str(b"Content-Type: application/json\r\n\r\n{}", "B").is_err());
        // Only a close delimiter.
        assert!(parse_str(b"--B--\r\n", "B").is_err());
        // Not closed.
        assert!(parse_str(b"--B\r\nA: 1\r\n\r\nbody", "B").is_err());
        assert!(parse_str(b"--B\r\nA: 1\r\n\r\nbody\r\n--B", "B").is_err());
        // Headers without the empty line.
        assert!(parse_str(b"--B\r\nA: 1\r\n--B--", "B").is_err());
        // LF-only line ends: no delimiter line is recognised.
        assert!(parse_str(b"--B\nA: 1\n\nx\n--B--\n", "B").is_err());
        // Malformed header line.
        assert!(parse_str(b"--B\r\nno colon\r\n\r\nx\r\n--B--", "B").is_err());
        assert!(parse_str(b"--B\r\nA\rB: 1\r\n\r\nx\r\n--B--", "B").is_err());
        assert!(parse_str(b"--B\r\n bad: 1\r\n\r\nx\r\n--B--", "B").is_err());
    }

    #[test]
    fn boundary_text_inside_content_is_not_a_delimiter() {
        let body = b"--B\r\n\r\nline\r\n--Bogus\r\nstill content\r\n--B--";
        let parts = parse_str(body, "B").unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(&parts[0].body[..], b"line\r\n--Bogus\r\nstill content");
    }

    #[test]
    fn encode_then_parse_round_trips() {
        let parts = vec![
            OutPart {
                headers: vec![("Content-Type", "application/json".into())],
                body: Bytes::from_static(b"{\"statements\":[]}"),
            },
            OutPart {
                headers: vec![
                    ("Content-Type", "application/octet-stream".into()),
                    ("Content-Transfer-Encoding", "binary".into()),
                    ("X-Experience-API-Hash", "00".into()),
                ],
                body: Bytes::from(vec![b'\r', b'\n', 0, 1, 2, b'\r']),
            },
        ];
        let (boundary, bytes) = encode(&parts);
        let back = parse(&Bytes::from(bytes), &boundary).unwrap();
        assert_eq!(back.len(), 2);
        for (a, b) in parts.iter().zip(&back) {
            assert_eq!(a.body, b.body);
            assert_eq!(a.headers.len(), b.headers.len());
        }
    }

    /// No input makes the parser panic: random bytes, random mutations of a valid body,
    /// and every truncation of it.
    #[test]
    fn never_panics_on_random_or_mutated_input() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let valid = b"--B\r\nContent-Type: application/json\r\n\r\n{}\r\n--B\r\nX-Experience-API-Hash: ab\r\n\r\n\x00\xff\r\n--B--\r\n".to_vec();
        for cut in 0..=valid.len() {
            let _ = parse_str(&valid[..cut], "B");
        }
        let alphabet = b"-B\r\n: \tXa\x00\xff\"";
        for _ in 0..20_000 {
            let mut body = valid.clone();
            for _ in 0..rng.gen_range(1..6) {
                let i = rng.gen_range(0..body.len());
                match rng.gen_range(0..3) {
                    0 => body[i] = alphabet[rng.gen_range(0..alphabet.len())],
                    1 => {
                        body.remove(i);
                    }
                    _ => body.insert(i, alphabet[rng.gen_range(0..alphabet.len())]),
                }
                if body.is_empty() {
                    body.push(b'-');
                }
            }
            let _ = parse_str(&body, "B");
        }
        for _ in 0..5_000 {
            let len = rng.gen_range(0..200);
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            let _ = parse_str(&body, "B");
            let chars = b" ;=\"\\abB-";
            let ct: String = (0..rng.gen_range(0..40))
                .map(|_| chars[rng.gen_range(0..chars.len())] as char)
                .collect();
            let _ = boundary_of(&format!("multipart/mixed{ct}"));
        }
    }
}
