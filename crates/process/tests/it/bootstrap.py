# A `provided` runtime for the tests: speaks the Lambda Runtime API with http.client, and does
# what each event's "action" asks. The test support writes it as `bootstrap` with a shebang line.
import http.client
import json
import os
import subprocess
import sys
import time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
PREFIX = "/2018-06-01/runtime"
connection = http.client.HTTPConnection(API)


def call(method, path, body=None, headers=None):
    connection.request(method, PREFIX + path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def post_json(path, value, headers=None):
    return call("POST", path, json.dumps(value).encode(), headers)


print("init says hello", flush=True)
init = os.environ.get("TEST_INIT", "")
if init == "crash":
    print("crashing during init", file=sys.stderr, flush=True)
    sys.exit(3)
if init == "error":
    post_json(
        "/init/error",
        {"errorType": "Custom.InitFailed", "errorMessage": "cannot init", "stackTrace": []},
        {"Lambda-Runtime-Function-Error-Type": "Custom.InitFailed"},
    )
    sys.exit(1)
if init == "hang":
    time.sleep(3600)

# What the runtime saw after answering a request, for the "report" action.
late = {}

while True:
    status, headers, body = call("GET", "/invocation/next")
    request_id = headers["Lambda-Runtime-Aws-Request-Id"]
    base = "/invocation/" + request_id
    event = json.loads(body) if body else {}
    action = event.get("action", "echo")

    def respond(value):
        return post_json(base + "/response", value)

    if action == "echo":
        respond({"echo": event})
    elif action == "pid":
        respond({"pid": os.getpid()})
    elif action == "env":
        respond({key: os.environ.get(key) for key in event["keys"]})
    elif action == "environ":
        respond(dict(os.environ))
    elif action == "headers":
        respond(headers)
    elif action == "print":
        print(event["stdout"], flush=True)
        print(event["stderr"], file=sys.stderr, flush=True)
        sys.stdout.write("no newline at the end")
        sys.stdout.flush()
        respond("printed")
    elif action == "error":
        post_json(
            base + "/error",
            {"errorType": event["type"], "errorMessage": event["message"], "stackTrace": []},
        )
    elif action == "crash":
        print("about to crash", flush=True)
        os._exit(event.get("code", 1))
    elif action == "sleep":
        time.sleep(event["seconds"])
        respond({"slept": event["seconds"], "pid": os.getpid()})
    elif action == "spawn_and_hang":
        child = subprocess.Popen(["sleep", "3600"])
        with open(event["pid_file"], "w") as pid_file:
            pid_file.write(str(child.pid))
        time.sleep(3600)
    elif action == "allocate":
        hog = b"\x01" * (event["mb"] * 1024 * 1024)
        time.sleep(event.get("hold_s", 0))
        respond({"allocated_mb": len(hog) // (1024 * 1024)})
    elif action == "big":
        status, _, answer = call("POST", base + "/response", b"x" * event["bytes"])
        late["big"] = [status, json.loads(answer)]
    elif action == "probe":
        bad_status, _, bad_body = post_json("/invocation/not-a-request-id/response", {})
        respond({"bad_id_status": bad_status, "bad_id_body": json.loads(bad_body)})
        again_status, _, again_body = post_json(base + "/response", {})
        late["again"] = [again_status, json.loads(again_body)]
        init_status, _, _ = post_json("/init/error", {"errorType": "Late", "errorMessage": "late"})
        late["init_error_after_init"] = init_status
    elif action == "report":
        respond(late)
    elif action == "respond_from_child":
        # A process the runtime started answers for it, on a connection of its own.
        script = (
            "import http.client, json, os, sys\n"
            "connection = http.client.HTTPConnection(os.environ['AWS_LAMBDA_RUNTIME_API'])\n"
            "connection.request('POST', sys.argv[1], json.dumps({'child': os.getpid()}))\n"
            "sys.exit(0 if connection.getresponse().status == 202 else 1)\n"
        )
        subprocess.run([sys.executable, "-c", script, PREFIX + base + "/response"], check=True)
    else:
        respond({"unknown action": action})
