//! Who is on the other end of a Runtime API connection.
//!
//! Each environment's Runtime API listens on loopback, where any local process can connect; a
//! stranger asking for `next` would take the environment's events. The address cannot carry a
//! secret: Lambda's runtime clients take `AWS_LAMBDA_RUNTIME_API` as `host:port` only (the Rust
//! `lambda_runtime` parses it as a URI authority and refuses a path; awslambdaric and
//! hand-written bootstraps pass it to Python's `http.client.HTTPConnection`, which reads what
//! follows the colon as the port). So the listener checks the connecting socket instead: the
//! kernel's socket table (`/proc/net/tcp`, `/proc/net/tcp6`) names the inode of the client's
//! end of the connection, and a connection is served only when a process of the environment's
//! process group holds that socket (`/proc/<pid>/fd`).
//!
//! Environments run as rondo's own user, so rondo may read their `/proc` files; a socket held by
//! another user's process is never found there, and is refused like any stranger's.
//! A process the runtime starts stays in its group (unless it leaves on purpose, with `setsid`)
//! and may use the Runtime API too.

use std::fs;
use std::net::{IpAddr, SocketAddr};

use crate::memory;

/// Whether the connection from `client` to `server` (the listener's address) was opened by a
/// process of the process group `pgid`, and is still held by one.
pub(crate) fn is_held_by_group(client: SocketAddr, server: SocketAddr, pgid: u32) -> bool {
    let Some(inode) = client_socket_inode(client, server) else {
        return false;
    };
    // The group's leader (the runtime) opens nearly every connection: look there first.
    if holds_socket(pgid, inode) {
        return true;
    }
    memory::group_members(pgid)
        .into_iter()
        .filter(|&pid| pid != pgid)
        .any(|pid| holds_socket(pid, inode))
}

/// The inode of the client's socket of the connection `client` → `server`, from the socket table
/// of the connection's address family (an IPv6 socket may reach an IPv4 listener by a mapped
/// address, so both tables are read).
fn client_socket_inode(client: SocketAddr, server: SocketAddr) -> Option<u64> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .into_iter()
        .filter_map(|table| fs::read_to_string(table).ok())
        .find_map(|table| find_inode(&table, client, server))
}

/// The inode of the socket table's entry whose local address is `local` and whose remote address
/// is `remote`. Lines read `sl local_address rem_address st ... uid timeout inode ...`.
pub(crate) fn find_inode(table: &str, local: SocketAddr, remote: SocketAddr) -> Option<u64> {
    let candidates = [
        (table_address(local, false), table_address(remote, false)),
        (table_address(local, true), table_address(remote, true)),
    ];
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (line_local, line_remote, inode) = (fields.get(1)?, fields.get(2)?, fields.get(9)?);
        let is_match = candidates
            .iter()
            .any(|(local, remote)| local == line_local && remote == line_remote);
        if is_match { inode.parse().ok() } else { None }
    })
}

/// An address as the socket tables print it: the address's 32-bit words each as the kernel
/// holds it in memory, in hex, then `:` and the port in hex. `mapped` writes an IPv4 address as
/// an IPv6 socket sees it (`::ffff:a.b.c.d`).
fn table_address(address: SocketAddr, mapped: bool) -> String {
    let octets: Vec<u8> = match address.ip() {
        IpAddr::V4(ip) if mapped => ip.to_ipv6_mapped().octets().to_vec(),
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    };
    let words: String = octets
        .chunks_exact(4)
        .map(|word| {
            let word: [u8; 4] = word.try_into().expect("chunks of four bytes");
            format!("{:08X}", u32::from_ne_bytes(word))
        })
        .collect();
    format!("{words}:{:04X}", address.port())
}

/// Whether process `pid` has the socket `inode` open.
fn holds_socket(pid: u32, inode: u64) -> bool {
    let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    let target = format!("socket:[{inode}]");
    entries.flatten().any(|entry| {
        fs::read_link(entry.path()).is_ok_and(|link| link.as_os_str() == target.as_str())
    })
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, TcpListener, TcpStream};

    use super::*;

    #[test]
    fn socket_table_entries_are_found_in_either_form() {
        let client = SocketAddr::from((Ipv4Addr::LOCALHOST, 40000));
        let server = SocketAddr::from((Ipv4Addr::LOCALHOST, 8080));
        // 127.0.0.1 is the word 0x0100007F on a little-endian machine.
        let word = format!("{:08X}", u32::from_ne_bytes([127, 0, 0, 1]));
        let tcp = format!(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
             \x20  0: {word}:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0 100 0 0 10 0\n\
             \x20  1: {word}:1F90 {word}:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 222 1 0 20 4 30 10 -1\n\
             \x20  2: {word}:9C40 {word}:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 333 1 0 20 4 30 10 -1\n"
        );
        assert_eq!(find_inode(&tcp, client, server), Some(333));
        assert_eq!(find_inode(&tcp, server, client), Some(222));
        let stranger = SocketAddr::from((Ipv4Addr::LOCALHOST, 40001));
        assert_eq!(find_inode(&tcp, stranger, server), None);

        let ffff = format!("{:08X}", u32::from_ne_bytes([0, 0, 0xff, 0xff]));
        let mapped = format!("0000000000000000{ffff}{word}");
        let tcp6 = format!(
            "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
             \x20  0: {mapped}:9C40 {mapped}:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 444 1 0 20 4 30 10 -1\n"
        );
        assert_eq!(find_inode(&tcp6, client, server), Some(444));
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 40000));
        assert_eq!(find_inode(&tcp6, v6, server), None);
    }

    #[test]
    fn a_connection_of_this_process_is_held_by_its_group_only() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binds");
        let server = listener.local_addr().expect("an address");
        let client = TcpStream::connect(server).expect("connects");
        let (_accepted, peer) = listener.accept().expect("accepts");
        assert_eq!(peer, client.local_addr().expect("an address"));
        let own_group = rustix::process::getpgrp().as_raw_nonzero().get();
        let own_group = u32::try_from(own_group).expect("a group id is positive");
        assert!(is_held_by_group(peer, server, own_group));
        // No process leads group 0, so nobody holds the socket for it.
        assert!(!is_held_by_group(peer, server, 0));
        let gone = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1));
        assert!(!is_held_by_group(gone, server, own_group));
    }
}
