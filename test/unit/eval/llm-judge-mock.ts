// A scripted OpenAI-compatible judge endpoint for the LLM-judge tests (node:http): it records every
// request and answers through a handler the test sets, by default a judge that prefers the output
// holding "GOOD", read from the rendered prompt, so a judge that failed to swap the orders is caught.
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

export interface SeenRequest {
  authorization: string | undefined;
  body: { model: string; messages: { role: string; content: string }[]; temperature: number; max_tokens: number };
}

/** The two outputs as the judge saw them, cut out of the default template's sections. */
export function outputsOf(r: SeenRequest): { a: string; b: string } {
  const text = r.body.messages[0].content;
  const a = /## Output A\n([\s\S]*?)\n\n## Output B/.exec(text);
  const b = /## Output B\n([\s\S]*?)\n\nExplain/.exec(text);
  if (!a || !b) throw new Error(`the mock judge could not find the outputs in: ${text}`);
  return { a: a[1], b: b[1] };
}

export type Handler = (r: SeenRequest, res: http.ServerResponse, req: http.IncomingMessage, index: number) => void;

export function chatReply(res: http.ServerResponse, content: string | null, model = 'judge-1'): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(
    JSON.stringify({ id: 'c1', object: 'chat.completion', model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }),
  );
}

export function errorReply(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify({ error: { message, type: 'error', param: null, code: null } }));
}

/** Prefers the output containing GOOD; "tie" when both or neither do. */
export const prefersGood: Handler = (r, res) => {
  const { a, b } = outputsOf(r);
  const [ga, gb] = [a.includes('GOOD'), b.includes('GOOD')];
  const winner = ga === gb ? 'tie' : ga ? 'A' : 'B';
  chatReply(res, `Output ${winner === 'tie' ? 'A and B are alike' : winner + ' is better'}.\nWinner: ${winner}`);
};

export class MockJudge {
  readonly requests: SeenRequest[] = [];
  handler: Handler = prefersGood;
  inFlight = 0;
  maxInFlight = 0;
  private readonly server: http.Server;
  url = '';

  constructor() {
    this.server = http.createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => {
        const seen: SeenRequest = { authorization: req.headers.authorization, body: JSON.parse(text) as SeenRequest['body'] };
        this.requests.push(seen);
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        res.on('close', () => this.inFlight--);
        this.handler(seen, res, req, this.requests.length - 1);
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this;
  }

  reset(handler: Handler = prefersGood): void {
    this.requests.length = 0;
    this.handler = handler;
    this.maxInFlight = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
