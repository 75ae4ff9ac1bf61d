//! The cart's input limits. `examples/cart-python` keeps the same numbers in `cart.py`.

/// The longest cart id, in characters (a cart id is ASCII, so also in bytes).
pub const CART_ID_CHARS_MAX: usize = 128;

/// The longest item id, in characters (Unicode scalar values, as Python's `len` counts them).
pub const ITEM_ID_CHARS_MAX: usize = 128;

/// The most of one item a single add may put in the cart.
pub const QUANTITY_PER_ADD_MAX: u64 = 1000;

/// The largest body `POST /carts/{cartId}/items` accepts, in bytes: far more than an add needs,
/// far less than the gateway's own limit.
pub const ADD_BODY_BYTES_MAX: usize = 4096;

// How the limits relate, checked when the crate compiles: an add at its limits (an itemId of 128
// characters of up to 4 bytes each, the largest quantity, the JSON around them) fits in the body.
const _: () = assert!(ITEM_ID_CHARS_MAX * 4 + 40 <= ADD_BODY_BYTES_MAX);
