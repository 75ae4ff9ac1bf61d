//! Small pure checks on single values: names, environment keys, hosts, schedules, JSON, prices.
//!
//! Each returns the reason a value is refused; `lower` adds the context and the location.

use crate::limits;

/// What a kind of name may be made of.
pub(crate) struct NameRule {
    pub(crate) len_min: usize,
    pub(crate) len_max: usize,
    pub(crate) is_allowed: fn(char) -> bool,
    /// The allowed characters, for the message.
    pub(crate) allowed: &'static str,
}

pub(crate) const APP_NAME: NameRule = NameRule {
    len_min: 1,
    len_max: limits::APP_NAME_LEN_MAX,
    is_allowed: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    allowed: "a-z, 0-9 and `-`",
};

pub(crate) const FUNCTION_NAME: NameRule = NameRule {
    len_min: 1,
    len_max: limits::FUNCTION_NAME_LEN_MAX,
    is_allowed: |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
    allowed: "A-Z, a-z, 0-9, `_` and `-`",
};

/// Tables and their indexes.
pub(crate) const TABLE_NAME: NameRule = NameRule {
    len_min: limits::TABLE_NAME_LEN_MIN,
    len_max: limits::TABLE_NAME_LEN_MAX,
    is_allowed: |c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.',
    allowed: "A-Z, a-z, 0-9, `_`, `-` and `.`",
};

pub(crate) const QUEUE_NAME: NameRule = NameRule {
    len_min: 1,
    len_max: limits::QUEUE_NAME_LEN_MAX,
    is_allowed: |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
    allowed: "A-Z, a-z, 0-9, `_` and `-`",
};

pub(crate) const SCHEDULE_NAME: NameRule = NameRule {
    len_min: 1,
    len_max: limits::SCHEDULE_NAME_LEN_MAX,
    is_allowed: |c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.',
    allowed: "A-Z, a-z, 0-9, `_`, `-` and `.`",
};

/// Set by the platform for every function, as Lambda does; `AWS_*` is reserved as a whole.
const RESERVED_ENVIRONMENT_KEYS: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

pub(crate) fn name(rule: &NameRule, name: &str) -> Result<(), String> {
    let n_chars = name.chars().count();
    let length_ok = (rule.len_min..=rule.len_max).contains(&n_chars);
    if length_ok && name.chars().all(rule.is_allowed) {
        return Ok(());
    }
    Err(format!(
        "name must be {}..={} characters of {}",
        rule.len_min, rule.len_max, rule.allowed
    ))
}

pub(crate) fn environment_key(key: &str) -> Result<(), String> {
    let mut chars = key.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "environment key `{key}` must be letters, digits and `_`, not starting with a digit"
        ));
    }
    if key.starts_with("AWS_") || RESERVED_ENVIRONMENT_KEYS.contains(&key) {
        return Err(format!(
            "environment key `{key}` is reserved: the platform sets `AWS_*`, {}",
            RESERVED_ENVIRONMENT_KEYS.join(", ")
        ));
    }
    Ok(())
}

/// Checks `scheme://host[:port]` and returns it with scheme and host in lower case and no trailing `/`.
pub(crate) fn outbound_host(text: &str) -> Result<String, String> {
    let fail = |why: &str| Err(format!("allowed outbound host `{text}`: {why}"));
    let Some((scheme, authority)) = text.split_once("://") else {
        return fail("must be `scheme://host[:port]`, e.g. `https://api.example.com`");
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return fail("scheme must be `http` or `https`");
    }
    // A trailing `/` is harmless and often written; anything after it is a path.
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    if authority.contains(['/', '?', '#', '@']) {
        return fail("must not have a path, query or user, only `scheme://host[:port]`");
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let port_ok = port
        .is_none_or(|port| port.len() <= 5 && port.parse::<u16>().is_ok_and(|number| number != 0));
    if !port_ok {
        return fail("port must be a number in 1..=65535");
    }
    if !host_pattern_ok(host) {
        return fail(
            "host must be a name like `api.example.com`, with `*` only as the whole host or as its first label",
        );
    }
    let host = host.to_ascii_lowercase();
    Ok(match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

fn host_pattern_ok(host: &str) -> bool {
    if host == "*" {
        return true;
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    name.split('.').all(|label| {
        let label_ok = !label.is_empty() && label.len() <= 63;
        label_ok && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// `rate(N unit)` or a six-field `cron(...)`, as EventBridge accepts them.
pub(crate) fn schedule_expression(text: &str) -> Result<(), String> {
    let inner = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
    };
    if let Some(rate) = inner("rate(") {
        return rate_expression(rate);
    }
    if let Some(cron) = inner("cron(") {
        return cron_expression(cron);
    }
    Err("expression must be `rate(N unit)`, e.g. `rate(5 minutes)`, or `cron(minutes hours day-of-month month day-of-week year)`".to_owned())
}

fn rate_expression(rate: &str) -> Result<(), String> {
    let Some((value, unit)) = rate.split_once(' ') else {
        return Err("rate must be `rate(N unit)`, e.g. `rate(5 minutes)`".to_owned());
    };
    let Some(value) = value.parse::<u32>().ok().filter(|value| *value >= 1) else {
        return Err(format!(
            "rate value `{value}` must be a whole number of at least 1"
        ));
    };
    let singular = match unit {
        "minute" | "hour" | "day" => true,
        "minutes" | "hours" | "days" => false,
        _ => {
            return Err(format!(
                "rate unit `{unit}` must be minute(s), hour(s) or day(s)"
            ));
        }
    };
    if singular != (value == 1) {
        return Err("rate unit must be singular for 1 and plural otherwise, e.g. `rate(1 hour)`, `rate(2 hours)`".to_owned());
    }
    Ok(())
}

fn cron_expression(cron: &str) -> Result<(), String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(format!(
            "cron needs six fields (minutes hours day-of-month month day-of-week year), not {}",
            fields.len()
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || ",-*/?#".contains(c);
    if let Some(field) = fields.iter().find(|field| !field.chars().all(allowed)) {
        return Err(format!(
            "cron field `{field}` has a character other than A-Z, 0-9 and , - * / ? #"
        ));
    }
    let day_fields_open = fields[2] == "?" || fields[4] == "?";
    if !day_fields_open {
        return Err("cron needs `?` in day-of-month or in day-of-week".to_owned());
    }
    let misplaced_question = [0, 1, 3, 5]
        .iter()
        .any(|field_idx| fields[*field_idx].contains('?'));
    if misplaced_question {
        return Err("cron allows `?` only in day-of-month and day-of-week".to_owned());
    }
    Ok(())
}

/// Any JSON text.
pub(crate) fn json(text: &str) -> Result<(), String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(drop)
        .map_err(|error| format!("is not valid JSON: {error}"))
}

/// A JSON object, as a filter pattern must be.
pub(crate) fn json_object(text: &str) -> Result<(), String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err("must be a JSON object, e.g. `{\"eventName\": [\"INSERT\"]}`".to_owned()),
        Err(error) => Err(format!("is not valid JSON: {error}")),
    }
}

/// Converts dollars to billionths of a dollar, rounding half up on the decimal the number is written as.
pub(crate) fn nano_usd(usd: f64) -> Result<u64, String> {
    if !usd.is_finite() || usd < 0.0 {
        return Err("must be a non-negative number of dollars".to_owned());
    }
    if usd == 0.0 {
        return Ok(0);
    }
    // `Display` for f64 prints the shortest decimal that reads back the same, never in exponent form.
    let text = usd.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let nano_digits: String = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(9)
        .collect();
    let round_up = fraction
        .as_bytes()
        .get(9)
        .is_some_and(|digit| *digit >= b'5');
    let too_large = || "is too large".to_owned();
    let whole: u64 = whole.parse().map_err(|_| too_large())?;
    let nano_part: u64 = nano_digits.parse().expect("nine decimal digits fit a u64");
    whole
        .checked_mul(1_000_000_000)
        .and_then(|nano| nano.checked_add(nano_part))
        .and_then(|nano| nano.checked_add(u64::from(round_up)))
        .ok_or_else(too_large)
}
