//! What `load` refuses, and how it says so.

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use process::{ProcessLoadError, ProcessRuntime};

use crate::support::{self, config, python_code};

fn check(config: process::ProcessFunctionConfig, expect: &str) {
    let host = support::host(Duration::from_secs(60));
    let error = host.load(config).err().expect("the load fails");
    assert_eq!(error.to_string(), expect);
}

#[test]
fn a_missing_code_folder_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nowhere");
    let expect = format!("{}: the code folder does not exist", missing.display());
    check(config("f", ProcessRuntime::Provided, &missing), &expect);
}

#[test]
fn a_provided_function_needs_an_executable_bootstrap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bootstrap = dir.path().join("bootstrap");
    let expect = format!(
        "{}: not found (a `provided` function's code folder holds an executable `bootstrap`)",
        bootstrap.display()
    );
    check(config("f", ProcessRuntime::Provided, dir.path()), &expect);

    std::fs::write(&bootstrap, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let expect = format!(
        "{}: `bootstrap` is not an executable file (chmod +x it)",
        bootstrap.display()
    );
    check(config("f", ProcessRuntime::Provided, dir.path()), &expect);
}

#[test]
fn a_python_function_needs_its_handler_module() {
    let code = python_code(&[("app.py", "def handler(event, context):\n    return 1\n")]);
    let mut no_handler = config("f", ProcessRuntime::Python3, code.path());
    check(
        no_handler.clone(),
        "a python3 function needs a handler (`module.function`)",
    );
    no_handler.handler = Some("main.handler".to_owned());
    let expect = format!(
        "{}: not found (handler `main.handler` names the module in this file)",
        code.path().join("main.py").display()
    );
    check(no_handler, &expect);
}

#[test]
fn nodejs_is_refused_with_the_reason() {
    let code = python_code(&[("index.js", "")]);
    let mut node = config("f", ProcessRuntime::Nodejs, code.path());
    node.handler = Some("index.handler".to_owned());
    let host = support::host(Duration::from_secs(60));
    let error = host.load(node).err().expect("refused");
    assert!(matches!(error, ProcessLoadError::NodejsUnsupported));
    assert!(error.to_string().contains("cmake"), "{error}");
}

#[test]
fn memory_outside_lambdas_range_is_refused() {
    let code = python_code(&[]);
    let mut small = config("f", ProcessRuntime::Provided, code.path());
    small.memory_mb = 64;
    check(
        small,
        "memory_mb 64 is outside 128..=10240 for a process function",
    );
}
