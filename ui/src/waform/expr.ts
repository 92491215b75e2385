// Evaluates WhatsApp Flow dynamic values the way the WhatsApp client does:
// ${data.x} / ${form.x} / ${screen.S.form.x} references, If conditions and
// 6.0+ nested expressions (backtick-wrapped: comparisons, && || !, math
// + - * / %, and string concatenation by juxtaposition).

export interface EvalCtx {
  data: Record<string, unknown>;
  form: Record<string, unknown>;
  screens: Record<string, { data: Record<string, unknown>; form: Record<string, unknown> }>;
}

type Tok =
  | { k: 'ref'; v: string }
  | { k: 'str'; v: string }
  | { k: 'num'; v: number }
  | { k: 'bool'; v: boolean }
  | { k: 'op'; v: string };

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '+', '-', '*', '/', '%'];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (src.startsWith('${', i)) {
      const end = src.indexOf('}', i);
      if (end < 0) throw new Error('unterminated ${');
      out.push({ k: 'ref', v: src.slice(i + 2, end).trim() });
      i = end + 1;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) j++;
        s += src[j];
        j++;
      }
      if (j >= src.length) throw new Error('unterminated string');
      out.push({ k: 'str', v: s });
      i = j + 1;
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ k: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    if (src.startsWith('true', i) || src.startsWith('false', i)) {
      const v = src.startsWith('true', i);
      out.push({ k: 'bool', v });
      i += v ? 4 : 5;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new Error(`unexpected ${JSON.stringify(c)}`);
    out.push({ k: 'op', v: op });
    i += op.length;
  }
  return out;
}

/** lookup resolves one reference (without ${}) against the context. */
export function lookup(ref: string, ctx: EvalCtx): unknown {
  const parts = ref.split('.');
  let base: unknown;
  let rest: string[];
  if (parts[0] === 'data') {
    base = ctx.data;
    rest = parts.slice(1);
  } else if (parts[0] === 'form') {
    base = ctx.form;
    rest = parts.slice(1);
  } else if (parts[0] === 'screen' && parts.length >= 4) {
    const s = ctx.screens[parts[1]];
    base = s ? (parts[2] === 'form' ? s.form : s.data) : undefined;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  for (const p of rest) {
    if (base == null || typeof base !== 'object') return undefined;
    base = (base as Record<string, unknown>)[p];
  }
  return base;
}

const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : 0;
};

const str = (v: unknown): string => (v == null ? '' : Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** evaluate parses and runs an expression (an If condition or the inside of a nested expression). */
export function evaluate(src: string, ctx: EvalCtx): unknown {
  const toks = tokenize(src);
  let pos = 0;
  const peek = () => toks[pos];
  const isOp = (v: string) => peek()?.k === 'op' && peek().v === v;
  const take = (v: string) => {
    if (isOp(v)) {
      pos++;
      return true;
    }
    return false;
  };
  const bin = (next: () => unknown, ops: string[], apply: (op: string, a: unknown, b: unknown) => unknown) => (): unknown => {
    let left = next();
    for (;;) {
      const op = ops.find((o) => isOp(o));
      if (!op) return left;
      pos++;
      left = apply(op, left, next());
    }
  };
  const primary = (): unknown => {
    const t = peek();
    if (!t) throw new Error('unexpected end of expression');
    if (t.k === 'op' && t.v === '(') {
      pos++;
      const v = or();
      if (!take(')')) throw new Error('missing )');
      return v;
    }
    if (t.k === 'op') throw new Error(`unexpected ${t.v}`);
    pos++;
    return t.k === 'ref' ? lookup(t.v, ctx) : t.v;
  };
  // Juxtaposed operands concatenate as text ("'Hi ' ${form.name}").
  const concat = (): unknown => {
    let v = primary();
    while (peek() && (peek().k !== 'op' || peek().v === '(')) v = str(v) + str(primary());
    return v;
  };
  const unary = (): unknown => {
    if (take('!')) return !unary();
    if (take('-')) return -num(unary());
    return concat();
  };
  const mul = bin(unary, ['*', '/', '%'], (op, a, b) => {
    const x = num(a);
    const y = num(b);
    if (op === '*') return x * y;
    if (y === 0) return 0; // Meta: division or modulo by zero (or null) gives 0
    return op === '/' ? x / y : x % y;
  });
  const add = bin(mul, ['+', '-'], (op, a, b) => (op === '+' ? num(a) + num(b) : num(a) - num(b)));
  const rel = bin(add, ['<=', '>=', '<', '>'], (op, a, b) => {
    const x = num(a);
    const y = num(b);
    return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
  });
  const eq = bin(rel, ['==', '!='], (op, a, b) => (op === '==' ? looseEq(a, b) : !looseEq(a, b)));
  const and = bin(eq, ['&&'], (_, a, b) => truthy(a) && truthy(b));
  const or: () => unknown = bin(and, ['||'], (_, a, b) => truthy(a) || truthy(b));
  const v = or();
  if (pos < toks.length) throw new Error('unexpected text after the expression');
  return v;
}

function looseEq(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return num(a) === num(b);
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return str(a) === str(b);
}

/** truthy is the client's notion of a true condition: empty values are false. */
export function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return Boolean(v);
}

/** condition evaluates an If condition; a broken one is false (and reported by the validator). */
export function condition(src: string, ctx: EvalCtx): boolean {
  try {
    return truthy(evaluate(src, ctx));
  } catch {
    return false;
  }
}

/**
 * resolve turns a property value into what the client shows: a lone
 * ${ref} keeps its type, a backtick-wrapped nested expression is evaluated,
 * other strings have their references replaced; objects and arrays are
 * resolved deeply (action payloads).
 */
export function resolve(v: unknown, ctx: EvalCtx): unknown {
  if (typeof v === 'string') {
    const t = v.trim();
    if (t.length > 1 && t.startsWith('`') && t.endsWith('`')) {
      try {
        return evaluate(t.slice(1, -1), ctx);
      } catch {
        return v;
      }
    }
    const lone = /^\$\{([^}]*)\}$/.exec(t);
    if (lone) return lookup(lone[1].trim(), ctx);
    if (v.includes('${')) return v.replace(/\$\{([^}]*)\}/g, (_, r: string) => str(lookup(r.trim(), ctx)));
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => resolve(x, ctx));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, resolve(x, ctx)]));
  }
  return v;
}

/** text resolves a property to display text. */
export function text(v: unknown, ctx: EvalCtx): string {
  return str(resolve(v, ctx));
}
