// Bringing D1 up to date at start exactly as `wrangler d1 migrations apply --local` does (wrangler's
// src/d1/migrations): its table, the numbered .sql files of migrations_dir in name order, each not yet
// listed there run as one batch of its statements plus the INSERT that records it.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

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

/** wrangler's migrations table, as getCreateMigrationsTableQuery writes it. */
function migrationsTableSql(table) {
  return `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)}(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`;
}

function quoteIdentifier(id) {
  return `"${id.replace(/"/g, '""')}"`;
}

/** The migration files wrangler would find: `<dir>/*.sql`, sorted by name (the caller checks `dir` exists). */
function migrationNames(dir) {
  return readdirSync(dir).filter((name) => name.endsWith(".sql")).sort();
}

/** Apply the migrations of `dir` that `table` does not list yet; returns the names applied. */
export async function applyMigrations(db, dir, table = "d1_migrations") {
  await db.prepare(migrationsTableSql(table)).run();
  const listed = await db.prepare(`SELECT name FROM ${quoteIdentifier(table)} ORDER BY id`).all();
  const applied = new Set(listed.results.map((row) => row.name));
  const pending = migrationNames(dir).filter((name) => !applied.has(name));
  for (const name of pending) {
    const sql = `${readFileSync(path.join(dir, name), "utf8")}
INSERT INTO ${quoteIdentifier(table)} (name)
values ('${name.replace(/'/g, "''")}');`;
    try {
      await db.batch(splitSql(sql).map((statement) => db.prepare(statement)));
    } catch (err) {
      throw new Error(`migration ${name} failed: ${err.message}`);
    }
  }
  return pending;
}
