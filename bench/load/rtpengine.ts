/**
 * rtpengine (Debian rtpengine-daemon, userspace) as the bench's reference relay: started on
 * loopback with its own ng port and port range, driven with the `rtpengine-client` package
 * (ng protocol: an offer and an answer per call), stopped at the end.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { spawnTool, type ToolProcess } from '../../test/interop/tool-process.ts';

interface NgResponse {
  result: string;
  sdp?: string;
  'error-reason'?: string;
}
interface NgClient {
  ping(port: number, host: string): Promise<NgResponse>;
  offer(port: number, host: string, o: Record<string, unknown>): Promise<NgResponse>;
  answer(port: number, host: string, o: Record<string, unknown>): Promise<NgResponse>;
  delete(port: number, host: string, o: Record<string, unknown>): Promise<NgResponse>;
  close(): void;
}
// The package is CommonJS without types: the few calls used are typed above.
const { Client } = createRequire(import.meta.url)('rtpengine-client') as {
  Client: new (o: { localAddress: string; localPort: number; timeout: number }) => NgClient;
};

const sdp = (port: number): string =>
  `v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
  `m=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n`;

const mediaPort = (body: string | undefined): number => {
  const m = /^m=audio (\d+) /m.exec(body ?? '');
  if (!m) throw new Error(`rtpengine: no m=audio in ${JSON.stringify(body)}`);
  return Number(m[1]);
};

export class Rtpengine {
  private constructor(
    readonly proc: ToolProcess,
    private readonly client: NgClient,
    private readonly ngPort: number,
  ) {}

  static async start(
    binary: string,
    o: { dir: string; ngPort: number; portMin: number; portMax: number; timeoutMs: number },
  ): Promise<Rtpengine> {
    const proc = spawnTool(
      binary,
      [
        '--foreground',
        '--log-stderr',
        '--log-level=4',
        '--interface=127.0.0.1',
        `--listen-ng=127.0.0.1:${o.ngPort}`,
        `--port-min=${o.portMin}`,
        `--port-max=${o.portMax}`,
        '--table=-1',
        `--pidfile=${path.join(o.dir, 'rtpengine.pid')}`,
      ],
      { timeoutMs: o.timeoutMs, name: 'rtpengine' },
    );
    const client = new Client({ localAddress: '127.0.0.1', localPort: 0, timeout: 2000 });
    const engine = new Rtpengine(proc, client, o.ngPort);
    const until = Date.now() + 10_000;
    for (;;) {
      if (!proc.alive) throw new Error(`rtpengine exited at start\n${proc.tail(20)}`);
      const pong = await client.ping(o.ngPort, '127.0.0.1').catch(() => undefined);
      if (pong?.result === 'pong') return engine;
      if (Date.now() > until) {
        await engine.stop();
        throw new Error(`rtpengine: no pong within 10 s\n${proc.tail(20)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  /**
   * One relayed call between the caller's RTP port and the callee's: returns the port the
   * caller sends to (rtpengine relays to the callee from the port it offered the callee).
   */
  async call(callId: string, callerPort: number, calleePort: number): Promise<number> {
    const host = '127.0.0.1';
    const offer = await this.client.offer(this.ngPort, host, {
      'call-id': callId,
      'from-tag': 'caller',
      sdp: sdp(callerPort),
    });
    if (offer.result !== 'ok') throw new Error(`rtpengine offer: ${offer['error-reason'] ?? offer.result}`);
    mediaPort(offer.sdp);
    const answer = await this.client.answer(this.ngPort, host, {
      'call-id': callId,
      'from-tag': 'caller',
      'to-tag': 'callee',
      sdp: sdp(calleePort),
    });
    if (answer.result !== 'ok')
      throw new Error(`rtpengine answer: ${answer['error-reason'] ?? answer.result}`);
    return mediaPort(answer.sdp);
  }

  async hangUp(callId: string): Promise<void> {
    await this.client.delete(this.ngPort, '127.0.0.1', { 'call-id': callId, 'from-tag': 'caller' });
  }

  async stop(): Promise<void> {
    this.client.close();
    await this.proc.kill(3000);
  }
}
