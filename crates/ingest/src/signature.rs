//! Signed statements (§2.13): checks that a signature attachment is a well-formed JWS
//! (RFC 7515 Compact Serialization) over a statement equivalent to the one it is attached
//! to, with an RSA algorithm, and, when the header carries an `x5c` certificate chain,
//! that the signature verifies with the first certificate's key.
//!
//! This is an error check, not authentication (§2.13): a signature without `x5c` cannot
//! be verified cryptographically and is accepted once its structure, algorithm and
//! payload check out; a verified `x5c` signature proves nothing about trust, because the
//! chain is not anchored anywhere. Within the chain, each link signed with RSA PKCS#1 v1.5
//! (SHA-256/384/512) is checked against the next certificate's key; links signed with
//! other algorithms are not checked. Validity periods are not checked: a statement may be
//! submitted long after it was signed.
//!
//! JWS JSON Serialization is refused under both versions: 2.0 requires the compact form
//! and 1.0.3 recommends it; one form keeps the check simple and total.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use lrs_core::xapi::{parse_json_strict, statements_equivalent};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

/// base64url as JWS uses it: no padding, though padded input is tolerated.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Most certificates accepted in one `x5c` chain.
const MAX_CHAIN: usize = 10;

/// The RSA algorithms xAPI allows, with their digests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RsaAlg {
    Rs256,
    Rs384,
    Rs512,
}

impl RsaAlg {
    fn from_jws(alg: &str) -> Option<RsaAlg> {
        match alg {
            "RS256" => Some(RsaAlg::Rs256),
            "RS384" => Some(RsaAlg::Rs384),
            "RS512" => Some(RsaAlg::Rs512),
            _ => None,
        }
    }

    /// sha{256,384,512}WithRSAEncryption (RFC 4055), for certificate signatures.
    fn from_certificate_oid(oid: &ObjectIdentifier) -> Option<RsaAlg> {
        const SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
        const SHA384_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
        const SHA512_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
        match *oid {
            SHA256_RSA => Some(RsaAlg::Rs256),
            SHA384_RSA => Some(RsaAlg::Rs384),
            SHA512_RSA => Some(RsaAlg::Rs512),
            _ => None,
        }
    }

    fn verify(self, key: &RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
        let result = match self {
            RsaAlg::Rs256 => key.verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(message),
                signature,
            ),
            RsaAlg::Rs384 => key.verify(
                Pkcs1v15Sign::new::<Sha384>(),
                &Sha384::digest(message),
                signature,
            ),
            RsaAlg::Rs512 => key.verify(
                Pkcs1v15Sign::new::<Sha512>(),
                &Sha512::digest(message),
                signature,
            ),
        };
        result.is_ok()
    }
}

/// Checks the bytes of a signature attachment against the statement it is attached to.
/// The error explains what is wrong, for the 400 body.
pub fn verify_jws(jws: &[u8], statement: &Value) -> Result<(), String> {
    let text = std::str::from_utf8(jws)
        .map_err(|_| "the signature is not text (expected a JWS Compact Serialization)")?
        .trim_matches(|c: char| c.is_ascii_whitespace());
    if text.starts_with('{') {
        return Err(
            "JWS JSON Serialization is not supported; sign with the JWS Compact Serialization"
                .into(),
        );
    }
    let segments: Vec<&str> = text.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = segments[..] else {
        return Err(format!(
            "the signature is not a JWS Compact Serialization (expected 3 base64url segments \
             separated by '.', found {})",
            segments.len()
        ));
    };

    let header_bytes = B64URL
        .decode(header_b64)
        .map_err(|_| "the JWS protected header is not base64url")?;
    let header: Value = serde_json::from_slice(&header_bytes)
        .map_err(|e| format!("the JWS protected header is not JSON: {e}"))?;
    let header = header
        .as_object()
        .ok_or("the JWS protected header is not a JSON object")?;
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or("the JWS protected header has no \"alg\"")?;
    let alg = RsaAlg::from_jws(alg_name).ok_or_else(|| {
        format!("JWS algorithm {alg_name:?} is not allowed; use RS256, RS384 or RS512")
    })?;
    if header.contains_key("crit") {
        return Err("the JWS protected header lists critical extensions (\"crit\"), which this LRS does not understand".into());
    }

    let payload = B64URL
        .decode(payload_b64)
        .map_err(|_| "the JWS payload is not base64url")?;
    let signed = parse_json_strict(&payload, "payload")
        .map_err(|e| format!("the JWS payload is not a JSON statement: {e}"))?;
    if !signed.is_object() {
        return Err("the JWS payload is not a JSON statement object".into());
    }
    if !statements_equivalent(&signed, statement) {
        return Err(
            "the statement in the JWS payload is not equivalent to the statement the signature \
             is attached to"
                .into(),
        );
    }

    let signature = B64URL
        .decode(signature_b64)
        .map_err(|_| "the JWS signature segment is not base64url")?;
    if signature.is_empty() {
        return Err("the JWS signature segment is empty".into());
    }
    if let Some(x5c) = header.get("x5c") {
        let key = leaf_key_of_chain(x5c)?;
        let signing_input = &text.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        if !alg.verify(&key, signing_input, &signature) {
            return Err(format!(
                "the JWS signature does not verify ({alg_name}) with the key of the first x5c certificate"
            ));
        }
    }
    Ok(())
}

/// Parses an `x5c` header (standard base64 DER certificates, leaf first), checks the
/// RSA-signed links, and returns the leaf's RSA public key.
fn leaf_key_of_chain(x5c: &Value) -> Result<RsaPublicKey, String> {
    let list = x5c
        .as_array()
        .filter(|l| !l.is_empty())
        .ok_or("x5c must be a non-empty array of base64 certificates")?;
    if list.len() > MAX_CHAIN {
        return Err(format!("x5c has more than {MAX_CHAIN} certificates"));
    }
    let mut certificates = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let b64 = entry
            .as_str()
            .ok_or_else(|| format!("x5c[{i}] is not a string"))?;
        let der = STANDARD
            .decode(b64)
            .map_err(|_| format!("x5c[{i}] is not standard base64"))?;
        let cert = Certificate::from_der(&der)
            .map_err(|e| format!("x5c[{i}] is not a DER X.509 certificate: {e}"))?;
        certificates.push(cert);
    }
    let keys = certificates
        .iter()
        .map(rsa_key_of)
        .collect::<Vec<Result<RsaPublicKey, String>>>();
    for (i, pair) in certificates.windows(2).enumerate() {
        let [child, _] = pair else { continue };
        let Some(alg) = RsaAlg::from_certificate_oid(&child.signature_algorithm.oid) else {
            continue;
        };
        let issuer_key = keys[i + 1]
            .as_ref()
            .map_err(|e| format!("x5c[{}]: {e}", i + 1))?;
        let tbs = child
            .tbs_certificate
            .to_der()
            .map_err(|e| format!("x5c[{i}]: cannot re-encode the certificate: {e}"))?;
        let sig = child.signature.as_bytes().ok_or_else(|| {
            format!("x5c[{i}]: certificate signature is not a whole number of bytes")
        })?;
        if !alg.verify(issuer_key, &tbs, sig) {
            return Err(format!(
                "x5c[{i}] is not signed by the key of x5c[{}]",
                i + 1
            ));
        }
    }
    keys.into_iter()
        .next()
        .unwrap_or_else(|| Err("x5c is empty".into()))
        .map_err(|e| format!("x5c[0]: {e}"))
}

fn rsa_key_of(cert: &Certificate) -> Result<RsaPublicKey, String> {
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| format!("cannot re-encode the public key: {e}"))?;
    RsaPublicKey::from_public_key_der(&spki)
        .map_err(|e| format!("the certificate's public key is not a usable RSA key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
    }

    fn statement() -> Value {
        json!({
            "actor": {"mbox": "mailto:a@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": "http://example.com/act"}
        })
    }

    fn unsigned_jws(header: &Value, payload: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(payload),
            b64(b"sig")
        )
    }

    #[test]
    fn structure_algorithm_and_payload_are_checked() {
        let stmt = statement();
        let payload = stmt.to_string();
        let ok = unsigned_jws(&json!({"alg": "RS256"}), payload.as_bytes());
        assert_eq!(verify_jws(ok.as_bytes(), &stmt), Ok(()));
        // Extra LRS-assigned fields on the received statement do not matter.
        let mut received = stmt.clone();
        received["id"] = json!("4b5e5c2a-0d4e-4d3c-9a57-6a3b8e7d8f10");
        received["attachments"] = json!([]);
        assert!(verify_jws(ok.as_bytes(), &received).is_ok());

        for alg in ["HS256", "none", "ES256", "PS256", "rs256"] {
            let jws = unsigned_jws(&json!({ "alg": alg }), payload.as_bytes());
            let err = verify_jws(jws.as_bytes(), &stmt).unwrap_err();
            assert!(err.contains("not allowed"), "{alg}: {err}");
        }
        let broken = payload.replacen('"', "'", 1);
        assert!(verify_jws(
            unsigned_jws(&json!({"alg": "RS256"}), broken.as_bytes()).as_bytes(),
            &stmt
        )
        .unwrap_err()
        .contains("payload"));
        let mut other = stmt.clone();
        other["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
        assert!(verify_jws(ok.as_bytes(), &other)
            .unwrap_err()
            .contains("not equivalent"));
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "{\"payload\":\"x\",\"signatures\":[]}",
            "!!.!!.!!",
        ] {
            assert!(verify_jws(bad.as_bytes(), &stmt).is_err(), "{bad:?}");
        }
        assert!(verify_jws(&[0xff, 0xfe], &stmt).is_err());
        let crit = unsigned_jws(&json!({"alg": "RS256", "crit": ["x"]}), payload.as_bytes());
        assert!(verify_jws(crit.as_bytes(), &stmt).is_err());
        let bad_x5c = unsigned_jws(
            &json!({"alg": "RS256", "x5c": ["bm90IGEgY2VydA=="]}),
            payload.as_bytes(),
        );
        assert!(verify_jws(bad_x5c.as_bytes(), &stmt)
            .unwrap_err()
            .contains("x5c[0]"));
        let empty_x5c = unsigned_jws(&json!({"alg": "RS256", "x5c": []}), payload.as_bytes());
        assert!(verify_jws(empty_x5c.as_bytes(), &stmt).is_err());
    }
}
