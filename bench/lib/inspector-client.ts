/**
 * Talks to a Node process started with --inspect=127.0.0.1:<port> over the DevTools protocol
 * (https://chromedevtools.github.io/devtools-protocol/v8/): forces a full GC and reads
 * process.memoryUsage() from inside, so live heap per call is measured without any hook in watrunk.
 */
import { WebSocket } from 'undici';

export class InspectorClient {
  private nextId = 1;
  private readonly pending = new Map<number, (r: { result?: unknown; error?: unknown }) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: unknown };
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg);
    });
  }

  static async connect(port: number, timeoutMs = 10_000): Promise<InspectorClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
        const ws = new WebSocket(list[0]!.webSocketDebuggerUrl);
        await new Promise<void>((resolve, reject) => {
          ws.addEventListener('open', () => resolve());
          ws.addEventListener('error', () => reject(new Error('inspector websocket error')));
        });
        return new InspectorClient(ws);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`${method}: no answer`)); }, 30_000);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (r.error) reject(new Error(`${method}: ${JSON.stringify(r.error)}`));
        else resolve(r.result);
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Full GC (twice, so weakly held objects go too), then the process's memory usage. */
  async memoryAfterGc(): Promise<{ rss: number; heapUsed: number; heapTotal: number; external: number }> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const r = (await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    return JSON.parse(r.result.value) as { rss: number; heapUsed: number; heapTotal: number; external: number };
  }

  close(): void { this.ws.close(); }
}
