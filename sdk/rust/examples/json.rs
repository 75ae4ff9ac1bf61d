//! A JSON-level function: adds up the numbers in `{"numbers": [..]}`.
//!
//! Build: `cargo build -p rondo-sdk --example json --target wasm32-wasip2 --release`.

use rondo_sdk::{Context, Error, log};
use serde_json::{Value, json};

rondo_sdk::handler!(sum);

fn sum(event: Value, ctx: &Context) -> Result<Value, Error> {
    let numbers = event["numbers"]
        .as_array()
        .ok_or_else(|| Error::new("ValidationError", "`numbers` must be an array"))?;
    let mut total = 0.0;
    for number in numbers {
        total += number
            .as_f64()
            .ok_or_else(|| Error::new("ValidationError", format!("{number} is not a number")))?;
    }
    log::debug(format_args!("summed {} numbers", numbers.len()));
    Ok(json!({ "sum": total, "remainingTimeMs": ctx.remaining_time_ms() }))
}
