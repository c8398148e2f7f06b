// Shared pieces of the conformance scripts: command-line parsing, the expected tool surface and a
// recorder of checks that ends in one JSON summary.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Versions of the npm packages actually installed next to this file (the lockfile pins them). */
export function installedVersions() {
    const versions = {};
    for (const name of ['@modelcontextprotocol/sdk', '@modelcontextprotocol/inspector']) {
        try {
            const manifest = readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url), 'utf8');
            versions[name] = JSON.parse(manifest).version;
        } catch {
            versions[name] = null;
        }
    }
    return versions;
}

/**
 * The tools the server must offer and their annotations. `readOnlyHint`, `destructiveHint` and
 * `idempotentHint` are documented in the README; `openWorldHint` is true exactly for the tools that
 * talk to ExoFOP. `advisory` entries are reported as warnings, not failures.
 */
/** plan_transits writes the charts asked for (chart=true) into the sandbox: not read-only. */
const PLAN_HINTS = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true };

export const EXPECTED_TOOLS = {
    resolve_system: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    list_observations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    download_tags: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    download_status: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    cancel_download: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    list_downloads: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    extract_light_curves: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    extraction_status: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    login_status: {
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        // login_status only reads the local session file; it never contacts ExoFOP.
        advisory: { openWorldHint: false },
    },
    preview_file: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    search_tois: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    plan_transits: PLAN_HINTS,
    follow_up_status: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    whats_new: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
};

const TARGET_OPTIONS = {
    stdio: { type: 'string' },
    arg: { type: 'string', multiple: true, default: [] },
    env: { type: 'string', multiple: true, default: [] },
    url: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
};

/**
 * Parse `--stdio CMD [--arg A]... [--env K=V]...` or `--url URL`, plus the script's own options.
 * EXOFOP_* variables of this process are passed on to a stdio server; `--env` overrides them.
 */
export function parseTarget(argv, extraOptions, usage) {
    let parsed;
    try {
        parsed = parseArgs({ args: argv, options: { ...TARGET_OPTIONS, ...extraOptions }, allowPositionals: false });
    } catch (error) {
        fail(`${error.message}\n\n${usage}`);
    }
    const { values } = parsed;
    if (values.help) {
        process.stdout.write(`${usage}\n`);
        process.exit(0);
    }
    if (Boolean(values.stdio) === Boolean(values.url)) {
        fail(`give exactly one of --stdio COMMAND or --url URL\n\n${usage}`);
    }
    const env = {};
    for (const [key, value] of Object.entries(process.env)) {
        if (key.startsWith('EXOFOP_')) env[key] = value;
    }
    for (const pair of values.env) {
        const at = pair.indexOf('=');
        if (at <= 0) fail(`--env takes KEY=VALUE, not ${JSON.stringify(pair)}`);
        env[pair.slice(0, at)] = pair.slice(at + 1);
    }
    const target = values.url
        ? { kind: 'http', url: values.url }
        : { kind: 'stdio', command: values.stdio, args: values.arg, env };
    return { target, options: values };
}

export function describeTarget(target) {
    return target.kind === 'http' ? `streamable HTTP ${target.url}` : `stdio ${[target.command, ...target.args].join(' ')}`;
}

export function fail(message) {
    process.stderr.write(`conformance: ${message}\n`);
    process.exit(2);
}

/** Records named checks; `finish()` prints the JSON summary and sets the exit code. */
export class Recorder {
    constructor(suite, target) {
        this.suite = suite;
        this.target = target;
        this.started = Date.now();
        this.checks = [];
        this.warnings = [];
        this.info = {};
    }

    /** Run `fn`; a thrown error (or a returned string) is a failure of this check. */
    async check(name, fn) {
        const t0 = Date.now();
        let ok = true;
        let detail;
        try {
            detail = await fn();
        } catch (error) {
            ok = false;
            detail = error instanceof CheckFailure ? error.message : `${error?.name ?? 'Error'}: ${error?.message ?? error}`;
            if (error?.payload !== undefined) detail += `\npayload: ${truncate(JSON.stringify(error.payload), 4000)}`;
        }
        const entry = { name, ok, ms: Date.now() - t0 };
        if (detail !== undefined) entry.detail = detail;
        this.checks.push(entry);
        const mark = ok ? 'ok  ' : 'FAIL';
        process.stderr.write(`[${this.suite}] ${mark} ${name} (${entry.ms} ms)${ok ? '' : `\n       ${detail}`}\n`);
        return ok;
    }

    warn(message) {
        this.warnings.push(message);
        process.stderr.write(`[${this.suite}] WARN ${message}\n`);
    }

    finish(extra = {}) {
        const failures = this.checks.filter(c => !c.ok);
        const summary = {
            suite: this.suite,
            target: describeTarget(this.target),
            transport: this.target.kind,
            ok: failures.length === 0 && this.checks.length > 0,
            passed: this.checks.length - failures.length,
            failed: failures.length,
            elapsed_ms: Date.now() - this.started,
            versions: installedVersions(),
            ...this.info,
            ...extra,
            warnings: this.warnings,
            checks: this.checks,
        };
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        if (!summary.ok) {
            process.stderr.write(
                `[${this.suite}] ${failures.length} of ${this.checks.length} checks FAILED over ${describeTarget(this.target)}:\n` +
                    failures.map(f => `  - ${f.name}: ${f.detail}`).join('\n') +
                    '\n'
            );
        }
        return summary.ok ? 0 : 1;
    }
}

export class CheckFailure extends Error {
    constructor(message, payload) {
        super(message);
        this.name = 'CheckFailure';
        this.payload = payload;
    }
}

export function expect(condition, message, payload) {
    if (!condition) throw new CheckFailure(message, payload);
}

export function truncate(text, limit) {
    if (typeof text !== 'string') return text;
    return text.length > limit ? `${text.slice(0, limit)}… (${text.length} chars)` : text;
}

export function csvInts(text) {
    return String(text)
        .split(',')
        .map(s => s.trim())
        .filter(Boolean)
        .map(s => {
            const n = Number(s);
            if (!Number.isInteger(n) || n <= 0) fail(`not a tag number: ${JSON.stringify(s)}`);
            return n;
        });
}

// ---------------------------------------------------------------------------------------------
// The text half of a tool result must stand on its own: these read it the way a person would.

/** Bytes of `text` in UTF-8 (the 20 kB bound of each half of a tool result). */
export function utf8Bytes(text) {
    return Buffer.byteLength(text, 'utf8');
}

/** How the server's table shows a value: whitespace collapsed, `|` as `/`, long values cut with `…`. */
function cellShows(cell, value) {
    if (value === null || value === undefined || value === '') return cell === '-';
    const plain = String(value).split(/\s+/).filter(Boolean).join(' ').replaceAll('|', '/');
    return cell === plain || (cell.endsWith('…') && cell.length > 1 && plain.startsWith(cell.slice(0, -1)));
}

/**
 * What the text of a `list_observations` page fails to say about its rows: its table (a heading
 * line with `tag`, `date` and `telescope` columns, then one line per row, in order) must name each
 * row's tag, date (the first 10 characters of obs_date) and telescope. Returns [] when it does.
 */
export function listingTextProblems(text, page) {
    const lines = text.split('\n');
    const head = lines.findIndex(line => {
        const cells = line.split(' | ');
        return cells.includes('telescope') && cells.includes('date');
    });
    if (head < 0) return ['the text has no table with date and telescope columns'];
    const headings = lines[head].split(' | ');
    const at = name => headings.indexOf(name);
    const problems = [];
    page.rows.forEach((row, i) => {
        const line = lines[head + 1 + i];
        const cells = line === undefined ? [] : line.split(' | ');
        if (cells.length !== headings.length) {
            problems.push(`row ${i + 1} (tag ${row.tag}) has no table line: ${JSON.stringify(line)}`);
            return;
        }
        const date = row.obs_date ? String(row.obs_date).slice(0, 10) : null;
        if (at('tag') >= 0 && !cellShows(cells[at('tag')], row.tag)) {
            problems.push(`line ${i + 1} of the table shows tag ${cells[at('tag')]}, row ${i + 1} is tag ${row.tag}`);
        }
        if (!cellShows(cells[at('date')], date)) {
            problems.push(`tag ${row.tag}: the text shows date ${JSON.stringify(cells[at('date')])}, the row ${date}`);
        }
        if (!cellShows(cells[at('telescope')], row.telescope)) {
            problems.push(
                `tag ${row.tag}: the text shows telescope ${JSON.stringify(cells[at('telescope')])}, ` +
                    `the row ${JSON.stringify(row.telescope)}`
            );
        }
    });
    return problems;
}

/**
 * What the text of a download report fails to say about the tags it shows: one line per result
 * of the page (`tag N ...: <status>`, the structured status code), no line for a tag of another
 * page. When the text says it was cut to its first N results, only those N need a line.
 */
export function downloadTextProblems(text, report) {
    const lines = text.split('\n');
    const cut = /\(text cut to (\d+) of the \d+ results/.exec(text);
    const shown = cut ? Number(cut[1]) : report.results.length;
    const problems = [];
    const tagLines = lines.filter(line => /^\s*tag \d+\b/.test(line));
    if (tagLines.length !== shown) problems.push(`${tagLines.length} tag line(s) in the text for ${shown} shown result(s)`);
    for (const r of report.results.slice(0, shown)) {
        const mine = lines.filter(line => new RegExp(`^\\s*tag ${r.tag}\\b`).test(line));
        if (mine.length !== 1) {
            problems.push(`tag ${r.tag}: ${mine.length} line(s) in the text`);
        } else if (!new RegExp(`^\\s*tag ${r.tag}\\b[^:]*: ${r.status}\\b`).test(mine[0])) {
            problems.push(`tag ${r.tag} is ${r.status}, its line says: ${JSON.stringify(mine[0])}`);
        }
    }
    return problems;
}
