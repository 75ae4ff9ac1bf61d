//! The DynamoDB Streams API as the AWS endpoint hands it to the tables: the input's first line is
//! the operation (`ListStreams`, `DescribeStream`, `GetShardIterator`, `GetRecords`), the rest its
//! request body. The fixture's table `tab` has a stream with a few records; `@arn`, `@shard` and
//! `@iterator` in the body become its ARN, its shard's id and a fresh iterator
//! (`fixtures::substitute_stream_ids`), which a fuzzer could not guess. Errors are normal
//! outcomes; a panic is a bug.

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
    let body = fixtures::substitute_stream_ids(body);
    let tables = fixtures::tables();
    let _ = fixtures::runtime().block_on(tables.handle_streams(operation, &body));
});
