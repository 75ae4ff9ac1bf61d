//! The hello example: `GET /hello/{name}` answers `{"message": "Hello, {name}!"}`.
//!
//! The greeting comes from the function's `GREETING` setting when the manifest sets one.

use rondo_sdk::http::{Request, Response};
use rondo_sdk::{Context, Error, config, log};
use serde_json::json;

rondo_sdk::handler!(hello);

fn hello(request: Request, _ctx: &Context) -> Result<Response, Error> {
    let name = request.path_param("name").unwrap_or("world");
    let greeting = config::get("GREETING").unwrap_or_else(|| "Hello".to_owned());
    log::info(format_args!("greeting {name}"));
    Response::json(200, &json!({ "message": format!("{greeting}, {name}!") }))
}
