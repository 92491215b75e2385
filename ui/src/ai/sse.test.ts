import { describe, expect, it } from 'vitest';
import { SSEParser } from './sse';

describe('SSEParser', () => {
  const stream = 'event: progress\ndata: {"stage":"planning"}\n\nevent: draft\ndata: {"name":"x"}\n\n';

  it('parses whole events', () => {
    expect(new SSEParser().feed(stream)).toEqual([
      { event: 'progress', data: '{"stage":"planning"}' },
      { event: 'draft', data: '{"name":"x"}' },
    ]);
  });

  it('gives the same events whatever the chunking', () => {
    for (const size of [1, 2, 3, 7, 16]) {
      const p = new SSEParser();
      const got = [];
      for (let i = 0; i < stream.length; i += size) got.push(...p.feed(stream.slice(i, i + size)));
      expect(got.map((e) => e.event)).toEqual(['progress', 'draft']);
      expect(got[1].data).toBe('{"name":"x"}');
    }
  });

  it('handles CRLF split across chunks, comments, multi-line data and unnamed events', () => {
    const p = new SSEParser();
    const got = [...p.feed(': keep-alive\r'), ...p.feed('\ndata: a\r\ndata:b\r'), ...p.feed('\n\r\n'), ...p.feed('id: 4\nretry: 10\nevent: x\ndata\n\n')];
    expect(got).toEqual([
      { event: 'message', data: 'a\nb' },
      { event: 'x', data: '' },
    ]);
  });

  it('drops an event not ended by a blank line and events without data', () => {
    const p = new SSEParser();
    expect(p.feed('event: only-name\n\nevent: draft\ndata: {}')).toEqual([]);
    expect(p.end()).toEqual([]);
  });
});
