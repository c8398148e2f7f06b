#!/usr/bin/env node
// Conformance checks of exofop-mcp with the MCP Inspector's command-line mode
// (@modelcontextprotocol/inspector, installed next to this file).
//
//   node inspector_checks.mjs --stdio exofop-mcp [--env KEY=VALUE]...   (EXOFOP_* variables are passed on)
//   node inspector_checks.mjs --url http://127.0.0.1:8765/mcp
//
// Each check is one `mcp-inspector --cli ...` run (a new connection; over stdio a new server
// process). The Inspector exits 0 on success, 5 when the tool returned isError, 1 when
// structuredContent breaks the tool's outputSchema, 6 when `tools/list --strict` finds a schema
// portability error. Prints a JSON summary on stdout and exits 1 if any check failed.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
    CheckFailure,
    EXPECTED_TOOLS,
    Recorder,
    csvInts,
    downloadTextProblems,
    expect,
    fail,
    listingTextProblems,
    parseTarget,
    truncate,
} from './lib.mjs';

const USAGE = `usage: node inspector_checks.mjs (--stdio COMMAND [--arg ARG]... [--env KEY=VALUE]... | --url URL)
    [--system TOI-1130] [--quick-tags 18493,18598] [--timeout-ms 60000]

  --quick-tags  small tags downloaded (over HTTP only) to read the report's text`;

const { target, options } = parseTarget(
    process.argv.slice(2),
    {
        system: { type: 'string', default: 'TOI-1130' },
        'quick-tags': { type: 'string', default: '18493,18598' },
        'timeout-ms': { type: 'string', default: '60000' },
    },
    USAGE
);
const SYSTEM = options.system;
const QUICK_TAGS = csvInts(options['quick-tags']);
const TIMEOUT_MS = Number(options['timeout-ms']);

const INSPECTOR = fileURLToPath(
    new URL('./node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js', import.meta.url)
);
if (!existsSync(INSPECTOR)) fail(`the MCP Inspector is not installed (${INSPECTOR}); run: npm ci --prefix conformance`);

// The Inspector keeps state in ~/.mcp-inspector: give it a scratch home.
const scratchHome = mkdtempSync(join(tmpdir(), 'exofop-inspector-home-'));
const rec = new Recorder('inspector', target);

function targetArgs() {
    if (target.kind === 'http') return [target.url];
    const env = Object.entries(target.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    return [target.command, ...target.args, ...env];
}

/** One Inspector CLI run: `{code, stdout, stderr, json}` (json: stdout parsed, or null). */
function inspector(methodArgs) {
    const argv = [INSPECTOR, '--cli', ...targetArgs(), '--format', 'json', ...methodArgs];
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, argv, {
            env: { ...process.env, HOME: scratchHome, NO_COLOR: '1' },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', chunk => (stdout += chunk));
        child.stderr.on('data', chunk => (stderr += chunk));
        const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
        child.on('error', reject);
        child.on('close', (code, signal) => {
            clearTimeout(timer);
            let json = null;
            try {
                json = JSON.parse(stdout);
            } catch {
                // not JSON: reported by the caller
            }
            resolve({ code: code ?? `killed by ${signal}`, stdout, stderr, json, argv: argv.slice(1) });
        });
    });
}

function describeRun(run) {
    return `exit ${run.code}; stdout: ${truncate(run.stdout.trim(), 600)}; stderr: ${truncate(run.stderr.trim(), 600)}`;
}

function callArgs(tool, args) {
    return ['--method', 'tools/call', '--tool-name', tool, '--tool-args-json', JSON.stringify(args)];
}

async function expectSuccess(tool, args, verify) {
    const run = await inspector(callArgs(tool, args));
    expect(run.code === 0, `${tool}(${JSON.stringify(args)}) should exit 0: ${describeRun(run)}`, run.json);
    const result = run.json?.result;
    expect(result && !result.isError, `${tool}: no successful result: ${describeRun(run)}`, run.json);
    expect(result.structuredContent, `${tool}: no structuredContent`, result);
    return verify(result.structuredContent, textOf(result));
}

function textOf(result) {
    return (result.content ?? [])
        .filter(block => block.type === 'text')
        .map(block => block.text)
        .join('\n');
}

async function expectToolError(tool, args) {
    const run = await inspector(callArgs(tool, args));
    expect(run.code === 5, `${tool}(${JSON.stringify(args)}) should exit 5 (tool error): ${describeRun(run)}`, run.json);
    const result = run.json?.result;
    expect(result?.isError === true, `${tool}: exit 5 without an isError result: ${describeRun(run)}`, run.json);
    const text = (result.content ?? []).map(c => c.text ?? '').join(' ');
    expect(text.trim().length > 0, `${tool}: the error result has no message`, result);
    return `exit 5: ${truncate(text.split('\n')[0], 140)}`;
}

const checks = [
    [
        'tools/list --strict',
        async () => {
            const run = await inspector(['--method', 'tools/list', '--strict']);
            expect(run.code === 0, `tools/list --strict should exit 0: ${describeRun(run)}`, run.json);
            const listed = new Map((run.json?.result?.tools ?? []).map(t => [t.name, t]));
            const problems = [];
            for (const name of Object.keys(EXPECTED_TOOLS)) {
                const tool = listed.get(name);
                if (!tool) problems.push(`${name} missing`);
                else if (!tool.outputSchema || !tool.annotations) problems.push(`${name} lacks outputSchema or annotations`);
            }
            expect(problems.length === 0, problems.join('; '), run.json);
            if (run.stderr.trim()) rec.warn(`tools/list --strict said: ${truncate(run.stderr.trim(), 400)}`);
            return `${listed.size} tools, no portability errors`;
        },
    ],
    [
        `tools/call resolve_system ${SYSTEM}`,
        () =>
            expectSuccess('resolve_system', { query: SYSTEM }, sys => {
                expect(sys.canonical_name === SYSTEM, `canonical_name is ${sys.canonical_name}`, sys);
                return `TIC ${sys.tic_id}`;
            }),
    ],
    [
        'tools/call list_observations (filters)',
        () =>
            expectSuccess('list_observations', { system: SYSTEM, kind: 'imaging', since: '2019-01-01', limit: 2 }, (page, text) => {
                expect(page.kind === 'imaging' && page.returned <= 2, 'unexpected page', page);
                const problems = listingTextProblems(text, page);
                expect(problems.length === 0, `the text does not name its rows: ${problems.join('; ')}`, text);
                return `${page.total} imaging rows, ${page.returned} returned, each named in the text`;
            }),
    ],
    // httpOnly: over stdio every check starts its own server process; these two run over HTTP only.
    [
        'tools/call login_status',
        () =>
            expectSuccess('login_status', {}, status => {
                expect(typeof status.logged_in === 'boolean', 'logged_in is not a boolean', status);
                return `logged_in: ${status.logged_in}`;
            }),
        { httpOnly: true },
    ],
    ['tools/call list_observations limit=0 -> exit 5', () => expectToolError('list_observations', { system: SYSTEM, limit: 0 })],
    ['tools/call resolve_system unknown star -> exit 5', () => expectToolError('resolve_system', { query: 'NOT-A-STAR-9999999' })],
    [
        `tools/call download_tags ${QUICK_TAGS.join(',')}: the text names each tag's status`,
        () =>
            expectSuccess('download_tags', { system: SYSTEM, tags: QUICK_TAGS, wait_seconds: 60 }, (report, text) => {
                expect(report.state === 'completed', `state is ${report.state}: ${report.message}`, report);
                expect(report.results.length === QUICK_TAGS.length, `${report.results.length} results`, report);
                const problems = downloadTextProblems(text, report);
                expect(problems.length === 0, `the text does not name each status: ${problems.join('; ')}`, text);
                return report.results.map(r => `${r.tag}: ${r.status}`).join(', ');
            }),
        { httpOnly: true },
    ],
    [
        'tools/call download_status unknown job -> exit 5',
        () => expectToolError('download_status', { job_id: 'ffffffffffff' }),
        { httpOnly: true },
    ],
];

async function main() {
    // Independent runs: a few at a time (each stdio run starts its own server).
    const selected = checks.filter(([, , flags]) => target.kind === 'http' || !flags?.httpOnly);
    const queue = [...selected];
    const workers = Array.from({ length: 4 }, async () => {
        while (queue.length) {
            const [name, fn] = queue.shift();
            await rec.check(name, fn);
        }
    });
    await Promise.all(workers);
    const order = name => selected.findIndex(c => c[0] === name);
    rec.checks.sort((a, b) => order(a.name) - order(b.name));
    return rec.finish();
}

main()
    .then(code => {
        rmSync(scratchHome, { recursive: true, force: true });
        process.exit(code);
    })
    .catch(error => {
        process.stderr.write(`conformance: crashed: ${error instanceof CheckFailure ? error.message : error?.stack}\n`);
        process.exit(1);
    });
