// logsieve-client.js: a page's errors and logs, sent to a logsieve gateway's OTLP/HTTP
// receiver (POST {endpoint}/v1/logs, OTLP/JSON). No dependencies, no build step.
//
// A classic script, not an ES module, on purpose: a module cannot be loaded by a plain
// <script src> (its `export` is a syntax error there), while a classic script can also be
// imported by a module for its effect. Both define globalThis.LogSieve:
//   a classic script: <script src="https://logs.example.com/static/logsieve-client.js">,
//     then, in a later script, LogSieve.init({ endpoint: "https://logs.example.com:4318",
//     serviceName: "shop" })   (the endpoint is the receiver's base; "/v1/logs" is added);
//   a module or a bundler (there is no default or named export to import):
//     import "./logsieve-client.js";
//     const log = globalThis.LogSieve.init({ endpoint: "...", serviceName: "shop" });
// A module import from another origin needs CORS headers on this file; a classic script does
// not. It may also be pasted inline: the file holds no closing script tag.
//
// Records wait in a bounded buffer and go in batches, a request at a time (order kept), with
// fetch keepalive so a request still runs if the page goes away. Hiding the page sends what
// waits. navigator.sendBeacon is used for that only when the endpoint is on the page's own
// origin and no token is set: a beacon cannot carry Authorization, and it always runs with
// credentials, so against another origin its preflight fails unless the receiver answers
// Access-Control-Allow-Credentials (which it does not) -- and sendBeacon still returns true, so
// the records would be lost without a trace (seen in Chromium 156). Fetch omits credentials.
//
// It never throws into the page and never records itself: every entry point is guarded, and
// while its own code runs (its warnings included) what reaches console.* is not captured.
(function (root) {
  "use strict";
  if (root.LogSieve) return; // loaded twice: the first copy owns the handlers

  const VERSION = "1.0.0";
  const NAME = "logsieve-client";
  const LEVELS = {
    debug: [5, "DEBUG"],
    info: [9, "INFO"],
    warn: [13, "WARN"],
    error: [17, "ERROR"],
  };
  // Browsers refuse keepalive bodies past 64 KiB in flight per page, and the receiver holds
  // browser requests to 64 KiB by default: each request stays under 60 KiB.
  const KEEPALIVE_BUDGET = 64 * 1024;
  const MAX_REQUEST_BYTES = 60 * 1024;
  const REPORT_BYTES = 400; // room kept for the "records dropped" record
  const MAX_TEXT = 4096; // characters kept of one string, so that a record fits in a request
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 60000;
  const MIN_RETRY_MS = 1000; // even after "Retry-After: 0": never a tight loop
  const MAX_RETRY_MS = 3600 * 1000;
  const REQUEST_TIMEOUT_MS = 30000; // a request that never ends must not stall the queue
  const DEFAULTS = { token: "", flushIntervalMs: 2000, maxBatch: 50, maxBuffer: 500 };

  let initialised = false;
  let settings = DEFAULTS; // until init(), records wait (bounded) for an endpoint
  let url = ""; // where records go; "" = not initialised or unusable
  let sameOrigin = false;
  let head = ""; // the request's JSON up to its first record: resource and scope
  let queue = []; // OTLP LogRecords, oldest first
  let draining = null; // the running send loop, if any
  let timer = 0;
  let timerAt = 0;
  let inFlight = 0; // bytes of keepalive requests not answered yet
  let retryAt = 0; // Date.now() before which nothing is sent (the gateway said wait)
  let failures = 0; // in a row, for the backoff
  let dropped = 0; // lost records not reported yet
  let sent = 0;
  let stopped = false; // 401/403: this page can never send; asking again only adds load
  let busy = false; // our own code is running: console output now is ours, not the page's
  const warned = new Set();

  const noop = () => {};
  const guard = (fn) =>
    function () {
      try {
        return fn.apply(this, arguments);
      } catch (_) {
        return undefined; // a logging library must never break the page it watches
      }
    };

  // -- records ----------------------------------------------------------------------------

  function record(level, message, attributes, error) {
    if (busy) return; // our own output, or page code we called (toJSON, a getter) logging
    busy = true;
    try {
      const [number, text] = LEVELS[level];
      const attrs = keyValues(attributes);
      if (error !== undefined) attrs.push(...exceptionAttributes(error));
      attrs.push(keyValue("url.full", pageUrl()));
      enqueue(logRecord(number, text, describe(message), attrs));
    } finally {
      busy = false;
    }
  }

  function logRecord(number, text, body, attributes) {
    const now = Date.now() + "000000"; // ms -> ns, as a string: int64 does not fit a double
    return {
      timeUnixNano: now,
      observedTimeUnixNano: now,
      severityNumber: number,
      severityText: text,
      body: { stringValue: clip(body) },
      attributes,
    };
  }

  function keyValues(attributes) {
    const list = [];
    if (!attributes || typeof attributes !== "object") return list;
    for (const key of Object.keys(attributes)) {
      if (attributes[key] !== undefined) list.push(keyValue(key, attributes[key]));
    }
    return list;
  }

  function keyValue(key, value) {
    return { key: clip(key), value: anyValue(value) };
  }

  function anyValue(value) {
    if (typeof value === "boolean") return { boolValue: value };
    if (typeof value === "number") {
      if (Number.isSafeInteger(value)) return { intValue: String(value) };
      if (Number.isFinite(value)) return { doubleValue: value };
    }
    return { stringValue: clip(describe(value)) };
  }

  // OTel semantic conventions: exception.type, exception.message, exception.stacktrace.
  function exceptionAttributes(error) {
    const object = error !== null && typeof error === "object";
    const type = object && error.name ? String(error.name) : typeof error;
    const message = object ? String(error.message ?? "") : describe(error);
    const attrs = [keyValue("exception.type", type), keyValue("exception.message", message)];
    if (object && error.stack) {
      attrs.push(keyValue("exception.stacktrace", scrub(String(error.stack))));
    }
    return attrs;
  }

  function describe(value) {
    try {
      if (typeof value === "string") return value;
      if (isError(value)) return `${value.name}: ${value.message}`;
      if (value === null || typeof value !== "object") return String(value);
      return JSON.stringify(value) ?? String(value);
    } catch (_) {
      return Object.prototype.toString.call(value); // cycles, throwing toJSON or toString
    }
  }

  // Errors from other frames are not `instanceof` this frame's Error.
  function isError(value) {
    return value instanceof Error || Object.prototype.toString.call(value) === "[object Error]";
  }

  function clip(text) {
    return text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) + "…" : text;
  }

  // Query strings and fragments can hold secrets (tokens, emails): only origin + path leave.
  function pageUrl() {
    return root.location ? root.location.origin + root.location.pathname : "";
  }

  // An inline script's frames name the page's URL, query string included: cut it.
  function scrub(stack) {
    return stack.replace(/(\bhttps?:\/\/[^\s?#()]*)[?#][^\s()]*?(:\d+:\d+)(?=[\s)]|$)/gm, "$1$2");
  }

  // -- the buffer -------------------------------------------------------------------------

  function enqueue(logRecord) {
    queue.push(logRecord);
    trim();
    schedule(queue.length >= settings.maxBatch ? 0 : settings.flushIntervalMs);
  }

  function trim() {
    const extra = queue.length - settings.maxBuffer;
    if (extra > 0) {
      queue.splice(0, extra); // the oldest go: the newest say most about the page's state now
      dropped += extra;
    }
  }

  function schedule(delayMs) {
    if (!url || stopped || draining) return; // a running loop sends what arrives meanwhile
    const at = Math.max(Date.now() + delayMs, retryAt);
    if (timer && timerAt <= at) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(guard(drain), at - Date.now());
  }

  // Up to maxBatch records and `limit` bytes from the front of the queue, as a request body.
  function takeChunk(limit) {
    const tail = "]}]}]}";
    const base = utf8Length(head) + tail.length + REPORT_BYTES;
    const parts = [];
    let bytes = base;
    while (parts.length < queue.length && parts.length < settings.maxBatch) {
      const json = JSON.stringify(queue[parts.length]);
      const size = utf8Length(json) + 1;
      if (base + size > MAX_REQUEST_BYTES) {
        queue.splice(parts.length, 1); // would never fit in any request
        dropped += 1;
        continue;
      }
      if (bytes + size > limit) break;
      parts.push(json);
      bytes += size;
    }
    if (!parts.length) return null; // a drop report rides only with real records
    const records = queue.splice(0, parts.length);
    const carried = dropped;
    if (carried) parts.unshift(JSON.stringify(dropReport(carried)));
    dropped = 0;
    const body = head + parts.join(",") + tail;
    return { body, bytes: utf8Length(body), records, carried };
  }

  function dropReport(count) {
    const attrs = [keyValue("logsieve.client.dropped", count)];
    return logRecord(13, "WARN", `${count} log records dropped by the client`, attrs);
  }

  function utf8Length(text) {
    let bytes = text.length;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) bytes += code > 0x7ff ? 2 : 1; // a surrogate pair counts 6: safe side
    }
    return bytes;
  }

  // -- sending ----------------------------------------------------------------------------

  // One request at a time until the queue is empty or the gateway says wait.
  function drain() {
    clearTimeout(timer);
    timer = 0;
    if (!draining) {
      draining = step()
        .catch(noop)
        .then(() => {
          draining = null;
          if (queue.length) schedule(settings.flushIntervalMs);
        });
    }
    return draining;
  }

  function step() {
    if (!url || stopped || inFlight || Date.now() < retryAt) return Promise.resolve();
    const chunk = takeChunk(MAX_REQUEST_BYTES);
    if (!chunk) return Promise.resolve();
    return post(chunk, false).then((ok) => (ok ? step() : undefined));
  }

  function post(chunk, beacon) {
    if (beacon && sameOrigin && !settings.token && navigator.sendBeacon) {
      const blob = new Blob([chunk.body], { type: "application/json" });
      if (navigator.sendBeacon(url, blob)) return Promise.resolve(settle(chunk, 200, null));
    }
    const headers = { "Content-Type": "application/json" };
    if (settings.token) headers.Authorization = "Bearer " + settings.token;
    const options = { method: "POST", headers, body: chunk.body, keepalive: true };
    options.credentials = "omit"; // no cookies to the gateway; a preflight then needs no more
    if (typeof AbortSignal === "function" && AbortSignal.timeout) {
      options.signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    }
    inFlight += chunk.bytes;
    let request;
    try {
      request = fetch(url, options);
    } catch (error) {
      request = Promise.reject(error);
    }
    return request.then(
      (response) => answered(chunk, response),
      () => settle(chunk, 0, null, true)
    );
  }

  function answered(chunk, response) {
    const retryAfter = response.headers.get("Retry-After");
    // Read to the end: until then Chromium counts the request's body against the page's
    // 64 KiB keepalive budget, and the next 60 KiB request would be refused.
    const done = () => settle(chunk, response.status, retryAfter, true);
    return response.text().then(done, done);
  }

  // What an answer means for the chunk's records; true when the next chunk may go now.
  function settle(chunk, status, retryAfter, counted) {
    if (counted) inFlight -= chunk.bytes;
    if (status >= 200 && status < 300) {
      failures = 0;
      sent += chunk.records.length;
      return true;
    }
    if (status === 0 || status === 429 || status >= 500) {
      queue = chunk.records.concat(queue); // back in front, order kept
      dropped += chunk.carried;
      trim();
      failures += 1;
      retryAt = Date.now() + backoffMs(retryAfter);
      const trouble = status ? `the gateway answered ${status}` : "could not reach the gateway";
      warn(`status-${status}`, `${trouble}; retrying later`);
      return false;
    }
    dropped += chunk.records.length + chunk.carried; // the gateway will never take these
    stopped = status === 401 || status === 403;
    warn(`status-${status}`, `the gateway refused a batch (${status})${stopped ? "; stopped" : ""}`);
    return true;
  }

  function backoffMs(retryAfter) {
    const seconds = retryAfter ? Number(retryAfter) : NaN;
    const date = retryAfter ? Date.parse(retryAfter) : NaN; // the HTTP-date form
    const asked = seconds >= 0 ? seconds * 1000 : date > 0 ? date - Date.now() : NaN;
    if (asked >= 0) {
      // Honour Retry-After, with up to 10% more so that many pages do not return at once.
      const wait = Math.min(Math.max(asked, MIN_RETRY_MS), MAX_RETRY_MS);
      return wait * (1 + Math.random() * 0.1);
    }
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1));
    return ceiling / 2 + (Math.random() * ceiling) / 2; // exponential, with jitter
  }

  // The page is hidden and may never come back: send one request now, within what the
  // browser still allows for keepalive bodies.
  function onHide() {
    if (!url || stopped || Date.now() < retryAt) return; // the gateway asked us to wait
    const chunk = takeChunk(Math.min(MAX_REQUEST_BYTES, KEEPALIVE_BUDGET - inFlight - 1024));
    if (chunk) post(chunk, true).catch(noop);
  }

  // -- capture ----------------------------------------------------------------------------

  function onError(event) {
    const error = event.error ?? { name: "Error", message: event.message || "Script error." };
    const attrs = {};
    if (event.filename) {
      attrs["code.file.path"] = String(event.filename).split(/[?#]/)[0];
      attrs["code.line.number"] = event.lineno;
      attrs["code.column.number"] = event.colno;
    }
    record("error", "Uncaught " + errorText(error), attrs, error);
  }

  function onRejection(event) {
    record("error", "Uncaught (in promise) " + errorText(event.reason), {}, event.reason);
  }

  function errorText(error) {
    if (error === null || typeof error !== "object") return describe(error);
    return `${error.name || "Error"}: ${error.message ?? ""}`;
  }

  function wrapConsole(method, level) {
    const original = console[method];
    if (typeof original !== "function") return;
    console[method] = function () {
      if (!busy) captureConsole(level, Array.prototype.slice.call(arguments));
      return original.apply(this, arguments);
    };
  }

  const captureConsole = guard((level, args) => {
    const error = args.find(isError);
    record(level, args.map(describe).join(" "), {}, error);
  });

  function warn(key, message) {
    if (warned.has(key)) return; // once per kind of trouble: no stream of warnings
    warned.add(key);
    const was = busy;
    busy = true;
    try {
      console.warn(`${NAME}: ${message}`);
    } finally {
      busy = was;
    }
  }

  // -- the API ----------------------------------------------------------------------------

  function init(options) {
    if (initialised) {
      warn("init", "init was called again; the first settings stay");
      return api;
    }
    initialised = true;
    const o = options || {};
    settings = {
      token: o.token ? String(o.token) : "",
      flushIntervalMs: count(o.flushIntervalMs, DEFAULTS.flushIntervalMs, 0),
      maxBatch: count(o.maxBatch, DEFAULTS.maxBatch, 1),
      maxBuffer: count(o.maxBuffer, DEFAULTS.maxBuffer, 1),
    };
    head = requestHead(o);
    url = endpoint(o.endpoint);
    root.addEventListener("error", guard(onError));
    root.addEventListener("unhandledrejection", guard(onRejection));
    root.addEventListener("pagehide", guard(onHide));
    document.addEventListener("visibilitychange", guard(() => {
      if (document.visibilityState === "hidden") onHide();
    }));
    if (o.captureConsole) {
      wrapConsole("error", "error");
      wrapConsole("warn", "warn");
    }
    trim();
    if (queue.length) schedule(settings.flushIntervalMs);
    return api;
  }

  function count(value, fallback, least) {
    return Number.isFinite(value) ? Math.max(least, Math.floor(value)) : fallback;
  }

  function endpoint(value) {
    try {
      if (!value) throw new Error("no endpoint");
      const base = String(value).replace(/\/+$/, ""); // "/" stays usable: this origin's root
      const path = base.endsWith("/v1/logs") ? base : base + "/v1/logs";
      const target = new URL(path, root.location.href);
      if (target.protocol !== "http:" && target.protocol !== "https:") throw new Error("not http");
      sameOrigin = target.origin === root.location.origin;
      return target.href;
    } catch (_) {
      warn("endpoint", "no usable endpoint (such as https://logs.example.com:4318): not sending");
      return "";
    }
  }

  function requestHead(o) {
    const resource = Object.assign({}, o.attributes || {}, {
      "service.name": String(o.serviceName || "unknown_service:webjs"),
      "telemetry.sdk.name": NAME,
      "telemetry.sdk.language": "webjs",
      "telemetry.sdk.version": VERSION,
      "user_agent.original": navigator.userAgent,
    });
    const attributes = JSON.stringify(keyValues(resource));
    const scope = JSON.stringify({ name: NAME, version: VERSION });
    const resourceLogs = `{"resource":{"attributes":${attributes}}`;
    return `{"resourceLogs":[${resourceLogs},"scopeLogs":[{"scope":${scope},"logRecords":[`;
  }

  // LogSieve.error(caughtError) records the error's type, message and stack as well.
  const level = (name) =>
    guard((message, attributes) => {
      record(name, message, attributes, isError(message) ? message : undefined);
    });

  const api = {
    version: VERSION,
    init: (options) => {
      try {
        return init(options);
      } catch (_) {
        return api; // so that `init(...).info(...)` still works
      }
    },
    debug: level("debug"),
    info: level("info"),
    warn: level("warn"),
    error: level("error"),
    // Sends what waits now; the promise resolves (never rejects) when that is done or deferred.
    flush: () => {
      try {
        return drain();
      } catch (_) {
        return Promise.resolve();
      }
    },
    // For tests and dashboards: records waiting, accepted by the gateway, and lost.
    stats: () => ({ queued: queue.length, sent, dropped, failures, stopped }),
  };
  root.LogSieve = api;
})(globalThis);
