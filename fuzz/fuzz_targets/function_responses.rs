//! What a function returns and the host reads: the same bytes as an HTTP API route's response
//! (`gateway::payload::response_from_function`: API Gateway's payload format 2.0, `statusCode`,
//! `headers`, `cookies`, `body`, `isBase64Encoded`) and as a stream trigger's partial batch
//! response (`events::batch_item_failures`). A refusal is a normal outcome; a panic is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gateway::payload::response_from_function(data);
    let _ = events::batch_item_failures(data);
});
