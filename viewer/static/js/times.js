// Times on the page: to the millisecond (entries of one second are told apart), with the
// date when it is not today (an entry from before midnight says so), in local time or UTC.

const pad = (n, width = 2) => String(n).padStart(width, "0");

function localParts(when) {
  return {
    date: when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()),
    time: pad(when.getHours()) + ":" + pad(when.getMinutes()) + ":" + pad(when.getSeconds()) +
      "." + pad(when.getMilliseconds(), 3),
  };
}

function utcParts(when) {
  const iso = when.toISOString();
  return { date: iso.slice(0, 10), time: iso.slice(11, 23) + "Z" };
}

// "14:03:07.123" today, "2025-01-02 14:03:07.123" another day; "Z" after UTC times.
export function formatTime(millis, useUtc, now = Date.now()) {
  const parts = useUtc ? utcParts : localParts;
  const shown = parts(new Date(millis));
  return shown.date === parts(new Date(now)).date ? shown.time : shown.date + " " + shown.time;
}

// True when `millis` is not today (by the same clock the times are shown in).
export function notToday(millis, useUtc, now = Date.now()) {
  const parts = useUtc ? utcParts : localParts;
  return parts(new Date(millis)).date !== parts(new Date(now)).date;
}

// A <time> element for `millis`, its ISO form as a tooltip.
export function timeElement(millis, useUtc, className = "time") {
  const when = new Date(millis);
  const el = document.createElement("time");
  el.className = className;
  if (Number.isNaN(when.getTime())) {
    el.textContent = "—";
    return el;
  }
  el.dateTime = when.toISOString();
  el.title = when.toISOString();
  el.textContent = formatTime(millis, useUtc);
  return el;
}
