//! DynamoDB's JSON API as the AWS endpoint hands it to the tables: the input's first line is the
//! operation (`X-Amz-Target`'s suffix, e.g. `PutItem`), the rest its request body. The table
//! service runs on a store in a temporary folder with the fixture's tables (`tab`, `hash`), and keeps
//! what earlier inputs wrote. Every answer must be an answer: an `ApiError` is a normal outcome,
//! a panic is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rondo_fuzz::fixtures;

fuzz_target!(|data: &[u8]| {
    let (operation, body) = match data.iter().position(|&byte| byte == b'\n') {
        Some(newline) => (&data[..newline], &data[newline + 1..]),
        None => (data, &[][..]),
    };
    let Ok(operation) = std::str::from_utf8(operation) else {
        return;
    };
    let tables = fixtures::tables();
    let _ = fixtures::runtime().block_on(tables.handle(operation, body));
});
