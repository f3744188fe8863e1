// Applying schema.sql to D1 at start: split into statements, run them as one batch.
import { readFileSync } from "node:fs";

/**
 * Split SQL text into statements on top-level semicolons, ignoring those inside quotes,
 * comments and CREATE TRIGGER ... BEGIN ... END bodies. Comment-only pieces are dropped.
 */
export function splitSql(sql) {
  const statements = [];
  let start = -1; // where the current statement's first code character is
  let depth = 0;
  let hasCode = false;
  const words = [];
  let i = 0;
  const code = (at) => {
    if (!hasCode) start = at;
    hasCode = true;
  };
  const push = (end) => {
    if (hasCode) statements.push(sql.slice(start, end).trim());
    start = -1;
    depth = 0;
    hasCode = false;
    words.length = 0;
  };
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === "-" && next === "-") {
      const nl = sql.indexOf("\n", i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === "/" && next === "*") {
      const close = sql.indexOf("*/", i + 2);
      i = close < 0 ? sql.length : close + 2;
    } else if (c === "'" || c === '"' || c === "`" || c === "[") {
      const quote = c === "[" ? "]" : c;
      let j = i + 1;
      while (j < sql.length && !(sql[j] === quote && sql[j + 1] !== quote)) j += sql[j] === quote ? 2 : 1;
      code(i);
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < sql.length && /[A-Za-z0-9_$]/.test(sql[j])) j++;
      const word = sql.slice(i, j).toUpperCase();
      if (words.length < 4) words.push(word);
      const isTrigger = words[0] === "CREATE" && words.slice(1, 4).includes("TRIGGER");
      if (isTrigger && (word === "BEGIN" || word === "CASE")) depth++;
      if (isTrigger && word === "END" && depth > 0) depth--;
      code(i);
      i = j;
    } else if (c === ";" && depth === 0) {
      push(i);
      i++;
    } else {
      if (!/\s/.test(c)) code(i);
      i++;
    }
  }
  push(sql.length);
  return statements;
}

/** Run every statement of schemaPath against the D1 database as one batch; returns the count. */
export async function applySchema(db, schemaPath) {
  const statements = splitSql(readFileSync(schemaPath, "utf8"));
  if (statements.length === 0) return 0;
  await db.batch(statements.map((sql) => db.prepare(sql)));
  return statements.length;
}
