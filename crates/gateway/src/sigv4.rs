//! AWS Signature Version 4: who may call the AWS endpoint.
//!
//! [`verify`] checks a request to the AWS endpoint (DynamoDB's JSON protocol, Lambda's REST API)
//! against an [`AuthPolicy`]. It is pure: the caller hands it the request's head, its full body
//! and the time, and gets back `Ok` or the error AWS answers such a request with.
//!
//! A signature arrives in the `Authorization` header
//! (`AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/dynamodb/aws4_request,
//! SignedHeaders=host;x-amz-date, Signature=…`) or in a presigned URL's query string
//! (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-SignedHeaders`,
//! `X-Amz-Signature`, and optionally `X-Amz-Expires`). It is recomputed by AWS's rules for
//! services other than S3:
//!
//! - Canonical URI: the path as it came over the wire (still percent-encoded once), normalized
//!   (empty and `.` segments dropped, `..` drops the segment before it, a trailing slash kept),
//!   then every byte outside `A-Z a-z 0-9 - _ . ~ /` percent-encoded again. This is the rule
//!   that each segment is encoded twice: a client that sent `arn%3Aaws` signed `arn%253Aaws`.
//! - Canonical query string: every `name=value` pair percent-decoded (`+` is a space, as in form
//!   encoding and in the SDKs' signers) and encoded again with the same unreserved set, `/`
//!   included, then sorted by name and then by value. A presigned URL's `X-Amz-Signature` is
//!   left out.
//! - Canonical headers: the headers `SignedHeaders` lists, in its order, each value trimmed and
//!   its runs of spaces collapsed, repeated headers joined with `,` in the order they came. A
//!   signed `host` falls back to the URI's authority, which is where HTTP/2 carries it.
//! - Payload hash: `UNSIGNED-PAYLOAD` when the `x-amz-content-sha256` header says so, otherwise
//!   the SHA-256 of the body as received. A client that put the body's hash in that header signed
//!   the same value, so a body changed on the way fails; no other value of the header (S3's
//!   `STREAMING-…` chunked payloads) is honoured.
//! - The signing key is derived from the secret and the credential scope's date, region and
//!   service. Any region and any service name are accepted.
//! - The signatures are compared in constant time.
//!
//! The checks run in the order DynamoDB runs them, so a request with several faults gets the error
//! DynamoDB gives it: both signature forms or neither, missing parameters, the date's format, the
//! clock skew (15 minutes either way; a presigned URL also expires `X-Amz-Expires` seconds after
//! its date), `host` among the signed headers, the algorithm, the credential's shape and scope,
//! the access key id, and last the signature. The codes and messages are DynamoDB's, as clients
//! see them, and [`Service`] picks the HTTP status. A few cases have no DynamoDB message on
//! record and use rondo's own words: an `Authorization` header that is not ASCII, a `Date` header
//! that is not an HTTP date, an expired presigned URL, and a bad `X-Amz-Expires` (S3's words).
//!
//! A session token (`x-amz-security-token`, or `X-Amz-Security-Token` in a presigned URL) is
//! signed like any other header or parameter and otherwise accepted: rondo issues no temporary
//! credentials, so there is nothing to check it against. SigV4a (`AWS4-ECDSA-P256-SHA256`) is
//! refused as an unsupported algorithm.

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use http::request::Parts;
use http::uri::Authority;
use http::{HeaderMap, HeaderValue, StatusCode};
use sha2::{Digest, Sha256};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// How far a request's signing time may be from the server's clock, either way: AWS refuses a
/// request signed more than 15 minutes before or after it arrives.
pub const CLOCK_SKEW_SECONDS_MAX: u32 = 15 * 60;

/// The longest a presigned URL may stay valid (`X-Amz-Expires`): one week, as on AWS.
pub const PRESIGNED_EXPIRES_SECONDS_MAX: u32 = 7 * 24 * 60 * 60;

const _: () = assert!(
    CLOCK_SKEW_SECONDS_MAX.is_multiple_of(60),
    "the messages say whole minutes"
);
const _: () = assert!(CLOCK_SKEW_SECONDS_MAX < PRESIGNED_EXPIRES_SECONDS_MAX);

/// Who may call the AWS endpoint.
#[derive(Clone)]
pub enum AuthPolicy {
    /// Every request passes, signed or not, and nothing about a signature is checked: this is
    /// `rondo dev` without `--aws-credentials`, where an SDK configured with any credentials (or
    /// none) should just work.
    AcceptAny,
    /// Every request must be signed with one of these keys: access key id → secret access key.
    Verify(Arc<HashMap<String, String>>),
}

/// The AWS API a request is for. AWS refuses an unauthenticated request with the same codes and
/// messages on each, but with a different HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// DynamoDB's JSON protocol: authentication errors are `400 Bad Request`, like its other
    /// client errors (`{"__type": "…#InvalidSignatureException", "message": …}`).
    DynamoDb,
    /// Lambda's REST API: authentication errors are `403 Forbidden`
    /// (`X-Amzn-ErrorType: UnrecognizedClientException`).
    Lambda,
    /// API Gateway's management API (`@connections`, signed as `execute-api`): authentication
    /// errors are `403 Forbidden` (`X-Amzn-ErrorType: ForbiddenException`-style REST-JSON).
    ExecuteApi,
}

/// A refused request: AWS's error code and message, and the HTTP status AWS uses for it.
///
/// The codes are `MissingAuthenticationTokenException` (no signature at all),
/// `IncompleteSignatureException` (a signature that cannot be read), `UnrecognizedClientException`
/// (an unknown access key id) and `InvalidSignatureException` (a signature that does not match, or
/// a request signed too long ago).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AuthError {
    /// AWS's error code, e.g. `InvalidSignatureException`.
    pub code: &'static str,
    /// AWS's message for it.
    pub message: String,
    /// The status the [`Service`] answers with.
    pub status: StatusCode,
}

/// Checks a request (its method, URI, headers and full body) against the policy at time `now`.
///
/// `service` only chooses the status of the error; the signature may be scoped to any service.
pub fn verify(
    policy: &AuthPolicy,
    service: Service,
    parts: &Parts,
    body: &[u8],
    now: SystemTime,
) -> Result<(), AuthError> {
    match policy {
        AuthPolicy::AcceptAny => Ok(()),
        AuthPolicy::Verify(keys) => check(keys, parts, body, now).map_err(|refusal| AuthError {
            code: refusal.code,
            message: refusal.message,
            status: service.auth_error_status(),
        }),
    }
}

impl Service {
    /// The HTTP status this service answers an authentication error with.
    pub fn auth_error_status(self) -> StatusCode {
        match self {
            Service::DynamoDb => StatusCode::BAD_REQUEST,
            Service::Lambda | Service::ExecuteApi => StatusCode::FORBIDDEN,
        }
    }
}

impl fmt::Debug for AuthPolicy {
    // Written by hand so that a logged policy never shows a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthPolicy::AcceptAny => f.write_str("AcceptAny"),
            AuthPolicy::Verify(keys) => {
                let mut key_ids: Vec<&str> = keys.keys().map(String::as_str).collect();
                key_ids.sort_unstable();
                f.debug_struct("Verify")
                    .field("access_key_ids", &key_ids)
                    .finish_non_exhaustive()
            }
        }
    }
}

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";

const MISSING_TOKEN: &str = "MissingAuthenticationTokenException";
const INCOMPLETE_SIGNATURE: &str = "IncompleteSignatureException";
const INVALID_SIGNATURE: &str = "InvalidSignatureException";
const UNRECOGNIZED_CLIENT: &str = "UnrecognizedClientException";

const SIGNATURE_MISMATCH_MESSAGE: &str = "The request signature we calculated does not match the \
     signature you provided. Check your AWS Secret Access Key and signing method. Consult the \
     service documentation for details.";

/// `X-Amz-Date`: ISO 8601's basic format, in UTC.
const ISO_BASIC: &[BorrowedFormatItem<'_>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
/// `Date`: HTTP's IMF-fixdate.
const IMF_FIXDATE: &[BorrowedFormatItem<'_>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Why a request is refused, before the service chooses the status.
#[derive(Debug)]
struct Refusal {
    code: &'static str,
    message: String,
}

/// A signature as the client presented it, in the header or in the query string.
struct Claim<'a> {
    algorithm: Cow<'a, str>,
    credential: Cow<'a, str>,
    signed_headers: Cow<'a, str>,
    signature: Cow<'a, str>,
    signed_at: SigningTime<'a>,
    form: Form,
}

#[derive(Clone, Copy)]
enum Form {
    Header,
    Presigned { expires_seconds: Option<u32> },
}

/// When the request was signed, as a time and as the string to sign writes it.
struct SigningTime<'a> {
    time: OffsetDateTime,
    /// ISO 8601 basic format (`20150830T123600Z`): 16 ASCII characters.
    iso: Cow<'a, str>,
}

/// The parts of `Credential=AKID/20150830/us-east-1/dynamodb/aws4_request`.
struct Credential<'a> {
    key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
    /// Everything after the key id: `20150830/us-east-1/dynamodb/aws4_request`.
    scope: &'a str,
}

/// The fields of `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, as far as they are
/// there.
struct AuthorizationFields<'a> {
    algorithm: &'a str,
    credential: Option<&'a str>,
    signed_headers: Option<&'a str>,
    signature: Option<&'a str>,
}

fn check(
    keys: &HashMap<String, String>,
    parts: &Parts,
    body: &[u8],
    now: SystemTime,
) -> Result<(), Refusal> {
    let claim = read_claim(parts)?;
    // `from` panics on a time outside the years ±9999, which no clock this runs under reads.
    check_time(&claim, OffsetDateTime::from(now))?;
    let host_signed = claim
        .signed_headers
        .split(';')
        .any(|name| name.eq_ignore_ascii_case("host"));
    if !host_signed {
        return Err(Refusal::invalid_signature(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.".to_owned(),
        ));
    }
    if claim.algorithm != ALGORITHM {
        return Err(Refusal::incomplete(format!(
            "Unsupported AWS 'algorithm': '{}' (only {ALGORITHM} for now).",
            claim.algorithm
        )));
    }
    let credential = Credential::parse(&claim.credential)?;
    check_scope(&credential, &claim.signed_at)?;
    let Some(secret) = keys.get(credential.key_id) else {
        return Err(Refusal::unrecognized_client());
    };
    check_signature(parts, body, &claim, &credential, secret)
}

/// Finds the signature in the `Authorization` header or in the query string, but not both.
fn read_claim(parts: &Parts) -> Result<Claim<'_>, Refusal> {
    let query = parts.uri.query().unwrap_or_default();
    let presigned = query_pairs(query).any(|(name, _)| decode_text(name) == "X-Amz-Algorithm");
    match (parts.headers.get(http::header::AUTHORIZATION), presigned) {
        (Some(_), true) => Err(Refusal::invalid_signature(
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP \
             header."
                .to_owned(),
        )),
        (None, false) => Err(Refusal::missing_token()),
        (Some(authorization), false) => {
            // Another scheme (SigV2's `AWS AKID:…`, `Bearer …`) is no signature at all to AWS.
            let sigv4 = authorization.as_bytes().trim_ascii().starts_with(b"AWS4-");
            if !sigv4 {
                return Err(Refusal::missing_token());
            }
            claim_from_header(authorization, &parts.headers)
        }
        (None, true) => claim_from_query(query),
    }
}

fn claim_from_header<'a>(
    authorization: &'a HeaderValue,
    headers: &'a HeaderMap,
) -> Result<Claim<'a>, Refusal> {
    let Ok(text) = authorization.to_str() else {
        return Err(Refusal::incomplete(format!(
            "Authorization header must be visible ASCII: '{}'.",
            String::from_utf8_lossy(authorization.as_bytes())
        )));
    };
    let text = text.trim();
    let AuthorizationFields {
        algorithm,
        credential,
        signed_headers,
        signature,
    } = AuthorizationFields::parse(text)?;
    let signed_at = match (headers.get(X_AMZ_DATE), headers.get(http::header::DATE)) {
        (Some(amz_date), _) => Some(SigningTime::from_amz_date(String::from_utf8_lossy(
            amz_date.as_bytes(),
        ))),
        (None, Some(date)) => Some(SigningTime::from_http_date(date.as_bytes())),
        (None, None) => None,
    };
    // An empty `SignedHeaders=` counts as present; it fails the check that `host` is signed.
    let credential = credential.filter(|value| !value.is_empty());
    let signature = signature.filter(|value| !value.is_empty());

    let mut missing = String::new();
    let required = [
        ("Credential", credential.is_some()),
        ("Signature", signature.is_some()),
        ("SignedHeaders", signed_headers.is_some()),
    ];
    for (name, present) in required {
        if !present {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if signed_at.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
             header. ",
        );
    }
    let (Some(credential), Some(signature), Some(signed_headers), Some(signed_at)) =
        (credential, signature, signed_headers, signed_at)
    else {
        return Err(Refusal::incomplete(format!(
            "{missing}Authorization={text}"
        )));
    };
    Ok(Claim {
        algorithm: Cow::Borrowed(algorithm),
        credential: Cow::Borrowed(credential),
        signed_headers: Cow::Borrowed(signed_headers),
        signature: Cow::Borrowed(signature),
        signed_at: signed_at?,
        form: Form::Header,
    })
}

impl<'a> AuthorizationFields<'a> {
    /// Reads the algorithm and then `name=value` fields separated by commas or spaces; unknown
    /// names are ignored, and a repeated name keeps its first value.
    fn parse(text: &'a str) -> Result<Self, Refusal> {
        let (algorithm, rest) = text
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((text, ""));
        let mut fields = AuthorizationFields {
            algorithm,
            credential: None,
            signed_headers: None,
            signature: None,
        };
        let pairs = rest
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|pair| !pair.is_empty());
        for pair in pairs {
            let Some((name, value)) = pair.split_once('=') else {
                return Err(Refusal::incomplete(format!(
                    "'{pair}' not a valid key=value pair (missing equal-sign) in Authorization \
                     header: '{text}'."
                )));
            };
            let slot = match name {
                "Credential" => &mut fields.credential,
                "SignedHeaders" => &mut fields.signed_headers,
                "Signature" => &mut fields.signature,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        Ok(fields)
    }
}

fn claim_from_query(query: &str) -> Result<Claim<'_>, Refusal> {
    const NAMES: [&str; 6] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
        "X-Amz-Expires",
    ];
    let mut values: [Option<Cow<'_, str>>; 6] = Default::default();
    for (name, value) in query_pairs(query) {
        let name = decode_text(name);
        if let Some(name_idx) = NAMES.iter().position(|known| *known == name) {
            values[name_idx].get_or_insert_with(|| decode_text(value));
        }
    }
    let [
        algorithm,
        credential,
        signature,
        signed_headers,
        date,
        expires,
    ] = values;
    let required = [algorithm, credential, signature, signed_headers, date]
        .map(|value| value.filter(|value| !value.is_empty()));
    let missing: String = NAMES
        .iter()
        .zip(&required)
        .filter(|(_, value)| value.is_none())
        .map(|(name, _)| format!("AWS query-string parameters must include '{name}'. "))
        .collect();
    let [
        Some(algorithm),
        Some(credential),
        Some(signature),
        Some(signed_headers),
        Some(date),
    ] = required
    else {
        return Err(Refusal::incomplete(format!(
            "{missing}Re-examine the query-string parameters."
        )));
    };
    let signed_at = SigningTime::from_amz_date(date)?;
    let expires_seconds = expires.as_deref().map(parse_expires).transpose()?;
    Ok(Claim {
        algorithm,
        credential,
        signed_headers,
        signature,
        signed_at,
        form: Form::Presigned { expires_seconds },
    })
}

fn parse_expires(text: &str) -> Result<u32, Refusal> {
    let is_number = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    if text.strip_prefix('-').is_some_and(is_number) {
        return Err(Refusal::incomplete(
            "X-Amz-Expires must be non-negative".to_owned(),
        ));
    }
    if !is_number(text) {
        return Err(Refusal::incomplete(
            "X-Amz-Expires should be a number".to_owned(),
        ));
    }
    match text.parse::<u32>() {
        Ok(seconds) if seconds <= PRESIGNED_EXPIRES_SECONDS_MAX => Ok(seconds),
        _ => Err(Refusal::incomplete(format!(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given \
             X-Amz-Expires must be less than {PRESIGNED_EXPIRES_SECONDS_MAX} seconds"
        ))),
    }
}

impl<'a> SigningTime<'a> {
    /// Reads `X-Amz-Date`: ISO 8601's basic format, `20150830T123600Z`.
    fn from_amz_date(text: Cow<'a, str>) -> Result<Self, Refusal> {
        // The length check keeps out the signed years that `[year]` would also read.
        let parsed = Some(&text)
            .filter(|text| text.len() == 16)
            .and_then(|text| PrimitiveDateTime::parse(text, ISO_BASIC).ok());
        match parsed {
            Some(time) => Ok(SigningTime {
                time: time.assume_utc(),
                iso: text,
            }),
            None => Err(Refusal::incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{text}'. See \
                 http://en.wikipedia.org/wiki/ISO_8601"
            ))),
        }
    }

    /// Reads a `Date` header (HTTP's IMF-fixdate), which AWS takes when `X-Amz-Date` is absent;
    /// the string to sign then has it in the basic format.
    fn from_http_date(value: &[u8]) -> Result<Self, Refusal> {
        let parsed = std::str::from_utf8(value)
            .ok()
            .and_then(|text| PrimitiveDateTime::parse(text, IMF_FIXDATE).ok());
        match parsed {
            Some(time) => {
                let time = time.assume_utc();
                Ok(SigningTime {
                    time,
                    iso: Cow::Owned(iso_basic(time)),
                })
            }
            None => Err(Refusal::incomplete(format!(
                "Date header must be an HTTP date like 'Sun, 30 Aug 2015 12:36:00 GMT'. Got '{}'.",
                String::from_utf8_lossy(value)
            ))),
        }
    }
}

/// Refuses a request signed too long before `now` (or, presigned, expired) or too far after it.
fn check_time(claim: &Claim<'_>, now: OffsetDateTime) -> Result<(), Refusal> {
    let skew = Duration::seconds(i64::from(CLOCK_SKEW_SECONDS_MAX));
    let skew_minutes = CLOCK_SKEW_SECONDS_MAX / 60;
    let signed_at = &claim.signed_at;
    let latest = now.saturating_add(skew);
    if signed_at.time > latest {
        return Err(Refusal::invalid_signature(format!(
            "Signature not yet current: {} is still later than {} ({} + {skew_minutes} min.)",
            signed_at.iso,
            iso_basic(latest),
            iso_basic(now)
        )));
    }
    let expires_seconds = match claim.form {
        Form::Presigned { expires_seconds } => expires_seconds,
        Form::Header => None,
    };
    let earliest = match expires_seconds {
        Some(seconds) => now.saturating_sub(Duration::seconds(i64::from(seconds))),
        None => now.saturating_sub(skew),
    };
    if signed_at.time < earliest {
        let allowance = match expires_seconds {
            Some(seconds) => format!("{seconds} sec."),
            None => format!("{skew_minutes} min."),
        };
        return Err(Refusal::invalid_signature(format!(
            "Signature expired: {} is now earlier than {} ({} - {allowance})",
            signed_at.iso,
            iso_basic(earliest),
            iso_basic(now)
        )));
    }
    Ok(())
}

impl<'a> Credential<'a> {
    /// Splits `AKID/DATE/REGION/SERVICE/aws4_request`; trailing slashes are ignored, as by AWS.
    fn parse(text: &'a str) -> Result<Self, Refusal> {
        let trimmed = text.trim_end_matches('/');
        let mut split = trimmed.split('/');
        let pieces = [(); 6].map(|()| split.next());
        let [
            Some(key_id),
            Some(date),
            Some(region),
            Some(service),
            Some(terminator),
            None,
        ] = pieces
        else {
            return Err(Refusal::incomplete(format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. \
                 keyid/date/region/service/term, got '{text}'"
            )));
        };
        Ok(Credential {
            key_id,
            date,
            region,
            service,
            terminator,
            scope: &trimmed[key_id.len() + 1..],
        })
    }
}

/// The scope must end in `aws4_request` and name the day the request was signed.
fn check_scope(credential: &Credential<'_>, signed_at: &SigningTime<'_>) -> Result<(), Refusal> {
    let mut message = String::new();
    if credential.terminator != TERMINATOR {
        message.push_str(&format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'. ",
            credential.terminator
        ));
    }
    let day = signed_at.iso.get(..8).unwrap_or(&signed_at.iso);
    if credential.date != day {
        message.push_str(&format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{}' != '{day}', from '{}'.",
            credential.date, signed_at.iso
        ));
    }
    if message.is_empty() {
        Ok(())
    } else {
        Err(Refusal::invalid_signature(message.trim_end().to_owned()))
    }
}

fn check_signature(
    parts: &Parts,
    body: &[u8],
    claim: &Claim<'_>,
    credential: &Credential<'_>,
    secret: &str,
) -> Result<(), Refusal> {
    let canonical_request = canonical_request(parts, body, claim);
    let mut string_to_sign = String::with_capacity(128);
    string_to_sign.push_str(ALGORITHM);
    string_to_sign.push('\n');
    string_to_sign.push_str(&claim.signed_at.iso);
    string_to_sign.push('\n');
    string_to_sign.push_str(credential.scope);
    string_to_sign.push('\n');
    push_hex(&Sha256::digest(&canonical_request), &mut string_to_sign);

    let mut mac = signing_key(secret, credential);
    mac.update(string_to_sign.as_bytes());
    let matches = decode_signature(&claim.signature)
        .is_some_and(|provided| mac.verify_slice(&provided).is_ok());
    if matches {
        return Ok(());
    }
    // AWS shows what it signed, so that a client can find where its signer differs.
    Err(Refusal::invalid_signature(format!(
        "{SIGNATURE_MISMATCH_MESSAGE}\n\nThe Canonical String for this request should have \
         been\n'{}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n",
        String::from_utf8_lossy(&canonical_request)
    )))
}

/// Method, canonical URI, canonical query string, canonical headers, signed headers and the
/// payload's hash, one per line.
fn canonical_request(parts: &Parts, body: &[u8], claim: &Claim<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b'\n');
    push_canonical_uri(parts.uri.path(), &mut out);
    out.push(b'\n');
    let presigned = matches!(claim.form, Form::Presigned { .. });
    push_canonical_query(parts.uri.query().unwrap_or_default(), presigned, &mut out);
    out.push(b'\n');
    push_canonical_headers(
        &parts.headers,
        parts.uri.authority(),
        &claim.signed_headers,
        &mut out,
    );
    out.push(b'\n');
    out.extend_from_slice(claim.signed_headers.as_bytes());
    out.push(b'\n');
    let unsigned = parts
        .headers
        .get(X_AMZ_CONTENT_SHA256)
        .is_some_and(|value| value.as_bytes() == UNSIGNED_PAYLOAD.as_bytes());
    if unsigned {
        out.extend_from_slice(UNSIGNED_PAYLOAD.as_bytes());
    } else {
        let mut hash = String::with_capacity(64);
        push_hex(&Sha256::digest(body), &mut hash);
        out.extend_from_slice(hash.as_bytes());
    }
    out
}

fn push_canonical_uri(path: &str, out: &mut Vec<u8>) {
    let normal = path.starts_with('/') && !path.contains("//") && !path.contains("/.");
    if normal {
        push_encoded(path.as_bytes(), Slash::Keep, out);
        return;
    }
    // RFC 3986's "remove dot segments", and empty segments go too, as in AWS's signers.
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    for segment in &segments {
        out.push(b'/');
        push_encoded(segment.as_bytes(), Slash::Keep, out);
    }
    let ends_in_slash = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if segments.is_empty() || ends_in_slash {
        out.push(b'/');
    }
}

fn push_canonical_query(query: &str, presigned: bool, out: &mut Vec<u8>) {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (name, value) in query_pairs(query) {
        let name = decode_component(name);
        if presigned && *name == *b"X-Amz-Signature" {
            continue;
        }
        let mut encoded_name = Vec::with_capacity(name.len());
        push_encoded(&name, Slash::Encode, &mut encoded_name);
        let mut encoded_value = Vec::with_capacity(value.len());
        push_encoded(&decode_component(value), Slash::Encode, &mut encoded_value);
        pairs.push((encoded_name, encoded_value));
    }
    pairs.sort_unstable();
    for (pair_idx, (name, value)) in pairs.iter().enumerate() {
        if pair_idx > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(name);
        out.push(b'=');
        out.extend_from_slice(value);
    }
}

/// One `name:value\n` line per signed header. A header the request lacks gets an empty value, so
/// the signature fails unless the client signed it empty too.
fn push_canonical_headers(
    headers: &HeaderMap,
    authority: Option<&Authority>,
    signed_headers: &str,
    out: &mut Vec<u8>,
) {
    for name in signed_headers.split(';') {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut values = headers.get_all(name).iter().peekable();
        let host_from_uri = values.peek().is_none() && name.eq_ignore_ascii_case("host");
        if let Some(authority) = authority.filter(|_| host_from_uri) {
            out.extend_from_slice(authority.as_str().as_bytes());
        }
        for (value_idx, value) in values.enumerate() {
            if value_idx > 0 {
                out.push(b',');
            }
            push_trimmed(value.as_bytes(), out);
        }
        out.push(b'\n');
    }
}

/// The value without leading and trailing whitespace, each run of spaces made one space.
fn push_trimmed(value: &[u8], out: &mut Vec<u8>) {
    let mut after_space = false;
    for &byte in value.trim_ascii() {
        let space = byte == b' ';
        if !(space && after_space) {
            out.push(byte);
        }
        after_space = space;
    }
}

/// The key for this credential's scope, ready to sign the string to sign.
fn signing_key(secret: &str, credential: &Credential<'_>) -> Hmac<Sha256> {
    let mut secret_key = Vec::with_capacity(4 + secret.len());
    secret_key.extend_from_slice(b"AWS4");
    secret_key.extend_from_slice(secret.as_bytes());
    let date_key = hmac_sha256(&secret_key, credential.date.as_bytes());
    let region_key = hmac_sha256(&date_key, credential.region.as_bytes());
    let service_key = hmac_sha256(&region_key, credential.service.as_bytes());
    let signing_key = hmac_sha256(&service_key, TERMINATOR.as_bytes());
    keyed_mac(&signing_key)
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = keyed_mac(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn keyed_mac(key: &[u8]) -> Hmac<Sha256> {
    Hmac::new_from_slice(key).expect("HMAC takes a key of any length")
}

/// The 32 bytes of a signature written as 64 lowercase hex digits, as SigV4 writes it.
fn decode_signature(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut signature = [0; 32];
    for (byte, pair) in signature.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = lowercase_hex_digit(pair[0])? << 4 | lowercase_hex_digit(pair[1])?;
    }
    Some(signature)
}

fn lowercase_hex_digit(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

fn push_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slash {
    Keep,
    Encode,
}

/// SigV4's URI encoding: every byte but `A-Z a-z 0-9 - _ . ~` as `%XX` with uppercase hex.
fn push_encoded(bytes: &[u8], slash: Slash, out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in bytes {
        let unreserved = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~');
        if unreserved || (byte == b'/' && slash == Slash::Keep) {
            out.push(byte);
        } else {
            out.extend_from_slice(&[
                b'%',
                DIGITS[usize::from(byte >> 4)],
                DIGITS[usize::from(byte & 0x0f)],
            ]);
        }
    }
}

/// The query string's `name=value` pairs, still encoded; a pair without `=` has an empty value.
fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Percent-decodes a query component, `+` as a space. A `%` not followed by two hex digits stays
/// as it is.
fn decode_component(raw: &str) -> Cow<'_, [u8]> {
    if !raw.bytes().any(|byte| byte == b'%' || byte == b'+') {
        return Cow::Borrowed(raw.as_bytes());
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut byte_idx = 0;
    while byte_idx < bytes.len() {
        let escaped = bytes
            .get(byte_idx + 1..byte_idx + 3)
            .filter(|_| bytes[byte_idx] == b'%')
            .and_then(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?));
        match (escaped, bytes[byte_idx]) {
            (Some(byte), _) => {
                decoded.push(byte);
                byte_idx += 3;
            }
            (None, b'+') => {
                decoded.push(b' ');
                byte_idx += 1;
            }
            (None, byte) => {
                decoded.push(byte);
                byte_idx += 1;
            }
        }
    }
    Cow::Owned(decoded)
}

fn decode_text(raw: &str) -> Cow<'_, str> {
    match decode_component(raw) {
        Cow::Borrowed(_) => Cow::Borrowed(raw),
        Cow::Owned(bytes) => Cow::Owned(match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
        }),
    }
}

fn hex_digit(digit: u8) -> Option<u8> {
    match digit {
        b'A'..=b'F' => Some(digit - b'A' + 10),
        digit => lowercase_hex_digit(digit),
    }
}

fn iso_basic(time: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

impl Refusal {
    fn missing_token() -> Self {
        Refusal {
            code: MISSING_TOKEN,
            message: "Request is missing Authentication Token".to_owned(),
        }
    }

    fn incomplete(message: String) -> Self {
        Refusal {
            code: INCOMPLETE_SIGNATURE,
            message,
        }
    }

    fn invalid_signature(message: String) -> Self {
        Refusal {
            code: INVALID_SIGNATURE,
            message,
        }
    }

    fn unrecognized_client() -> Self {
        Refusal {
            code: UNRECOGNIZED_CLIENT,
            message: "The security token included in the request is invalid.".to_owned(),
        }
    }
}
