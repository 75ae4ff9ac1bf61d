//! The durable, ordered, transactional key-value store every piece of rondo state lives on.
