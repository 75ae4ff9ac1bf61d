//! An HTTP-level function for routes such as `POST /notes/{id}`: echoes the note it was sent.
//!
//! Build: `cargo build -p rondo-sdk --example http --target wasm32-wasip2 --release`.

use rondo_sdk::http::{Request, Response};
use rondo_sdk::{Context, Error, config, log};
use serde::Deserialize;
use serde_json::json;

rondo_sdk::handler!(save_note);

#[derive(Deserialize)]
struct Note {
    text: String,
}

fn save_note(request: Request, ctx: &Context) -> Result<Response, Error> {
    let Some(id) = request.path_param("id") else {
        return Ok(Response::text(400, "missing note id"));
    };
    let note: Note = match request.body_json() {
        Ok(note) => note,
        Err(err) => return Ok(Response::text(400, err.to_string())),
    };
    let max_chars: usize = config::get("MAX_CHARS")
        .as_deref()
        .unwrap_or("280")
        .parse()?;
    if note.text.chars().count() > max_chars {
        return Ok(Response::text(
            413,
            format!("a note has at most {max_chars} characters"),
        ));
    }
    log::info(format_args!("note {id} saved by {}", ctx.request_id()));
    let response = Response::json(201, &json!({ "id": id, "text": note.text }))?;
    Ok(response.with_header("location", format!("/notes/{id}")))
}
