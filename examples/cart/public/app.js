// The cart page: plain JavaScript, no build step.
//
// - The cart id comes from `?cart=` in the URL; without one, a new id is made and written into
//   the URL, so a second tab opened on that URL shares the cart.
// - GET /carts/{id} (display-cart) fills the list and the badge.
// - A WebSocket on /ws?cartId={id} (cart-status) receives {"cartId", "count"} whenever the cart
//   changes: the badge changes at once, then the list is read again.
// - "Add" posts {"itemId", "quantity": 1} to /carts/{id}/items (add-to-cart).
"use strict";

const CART_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const RECONNECT_DELAY_MIN_MS = 250;
const RECONNECT_DELAY_MAX_MS = 8000;

const NAMES = {
  sencha: "Sencha",
  oolong: "Oolong",
  "earl-grey": "Earl Grey",
  matcha: "Matcha",
};

const cartId = currentCartId();
const elements = {
  count: document.getElementById("cart-count"),
  items: document.getElementById("cart-items"),
  empty: document.getElementById("cart-empty"),
  status: document.getElementById("ws-status"),
  error: document.getElementById("error"),
};

// Reads of the cart may finish out of order; only the latest one started is shown.
let latestRead = 0;

function currentCartId() {
  const url = new URL(window.location.href);
  const given = url.searchParams.get("cart");
  if (given !== null && CART_ID_PATTERN.test(given)) {
    return given;
  }
  url.searchParams.set("cart", newCartId());
  window.history.replaceState(null, "", url);
  return url.searchParams.get("cart");
}

function newCartId() {
  // randomUUID exists only in secure contexts (https, localhost); a page opened over plain
  // http from another machine falls back to getRandomValues.
  if (typeof crypto.randomUUID === "function") {
    return crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function cartPath() {
  return `/carts/${encodeURIComponent(cartId)}`;
}

function showCount(count) {
  elements.count.textContent = String(count);
  elements.count.parentElement.classList.remove("bump");
  // Restart the animation: reading offsetWidth applies the removal first.
  void elements.count.parentElement.offsetWidth;
  elements.count.parentElement.classList.add("bump");
}

function showItems(items) {
  const rows = items.map(({ itemId, quantity }) => {
    const row = document.createElement("li");
    row.dataset.itemId = itemId;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = NAMES[itemId] ?? itemId;
    const amount = document.createElement("span");
    amount.className = "quantity";
    amount.textContent = `× ${quantity}`;
    row.append(name, amount);
    return row;
  });
  elements.items.replaceChildren(...rows);
  elements.empty.hidden = rows.length > 0;
}

function showError(message) {
  elements.error.textContent = message;
  elements.error.hidden = message === "";
}

async function refreshCart() {
  const read = ++latestRead;
  try {
    const response = await fetch(cartPath(), { headers: { accept: "application/json" } });
    const body = await response.json();
    if (read !== latestRead) {
      return;
    }
    if (!response.ok) {
      showError(body.message ?? `reading the cart failed (${response.status})`);
      return;
    }
    showItems(body.items);
    if (elements.count.textContent !== String(body.count)) {
      showCount(body.count);
    }
  } catch (error) {
    if (read === latestRead) {
      showError(`reading the cart failed: ${error.message}`);
    }
  }
}

async function add(itemId, button) {
  button.disabled = true;
  showError("");
  try {
    const response = await fetch(`${cartPath()}/items`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ itemId, quantity: 1 }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      showError(body.message ?? `adding failed (${response.status})`);
      return;
    }
    // The push from cart-status updates the badge; reading here keeps the page right even
    // while the WebSocket is down.
    await refreshCart();
  } catch (error) {
    showError(`adding failed: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

function connect(delayMs) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${window.location.host}/ws?cartId=${encodeURIComponent(cartId)}`;
  const socket = new WebSocket(url);
  let opened = false;

  socket.addEventListener("open", () => {
    opened = true;
    setStatus("connected");
    // Whatever changed while this page was not connected, ask for the count now.
    socket.send(JSON.stringify({ action: "status" }));
  });
  socket.addEventListener("message", (message) => {
    let update;
    try {
      update = JSON.parse(message.data);
    } catch {
      return;
    }
    if (update.cartId === cartId && Number.isInteger(update.count)) {
      showCount(update.count);
      refreshCart();
    }
  });
  socket.addEventListener("close", () => {
    const nextDelayMs = opened
      ? RECONNECT_DELAY_MIN_MS
      : Math.min(delayMs * 2, RECONNECT_DELAY_MAX_MS);
    setStatus("reconnecting");
    setTimeout(() => connect(nextDelayMs), nextDelayMs);
  });
}

function setStatus(text) {
  elements.status.textContent = text;
  document.body.dataset.ws = text;
}

document.getElementById("cart-id").textContent = cartId;
for (const button of document.querySelectorAll("button.add")) {
  button.addEventListener("click", () => add(button.dataset.itemId, button));
}
refreshCart();
connect(RECONNECT_DELAY_MIN_MS);
