// Voice steps for a newcomer, with the sandbox: a voice_call step's form
// picks the sandbox's simulated voice number and shows the voices the
// realtime engine lacks as disabled; the simulator rings, the person is the
// callee for two turns, sees the result (exit, outcome, summary,
// transcript), and the conversation shows the call card.
import assert from 'node:assert/strict';

import { apiCall, callListener, fakeChatModel, node, openFlow, useOnlyModel } from '../lib.mjs';

export const serverArgs = ['--sandbox'];

// A small OpenAI-compatible model: the agent's turns, then the outcome.
const fakeLLM = () =>
  fakeChatModel('voice-model', (r) => {
    const callerTurns = (r.messages ?? []).filter((m) => m.role === 'user').length;
    let content;
    if (JSON.stringify(r.response_format ?? '').includes('call_outcome')) content = JSON.stringify({ outcome: 'booked', summary: 'The caller booked Tuesday.' });
    else if (callerTurns >= 2) content = JSON.stringify({ say: 'Booked for Tuesday. Goodbye!', action: 'end_call', reason: 'booked' });
    else content = JSON.stringify({ say: 'Would Tuesday or Wednesday suit you?', action: 'continue', reason: '' });
    return content;
  });

const graph = {
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'api' } } },
    { id: 'call', type: 'voice_call', position: { x: 0, y: 140 }, data: { prompt: 'You are the clinic. Offer Tuesday or Wednesday.', greeting: 'Hi, this is the clinic.', variable: 'call', outcomes: ['booked', 'not_interested'], engine: 'realtime' } },
    { id: 'done', type: 'end', position: { x: 0, y: 300 }, data: { text: 'Call done: {{call.outcome}}' } },
    { id: 'missed', type: 'end', position: { x: 250, y: 300 }, data: {} },
    { id: 'failed', type: 'end', position: { x: 500, y: 300 }, data: {} },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'call' },
    { id: 'e2', source: 'call', sourceHandle: 'completed', target: 'done' },
    { id: 'e3', source: 'call', sourceHandle: 'no_answer', target: 'missed' },
    { id: 'e4', source: 'call', sourceHandle: 'failed', target: 'failed' },
  ],
};

export const tests = [
  {
    name: 'voiceux: a voice step picks the sandbox voice line, the simulator makes you the callee, the conversation shows the call',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const llm = await fakeLLM();
      try {
        // This test scripts the model itself: the sandbox's fake LLM (the
        // project's first provider) makes way for it.
        await useOnlyModel(page, 'Voice test model', llm, 'voice-model');
        const f = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Voice try', flow_data: graph });
        assert.equal(f.status, 201, f.text);
        await openFlow(env, f.json.id);

        // The step's form: the channel is a picker of voice numbers, the
        // realtime engine's missing voices are disabled with the reason.
        await node(page, 'call').click();
        const form = page.getByLabel('Properties of call');
        const channel = form.getByLabel('Channel id');
        await channel.locator('option', { hasText: 'Sandbox voice line' }).waitFor({ state: 'attached' });
        await channel.selectOption({ label: 'Sandbox voice line (+15555550100)' });
        const voice = form.getByLabel('Voice', { exact: true });
        const fable = voice.locator('option[value="fable"]');
        assert.equal(await fable.isDisabled(), true, 'fable is not disabled for the realtime engine');
        assert.match(await fable.textContent(), /realtime engine has no voice fable/);
        assert.equal(await voice.locator('option[value="shimmer"]').isDisabled(), false);
        await voice.selectOption('shimmer');
        await env.shot('voiceux-1-step-form');

        // The simulator rings; you are the callee for two turns.
        await page.getByRole('tab', { name: 'Simulator' }).click();
        const sim = page.getByRole('region', { name: 'Simulator' });
        await sim.getByRole('button', { name: 'Start' }).click();
        const card = sim.getByRole('region', { name: 'Phone call' });
        await card.waitFor();
        const transcript = card.getByLabel('Call transcript');
        await transcript.getByText('Hi, this is the clinic.').waitFor();
        await card.getByRole('status').getByText('In call').waitFor();
        await sim.getByText('On a call: you are the callee').waitFor();
        await env.shot('voiceux-2-in-call');
        const say = card.getByLabel('Say as the callee');
        await say.fill('Hello?');
        await card.getByRole('button', { name: 'Say' }).click();
        await transcript.getByText('Would Tuesday or Wednesday suit you?').waitFor();
        await say.fill('Tuesday, please.');
        await say.press('Enter');
        // The card gives way to the call's result once it is recorded.

        // The result, and the session going on by the completed exit.
        const result = sim.getByLabel('Call result').last();
        await result.getByText('The caller booked Tuesday.').waitFor({ timeout: 20000 });
        const text = await result.innerText();
        assert.match(text, /Call completed/);
        assert.match(text, /exit completed/);
        assert.match(text, /booked/);
        await sim.getByText('Call done: booked').waitFor({ timeout: 20000 });
        await result.getByText(/Transcript \(\d+ lines\)/).click();
        await result.getByText('Tuesday, please.').waitFor();
        await result.getByText('Booked for Tuesday. Goodbye!').waitFor();
        await env.shot('voiceux-3-result');

        // A real session's call (the sandbox voice line, a person answering
        // through the sandbox's call routes, as `parley sandbox call` does)
        // lands in the contact's conversation as a call card.
        const chans = await apiCall(page, 'GET', '/sandbox/channels/');
        const line = (chans.json.items ?? []).find((c) => c.type === 'voice');
        assert.ok(line, 'no sandbox voice line: ' + chans.text);
        const live = structuredClone(graph);
        live.nodes[1].data = { ...live.nodes[1].data, channel_id: line.id, engine: 'relay', recording: true };
        live.nodes[2].data = {}; // a voice number sends no chat messages
        const pub = await apiCall(page, 'POST', '/chat-flow/flows/', { name: 'Voice live', is_active: true, flow_data: live });
        assert.equal(pub.status, 201, pub.text);
        const started = await apiCall(page, 'POST', '/sandbox/calls/', { channel_id: line.id, flow: 'Voice live', number: '+15555550177', name: 'Vera Voice' });
        assert.equal(started.status, 201, started.text);
        const path = `/sandbox/calls/${started.json.id}/`;
        const heard = callListener(page, started);
        await heard('Hi, this is the clinic.');
        await apiCall(page, 'POST', path + 'lines/', { text: 'Hello?' });
        await heard('Would Tuesday or Wednesday suit you?');
        await apiCall(page, 'POST', path + 'lines/', { text: 'Tuesday, please.' });
        const done = await heard('result');
        assert.equal(done.result.outcome, 'booked');
        const contacts = await apiCall(page, 'GET', '/contacts/?search=Vera');
        const contact = (contacts.json.results ?? [])[0];
        assert.ok(contact, 'no contact: ' + contacts.text);
        await page.goto(`${env.base}/app/conversations/${contact.id}`);
        const history = page.getByRole('log', { name: 'Message history' });
        const call = history.getByLabel('Call result');
        await call.waitFor();
        assert.match(await call.innerText(), /Call completed[\s\S]*booked[\s\S]*The caller booked Tuesday\./);
        await call.getByText(/Transcript \(\d+ lines\)/).click();
        await call.getByText('Tuesday, please.').waitFor();
        await call.getByLabel('Call recording').waitFor();
        await env.shot('voiceux-4-conversation');
      } finally {
        llm.close();
      }
    },
  },
];
