import { describe, expect, it } from 'vitest';
import { template } from './testutil';
import { condition, evaluate, resolve, type EvalCtx } from './expr';
import { back, current, entryScreen, missingRequired, parseFlow, runAction, setField, shownChildren, start, ctxOf, type FlowJSON, type FlowAction, type RunState } from './runtime';

const ctx = (data: Record<string, unknown>, form: Record<string, unknown> = {}, screens: EvalCtx['screens'] = {}): EvalCtx => ({ data, form, screens });


function footerAction(s: RunState): FlowAction {
  const screen = s.flow.screens.find((x) => x.id === current(s).id)!;
  const footer = shownChildren(screen.layout?.children, ctxOf(s)).find((c) => c.type === 'Footer')!;
  return footer['on-click-action'] as FlowAction;
}

describe('expressions', () => {
  it('resolves references keeping their types', () => {
    const c = ctx({ n: 3, list: ['a'], obj: { sub: 'x' } }, { name: 'Ana' }, { OTHER: { data: {}, form: { city: 'Lisbon' } } });
    expect(resolve('${data.n}', c)).toBe(3);
    expect(resolve('${data.list}', c)).toEqual(['a']);
    expect(resolve('${data.obj.sub}', c)).toBe('x');
    expect(resolve('${screen.OTHER.form.city}', c)).toBe('Lisbon');
    expect(resolve({ a: '${form.name}', b: ['${data.n}'] }, c)).toEqual({ a: 'Ana', b: [3] });
    expect(resolve('Hi ${form.name}!', c)).toBe('Hi Ana!');
  });
  it('evaluates nested expressions: concatenation, math, comparisons', () => {
    const c = ctx({ price: 10, qty: 3, zero: 0 }, { name: 'Ana' });
    expect(resolve("`'Hello ' ${form.name}`", c)).toBe('Hello Ana');
    expect(resolve('`${data.price} * ${data.qty} + 1`', c)).toBe(31);
    expect(resolve('`${data.price} / ${data.zero}`', c)).toBe(0);
    expect(resolve('`${data.price} % 4`', c)).toBe(2);
    expect(resolve('`${data.qty} >= 3 && ${form.name} == \'Ana\'`', c)).toBe(true);
    expect(evaluate("!(${data.qty} < 2) || false", c)).toBe(true);
  });
  it('evaluates If conditions; broken ones are false', () => {
    expect(condition("(${data.value} && (${form.animal} == 'cat'))", ctx({ value: true }, { animal: 'cat' }))).toBe(true);
    expect(condition("(${data.value} && (${form.animal} == 'cat'))", ctx({ value: true }, { animal: 'dog' }))).toBe(false);
    expect(condition('${form.missing}', ctx({}))).toBe(false);
    expect(condition('((', ctx({}))).toBe(false);
  });
});

describe('runtime', () => {
  it('fills the appointment template and completes with every answer', () => {
    let s = start(template('appointment_booking'));
    expect(current(s).id).toBe('APPOINTMENT');
    expect(missingRequired(s)).toEqual(['Service', 'Date', 'Time']);
    s = setField(setField(setField(s, 'service', 'check_up'), 'date', '2026-03-02'), 'time', '11:00');
    expect(missingRequired(s)).toEqual([]);
    s = runAction(s, footerAction(s));
    expect(current(s)).toMatchObject({ id: 'DETAILS', data: { service: 'check_up', date: '2026-03-02', time: '11:00' } });
    s = setField(setField(s, 'name', 'Ana'), 'email', 'ana@example.com');
    s = runAction(s, footerAction(s));
    expect(current(s).id).toBe('SUMMARY');
    s = setField(s, 'reminders', true);
    s = runAction(s, footerAction(s));
    expect(s.completed?.payload).toEqual({
      service: 'check_up', date: '2026-03-02', time: '11:00', name: 'Ana', email: 'ana@example.com',
      phone: undefined, notes: undefined, reminders: true,
    });
  });
  it('goes back keeping what was typed, for ${screen.…} references', () => {
    let s = start(template('survey'));
    s = setField(s, 'rating', '4');
    s = runAction(s, footerAction(s));
    expect(current(s).id).toBe('COMMENTS');
    s = back(s);
    expect(current(s)).toMatchObject({ id: 'RATING', form: { rating: '4' } });
    expect(back(s)).toBe(s);
  });
  it('evaluates If and Switch against sample data', () => {
    const flow: FlowJSON = {
      version: '6.0',
      screens: [{
        id: 'A', terminal: true,
        data: { mode: { type: 'string', __example__: 'b' }, vip: { type: 'boolean', __example__: false } },
        layout: { type: 'SingleColumnLayout', children: [
          { type: 'If', condition: '${data.vip}', then: [{ type: 'TextBody', text: 'vip' }], else: [{ type: 'TextBody', text: 'regular' }] },
          { type: 'Switch', value: '${data.mode}', cases: { a: [{ type: 'TextBody', text: 'case a' }], b: [{ type: 'TextBody', text: 'case b' }] } },
          { type: 'TextBody', text: 'hidden', visible: '${data.vip}' },
        ] },
      }],
    };
    const texts = (s: RunState) => shownChildren(s.flow.screens[0].layout!.children, ctxOf(s)).map((c) => c.text);
    expect(texts(start(flow))).toEqual(['regular', 'case b']);
    expect(texts(start(flow, { vip: true, mode: 'a' }))).toEqual(['vip', 'case a', 'hidden']);
  });
  it('runs update_data, open_url and data_exchange without an endpoint', () => {
    const flow: FlowJSON = {
      version: '6.0', data_api_version: '3.0', routing_model: { A: ['B'], B: [] },
      screens: [
        { id: 'A', data: { shown: { type: 'boolean', __example__: false } }, layout: { children: [] } },
        { id: 'B', terminal: true, data: { slot: { type: 'string', __example__: '09:00' } }, layout: { children: [] } },
      ],
    };
    let s = start(flow);
    s = runAction(s, { name: 'update_data', payload: { shown: true } });
    expect(current(s).data.shown).toBe(true);
    expect(runAction(s, { name: 'open_url', url: 'https://example.com' }).notice).toMatch(/example\.com/);
    s = runAction(s, { name: 'data_exchange', payload: { shown: '${data.shown}' } });
    expect(current(s)).toMatchObject({ id: 'B', data: { slot: '09:00' } });
    expect(s.notice).toContain('{"shown":true}');
    s = runAction(s, { name: 'data_exchange', payload: { slot: '${data.slot}' } });
    expect(s.completed).toEqual({ screen: 'B', payload: { slot: '09:00' }, viaEndpoint: true });
    expect(s.notice).toMatch(/SUCCESS/);
  });
  it('finds the entry screen and reports broken documents', () => {
    expect(entryScreen({ routing_model: { START: ['END'] }, screens: [{ id: 'END' }, { id: 'START' }] }).id).toBe('START');
    expect(parseFlow('{').error).toMatch(/Not valid JSON/);
    expect(parseFlow('{"screens":[]}').error).toMatch(/screens/);
  });
});
