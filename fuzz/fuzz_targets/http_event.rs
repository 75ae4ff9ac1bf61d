//! An HTTP API request as the gateway turns it into the payload format 2.0 event
//! (`gateway::payload::request_event`: headers, cookies, the query string decoded, a text or
//! base64 body): a request in the text form of `rondo_fuzz::request`. The event must be JSON.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

use gateway::payload::{RequestInfo, request_event};
use libfuzzer_sys::fuzz_target;
use rondo_fuzz::request;

fuzz_target!(|data: &[u8]| {
    let Some((parts, body)) = request::parse(data) else {
        return;
    };
    let path_parameters = [("name".to_owned(), "a b".to_owned())];
    let info = RequestInfo {
        request_id: "request-id",
        route_key: "$default",
        path_parameters: &path_parameters,
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        time: SystemTime::UNIX_EPOCH,
        domain_name: "localhost",
        api_id: "rondo",
        account_id: "000000000000",
    };
    let event = request_event(&parts, &body, &info);
    let event: serde_json::Value = serde_json::from_slice(&event).expect("the event is JSON");
    assert_eq!(event["version"], "2.0");
});
