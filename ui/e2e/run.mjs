// Browser tests: builds and starts a real `parley serve` on SQLite (free
// port, temp data dir), reads the admin password it prints, drives Debian's
// Chromium with playwright-core, and saves a screenshot of each page under
// build/ui-screenshots/.
//
//   node e2e/run.mjs                  # build the server from this checkout and test it
//   PARLEY_BIN=/path/parley node e2e/run.mjs      # use a prebuilt binary
//   node e2e/run.mjs --only "conflict"            # tests whose name contains the text
//   CHROMIUM=/usr/bin/chromium (default)
//
// Suites: tests.mjs, then every e2e/suites/*.mjs in name order. A suite
// exports `tests` (like tests.mjs) and, optionally, `serverArgs` (extra
// arguments to `parley serve`, e.g. ['--sandbox']) and `serverEnv`: such a
// suite gets a server of its own, started fresh for it; the others share one.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { tests as mainTests } from './tests.mjs';

const repo = resolve(import.meta.dirname, '../..');
const outDir = join(repo, 'build');
const shots = join(outDir, 'ui-screenshots');
mkdirSync(shots, { recursive: true });
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : '';

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
    s.on('error', rej);
  });
}

async function startServer(extraArgs = [], extraEnv = {}) {
  if (process.env.PARLEY_URL) {
    // An already running server (development): PARLEY_URL and PARLEY_PASSWORD.
    return { base: process.env.PARLEY_URL, password: process.env.PARLEY_PASSWORD, email: process.env.PARLEY_EMAIL ?? 'admin@parley.local', stop: () => {}, tmp: mkdtempSync(join(tmpdir(), 'parley-ui-e2e-')) };
  }
  const bin = serverBinary();
  const tmp = mkdtempSync(join(tmpdir(), 'parley-ui-e2e-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(bin, ['serve', '--data-dir', join(tmp, 'data'), '--addr', `127.0.0.1:${port}`, ...extraArgs], {
    // 127.0.0.9 is a loopback address nothing listens on: the channel-log
    // test points a number's Graph API there (allowed here as an operator
    // would with PARLEY_HTTP_ALLOW) so that its sends fail to connect.
    env: { ...process.env, PARLEY_LOG_LEVEL: 'warn', PARLEY_PUBLIC_URL: base, PARLEY_HTTP_ALLOW: '127.0.0.9', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const password = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('the server printed no admin password within 60 s:\n' + out)), 60000);
    const onData = (d) => {
      out += d.toString();
      const m = /log in as (\S+) with password (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[2]);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => rej(new Error(`the server exited (${code}):\n${out}`)));
  });
  // Wait until it answers.
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(base + '/healthz')).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, password, email: 'admin@parley.local', stop: () => proc.kill('SIGTERM'), tmp, proc, output: () => out };
}

let builtBin = '';
function serverBinary() {
  if (process.env.PARLEY_BIN) return process.env.PARLEY_BIN;
  if (!builtBin) {
    const dir = mkdtempSync(join(tmpdir(), 'parley-ui-bin-'));
    builtBin = join(dir, 'parley');
    console.log('building the server…');
    execFileSync('go', ['build', '-o', builtBin, './cmd/parley'], { cwd: repo, stdio: 'inherit', env: { ...process.env, GOFLAGS: process.env.GOFLAGS ?? '-buildvcs=false' } });
  }
  return builtBin;
}

const suiteDir = join(import.meta.dirname, 'suites');
const suites = [{ name: 'tests.mjs', tests: mainTests }];
for (const f of (() => { try { return readdirSync(suiteDir); } catch { return []; } })().filter((f) => f.endsWith('.mjs')).sort()) {
  const m = await import(join(suiteDir, f));
  suites.push({ name: f, tests: m.tests ?? [], serverArgs: m.serverArgs, serverEnv: m.serverEnv });
}

const server = await startServer();
console.log(`server at ${server.base}`);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
const results = [];
const shared = {};
let failed = 0;
const servers = [server];
try {
  for (const suite of suites) {
    const chosen = suite.tests.filter((t) => !only || t.name.includes(only));
    if (!chosen.length) continue;
    let srv = server;
    if (suite.serverArgs || suite.serverEnv) {
      srv = await startServer(suite.serverArgs ?? [], suite.serverEnv ?? {});
      servers.push(srv);
      console.log(`suite ${suite.name}: own server at ${srv.base}`);
    }
    for (const t of chosen) await runTest(t, srv);
    if (srv !== server) {
      srv.stop();
      servers.splice(servers.indexOf(srv), 1);
      rmSync(srv.tmp, { recursive: true, force: true, maxRetries: 3 });
    }
  }
} finally {
  await browser.close();
  for (const srv of servers) {
    srv.stop();
    rmSync(srv.tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function runTest(t, server) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(Number(process.env.E2E_TIMEOUT ?? 15000));
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  // The server sends a Content-Security-Policy: anything the UI does that
  // it forbids (an inline script, a foreign origin) fails the test.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) consoleErrors.push('CSP violation: ' + m.text());
  });
  const started = Date.now();
  const env = {
    ...server,
    page,
    context,
    browser,
    shared,
    shot: async (name) => page.screenshot({ path: join(shots, `${name}.png`) }),
    login: async (p = page) => {
      await p.goto(server.base + '/app/');
      await p.getByLabel('Email').fill(server.email);
      await p.getByLabel('Password').fill(server.password);
      await p.getByRole('button', { name: 'Log in' }).click();
      await p.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
    },
  };
  try {
    await t.fn(env);
    if (consoleErrors.length) throw new Error('uncaught errors in the page: ' + consoleErrors.join('; '));
    results.push({ name: t.name, ok: true, ms: Date.now() - started, notes: env.notes });
    console.log(`ok   ${t.name} (${Date.now() - started} ms)`);
  } catch (e) {
    if (e && e.skip) {
      results.push({ name: t.name, ok: true, skipped: e.message, ms: Date.now() - started });
      console.log(`skip ${t.name}: ${e.message}`);
    } else {
      failed++;
      results.push({ name: t.name, ok: false, error: String(e?.stack ?? e), ms: Date.now() - started });
      console.log(`FAIL ${t.name}\n${e?.stack ?? e}`);
      await page.screenshot({ path: join(shots, `FAILED-${t.name.replace(/\W+/g, '-')}.png`) }).catch(() => {});
    }
  }
  await context.close();
}

writeFileSync(join(outDir, 'ui-e2e-results.json'), JSON.stringify({ results, perf: shared.perf ?? null }, null, 2));
console.log(`\n${results.length - failed} passed, ${failed} failed; screenshots in ${shots}`);
process.exit(failed ? 1 : 0);
