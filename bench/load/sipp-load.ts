/**
 * sipp at load: the scenarios the bench writes (customers calling the hotline with their
 * media on the generator, the agents' phones behind the trunk with theirs on the echo, and
 * short service-IVR calls for the CPS ramp), runs with many calls, and sipp's statistics
 * file (-trace_stat) read back for the counts of calls.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnTool, type ToolProcess } from '../../test/interop/tool-process.ts';

const SDP = (port: string): string => `v=0
o=bench 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio ${port} RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
`;

const wrap = (name: string, body: string): string =>
  `<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n<scenario name="${name}">\n${body}\n</scenario>\n`;

const dialog = (user: string): Record<'from' | 'to' | 'contact', string> => ({
  from: `From: <sip:${user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]`,
  to: `To: <sip:[service]@[remote_ip]:[remote_port]>`,
  contact: `Contact: <sip:${user}@[local_ip]:[local_port];transport=[transport]>`,
});

/** INVITE with `sdp`, answered, ACK, `holdMs`, BYE: one UAC call. */
function uacCall(user: string, sdp: string, holdMs: number): string {
  const d = dialog(user);
  const request = (method: string, cseq: number, extra: string, body = ''): string => `
  <send retrans="500"><![CDATA[

      ${method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${d.from}
      ${d.to}${method === 'INVITE' ? '' : '[peer_tag_param]'}
      Call-ID: [call_id]
      CSeq: ${cseq} ${method}
      ${d.contact}
      Max-Forwards: 70
${extra}      Content-Length: [len]

${body}
    ]]></send>`;
  return `${request('INVITE', 1, '      Content-Type: application/sdp\n', sdp)}
  <recv response="100" optional="true" />
  <recv response="180" optional="true" />
  <recv response="183" optional="true" />
  <recv response="200" rtd="true" />
${request('ACK', 1, '').replace(' retrans="500"', '')}
  <pause milliseconds="${holdMs}" />
${request('BYE', 2, '')}
  <recv response="200" crlf="true" />`;
}

/** Customers (their RTP on the generator's stream of this call: field0 of the inject file). */
export const customerScenario = (holdMs: number): string =>
  wrap('bench customer', uacCall('[field1]', SDP('[field0]'), holdMs));

/** Service-IVR calls for the CPS ramp: answered, the PIN prompt heard for `holdMs`, BYE. */
export const ivrScenario = (holdMs: number): string =>
  wrap('bench IVR call', uacCall('+79169990000', SDP('[media_port]'), holdMs));

/** The agents' phones behind the trunk: answer at once with media on the echo, wait for the BYE. */
export function agentScenario(echoPort: number): string {
  const response = (status: string, sdp?: string): string => `
  <send${sdp ? ' retrans="500"' : ''}><![CDATA[

      SIP/2.0 ${status}
      [last_Via:]
      [last_From:]
      [last_To:]${status.startsWith('200') && sdp ? ';tag=[pid]SIPpTag01[call_number]' : ''}
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:agent@[local_ip]:[local_port];transport=[transport]>
${sdp ? '      Content-Type: application/sdp\n' : ''}      Content-Length: [len]

${sdp ?? ''}
    ]]></send>`;
  return wrap(
    'bench agent phones',
    `  <recv request="INVITE" crlf="true" />
${response('200 OK', SDP(String(echoPort)))}
  <recv request="ACK" crlf="true" />
  <recv request="BYE" />
${response('200 OK')}
  <timewait milliseconds="500" />`,
  );
}

/** The inject file of the customers: call i's RTP port and calling number. */
export function writeCustomers(file: string, n: number, genBase: number): void {
  const lines = ['SEQUENTIAL'];
  for (let i = 0; i < n; i++) lines.push(`${genBase + 2 * i};+7916${String(i).padStart(7, '0')}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}

export interface SippLoadOptions {
  dir: string;
  name: string;
  scenario: string;
  /** SIP port; control on +1, media on +4 (sipp binds +4 and +6). */
  port: number;
  /** UAC: the server's SIP port, the Request-URI user, calls, calls per second. */
  remotePort?: number;
  service?: string;
  calls?: number;
  rate?: number;
  inject?: string;
  timeoutMs: number;
}

export interface SippCounts {
  created: number;
  successful: number;
  failed: number;
  current: number;
}

/** A sipp run at load; its counts come from its statistics file, written every second. */
export class SippLoad {
  private constructor(
    readonly proc: ToolProcess,
    private readonly statFile: string,
    private readonly errorFile: string,
  ) {}

  /** The last line of its -trace_err file (why a call failed), or ''. */
  lastError(): string {
    try {
      const lines = readFileSync(this.errorFile, 'utf8').trim().split('\n');
      return (lines.at(-1) ?? '').slice(0, 160);
    } catch {
      return '';
    }
  }

  static start(sipp: string, o: SippLoadOptions): SippLoad {
    const scenario = path.join(o.dir, `${o.name}.xml`);
    writeFileSync(scenario, o.scenario);
    const statFile = path.join(o.dir, `${o.name}-stat.csv`);
    const errorFile = path.join(o.dir, `${o.name}-errors.log`);
    const args = [
      ...(o.remotePort !== undefined ? [`127.0.0.1:${o.remotePort}`, '-s', o.service ?? ''] : []),
      ...['-sf', scenario, '-nostdin', '-aa', '-i', '127.0.0.1', '-p', String(o.port)],
      ...['-ci', '127.0.0.1', '-cp', String(o.port + 1), '-mi', '127.0.0.1', '-mp', String(o.port + 4)],
      ...(o.calls !== undefined ? ['-m', String(o.calls), '-l', String(o.calls)] : []),
      ...(o.rate !== undefined ? ['-r', String(o.rate), '-rp', '1000'] : []),
      ...(o.inject ? ['-inf', o.inject] : []),
      ...['-max_socket', '4096', '-trace_stat', '-stf', statFile, '-fd', '1'],
      ...['-trace_err', '-error_file', errorFile],
    ];
    return new SippLoad(
      spawnTool(sipp, args, { cwd: o.dir, timeoutMs: o.timeoutMs, name: o.name }),
      statFile,
      errorFile,
    );
  }

  /** The latest counts (zeros before the first dump). */
  counts(): SippCounts {
    let text: string;
    try {
      text = readFileSync(this.statFile, 'utf8');
    } catch {
      return { created: 0, successful: 0, failed: 0, current: 0 };
    }
    const rows = text.trim().split('\n');
    const header = (rows[0] ?? '').split(';');
    const last = (rows[rows.length - 1] ?? '').split(';');
    const col = (name: string): number => Number(last[header.indexOf(name)] ?? 0) || 0;
    return {
      created: col('TotalCallCreated'),
      successful: col('SuccessfulCall(C)'),
      failed: col('FailedCall(C)'),
      current: col('CurrentCall'),
    };
  }
}
