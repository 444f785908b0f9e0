// ANSI colours in log text, shown as styled text: a line a program coloured for a terminal
// reads here as it did there, never as raw "\x1b[31m". Only a few SGR attributes are kept
// (foreground colours, bold, italic, underline), each as a class of the page's own palette,
// which is readable on both themes: a line cannot hide its words (no "conceal", no
// background colour, no black on black). Every other CSI sequence (cursor moves, screen
// clears) means nothing in a list and is dropped; any other control character is still
// shown escaped (text.js). The text only ever becomes text nodes.
import { appendHighlighted, visible } from "./text.js";

const CSI = /\x1b\[([0-9;:]*)([@-~])/g; // ESC [ parameters final-byte
const COLOURS = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];

// The style in force after the SGR parameters `codes`, from `style`.
function applySgr(style, codes) {
  const next = { ...style };
  for (let i = 0; i < codes.length; i += 1) {
    const code = codes[i];
    if (code === 0) Object.assign(next, { fg: "", bold: false, italic: false, underline: false });
    else if (code === 1) next.bold = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 22) next.bold = false;
    else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if (code >= 30 && code <= 37) next.fg = COLOURS[code - 30];
    else if (code >= 90 && code <= 97) next.fg = COLOURS[code - 90];
    else if (code === 39) next.fg = "";
    else if (code === 38 || code === 48) i += extendedLength(codes, i, next, code === 38);
  }
  return next;
}

// 38;5;n and 38;2;r;g;b (48 for backgrounds, ignored): how many parameters they take after
// the 38. The 16 basic colours of 38;5 are kept; other colours fall back to the text colour.
function extendedLength(codes, i, style, foreground) {
  if (codes[i + 1] === 5) {
    const n = codes[i + 2];
    if (foreground && n >= 0 && n < 16) style.fg = COLOURS[n % 8];
    return 2;
  }
  return codes[i + 1] === 2 ? 4 : 0;
}

function className(style) {
  const names = [];
  if (style.fg) names.push("ansi-" + style.fg);
  if (style.bold) names.push("ansi-bold");
  if (style.italic) names.push("ansi-italic");
  if (style.underline) names.push("ansi-underline");
  return names.join(" ");
}

// The text cut at its escape sequences: [{text, className}], text still raw (not visible()).
export function ansiSegments(text) {
  const source = String(text ?? "");
  if (!source.includes("\x1b[")) return [{ text: source, className: "" }];
  const segments = [];
  let style = {};
  let at = 0;
  for (const found of source.matchAll(CSI)) {
    if (found.index > at) segments.push({ text: source.slice(at, found.index), className: className(style) });
    at = found.index + found[0].length;
    if (found[2] !== "m") continue; // not a colour: dropped
    const codes = found[1] === "" ? [0] : found[1].split(/[;:]/).map((part) => Number(part || 0));
    style = applySgr(style, codes);
  }
  if (at < source.length) segments.push({ text: source.slice(at), className: className(style) });
  return segments;
}

// The text without its escape sequences, as a screen shows it (for searching, copying).
export function plainText(text) {
  return ansiSegments(text).map((segment) => segment.text).join("");
}

// A span of `className` holding `text` coloured as its ANSI codes say, each match of `term`
// marked, at most `limit` characters shown; returns the span, how many characters were left
// out and how many there are in all (as shown: escaped controls count as their escapes).
export function richText(className, text, term, limit = Infinity) {
  const el = document.createElement("span");
  el.className = className;
  let room = limit;
  let shown = 0;
  let total = 0;
  for (const segment of ansiSegments(text)) {
    const words = visible(segment.text);
    total += words.length;
    if (room <= 0) continue;
    const part = words.length > room ? words.slice(0, room) : words;
    room -= part.length;
    shown += part.length;
    if (!segment.className) {
      appendHighlighted(el, part, term);
      continue;
    }
    const styled = document.createElement("span");
    styled.className = segment.className;
    appendHighlighted(styled, part, term);
    el.appendChild(styled);
  }
  return { node: el, left: total - shown, total };
}
