//! SigV4 as the AWS endpoint checks it (`gateway::sigv4::verify`): a request in the text form of
//! `rondo_fuzz::request`, signed in its `Authorization` header or presigned in its query string
//! (`X-Amz-Credential`, …), checked against a policy with one key (`AKIDEXAMPLE`) at a fixed time,
//! 2015-08-30T12:36:00Z, so that seeds dated then pass the clock check and reach the canonical
//! request and the signature. A refusal is a normal outcome; a panic is a bug.

#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

use gateway::sigv4::{AuthPolicy, Service, verify};
use libfuzzer_sys::fuzz_target;
use rondo_fuzz::{fixtures, request};

static POLICY: LazyLock<AuthPolicy> = LazyLock::new(|| {
    let keys = HashMap::from([(
        fixtures::ACCESS_KEY_ID.to_owned(),
        fixtures::SECRET_ACCESS_KEY.to_owned(),
    )]);
    AuthPolicy::Verify(Arc::new(keys))
});

/// 2015-08-30T12:36:00Z, the date of AWS's SigV4 examples.
const NOW_EPOCH_S: u64 = 1_440_938_160;

fuzz_target!(|data: &[u8]| {
    let Some((parts, body)) = request::parse(data) else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_EPOCH_S);
    if let Err(error) = verify(&POLICY, Service::DynamoDb, &parts, &body, now) {
        assert!(!error.message.is_empty(), "a refusal says why: {error:?}");
    }
});
