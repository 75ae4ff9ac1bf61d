"""A hostile Lambda handler: each event names an attack on the host; the answer says what happened.

Run in rondo's sandbox, every attack must fail (and the host must not notice).
"""

import ctypes
import errno
import os
import signal
import socket
import time

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER = 0x10000000


def outcome(action):
    try:
        value = action()
        return {"ok": True, "value": value}
    except OSError as error:
        return {"ok": False, "errno": errno.errorcode.get(error.errno, str(error.errno)), "error": str(error)}


def read(path):
    with open(path, "rb") as file:
        return len(file.read())


def listdir(path):
    return sorted(os.listdir(path))


def connect(host, port):
    with socket.create_connection((host, port), timeout=2) as connection:
        connection.sendall(b"ping\n")
        return connection.recv(100).decode()


def fork_bomb():
    """Forks until the kernel refuses; answers how many children it got, then reaps them."""
    children = []
    refused = None
    try:
        while len(children) < 5000:
            pid = os.fork()
            if pid == 0:
                try:
                    os.execv("/bin/sleep", ["sleep", "30"])
                finally:
                    os._exit(1)
            children.append(pid)
    except OSError as error:
        refused = errno.errorcode.get(error.errno, str(error.errno))
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    for pid in children:
        os.waitpid(pid, 0)
    return {"children": len(children), "refused": refused}


def fill_tmp():
    """Writes /tmp full; answers how many bytes went in before the refusal."""
    written = 0
    chunk = b"x" * (1024 * 1024)
    refused = None
    with open("/tmp/fill", "wb") as file:
        try:
            while written < 64 * 1024 * 1024 * 1024:
                file.write(chunk)
                file.flush()
                written += len(chunk)
        except OSError as error:
            refused = errno.errorcode.get(error.errno, str(error.errno))
    os.remove("/tmp/fill")
    return {"written": written, "refused": refused}


def syscall_unshare():
    if LIBC.unshare(CLONE_NEWUSER) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return "unshared"


def syscall_mount():
    if LIBC.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return "mounted"


def write(path):
    with open(path, "w") as file:
        file.write("owned")
    return "written"


def handler(event, context):
    attack = event["attack"]
    if attack == "whoami":
        return {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid(),
                "task_root": os.environ.get("LAMBDA_TASK_ROOT"), "cwd": os.getcwd(),
                "hostname": socket.gethostname(), "variables": sorted(os.environ)}
    if attack == "read":
        return outcome(lambda: read(event["path"]))
    if attack == "list":
        return outcome(lambda: listdir(event["path"]))
    if attack == "write":
        return outcome(lambda: write(event["path"]))
    if attack == "kill":
        return outcome(lambda: os.kill(event["pid"], signal.SIGKILL))
    if attack == "connect":
        return outcome(lambda: connect(event["host"], event["port"]))
    if attack == "fork_bomb":
        return fork_bomb()
    if attack == "fill_tmp":
        return fill_tmp()
    if attack == "unshare":
        return outcome(syscall_unshare)
    if attack == "mount":
        return outcome(syscall_mount)
    raise ValueError(f"unknown attack {attack}")
