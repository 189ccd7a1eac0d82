import { useCallback, useEffect, useRef, useState } from 'react';
import { type AgentEvent, type AgentState, type BoardView, type Company, get } from '../api.ts';
import { type T, duration, percent, useT } from '../i18n.tsx';
import { TableHead } from '../ui.tsx';
import { EndCallButton, ForceLogoutButton, MonitorButton } from '../supervise.tsx';

type Agent = BoardView['agents'][number];
type Department = BoardView['departments'][number];
type LiveCall = BoardView['calls'][number];

/** A not-ready agent's reason in words: a missed call, a break, a supervisor's own words. */
function reasonText(t: T, state: AgentState, reason: string): string {
  if (state !== 'temporarily_not_ready' && state !== 'not_ready') return '';
  return t.reasons[reason] ?? reason;
}

/**
 * The live board of one company (issue 14 item 6): a card per department with today's figures
 * and the queue now, the agents, the calls in progress. One read (`GET /api/v1/board`), kept
 * current by the event stream; waits and times in state tick here from the server's times.
 */
export function Board({ company }: { company: Company }) {
  const t = useT();
  const [board, setBoard] = useState<BoardView | null>(null);
  const [department, setDepartment] = useState('');
  /** The filter's choices: the company's departments, from the last read of them all. */
  const [choices, setChoices] = useState<{ code: string; name: string }[]>([]);
  const [connected, setConnected] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  /** Server clock minus ours, so that waits do not drift with a skewed browser clock. */
  const skew = useRef(0);

  useEffect(() => setDepartment(''), [company.id]);

  const load = useCallback(async (): Promise<void> => {
    const q = department ? `&department=${department}` : '';
    const b = await get<BoardView>(`/api/v1/board?companyId=${company.id}${q}`);
    skew.current = Date.parse(b.now) - Date.now();
    setBoard(b);
    if (!department) setChoices(b.departments.map(({ code, name }) => ({ code, name })));
  }, [company.id, department]);

  useEffect(() => {
    void load();
    // Same origin: EventSource sends the session cookie; no secret goes into the URL.
    const source = new EventSource(`/api/v1/events?companyId=${company.id}`);
    let pending: ReturnType<typeof setTimeout> | undefined;
    const refreshSoon = (): void => {
      clearTimeout(pending);
      pending = setTimeout(() => void load(), 150);
    };
    source.onopen = () => {
      setConnected(true);
      void load(); // anything missed while the stream was down
    };
    source.onerror = () => setConnected(false);
    source.addEventListener('agent', (e: MessageEvent<string>) => {
      const ev = JSON.parse(e.data) as AgentEvent;
      setBoard(
        (b) =>
          b && {
            ...b,
            agents: b.agents.map((a) =>
              a.login === ev.login ? { ...a, state: ev.to, stateSince: ev.at, stateReason: ev.reason } : a,
            ),
          },
      );
      refreshSoon(); // queue counts and today's figures
    });
    source.addEventListener('call', refreshSoon);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    // Events carry every change; this only rolls the day over and heals a missed event.
    const poll = setInterval(() => void load(), 30_000);
    return () => {
      source.close();
      clearInterval(tick);
      clearInterval(poll);
      clearTimeout(pending);
    };
  }, [company.id, load]);

  const serverNow = now + skew.current;
  const since = (iso: string | null): string => (iso ? duration((serverNow - Date.parse(iso)) / 1000) : '—');
  const nameOf = (login: string | null): string =>
    login ? `${login} ${board?.agents.find((a) => a.login === login)?.name ?? ''}` : '—';

  return (
    <div className="board">
      <section className="card board-bar">
        <h2>
          {t.board}{' '}
          <span className={`live ${connected ? 'on' : 'off'}`} data-testid="live-indicator">
            {connected ? t.live : t.offline}
          </span>
        </h2>
        <label className="inline-label">
          {t.department}{' '}
          <select
            value={department}
            onChange={(e) => setDepartment(e.target.value)}
            data-testid="board-department"
          >
            <option value="">{t.allDepartments}</option>
            {choices.map((d) => (
              <option key={d.code} value={d.code}>
                {d.code} {d.name}
              </option>
            ))}
          </select>
        </label>
      </section>
      <div className="dept-cards" data-testid="department-cards">
        {board?.departments.map((d) => (
          <DepartmentCard key={d.code} d={d} since={since} serviceLevelSeconds={board.serviceLevelSeconds} />
        ))}
      </div>
      <section className="card">
        <h2>{t.agents}</h2>
        <table className="stack" data-testid="agents-table">
          <TableHead columns={[t.agent, t.state, t.inState, t.callsToday, t.ahtShort]} />
          <tbody>
            {board?.agents.map((a) => (
              <AgentRow key={a.login} a={a} since={since} />
            ))}
          </tbody>
        </table>
      </section>
      <section className="card">
        <h2>{t.liveCalls}</h2>
        {!board?.calls.length ? (
          <p className="muted">{t.noLiveCalls}</p>
        ) : (
          <table className="stack" data-testid="calls-table">
            <TableHead columns={[t.caller, t.department, t.state, t.agent, t.time, '']} />
            <tbody>
              {board.calls.map((c) => (
                <CallRow
                  key={c.id}
                  c={c}
                  since={since}
                  agentName={nameOf(c.agentLogin)}
                  companyId={company.id}
                />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function DepartmentCard({
  d,
  since,
  serviceLevelSeconds,
}: {
  d: Department;
  since: (iso: string | null) => string;
  serviceLevelSeconds: number;
}) {
  const t = useT();
  const id = `dept-${d.code}`;
  const figure = (key: string, label: string, value: string, warn = false) => (
    <div className="figure">
      <span className={`value ${warn ? 'warn' : ''}`} data-testid={`${id}-${key}`}>
        {value}
      </span>
      <span className="label">{label}</span>
    </div>
  );
  const today = d.today;
  return (
    <section className="card dept" data-testid={id}>
      <h2>
        {d.code} {d.name}
      </h2>
      <div className="figures">
        {figure('waiting', t.waiting, String(d.waiting), d.waiting > 0)}
        {figure('longest', t.longestWait, d.waiting ? since(d.longestWaitSince) : '—', d.waiting > 0)}
        {figure('agents', t.readyOfLoggedIn, `${d.readyAgents} / ${d.loggedInAgents}`)}
      </div>
      <div className="figures today">
        {figure('sl', `${t.serviceLevel} ≤ ${serviceLevelSeconds} ${t.sec}`, percent(today.serviceLevel))}
        {figure(
          'asa',
          t.asaShort,
          today.averageSpeedOfAnswer === null ? '—' : duration(today.averageSpeedOfAnswer),
        )}
        {figure('offered', t.offered, String(today.offered))}
        {figure('answered', t.answered, String(today.answered))}
        {figure('abandoned', t.abandoned, String(today.abandoned), today.abandoned > 0)}
      </div>
      <p className="muted today-note">{t.todayNote}</p>
    </section>
  );
}

function AgentRow({ a, since }: { a: Agent; since: (iso: string | null) => string }) {
  const t = useT();
  const reason = reasonText(t, a.state, a.stateReason);
  return (
    <tr data-testid={`agent-${a.login}`}>
      <td data-label={t.agent}>
        {a.login} {a.name}
      </td>
      <td data-label={t.state}>
        <span
          className={`state state-${a.state}`}
          data-testid={`agent-${a.login}-state`}
          data-state={a.state}
        >
          {t.states[a.state]}
        </span>
        {reason && (
          <span className="reason" data-testid={`agent-${a.login}-reason`}>
            {' '}
            {reason}
          </span>
        )}
      </td>
      <td className="num" data-label={t.inState} data-testid={`agent-${a.login}-since`}>
        {a.state === 'logged_out' ? '—' : since(a.stateSince)}
      </td>
      <td className="num" data-label={t.callsToday} data-testid={`agent-${a.login}-calls`}>
        {a.today.calls}
      </td>
      <td className="num" data-label={t.ahtShort} data-testid={`agent-${a.login}-aht`}>
        {a.today.averageHandleTime === null ? '—' : duration(a.today.averageHandleTime)}
      </td>
      {(a.state === 'offered' || a.state === 'busy') && (
        <td data-label="">
          <ForceLogoutButton login={a.login} />
        </td>
      )}
    </tr>
  );
}

function CallRow({
  c,
  since,
  agentName,
  companyId,
}: {
  c: LiveCall;
  since: (iso: string | null) => string;
  agentName: string;
  companyId: number;
}) {
  const t = useT();
  // A connected call counts its talk from the answer; a waiting one its wait in this queue.
  const talking = c.state === 'connected';
  const from = talking ? c.answeredAt : c.waitingSince;
  return (
    <tr data-testid={`call-${c.callerId}`}>
      <td data-label={t.caller}>
        <a href={`#calls/${encodeURIComponent(c.id)}`} title={t.journeyOf}>
          {c.callerId}
        </a>
      </td>
      <td data-label={t.department}>{c.department}</td>
      <td data-label={t.state} data-state={c.state}>
        {t.callStates[c.state] ?? c.state}
      </td>
      <td data-label={t.agent}>{agentName}</td>
      <td
        className="num"
        data-label={t.time}
        data-testid={`call-${c.callerId}-time`}
        data-kind={talking ? 'talk' : 'wait'}
      >
        {from ? `${talking ? t.talk : t.wait} ${since(from)}` : '—'}
      </td>
      <td data-label="">
        {/* An agent talking with the customer: a supervisor may hear the call (listen, whisper, barge). */}
        {talking && c.agentLogin && <MonitorButton login={c.agentLogin} companyId={companyId} />}
        <EndCallButton callId={c.id} caller={c.callerId} />
      </td>
    </tr>
  );
}
