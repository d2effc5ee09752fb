//! xAPI versions: the `X-Experience-API-Version` request header (§5.1) and the statement
//! `version` property (§1.11). The two are separate things: a 2.0 request may carry a
//! statement whose `version` is "1.0.3", and the response header always names the latest
//! patch of the engine that handled the request.

/// xAPI version of a request, from the X-Experience-API-Version header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XapiVersion {
    V1_0_3,
    V2_0_0,
}

impl XapiVersion {
    /// "1.0" and any "1.0.x" -> 1.0.3; "2.0" and any "2.0.x" -> 2.0.0. Anything else (0.9,
    /// 1.1.0, 2.1.0, garbage) is an error with a short explanation for the 400 body. A missing
    /// header is the caller's business (it is a 400 too, but the message differs).
    pub fn parse_header(value: &str) -> Result<XapiVersion, String> {
        let v = value.trim();
        if is_minor_line(v, "1.0") {
            Ok(XapiVersion::V1_0_3)
        } else if is_minor_line(v, "2.0") {
            Ok(XapiVersion::V2_0_0)
        } else {
            Err(format!(
                "unsupported X-Experience-API-Version {}: this LRS supports 1.0.x and 2.0.x",
                super::error::quote(v)
            ))
        }
    }

    /// Value for the response header: the latest patch supported in that major line.
    pub fn header_value(self) -> &'static str {
        match self {
            XapiVersion::V1_0_3 => "1.0.3",
            XapiVersion::V2_0_0 => "2.0.0",
        }
    }

    /// Statement `version` assigned by the LRS when a statement arrives without one.
    pub fn default_statement_version(self) -> &'static str {
        match self {
            XapiVersion::V1_0_3 => "1.0.0",
            XapiVersion::V2_0_0 => "2.0.0",
        }
    }

    /// Whether a statement `version` property is accepted on a request of this version:
    /// 1.0.3 takes "1.0"/"1.0.x" only; 2.0 also takes "2.0"/"2.0.x" (the 2.0 test suite
    /// keeps accepting 1.0.x statements, which are valid 2.0 content).
    pub fn accepts_statement_version(self, v: &str) -> bool {
        match self {
            XapiVersion::V1_0_3 => is_minor_line(v, "1.0"),
            XapiVersion::V2_0_0 => is_minor_line(v, "1.0") || is_minor_line(v, "2.0"),
        }
    }
}

/// `line` itself ("1.0") or `line` + "." + one or more digits ("1.0.3", "1.0.12").
fn is_minor_line(v: &str, line: &str) -> bool {
    match v.strip_prefix(line) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('.')
            .is_some_and(|patch| !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::XapiVersion::*;
    use super::*;

    // §5.1 header values
    #[test]
    fn parses_supported_headers() {
        for ok in [
            "1.0", "1.0.0", "1.0.1", "1.0.3", "1.0.9", "1.0.10", " 1.0.3 ",
        ] {
            assert_eq!(XapiVersion::parse_header(ok), Ok(V1_0_3), "{ok}");
        }
        for ok in ["2.0", "2.0.0", "2.0.1"] {
            assert_eq!(XapiVersion::parse_header(ok), Ok(V2_0_0), "{ok}");
        }
    }

    #[test]
    fn rejects_other_headers() {
        for bad in [
            "", "0.9", "0.95", "1", "1.1.0", "1.0.", "1.0.x", "1.0.3.1", "2.1.0", "3.0.0", "abc",
            "1.00",
        ] {
            let e = XapiVersion::parse_header(bad).unwrap_err();
            assert!(e.contains("unsupported"), "{bad}: {e}");
        }
    }

    #[test]
    fn header_and_default_values() {
        assert_eq!(V1_0_3.header_value(), "1.0.3");
        assert_eq!(V2_0_0.header_value(), "2.0.0");
        assert_eq!(V1_0_3.default_statement_version(), "1.0.0");
        assert_eq!(V2_0_0.default_statement_version(), "2.0.0");
    }

    // §1.11 statement version property
    #[test]
    fn statement_version_rules() {
        assert!(V1_0_3.accepts_statement_version("1.0"));
        assert!(V1_0_3.accepts_statement_version("1.0.9"));
        assert!(!V1_0_3.accepts_statement_version("2.0.0"));
        assert!(!V1_0_3.accepts_statement_version("1.1.0"));
        assert!(!V1_0_3.accepts_statement_version("0.9.9"));
        assert!(V2_0_0.accepts_statement_version("2.0.0"));
        assert!(V2_0_0.accepts_statement_version("1.0.3"));
        assert!(!V2_0_0.accepts_statement_version("2.1.0"));
        assert!(!V2_0_0.accepts_statement_version("should fail"));
    }
}
