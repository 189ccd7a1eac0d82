import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DIAG_ECHO } from '../../src/diag/diagnostics.ts';
import type { Server } from '../../src/server.ts';
import { firstNonLoopbackIPv4 } from '../../src/util/advertise.ts';
import type { TestPhone } from '../phone/phone.ts';
import { phone, startServer } from './harness.ts';

/**
 * Issue 10, addresses: listening on 0.0.0.0 without --advertise must not put
 * 127.0.0.1 in the SDP while the machine has a real interface. The test only
 * reads the SDP answer: no media is sent to that address (in-dialog SIP goes
 * back over the loopback flow), so test traffic stays on loopback.
 */
describe('advertised address', () => {
  let server: Server | undefined;
  let caller: TestPhone | undefined;
  afterEach(async () => {
    await caller?.close();
    await server?.stop();
  });

  it('on 0.0.0.0 without --advertise, the SDP answer carries a non-loopback address (or a warn says why not)', async () => {
    const lines: { level: number; msg: string; advertise?: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString('utf8').split('\n'))
          if (l) lines.push(JSON.parse(l) as (typeof lines)[0]);
        cb();
      },
    });
    server = await startServer({
      sipHost: '0.0.0.0',
      httpHost: '127.0.0.1',
      logger: pino({ level: 'info' }, sink),
    });
    const expected = firstNonLoopbackIPv4();
    caller = await phone({ number: '+79001112233' });
    const call = await caller.call(DIAG_ECHO, { port: server.sipPort });
    const sdpHost = call.rtp.remote?.host;
    if (expected) {
      expect(sdpHost).toBe(expected);
      expect(sdpHost).not.toMatch(/^127\./);
      expect(lines.some((l) => l.level === 30 && l.advertise === expected && /--advertise/.test(l.msg))).toBe(
        true,
      );
    } else {
      expect(sdpHost).toBe('127.0.0.1');
      expect(lines.some((l) => l.level === 40 && /no non-loopback interface/.test(l.msg))).toBe(true);
    }
    await call.hangup();
  });
});
