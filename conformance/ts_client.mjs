#!/usr/bin/env node
// Conformance run of exofop-mcp with the official TypeScript SDK client (@modelcontextprotocol/sdk).
//
//   node ts_client.mjs --stdio exofop-mcp [--env KEY=VALUE]...     (EXOFOP_* variables are passed on)
//   node ts_client.mjs --url http://127.0.0.1:8765/mcp
//
// The server must be pointed at an ExoFOP replica whose tag archives take a few seconds to arrive
// (e.g. `python -m exofop_mcp.replica --port 0 --tag-size 1MiB --bandwidth 512KiB`), so that progress
// notifications and cancellation can be observed. Prints a JSON summary on stdout, one line per check
// on stderr, and exits 1 if any check failed (2 on a usage error).

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
    CallToolRequestSchema,
    LATEST_PROTOCOL_VERSION,
    ListToolsRequestSchema,
    McpError,
} from '@modelcontextprotocol/sdk/types.js';

import {
    CheckFailure,
    EXPECTED_TOOLS,
    Recorder,
    csvInts,
    downloadTextProblems,
    expect,
    listingTextProblems,
    parseTarget,
    truncate,
    utf8Bytes,
} from './lib.mjs';
import { undeclaredProperties } from './schema_audit.mjs';

const USAGE = `usage: node ts_client.mjs (--stdio COMMAND [--arg ARG]... [--env KEY=VALUE]... | --url URL)
    [--system TOI-1130] [--quick-tags 18493,18598] [--progress-tags 19121,19188,19442]
    [--cancel-tags 23225,33589] [--job-tags 40380,43953] [--timeout-ms 30000] [--strict-output]

  --quick-tags     small tags downloaded and checked (downloaded or already present)
  --progress-tags  tags fetched again (overwrite) while progress notifications are counted
  --cancel-tags    tags of the download_tags call that is cancelled with an AbortSignal
  --job-tags       tags of the background job stopped with cancel_download
  --strict-output  fail (instead of warn) when structuredContent has properties its outputSchema does not declare`;

const { target, options } = parseTarget(
    process.argv.slice(2),
    {
        system: { type: 'string', default: 'TOI-1130' },
        'quick-tags': { type: 'string', default: '18493,18598' },
        'progress-tags': { type: 'string', default: '19121,19188,19442' },
        'cancel-tags': { type: 'string', default: '23225,33589' },
        'job-tags': { type: 'string', default: '40380,43953' },
        'timeout-ms': { type: 'string', default: '30000' },
        'strict-output': { type: 'boolean', default: false },
    },
    USAGE
);

const SYSTEM = options.system;
const QUICK_TAGS = csvInts(options['quick-tags']);
const PROGRESS_TAGS = csvInts(options['progress-tags']);
const CANCEL_TAGS = csvInts(options['cancel-tags']);
const JOB_TAGS = csvInts(options['job-tags']);
const TIMEOUT_MS = Number(options['timeout-ms']);
const OK_STATUSES = new Set(['downloaded', 'already_present']);
// Each half of a tool result (text, structuredContent as JSON) stays under this many bytes.
const RESULT_BYTES = 20_000;
// At most this many per-tag results in one page of a download report.
const RESULTS_PAGE = 50;

const rec = new Recorder('ts-sdk', target);

// ---------------------------------------------------------------------------------------------
// A transport wrapper that keeps every JSON-RPC message, so that failures can show the payload
// and raw facts (negotiated version, responses to cancelled requests) can be checked.

class TappedTransport {
    constructor(inner) {
        this.inner = inner;
        this.messages = [];
        inner.onmessage = (message, extra) => {
            this.messages.push({ dir: 'in', at: Date.now(), message });
            this.onmessage?.(message, extra);
        };
        inner.onclose = () => this.onclose?.();
        inner.onerror = error => this.onerror?.(error);
    }
    start() {
        return this.inner.start();
    }
    send(message, options) {
        this.messages.push({ dir: 'out', at: Date.now(), message });
        return this.inner.send(message, options);
    }
    close() {
        return this.inner.close();
    }
    get sessionId() {
        return this.inner.sessionId;
    }
    setProtocolVersion(version) {
        this.inner.setProtocolVersion?.(version);
    }
    responseTo(id) {
        return this.messages.find(m => m.dir === 'in' && m.message.id === id && !('method' in m.message));
    }
    lastRequest(method) {
        return [...this.messages].reverse().find(m => m.dir === 'out' && m.message.method === method);
    }
}

function makeTransport() {
    if (target.kind === 'http') return new StreamableHTTPClientTransport(new URL(target.url));
    return new StdioClientTransport({
        command: target.command,
        args: target.args,
        env: target.env,
        stderr: 'pipe',
    });
}

// ---------------------------------------------------------------------------------------------
// Calls

const tools = new Map();
let client;
let tap;
let serverStderr = '';

/** Call a tool expecting success; the SDK validates structuredContent against the listed outputSchema. */
async function callOk(name, args, extra = {}) {
    return (await callOkResult(name, args, extra)).structuredContent;
}

/** As callOk, but the whole result: its text half and its structured half. */
async function callOkResult(name, args, extra = {}) {
    let result;
    try {
        result = await client.callTool({ name, arguments: args }, undefined, { timeout: TIMEOUT_MS, ...extra });
    } catch (error) {
        const sent = tap.lastRequest('tools/call');
        const reply = sent ? tap.responseTo(sent.message.id) : undefined;
        throw new CheckFailure(
            `${name}(${JSON.stringify(args)}) was rejected by the TypeScript SDK client: ${error.message}`,
            reply?.message ?? null
        );
    }
    expect(!result.isError, `${name}(${JSON.stringify(args)}) returned isError: ${textOf(result)}`, result);
    expect(
        result.structuredContent && typeof result.structuredContent === 'object',
        `${name} returned no structuredContent`,
        result
    );
    expect(textOf(result).length > 0, `${name} returned no text content (a human-readable summary)`, result);
    auditUndeclared(name, result.structuredContent);
    return result;
}

/** Call a tool with bad arguments: must be a tool result with isError true, not a protocol error. */
async function callExpectingToolError(name, args) {
    let result;
    try {
        result = await client.callTool({ name, arguments: args }, undefined, { timeout: TIMEOUT_MS });
    } catch (error) {
        const sent = tap.lastRequest('tools/call');
        const reply = sent ? tap.responseTo(sent.message.id) : undefined;
        const kind = error instanceof McpError ? `JSON-RPC error ${error.code}` : error.name;
        throw new CheckFailure(
            `${name}(${JSON.stringify(args)}) should be a tool result with isError: true, got ${kind}: ${error.message}`,
            reply?.message ?? null
        );
    }
    expect(result.isError === true, `${name}(${JSON.stringify(args)}) should return isError: true`, result);
    const text = textOf(result);
    expect(text.length > 0, `${name}: the error result carries no message`, result);
    expect(!/Traceback \(most recent call last\)/.test(text), `${name}: the error message is a traceback`, result);
    return truncate(text.split('\n')[0], 160);
}

function textOf(result) {
    return (result.content ?? [])
        .filter(block => block.type === 'text')
        .map(block => block.text)
        .join('\n');
}

const undeclaredSeen = new Map();

function auditUndeclared(name, structured) {
    const schema = tools.get(name)?.outputSchema;
    if (!schema) return;
    const extra = undeclaredProperties(schema, structured);
    if (extra.length === 0) return;
    const message =
        `${name}: structuredContent has properties its outputSchema does not declare: ` +
        `${extra.slice(0, 8).join(', ')}${extra.length > 8 ? `, … (${extra.length})` : ''}`;
    if (options['strict-output']) throw new CheckFailure(message, structured);
    if (!undeclaredSeen.has(name)) {
        undeclaredSeen.set(name, extra);
        rec.warn(message);
    }
}

// ---------------------------------------------------------------------------------------------
// Paged download reports: totals over every tag, one page of per-tag results, attention first.

/** 0 failed, 1 locked, 2 any other status that did not succeed, 3 downloading, 4 queued, 5 success. */
function attentionRank(status) {
    if (OK_STATUSES.has(status)) return 5;
    return { failed: 0, locked: 1, downloading: 3, pending: 4 }[status] ?? 2;
}

/** One page of a download report: both halves bounded, totals over every tag, the text names each status. */
function checkReportPage(result, label) {
    const page = result.structuredContent;
    const text = textOf(result);
    const textBytes = utf8Bytes(text);
    const jsonBytes = utf8Bytes(JSON.stringify(page));
    expect(textBytes < RESULT_BYTES, `${label}: the text is ${textBytes} bytes`, truncate(text, 2000));
    expect(jsonBytes < RESULT_BYTES, `${label}: structuredContent is ${jsonBytes} bytes of JSON`, page.totals);
    const count = page.results?.length;
    expect(Array.isArray(page.results) && count <= RESULTS_PAGE, `${label}: ${count} results`, page.totals);
    const { results_total: total, tags_total: tagsTotal } = page;
    expect(total === tagsTotal, `${label}: results_total ${total}, tags_total ${tagsTotal}`, page.totals);
    const summed = Object.values(page.totals ?? {}).reduce((a, b) => a + b, 0);
    const totals = JSON.stringify(page.totals);
    expect(summed === tagsTotal, `${label}: the totals ${totals} sum to ${summed}, not ${tagsTotal}`, page.totals);
    const problems = downloadTextProblems(text, page);
    expect(problems.length === 0, `${label}: ${problems.slice(0, 5).join('; ')}`, truncate(text, 3000));
    return { page, text, textBytes, jsonBytes };
}

/** Every page of a job's report, from results_offset 0 on, each checked; the results in page order. */
async function pageThrough(jobId, label) {
    const pages = [];
    let offset = 0;
    while (offset !== undefined && offset !== null) {
        expect(pages.length <= 20, `${label}: more than 20 pages`, pages.at(-1)?.page);
        const result = await callOkResult('download_status', { job_id: jobId, wait_seconds: 0, results_offset: offset });
        const checked = checkReportPage(result, `${label}, page at ${offset}`);
        const { page, text } = checked;
        expect(page.job_id === jobId, `${label}: download_status reports job ${page.job_id}`, page);
        const at = page.results_offset;
        expect(at === offset, `${label}: asked for results_offset ${offset}, got ${at}`, page.totals);
        const next = page.next_results_offset;
        const end = offset + page.results.length;
        if (next !== undefined && next !== null) {
            expect(page.results.length > 0, `${label}: an empty page at ${offset} has a next page`, page);
            expect(next === end, `${label}: next_results_offset ${next} after the results ${offset}-${end}`, page.totals);
            const says = text.includes(`results_offset=${next}`);
            expect(says, `${label}: the text of the page at ${offset} does not say how to page on`, text);
        } else {
            const total = page.results_total;
            expect(end === total, `${label}: the last page ends at ${end} of ${total}`, page.totals);
        }
        pages.push(checked);
        offset = next;
    }
    return pages;
}

/** The tags of the pages, each exactly once, and exactly the requested ones. */
function expectEveryTagOnce(pages, tags, label) {
    const seen = pages.flatMap(({ page }) => page.results.map(r => r.tag));
    const twice = seen.filter((tag, i) => seen.indexOf(tag) !== i);
    expect(twice.length === 0, `${label}: paging met tag(s) ${[...new Set(twice)].join(', ')} more than once`);
    const wanted = new Set(tags);
    const missing = tags.filter(tag => !seen.includes(tag));
    const foreign = seen.filter(tag => !wanted.has(tag));
    expect(
        missing.length === 0 && foreign.length === 0,
        `${label}: missing tags ${missing.join(', ') || '-'}, unrequested tags ${foreign.join(', ') || '-'}`
    );
}

// ---------------------------------------------------------------------------------------------
// A self-test of the client: with a deliberately wrong server, does the SDK reject structuredContent
// that breaks the outputSchema? If it does not, every "ok" below would mean nothing.

async function validatorSelfTest() {
    const server = new Server({ name: 'wrong-on-purpose', version: '0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
        tools: [
            {
                name: 'count',
                inputSchema: { type: 'object', properties: {} },
                outputSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
            },
        ],
    }));
    server.setRequestHandler(CallToolRequestSchema, async () => ({
        content: [{ type: 'text', text: 'n is a string here' }],
        structuredContent: { n: 'three' },
    }));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const probe = new Client({ name: 'self-test', version: '0' });
    await server.connect(serverSide);
    await probe.connect(clientSide);
    try {
        await probe.listTools();
        try {
            await probe.callTool({ name: 'count', arguments: {} });
        } catch (error) {
            expect(/output schema/i.test(error.message), `unexpected rejection: ${error.message}`);
            return 'a structuredContent that breaks its outputSchema is rejected';
        }
        throw new CheckFailure('the SDK client accepted structuredContent that breaks the outputSchema');
    } finally {
        await probe.close();
        await server.close();
    }
}

// ---------------------------------------------------------------------------------------------

async function main() {
    await rec.check('sdk validates structuredContent (self-test)', validatorSelfTest);

    const inner = makeTransport();
    tap = new TappedTransport(inner);
    if (target.kind === 'stdio') {
        inner.stderr?.on('data', chunk => {
            serverStderr = (serverStderr + chunk.toString()).slice(-6000);
        });
    }
    client = new Client(
        { name: 'exofop-mcp-conformance', version: '1.0.0' },
        { capabilities: {} }
    );
    client.onerror = error => rec.warn(`client transport error: ${error?.message ?? error}`);

    const connected = await rec.check('initialize', async () => {
        await client.connect(tap, { timeout: TIMEOUT_MS });
        const init = tap.messages.find(m => m.dir === 'in' && m.message.result?.protocolVersion);
        const info = client.getServerVersion();
        rec.info.server = info;
        rec.info.protocol_version = init?.message.result.protocolVersion;
        rec.info.client_offered_protocol = LATEST_PROTOCOL_VERSION;
        expect(info?.name, 'the server sent no serverInfo.name');
        expect(client.getServerCapabilities()?.tools, 'the server does not announce the tools capability');
        const instructions = client.getInstructions() ?? '';
        expect(instructions.includes('resolve_system'), 'the instructions do not explain the workflow', instructions);
        return `${info.name} ${info.version}, protocol ${rec.info.protocol_version}`;
    });
    if (!connected) return finish();

    // -- tools/list ---------------------------------------------------------------------------
    await rec.check('tools/list: every tool with input/output schemas and annotations', async () => {
        let cursor;
        do {
            const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: TIMEOUT_MS });
            for (const tool of page.tools) tools.set(tool.name, tool);
            cursor = page.nextCursor;
        } while (cursor);
        const problems = [];
        for (const [name, expected] of Object.entries(EXPECTED_TOOLS)) {
            const tool = tools.get(name);
            if (!tool) {
                problems.push(`${name}: missing`);
                continue;
            }
            if (!tool.description || tool.description.length < 40) problems.push(`${name}: no real description`);
            if (tool.inputSchema?.type !== 'object') problems.push(`${name}: inputSchema.type is not "object"`);
            if (tool.outputSchema?.type !== 'object') problems.push(`${name}: no outputSchema of type "object"`);
            for (const [prop, spec] of Object.entries(tool.inputSchema?.properties ?? {})) {
                if (!spec.description) problems.push(`${name}: argument ${prop} has no description`);
            }
            const ann = tool.annotations;
            if (!ann) {
                problems.push(`${name}: no annotations`);
                continue;
            }
            for (const [hint, value] of Object.entries(expected)) {
                if (hint === 'advisory') continue;
                if (ann[hint] !== value) problems.push(`${name}: annotations.${hint} is ${ann[hint]}, expected ${value}`);
            }
            for (const [hint, value] of Object.entries(expected.advisory ?? {})) {
                if (ann[hint] !== value) {
                    rec.warn(`${name}: annotations.${hint} is ${ann[hint]}; ${value} would describe it (it only reads local state)`);
                }
            }
            if (!tool.title && !ann.title) rec.warn(`${name}: no title`);
        }
        const unexpected = [...tools.keys()].filter(name => !(name in EXPECTED_TOOLS));
        if (unexpected.length) rec.warn(`tools not covered by this suite: ${unexpected.join(', ')}`);
        expect(problems.length === 0, problems.join('; '), [...tools.values()]);
        return `${tools.size} tools`;
    });

    // -- valid calls ----------------------------------------------------------------------------
    let quickJob;
    let quickFiles = [];
    await rec.check(`resolve_system ${SYSTEM}`, async () => {
        const sys = await callOk('resolve_system', { query: SYSTEM });
        expect(sys.canonical_name === SYSTEM, `canonical_name is ${sys.canonical_name}`, sys);
        expect(Number.isInteger(sys.tic_id), 'no integer tic_id', sys);
        const again = await callOk('resolve_system', { query: `tic ${sys.tic_id}` });
        expect(again.canonical_name === SYSTEM, `'tic ${sys.tic_id}' resolves to ${again.canonical_name}`, again);
        return `TIC ${sys.tic_id}, ${sys.planets?.length ?? 0} planet candidates`;
    });

    await rec.check('list_observations with filters and paging', async () => {
        const args = { system: SYSTEM, kind: 'time_series', telescope: 'LCO', filter: 'zs', limit: 3 };
        const page = await callOk('list_observations', args);
        expect(page.kind === 'time_series' && page.returned === page.rows.length, 'inconsistent page', page);
        expect(page.returned <= 3 && page.total >= page.returned, `returned ${page.returned} of ${page.total}`, page);
        for (const row of page.rows) {
            expect(String(row.filter).toLowerCase() === 'zs', `a row with filter ${row.filter}`, row);
            expect(/lco/i.test(String(row.telescope)), `a row from telescope ${row.telescope}`, row);
        }
        expect(Array.isArray(page.tags) && page.tags.length > 0, 'no tags listed', page);
        if (page.total > page.returned) {
            expect(page.next_offset === page.returned, `next_offset is ${page.next_offset}`, page);
            const next = await callOk('list_observations', { ...args, offset: page.next_offset });
            expect(next.offset === page.next_offset, `second page starts at ${next.offset}`, next);
        }
        const imaging = await callOk('list_observations', { system: SYSTEM, kind: 'imaging', since: '2019-01-01' });
        expect(imaging.rows.every(row => row.kind === 'imaging'), 'imaging page holds other kinds', imaging);
        return `${page.total} LCO zs light curves, ${imaging.total} imaging rows`;
    });

    await rec.check('list_observations: the text alone names the telescope and date of each row', async () => {
        const described = [];
        for (const args of [
            { system: SYSTEM, kind: 'time_series', limit: 25 },
            { system: SYSTEM, kind: 'imaging' },
        ]) {
            const result = await callOkResult('list_observations', args);
            const page = result.structuredContent;
            const text = textOf(result);
            expect(page.rows.length > 0, `no ${args.kind} rows for ${SYSTEM}`, page);
            expect(utf8Bytes(text) < RESULT_BYTES, `the ${args.kind} text is ${utf8Bytes(text)} bytes`, truncate(text, 2000));
            const problems = listingTextProblems(text, page);
            expect(problems.length === 0, `${args.kind}: ${problems.slice(0, 5).join('; ')}`, truncate(text, 3000));
            described.push(`${page.rows.length} ${args.kind} rows`);
        }
        return described.join(', ');
    });

    await rec.check(`download_tags ${QUICK_TAGS.join(',')}`, async () => {
        const report = await callOk('download_tags', { system: SYSTEM, tags: QUICK_TAGS, wait_seconds: 60 });
        expect(report.state === 'completed', `state is ${report.state}: ${report.message}`, report);
        expect(report.tags_total === QUICK_TAGS.length, `tags_total is ${report.tags_total}`, report);
        const statuses = Object.fromEntries(report.results.map(r => [r.tag, r.status]));
        for (const tag of QUICK_TAGS) {
            expect(OK_STATUSES.has(statuses[tag]), `tag ${tag} ended ${statuses[tag]}`, report);
        }
        quickJob = report.job_id;
        quickFiles = report.results.flatMap(r => r.files ?? []);
        const again = await callOk('download_tags', { system: SYSTEM, tags: QUICK_TAGS, wait_seconds: 60 });
        const second = again.results.map(r => r.status);
        expect(second.every(s => s === 'already_present'), `a repeated call gave ${second.join(', ')}`, again);
        return `${JSON.stringify(statuses)}, repeated: already_present`;
    });

    await rec.check('download_status of that job', async () => {
        expect(quickJob, 'no job id from download_tags');
        const status = await callOk('download_status', { job_id: quickJob, wait_seconds: 0 });
        expect(status.job_id === quickJob && status.state === 'completed', `state ${status.state}`, status);
        return `job ${quickJob} ${status.state}`;
    });

    await rec.check('list_downloads', async () => {
        const all = await callOk('list_downloads', {});
        const one = await callOk('list_downloads', { system: SYSTEM });
        const entry = (one.systems ?? []).find(s => s.system === SYSTEM);
        expect(entry, `${SYSTEM} is not listed after the download`, one);
        const listed = new Set((entry.tags ?? []).map(t => Number(t.tag)));
        for (const tag of QUICK_TAGS) expect(listed.has(tag), `tag ${tag} is not listed`, entry);
        return `${(all.systems ?? []).length} system(s), ${entry.tags_complete} complete tag(s) of ${SYSTEM}`;
    });

    await rec.check('preview_file of each downloaded file', async () => {
        expect(quickFiles.length > 0, 'download_tags listed no files');
        const kinds = {};
        for (const path of quickFiles) {
            const result = await client.callTool({ name: 'preview_file', arguments: { system: SYSTEM, path } }, undefined, {
                timeout: TIMEOUT_MS,
            });
            expect(!result.isError, `preview_file ${path}: ${textOf(result)}`, result);
            expect(result.structuredContent?.path === path, `preview of ${path} names ${result.structuredContent?.path}`, result);
            auditUndeclared('preview_file', result.structuredContent);
            const kind = result.structuredContent.kind;
            kinds[kind] = (kinds[kind] ?? 0) + 1;
            if (kind === 'image') {
                const image = (result.content ?? []).find(block => block.type === 'image');
                expect(image && image.mimeType && image.data, `no image content for ${path}`, result);
            }
        }
        return JSON.stringify(kinds);
    });

    await rec.check('search_tois with filters and paging', async () => {
        const args = { tfopwg_disposition: ['PC', 'APC'], tess_mag_max: 11, time_series_max: 0, limit: 20 };
        const page = await callOk('search_tois', args);
        expect(page.returned === page.rows.length && page.total >= page.returned, 'inconsistent page', page);
        for (const row of page.rows) {
            expect(['PC', 'APC'].includes(row.tfopwg_disposition), `a row with disposition ${row.tfopwg_disposition}`, row);
            expect(row.tess_mag <= 11, `a row with Tmag ${row.tess_mag}`, row);
        }
        if (page.next_offset !== undefined && page.next_offset !== null) {
            const next = await callOk('search_tois', { ...args, offset: page.next_offset });
            expect(next.offset === page.next_offset, `second page starts at ${next.offset}`, next);
        }
        return `${page.total} TOIs`;
    });

    await rec.check('plan_transits from a named site over a few nights', async () => {
        const args = { observatory: 'lco-ctio', start_date: '2026-12-07', nights: 3, limit: 10 };
        const plan = await callOk('plan_transits', args);
        expect(plan.returned === plan.events.length && plan.total >= plan.returned, 'inconsistent page', plan);
        for (const event of plan.events) {
            expect(event.toi && event.mid_utc && event.altitude_deg.length === 3, 'an event without its times', event);
        }
        return `${plan.total} events`;
    });

    await rec.check('follow_up_status and whats_new of a system', async () => {
        const status = await callOk('follow_up_status', { system: SYSTEM });
        expect(status.observations && status.missing && status.dispositions, 'no follow-up status', status);
        const news = await callOk('whats_new', { since: '2024-01-01', systems: [SYSTEM], limit: 5 });
        expect(news.returned === news.changes.length && news.total >= news.returned, 'inconsistent page', news);
        return `${news.total} changes`;
    });

    await rec.check('resources: the downloaded-file template, read and refused', async () => {
        const { resourceTemplates } = await client.listResourceTemplates(undefined, { timeout: TIMEOUT_MS });
        const template = resourceTemplates.find(t => t.uriTemplate === 'exofop://{system}/{+path}');
        expect(template && template.description, 'no exofop://{system}/{+path} template', resourceTemplates);
        expect(quickFiles.length > 0, 'no downloaded file to read');
        const uri = `exofop://${SYSTEM}/${quickFiles[0]}`;
        const read = await client.readResource({ uri }, { timeout: TIMEOUT_MS });
        const content = read.contents?.[0];
        expect(content && content.mimeType && (content.text !== undefined || content.blob !== undefined), `reading ${uri}`, read);
        let refused = false;
        try {
            await client.readResource({ uri: `exofop://${SYSTEM}/../../etc/passwd` }, { timeout: TIMEOUT_MS });
        } catch {
            refused = true;
        }
        expect(refused, 'a path with .. was read');
        return `${uri} as ${content.mimeType}`;
    });

    await rec.check('prompts: listed with descriptions, rendered', async () => {
        const { prompts } = await client.listPrompts(undefined, { timeout: TIMEOUT_MS });
        expect(prompts.length >= 3 && prompts.every(p => p.description), 'prompts without descriptions', prompts);
        const rendered = await client.getPrompt({ name: 'follow_up_status', arguments: { target: SYSTEM } });
        const text = rendered.messages?.[0]?.content?.text ?? '';
        expect(text.includes(SYSTEM), 'the rendered prompt does not name the target', rendered);
        return `${prompts.length} prompts`;
    });

    await rec.check('extract_light_curves of the downloaded tags, then extraction_status', async () => {
        const report = await callOk('extract_light_curves', { system: SYSTEM, tags: QUICK_TAGS, limit: 5, wait_seconds: 15 });
        expect(Array.isArray(report.results) && report.returned === report.results.length, 'inconsistent page', report);
        let status = report;
        for (let polls = 0; status.state === 'running' && polls < 20; polls++) {
            status = await callOk('extraction_status', { job_id: report.job_id, wait_seconds: 15, limit: 50 });
        }
        status = await callOk('extraction_status', { job_id: report.job_id, wait_seconds: 0, limit: 50 });
        expect(status.state === 'completed', `state is ${status.state}: ${status.message}`, status);
        expect(status.light_curves > 0, 'no light curve extracted', status);
        const again = await callOk('extract_light_curves', { system: SYSTEM, tags: QUICK_TAGS, wait_seconds: 15 });
        expect(!('extracted' in again.totals), `a repeated call extracted again: ${JSON.stringify(again.totals)}`, again);
        return `${status.light_curves} light curves, repeated: ${JSON.stringify(again.totals)}`;
    });

    // A system with more than one page of tags: every time-series tag of SYSTEM but the slowed
    // ones (the replica serves those slowly for the checks below), started with wait_seconds 0.
    await rec.check(`download_tags of every time-series tag of ${SYSTEM}: the report pages`, async () => {
        const slowed = new Set([...PROGRESS_TAGS, ...CANCEL_TAGS, ...JOB_TAGS]);
        const listing = await callOk('list_observations', { system: SYSTEM, kind: 'time_series', limit: 1 });
        const tags = listing.tags.filter(tag => !slowed.has(tag));
        const enough = tags.length > RESULTS_PAGE;
        expect(enough, `${SYSTEM} has ${tags.length} time-series tags to fetch, ${RESULTS_PAGE + 1} needed`, listing.tags);
        const first = await callOkResult('download_tags', { system: SYSTEM, tags, wait_seconds: 0 });
        let { page: report } = checkReportPage(first, 'download_tags');
        const total = report.results_total;
        expect(total === tags.length, `results_total is ${total} for ${tags.length} tags`, report.totals);
        let runningPaged = 0;
        let largest = 0;
        const deadline = Date.now() + 80_000;
        while (report.state === 'running') {
            expect(Date.now() < deadline, 'the download is still running after 80 s', report.totals);
            const pages = await pageThrough(report.job_id, 'a running job');
            expectEveryTagOnce(pages, tags, 'a running job');
            for (const p of pages) largest = Math.max(largest, p.textBytes, p.jsonBytes);
            runningPaged += 1;
            const polled = await callOkResult('download_status', { job_id: report.job_id, wait_seconds: 5 });
            report = checkReportPage(polled, 'download_status').page;
        }
        expect(report.state === 'completed', `state is ${report.state}: ${report.message}`, report.totals);
        const pages = await pageThrough(report.job_id, 'the finished job');
        expectEveryTagOnce(pages, tags, 'the finished job');
        expect(pages.length > 1, `${tags.length} tags in one page`, pages[0].page.totals);
        for (const { page, textBytes, jsonBytes } of pages) {
            expect(page.results_total === tags.length, `a page says results_total ${page.results_total}`, page.totals);
            const same = JSON.stringify(page.totals) === JSON.stringify(pages[0].page.totals);
            expect(same, 'the pages of a finished job disagree on the totals', page.totals);
            largest = Math.max(largest, textBytes, jsonBytes);
        }
        const ranks = pages.flatMap(({ page }) => page.results.map(r => attentionRank(r.status)));
        const statuses = pages.map(p => p.page.results.map(r => r.status));
        expect(ranks.every((rank, i) => i === 0 || ranks[i - 1] <= rank), 'the results are not attention first', statuses);
        return (
            `${tags.length} tags in ${pages.length} pages ${JSON.stringify(pages[0].page.totals)}; ` +
            `a running job paged ${runningPaged} time(s); largest half ${largest} bytes`
        );
    });

    await rec.check('login_status', async () => {
        const status = await callOk('login_status', {});
        expect(typeof status.logged_in === 'boolean', 'logged_in is not a boolean', status);
        return `logged_in: ${status.logged_in}`;
    });

    // -- invalid arguments: tool errors, never protocol errors --------------------------------------
    const invalid = [
        ['resolve_system', {}],
        ['resolve_system', { query: '' }],
        ['resolve_system', { query: 42 }],
        ['resolve_system', { query: 'NOT-A-STAR-9999999' }],
        ['list_observations', { system: SYSTEM, limit: 0 }],
        ['list_observations', { system: SYSTEM, kind: 'radio' }],
        ['list_observations', { system: SYSTEM, since: 'last week' }],
        ['download_tags', { system: SYSTEM, tags: [0] }],
        ['download_tags', { system: SYSTEM, tags: 'all' }],
        ['download_tags', { system: SYSTEM }],
        ['download_tags', { system: SYSTEM, tags: QUICK_TAGS, wait_seconds: -1 }],
        ['download_status', { job_id: 'not hex!' }],
        ['download_status', { job_id: 'ffffffffffff' }],
        ['cancel_download', {}],
        ['cancel_download', { job_id: 'ffffffffffff' }],
        ['extract_light_curves', { system: SYSTEM, tags: [0] }],
        ['extract_light_curves', { system: SYSTEM, wait_seconds: -1 }],
        ['extraction_status', { job_id: 'ffffffffffff' }],
        ['list_downloads', { system: 7 }],
        ['list_downloads', { system: 'x'.repeat(201) }],
        ['preview_file', { system: SYSTEM, path: '../../etc/passwd' }],
        ['preview_file', { system: SYSTEM, path: '/etc/passwd' }],
        ['search_tois', { limit: 500 }],
        ['search_tois', { sort_by: 'size' }],
        ['plan_transits', { observatory: 'atlantis', start_date: '2026-12-07' }],
        ['plan_transits', { observatory: 'lco-ctio', start_date: '2026-12-07', nights: 0 }],
        ['follow_up_status', { system: '' }],
        ['whats_new', { since: 'last week' }],
    ];
    for (const [name, args] of invalid) {
        await rec.check(`invalid ${name} ${truncate(JSON.stringify(args), 60)} -> isError`, () =>
            callExpectingToolError(name, args)
        );
    }
    await rec.check('login_status ignores or rejects unknown arguments (no crash)', async () => {
        const result = await client.callTool(
            { name: 'login_status', arguments: { password: 'x' } },
            undefined,
            { timeout: TIMEOUT_MS }
        );
        return result.isError ? `isError: ${truncate(textOf(result), 100)}` : 'ignored';
    });
    await rec.check('unknown tool name (error of either kind, server keeps going)', async () => {
        try {
            const result = await client.callTool({ name: 'no_such_tool', arguments: {} }, undefined, { timeout: TIMEOUT_MS });
            expect(result.isError === true, 'an unknown tool answered without isError', result);
            return `isError: ${truncate(textOf(result), 100)}`;
        } catch (error) {
            expect(error instanceof McpError, `unexpected failure: ${error.message}`);
            return `JSON-RPC error ${error.code}: ${truncate(error.message, 100)}`;
        }
    });

    // -- progress notifications -----------------------------------------------------------------
    await rec.check(`progress notifications while downloading ${PROGRESS_TAGS.join(',')}`, async () => {
        const seen = [];
        const report = await callOk(
            'download_tags',
            { system: SYSTEM, tags: PROGRESS_TAGS, overwrite: true, wait_seconds: 60 },
            { onprogress: p => seen.push(p), resetTimeoutOnProgress: true }
        );
        const sent = tap.lastRequest('tools/call');
        const token = sent?.message.params?._meta?.progressToken;
        expect(token !== undefined, 'the SDK sent no progressToken', sent?.message);
        const raw = tap.messages.filter(
            m => m.dir === 'in' && m.message.method === 'notifications/progress' && m.message.params?.progressToken === token
        );
        expect(report.state === 'completed', `state is ${report.state}: ${report.message}`, report);
        const bad = report.results.filter(r => r.status !== 'downloaded');
        expect(bad.length === 0, `tags not downloaded: ${bad.map(r => `${r.tag}=${r.status}`).join(', ')}`, report);
        expect(
            seen.length >= 2,
            `${seen.length} progress notification(s): at least 2 expected; is the replica slowed ` +
                '(--tag-size 1MiB --bandwidth 512KiB)?',
            seen
        );
        expect(raw.length === seen.length, `${raw.length} notifications on the wire, ${seen.length} delivered`);
        for (let i = 1; i < seen.length; i++) {
            expect(seen[i].progress > seen[i - 1].progress, 'progress does not increase', seen);
        }
        for (const p of seen) {
            expect(p.total === PROGRESS_TAGS.length, `total is ${p.total}, expected ${PROGRESS_TAGS.length}`, seen);
            expect(p.progress <= p.total, 'progress above total', seen);
        }
        expect(seen.at(-1).progress === seen.at(-1).total, 'the last notification is not complete', seen);
        return seen.map(p => `${p.progress}/${p.total}`).join(' ');
    });

    // -- cancellation with an AbortSignal --------------------------------------------------------
    await rec.check(`cancel a download_tags call (AbortSignal), then the server still answers`, async () => {
        const controller = new AbortController();
        const progress = [];
        const t0 = Date.now();
        let abortedAt;
        const pending = client.callTool(
            { name: 'download_tags', arguments: { system: SYSTEM, tags: CANCEL_TAGS, overwrite: true, wait_seconds: 60 } },
            undefined,
            {
                timeout: TIMEOUT_MS,
                signal: controller.signal,
                onprogress: p => {
                    progress.push(p);
                    if (abortedAt === undefined) {
                        abortedAt = Date.now();
                        controller.abort('the conformance suite cancels this call');
                    }
                },
            }
        );
        const fallback = setTimeout(() => {
            if (abortedAt === undefined) {
                abortedAt = Date.now();
                controller.abort('the conformance suite cancels this call');
            }
        }, 1500);
        let outcome;
        try {
            const result = await pending;
            outcome = { resolved: result };
        } catch (error) {
            outcome = { error };
        } finally {
            clearTimeout(fallback);
        }
        expect(outcome.error, 'the aborted call resolved instead of rejecting', outcome.resolved);
        const sent = tap.lastRequest('notifications/cancelled');
        expect(sent, 'the SDK sent no notifications/cancelled');
        const cancelledId = sent.message.params.requestId;

        const t1 = Date.now();
        const status = await callOk('login_status', {});
        const answerMs = Date.now() - t1;
        expect(typeof status.logged_in === 'boolean', 'login_status after the cancel is malformed', status);
        const sys = await callOk('resolve_system', { query: SYSTEM });
        expect(sys.canonical_name === SYSTEM, 'resolve_system after the cancel is wrong', sys);
        expect(answerMs < 10000, `the next call took ${answerMs} ms`);
        await new Promise(resolve => setTimeout(resolve, 200));
        const late = tap.responseTo(cancelledId);
        if (late) {
            rec.warn(
                `the server answered the cancelled request ${cancelledId} anyway ` +
                    `(the client ignores it): ${truncate(JSON.stringify(late.message), 300)}`
            );
        }
        return (
            `aborted after ${abortedAt - t0} ms (${progress.length} progress notification(s) before), ` +
            `next call answered in ${answerMs} ms`
        );
    });

    // -- a background job stopped with cancel_download -------------------------------------------
    await rec.check(`download_tags wait_seconds=0 -> download_status -> cancel_download`, async () => {
        const started = await callOk('download_tags', {
            system: SYSTEM,
            tags: JOB_TAGS,
            overwrite: true,
            wait_seconds: 0,
        });
        expect(started.job_id, 'no job_id', started);
        if (started.state !== 'running') {
            rec.warn(`the job of ${JOB_TAGS.join(',')} finished before it could be cancelled: is the replica slowed?`);
        }
        const status = await callOk('download_status', { job_id: started.job_id, wait_seconds: 0 });
        expect(status.job_id === started.job_id, 'download_status reports another job', status);
        const cancelled = await callOk('cancel_download', { job_id: started.job_id });
        if (started.state === 'running' && status.state === 'running') {
            expect(cancelled.state === 'cancelled', `state after cancel_download is ${cancelled.state}`, cancelled);
        }
        const after = await callOk('download_status', { job_id: started.job_id, wait_seconds: 0 });
        expect(after.state === cancelled.state, `download_status says ${after.state} after the cancel`, after);
        const again = await callOk('cancel_download', { job_id: started.job_id });
        expect(again.state === cancelled.state, 'a second cancel_download changed the state', again);
        return `${started.state} -> ${status.state} -> ${cancelled.state}`;
    });

    return finish();
}

async function finish() {
    if (client) {
        if (target.kind === 'http') {
            try {
                await tap.inner.terminateSession();
            } catch (error) {
                rec.warn(`DELETE of the HTTP session failed: ${error.message}`);
            }
        }
        await client.close().catch(() => {});
    }
    const failed = rec.checks.some(c => !c.ok);
    const extra = {};
    if (failed && serverStderr) extra.server_stderr_tail = serverStderr.slice(-3000);
    if (undeclaredSeen.size) extra.undeclared_output_properties = Object.fromEntries(undeclaredSeen);
    return rec.finish(extra);
}

const watchdog = setTimeout(() => {
    rec.checks.push({ name: 'overall time limit', ok: false, ms: 0, detail: 'the run took over 120 s' });
    finish().then(code => process.exit(code));
}, 120_000);
watchdog.unref();

main()
    .then(code => process.exit(code))
    .catch(error => {
        process.stderr.write(`conformance: crashed: ${error?.stack ?? error}\n`);
        if (serverStderr) process.stderr.write(`server stderr (tail):\n${serverStderr.slice(-3000)}\n`);
        process.exit(1);
    });
