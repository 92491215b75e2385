// Calls into Parley and call recordings, with the sandbox: a recorded
// voice_call lands in the conversation as a call card whose player plays
// the stored recording; a caller calling the sandbox Twilio number (through
// the fake Twilio's signed incoming-call webhook) starts the flow whose
// trigger is inbound_call, and its call shows in the caller's conversation;
// with a realtime, recorded wait_inbound_call it is talked through over
// Media Streams and its card shows the transcript and the recording.
import assert from 'node:assert/strict';

import { apiCall, callListener, fakeChatModel, useOnlyModel } from '../lib.mjs';

export const serverArgs = ['--sandbox'];

// A small OpenAI-compatible model: the agent's turns, then the outcome.
const fakeLLM = () =>
  fakeChatModel('inbound-model', (r) => {
    const callerTurns = (r.messages ?? []).filter((m) => m.role === 'user').length;
    let content;
    if (JSON.stringify(r.response_format ?? '').includes('call_outcome')) content = JSON.stringify({ outcome: 'callback', summary: 'The caller wants a call back.' });
    else if (callerTurns >= 1) content = JSON.stringify({ say: 'I will pass it on. Goodbye!', action: 'end_call', reason: 'done' });
    else content = JSON.stringify({ say: 'How can I help?', action: 'continue', reason: '' });
    return content;
  });

// useModel makes the fake model the project's only AI provider.
async function useModel(page, llm) {
  await useOnlyModel(page, 'Inbound test model', llm, 'inbound-model');
}

async function contactByName(page, name) {
  for (let i = 0; i < 60; i++) {
    const r = await apiCall(page, 'GET', `/contacts/?search=${encodeURIComponent(name)}`);
    const c = (r.json?.results ?? [])[0];
    if (c) return c;
    await new Promise((ok) => setTimeout(ok, 500));
  }
  throw new Error('no contact ' + name);
}

const end = (id, x) => ({ id, type: 'end', position: { x, y: 300 }, data: {} });

export const tests = [
  {
    // First: it talks with the Sandbox LLM (whose address also serves the
    // fake realtime model), which the tests after it replace.
    name: 'inbound: a realtime call to the sandbox Twilio number shows its transcript and recording',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const provs = await apiCall(page, 'GET', '/ai/providers/');
      assert.ok((provs.json?.results ?? []).some((p) => p.name === 'Sandbox LLM'), 'no Sandbox LLM provider: ' + provs.text);
      const chans = await apiCall(page, 'GET', '/channels/');
      const twilio = (chans.json?.results ?? chans.json?.items ?? []).find((c) => c.name === 'Sandbox Twilio number');
      assert.ok(twilio, 'no sandbox Twilio number: ' + chans.text);
      const graph = {
        nodes: [
          { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'inbound_call' } } },
          { id: 'answer', type: 'wait_inbound_call', position: { x: 0, y: 140 }, data: { channel_id: twilio.id, timeout_seconds: 60, prompt: 'Take a message.', greeting: 'Hello, you reached the clinic.', engine: 'realtime', voice: 'echo', recording: true, variable: 'call' } },
          end('done', 0), end('late', 250),
        ],
        edges: [
          { id: 'e1', source: 'start', target: 'answer' },
          { id: 'e2', source: 'answer', sourceHandle: 'answered', target: 'done' },
          { id: 'e3', source: 'answer', sourceHandle: 'timeout', target: 'late' },
        ],
      };
      const pub = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Realtime front desk', is_active: true, flow_data: graph });
      assert.equal(pub.status, 201, pub.text);
      try {
        const call = await apiCall(page, 'POST', '/sandbox/calls/inbound/', { from: '+15555550193', lines: ['Please call me back tomorrow.'] });
        assert.equal(call.status, 201, call.text);
        const contact = await contactByName(page, '5555550193');
        await page.goto(`${env.base}/app/conversations/${contact.id}`);
        const card = page.getByRole('log', { name: 'Message history' }).getByLabel('Call result');
        await card.getByText(/Call completed/).waitFor({ timeout: 30000 });
        // The realtime model heard the caller: their line is in the
        // transcript, after the agent's greeting.
        await card.getByText(/Transcript \(\d+ lines\)/).click();
        await card.locator('li.agent', { hasText: 'Hello, you reached the clinic.' }).waitFor();
        await card.locator('li.callee', { hasText: 'Please call me back tomorrow.' }).waitFor();
        // The recording Twilio made (<Start><Recording>) is stored and
        // played from Parley, behind auth.
        const audio = card.getByLabel('Call recording');
        await audio.waitFor({ timeout: 20000 });
        const src = await audio.getAttribute('src');
        assert.match(src, /^\/projects\/[^/]+\/calls\/[^/]+\/recording$/);
        let got;
        for (let i = 0; i < 40; i++) {
          got = await page.evaluate(async (u) => {
            const r = await fetch(u);
            const b = new Uint8Array(await r.arrayBuffer());
            return { status: r.status, head: String.fromCharCode(...b.slice(0, 4)), size: b.length };
          }, src);
          if (got.status === 200) break;
          await new Promise((ok) => setTimeout(ok, 500));
        }
        assert.equal(got.status, 200, 'the recording was never stored');
        assert.equal(got.head, 'RIFF');
        await env.shot('inbound-0-realtime-call');
      } finally {
        // Its inbound_call trigger would compete with the later test's.
        await apiCall(page, 'POST', `/chat-flow/flows/${pub.json.id}/unpublish/`);
        await apiCall(page, 'DELETE', `/chat-flow/flows/${pub.json.id}/`);
      }
    },
  },
  {
    name: 'inbound: a recorded call card plays its recording',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const llm = await fakeLLM();
      try {
        await useModel(page, llm);
        const chans = await apiCall(page, 'GET', '/sandbox/channels/');
        const line = (chans.json.items ?? []).find((c) => c.type === 'voice');
        assert.ok(line, 'no sandbox voice line: ' + chans.text);
        const graph = {
          nodes: [
            { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'api' } } },
            { id: 'call', type: 'voice_call', position: { x: 0, y: 140 }, data: { channel_id: line.id, prompt: 'Take a message.', greeting: 'Hi, this is the clinic.', recording: true, variable: 'call', outcomes: ['callback'] } },
            end('done', 0), end('missed', 250), end('failed', 500),
          ],
          edges: [
            { id: 'e1', source: 'start', target: 'call' },
            { id: 'e2', source: 'call', sourceHandle: 'completed', target: 'done' },
            { id: 'e3', source: 'call', sourceHandle: 'no_answer', target: 'missed' },
            { id: 'e4', source: 'call', sourceHandle: 'failed', target: 'failed' },
          ],
        };
        const pub = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Recorded call', is_active: true, flow_data: graph });
        assert.equal(pub.status, 201, pub.text);
        const started = await apiCall(page, 'POST', '/sandbox/calls/', { channel_id: line.id, flow: 'Recorded call', number: '+15555550181', name: 'Rita Recorded' });
        assert.equal(started.status, 201, started.text);
        const path = `/sandbox/calls/${started.json.id}/`;
        const heard = callListener(page, started);
        await heard('Hi, this is the clinic.');
        await apiCall(page, 'POST', path + 'lines/', { text: 'Please call me back tomorrow.' });
        await heard('result');

        const contact = await contactByName(page, 'Rita');
        await page.goto(`${env.base}/app/conversations/${contact.id}`);
        const card = page.getByRole('log', { name: 'Message history' }).getByLabel('Call result');
        await card.waitFor();
        const audio = card.getByLabel('Call recording');
        await audio.waitFor();
        const src = await audio.getAttribute('src');
        assert.match(src, /^\/projects\/[^/]+\/calls\/[^/]+\/recording$/);
        // The recording is served to this session (behind auth) as WAV.
        const got = await page.evaluate(async (u) => {
          const r = await fetch(u);
          const b = new Uint8Array(await r.arrayBuffer());
          return { status: r.status, type: r.headers.get('Content-Type'), head: String.fromCharCode(...b.slice(0, 4)), size: b.length };
        }, src);
        assert.equal(got.status, 200);
        assert.equal(got.type, 'audio/wav');
        assert.equal(got.head, 'RIFF');
        // And the player plays it: it loads, knows its length and moves on.
        const played = await audio.evaluate(async (a) => {
          a.muted = true;
          await a.play();
          await new Promise((ok) => setTimeout(ok, 700));
          return { duration: a.duration, time: a.currentTime, error: a.error?.message ?? '' };
        });
        assert.equal(played.error, '');
        assert.ok(played.duration > 0.5, 'duration ' + played.duration);
        assert.ok(played.time > 0, 'the player did not advance: ' + JSON.stringify(played));
        await env.shot('inbound-1-recording');
      } finally {
        llm.close();
      }
    },
  },
  {
    name: 'inbound: a call to the sandbox Twilio number starts a flow',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const llm = await fakeLLM();
      try {
        await useModel(page, llm);
        const chans = await apiCall(page, 'GET', '/channels/');
        const twilio = (chans.json?.results ?? chans.json?.items ?? []).find((c) => c.name === 'Sandbox Twilio number');
        assert.ok(twilio, 'no sandbox Twilio number: ' + chans.text);
        const graph = {
          nodes: [
            { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'inbound_call' } } },
            { id: 'answer', type: 'wait_inbound_call', position: { x: 0, y: 140 }, data: { channel_id: twilio.id, timeout_seconds: 60, prompt: 'Take a message.', greeting: 'Hello, you reached the clinic.', variable: 'call', outcomes: ['callback'] } },
            end('done', 0), end('late', 250),
          ],
          edges: [
            { id: 'e1', source: 'start', target: 'answer' },
            { id: 'e2', source: 'answer', sourceHandle: 'answered', target: 'done' },
            { id: 'e3', source: 'answer', sourceHandle: 'timeout', target: 'late' },
          ],
        };
        const pub = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Front desk', is_active: true, flow_data: graph });
        assert.equal(pub.status, 201, pub.text);
        const call = await apiCall(page, 'POST', '/sandbox/calls/inbound/', { from: '+15555550192', lines: ['Please call me back tomorrow.'] });
        assert.equal(call.status, 201, call.text);
        assert.match(call.json.call_sid, /^CA/);

        let contact;
        for (let i = 0; i < 60 && !contact; i++) {
          const r = await apiCall(page, 'GET', '/contacts/?search=5555550192');
          contact = (r.json?.results ?? [])[0];
          if (!contact) await new Promise((ok) => setTimeout(ok, 500));
        }
        assert.ok(contact, 'the call started no flow for the caller');
        await page.goto(`${env.base}/app/conversations/${contact.id}`);
        const card = page.getByRole('log', { name: 'Message history' }).getByLabel('Call result');
        await card.getByText('The caller wants a call back.').waitFor({ timeout: 20000 });
        assert.match(await card.innerText(), /Call completed[\s\S]*callback/);
        await card.getByText(/Transcript \(\d+ lines\)/).click();
        await card.getByText('Hello, you reached the clinic.').waitFor();
        await card.getByText('Please call me back tomorrow.').waitFor();
        await env.shot('inbound-2-twilio-call');
      } finally {
        llm.close();
      }
    },
  },
];
