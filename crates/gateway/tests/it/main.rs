//! The gateway's edge through real sockets on loopback: the server loop's timeouts and caps,
//! bodies bounded in time and by the node's budget, and WebSocket connections that stop reading.
//! Every server here runs with small limits, so each test takes about a second.

mod body;
mod server;
mod support;
mod websocket;
