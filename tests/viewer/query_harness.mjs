// Runs the page's search language (viewer/static/js/query.js) for the agreement test: one JSON
// line in, {"query": "...", "entries": [entry JSON, ...]}; one line out, {"keeps": [true, ...]}
// or {"error": "the message"} (or {"crash": "..."} when the page's code itself failed).
import { createInterface } from "node:readline";
import { QueryError, parseQuery } from "../../viewer/static/js/query.js";

function answer(line) {
  const { query, entries } = JSON.parse(line);
  try {
    const parsed = parseQuery(query);
    return { keeps: entries.map((entry) => parsed.keeps(entry)) };
  } catch (error) {
    if (error instanceof QueryError) return { error: error.message };
    return { crash: String(error && error.stack) };
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(JSON.stringify(answer(line)) + "\n");
}
