import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { Recording } from '../../src/store/store.ts';
import type { PhoneCall } from '../phone/phone.ts';
import { api, eventually, sleep } from './harness.ts';
import { SineSource } from '../phone/sine.ts';
import { answerAgent, makeReady, useCallRig, waitCdrOutcome, waitConnected } from './acd-helpers.ts';
import { ACCEPT_HZ, ERROR_HZ, VOICE, hears } from './hearing.ts';

/** One channel's spectrum (Hz → magnitude, summed over sox's windows): `sox … remix N stat -freq`. */
function spectrum(file: string, channel: 1 | 2): Map<number, number> {
  // stat prints its spectrum ("Hz magnitude" per bin, per window) on stderr.
  const out = execFileSync('sh', ['-c', `sox "${file}" -n remix ${channel} stat -freq 2>&1`], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const sum = new Map<number, number>();
  for (const line of out.split('\n')) {
    const m = /^\s*([\d.]+)\s+([\d.e+-]+)\s*$/.exec(line);
    if (m) sum.set(Number(m[1]), (sum.get(Number(m[1])) ?? 0) + Number(m[2]));
  }
  return sum;
}

/** The frequency with the most energy in one channel. */
function dominantHz(file: string, channel: 1 | 2): number {
  let best: [number, number] = [0, -1];
  for (const e of spectrum(file, channel)) if (e[1] > best[1]) best = e;
  return best[0];
}

/** The energy within 20 Hz of `hz`, as a share of the channel's strongest bin's. */
function shareNear(s: Map<number, number>, hz: number): number {
  let near = 0;
  let max = 0;
  for (const [f, m] of s) {
    if (Math.abs(f - hz) <= 20) near = Math.max(near, m);
    max = Math.max(max, m);
  }
  return near / max;
}

/** sox's own reading of the header. */
function soxInfo(file: string): string {
  return execFileSync('sox', ['--i', file], { encoding: 'utf8' });
}

async function recordingsOf(server: Server): Promise<Recording[]> {
  const cdr = (await server.store.calls.listCdr())[0];
  return cdr ? server.store.recordings.listRecordings(cdr.id) : [];
}

async function finishedRecording(server: Server): Promise<Recording> {
  let r: Recording | undefined;
  await eventually(
    async () => (r = (await recordingsOf(server)).find((x) => x.endedAt !== null)) !== undefined,
    5000,
    'a finished recording',
  );
  return r!;
}

interface JourneyBody {
  events: { kind: string; detail?: string }[];
  recordings: { id: number; url: string; durationMs: number; bytes: number; endedAt: string | null }[];
}

/** The agent keys `*` (accept beep), then `key`, and hears `beepHz`. */
async function menuKey(agent: PhoneCall, key: string, beepHz: number): Promise<void> {
  agent.recorder.clear();
  agent.sendDtmf('*');
  await agent.waitForTone(ACCEPT_HZ, 3000, 60);
  agent.recorder.clear();
  agent.sendDtmf(key);
  await agent.waitForTone(beepHz, 3000, 60);
}

/** Call recording end to end (issue 14 item 3): a customer and an agent, each speaking a tone. */
describe('call recording', () => {
  const rig = useCallRig({ expectNoLiveCalls: true });

  it('all: the WAV holds the customer on the left and the agent on the right; the journey lists and serves it (ranges)', async () => {
    const { server } = await rig.startWithTrunk({ sipT1: 25 });
    await server.store.directory.updateCompanySettings(1, { recording: 'all', recordingAnnouncement: 'on' });
    const { customer, agent } = await rig.connectCustomer({
      customerHz: VOICE.customer,
      agentHz: VOICE.agent,
      toneMs: 6000,
    });
    await hears(agent, VOICE.customer);
    await hears(customer, VOICE.agent);
    await eventually(async () => (await recordingsOf(server)).length === 1, 5000, 'recording started');
    await sleep(1500);
    await customer.hangup();
    await waitCdrOutcome(server, 'answered');
    const rec = await finishedRecording(server);
    const file = join(server.recordingsDir, rec.file);

    const info = soxInfo(file);
    expect(info).toMatch(/Channels\s*:\s*2/);
    expect(info).toMatch(/Sample Rate\s*:\s*8000/);
    expect(info).toMatch(/u-law/);
    const bytes = (await readFile(file)).length;
    expect(rec.bytes).toBe(bytes);
    expect(rec.durationMs).toBeGreaterThan(1500);
    expect(dominantHz(file, 1)).toBeCloseTo(VOICE.customer, -1);
    expect(dominantHz(file, 2)).toBeCloseTo(VOICE.agent, -1);

    const cdrId = rec.callId;
    const { status, body } = await api<JourneyBody>(server, `/api/v1/calls/${cdrId}`);
    expect(status).toBe(200);
    expect(body.recordings).toEqual([
      expect.objectContaining({
        id: rec.id,
        durationMs: rec.durationMs,
        bytes,
        url: `/api/v1/calls/${cdrId}/recordings/${rec.id}`,
      }),
    ]);
    const kinds = body.events.map((e) => e.kind);
    expect(kinds.indexOf('recording_started')).toBeGreaterThan(kinds.indexOf('answered'));
    expect(kinds.indexOf('recording_stopped')).toBeGreaterThan(kinds.indexOf('recording_started'));
    expect(kinds.at(-1)).toBe('ended');

    const url = `http://127.0.0.1:${server.httpPort}${body.recordings[0]!.url}`;
    const auth = { authorization: 'Bearer test-token-123' };
    const whole = await fetch(url, { headers: auth });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await whole.arrayBuffer()).equals(await readFile(file))).toBe(true);

    const head = await fetch(url, { headers: { ...auth, range: 'bytes=0-11' } });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-range')).toBe(`bytes 0-11/${bytes}`);
    expect(Buffer.from(await head.arrayBuffer()).toString('latin1', 0, 4)).toBe('RIFF');
    const tail = await fetch(url, { headers: { ...auth, range: 'bytes=-100' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(`bytes ${bytes - 100}-${bytes - 1}/${bytes}`);
    expect((await tail.arrayBuffer()).byteLength).toBe(100);
    const beyond = await fetch(url, { headers: { ...auth, range: `bytes=${bytes}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${bytes}`);

    // No credentials, no recording; another call's id, no recording.
    expect((await fetch(url)).status).toBe(401);
    expect((await api(server, `/api/v1/calls/nope/recordings/${rec.id}`)).status).toBe(404);
  });

  it('follows a transfer: one file, the customer left, the first agent then the colleague in 102 right', async () => {
    const { server, trunk } = await rig.startWithTrunk({ sipT1: 25 });
    await server.store.directory.updateCompanySettings(1, { recording: 'all', recordingAnnouncement: 'off' });
    await makeReady(server, '1003'); // in 102 only
    const { customer, agent } = await rig.connectCustomer({
      login: '1002',
      customerHz: VOICE.customer,
      agentHz: VOICE.agent,
      toneMs: 20_000,
    });
    await hears(customer, VOICE.agent);
    await sleep(1000);
    agent.recorder.clear();
    agent.sendDtmf('*');
    await agent.waitForTone(ACCEPT_HZ, 3000, 60);
    agent.sendDtmf('2102');
    expect(await agent.ended).toBe('remote');
    const { call: colleague } = await answerAgent(trunk, '1003');
    colleague.send(new SineSource(VOICE.colleague, 20_000));
    await waitConnected(server, '1003');
    await hears(customer, VOICE.colleague);
    await sleep(1000);
    await customer.hangup();
    await waitCdrOutcome(server, 'transferred');
    const rec = await finishedRecording(server);
    expect(await recordingsOf(server)).toHaveLength(1);
    const file = join(server.recordingsDir, rec.file);
    const left = spectrum(file, 1);
    const right = spectrum(file, 2);
    expect(dominantHz(file, 1)).toBeCloseTo(VOICE.customer, -1);
    expect(shareNear(right, VOICE.agent)).toBeGreaterThan(0.2);
    expect(shareNear(right, VOICE.colleague)).toBeGreaterThan(0.2);
    // Each side holds only its own: the agents never leak into the customer's channel.
    expect(shareNear(left, VOICE.agent)).toBeLessThan(0.05);
    expect(shareNear(left, VOICE.colleague)).toBeLessThan(0.05);
    expect(shareNear(right, VOICE.customer)).toBeLessThan(0.05);
  });

  it('on_demand (the department overrides the company): *7 starts and stops it with an accept beep', async () => {
    const { server } = await rig.startWithTrunk({ sipT1: 25 });
    const sales = (await server.store.directory.getDepartmentByCode(1, '101'))!;
    await server.store.directory.updateDepartment(sales.id, { recording: 'on_demand' });
    await server.store.directory.updateCompanySettings(1, { recording: 'off', recordingAnnouncement: 'off' });
    const { customer, agent } = await rig.connectCustomer({
      customerHz: VOICE.customer,
      agentHz: VOICE.agent,
      toneMs: 10_000,
    });
    await hears(agent, VOICE.customer);
    expect(await recordingsOf(server)).toEqual([]);

    await menuKey(agent, '7', ACCEPT_HZ);
    await hears(customer, VOICE.agent);
    expect(await recordingsOf(server)).toHaveLength(1);
    await sleep(1000);

    await menuKey(agent, '7', ACCEPT_HZ);
    const rec = await finishedRecording(server);
    await hears(customer, VOICE.agent);
    await customer.hangup();
    await waitCdrOutcome(server, 'answered');
    // Stopped by *7, not by the end: one file, a second or so long.
    expect(await recordingsOf(server)).toHaveLength(1);
    expect(rec.durationMs).toBeGreaterThan(800);
    const file = join(server.recordingsDir, rec.file);
    expect(dominantHz(file, 1)).toBeCloseTo(VOICE.customer, -1);
  });

  it('off: *7 gets the error beep and nothing is recorded', async () => {
    const { server } = await rig.startWithTrunk({ sipT1: 25 });
    const { customer, agent } = await rig.connectCustomer({ agentHz: VOICE.agent, toneMs: 6000 });
    await menuKey(agent, '7', ERROR_HZ);
    await hears(customer, VOICE.agent);
    await customer.hangup();
    await waitCdrOutcome(server, 'answered');
    expect(await recordingsOf(server)).toEqual([]);
  });
});
