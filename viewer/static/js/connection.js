// The page's websocket to /logs/stream: connect, subscribe, and after a close try again.
// While the viewer is unreachable (a restart) it tries every second or so, so the page is
// LIVE within about a second of the viewer being ready; when the server refused with a reason
// (too many pages, its store failing) it backs off up to 30 s. "Retry now" tries at once.
import { visible } from "./text.js";

const QUICK_MAX_MS = 1000; // unreachable: the next try within a second
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30000;
const DISCONNECTED_AFTER_FAILURES = 5; // then the pill says so, though tries go on
const RESTART_CODES = new Set([1001, 1005, 1006]); // going away, or gone without a word

export class Connection {
  // `subscribe()`: the Subscribe frame to send on open; `onMessage(message)`;
  // `onState(state, detail, title)`: "connecting", "reconnecting" or "disconnected".
  constructor({ subscribe, onMessage, onState }) {
    this.subscribe = subscribe;
    this.onMessage = onMessage;
    this.onState = onState;
    this.socket = null; // the current socket; events of an older one are ignored
    this.timer = null;
    this.failures = 0;
    this.serverSaid = ""; // why the server last closed the socket, if it said
    window.addEventListener("online", () => {
      if (this.timer !== null) this.retryNow();
    });
  }

  // The stream answered: the next failure starts the backoff afresh.
  answered() {
    this.failures = 0;
    this.serverSaid = "";
  }

  connect() {
    this.timer = null;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const opened = new WebSocket(scheme + "//" + location.host + "/logs/stream");
    this.socket = opened;
    opened.addEventListener("open", () => opened.send(JSON.stringify(this.subscribe())));
    opened.addEventListener("message", (event) => {
      if (opened !== this.socket) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        console.error("bad stream message", error);
        return;
      }
      this.onMessage(message);
    });
    opened.addEventListener("close", (event) => {
      if (opened === this.socket && this.timer === null) this.closed(event);
    });
  }

  // A fresh subscription now (new filters), on a new socket.
  restart(why = "filters changed") {
    const old = this.socket;
    this.socket = null;
    if (old) old.close(1000, why);
    this.retryNow("connecting");
  }

  retryNow(state = "reconnecting") {
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
    if (state === "connecting") this.failures = 0;
    this.onState(state, state === "connecting" ? "" : "trying now", "");
    this.connect();
  }

  closed(event) {
    this.failures += 1;
    const said = visible(event.reason || "");
    if (said) this.serverSaid = said;
    const reason = closeReason(event);
    if (this.failures >= DISCONNECTED_AFTER_FAILURES) {
      this.onState("disconnected", this.serverSaid || reason, "Last close: " + reason);
    } else {
      const detail = "attempt " + this.failures + (this.serverSaid ? ": " + this.serverSaid : "");
      this.onState("reconnecting", detail, "Last close: " + reason);
    }
    this.timer = window.setTimeout(() => this.connect(), this.delay(event));
  }

  // Jittered, so that pages do not all come back at once.
  delay(event) {
    // Gone without a refusal (or going away to restart): it will be back soon, try often.
    const restarting = event.code === 1001 || (RESTART_CODES.has(event.code) && !event.reason);
    const ceiling = restarting ? QUICK_MAX_MS
      : Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.failures - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }
}

function closeReason(event) {
  if (event.reason) return event.reason;
  if (event.code && event.code !== 1005 && event.code !== 1006) return "code " + event.code;
  return "connection lost";
}
