import { useCallback, useEffect, useRef, useState } from 'react';
import { type Agent, type AgentEvent, type Company, type LiveCall, type Queue, get } from '../api.ts';
import { duration, useT } from '../i18n.tsx';
import { TableHead } from '../ui.tsx';

/** Agents, queues and live calls of one company, kept current by the event stream. */
export function Board({ company }: { company: Company }) {
  const t = useT();
  const [agents, setAgents] = useState<Agent[]>([]);
  const [queues, setQueues] = useState<Queue[]>([]);
  const [calls, setCalls] = useState<LiveCall[]>([]);
  const [connected, setConnected] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  /** Server clock minus ours, so that "time in state" does not drift with a skewed browser clock. */
  const skew = useRef(0);

  const loadQueues = useCallback(async (): Promise<void> => {
    const [q, c] = await Promise.all([
      get<{ queues: Queue[] }>(`/api/v1/queues?companyId=${company.id}`),
      get<{ calls: LiveCall[] }>(`/api/v1/calls/live?companyId=${company.id}`),
    ]);
    setQueues(q.queues);
    setCalls(c.calls);
  }, [company.id]);

  const loadAll = useCallback(async (): Promise<void> => {
    const a = await get<{ agents: Agent[] }>(`/api/v1/agents?companyId=${company.id}`);
    setAgents(a.agents);
    await loadQueues();
  }, [company.id, loadQueues]);

  useEffect(() => {
    void loadAll();
    // Same origin: EventSource sends the session cookie; no secret goes into the URL.
    const source = new EventSource(`/api/v1/events?companyId=${company.id}`);
    let pending: ReturnType<typeof setTimeout> | undefined;
    const refreshSoon = (): void => {
      clearTimeout(pending);
      pending = setTimeout(() => void loadQueues(), 150);
    };
    source.onopen = () => {
      setConnected(true);
      void loadAll(); // anything missed while the stream was down
    };
    source.onerror = () => setConnected(false);
    source.addEventListener('agent', (e: MessageEvent<string>) => {
      const ev = JSON.parse(e.data) as AgentEvent;
      skew.current = Date.parse(ev.at) - Date.now();
      setAgents((list) =>
        list.map((a) => (a.login === ev.login ? { ...a, state: ev.to, stateSince: ev.at } : a)),
      );
      refreshSoon();
      if (ev.to === 'ready' && ev.from === 'logged_out') void loadAll(); // the session contact changed
    });
    source.addEventListener('call', refreshSoon);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    // Waiting times of queued calls tick too: re-read them every few seconds while any wait.
    const poll = setInterval(() => void loadQueues(), 5000);
    return () => {
      source.close();
      clearInterval(tick);
      clearInterval(poll);
      clearTimeout(pending);
    };
  }, [company.id, loadAll, loadQueues]);

  const serverNow = now + skew.current;
  const since = (iso: string | null): string => (iso ? duration((serverNow - Date.parse(iso)) / 1000) : '—');
  const loginOfAgent = (login: string | null): string =>
    login ? `${login} ${agents.find((a) => a.login === login)?.name ?? ''}` : '—';

  return (
    <div className="board">
      <section className="card">
        <h2>
          {t.agents}{' '}
          <span className={`live ${connected ? 'on' : 'off'}`} data-testid="live-indicator">
            {connected ? t.live : t.offline}
          </span>
        </h2>
        <table data-testid="agents-table">
          <TableHead columns={[t.login, t.name, t.state, t.inState, t.contact]} />
          <tbody>
            {agents.map((a) => (
              <tr key={a.login} data-testid={`agent-${a.login}`}>
                <td>{a.login}</td>
                <td>{a.name}</td>
                <td>
                  <span
                    className={`state state-${a.state}`}
                    data-testid={`agent-${a.login}-state`}
                    data-state={a.state}
                  >
                    {t.states[a.state]}
                  </span>
                </td>
                <td className="num" data-testid={`agent-${a.login}-since`}>
                  {a.state === 'logged_out' ? '—' : since(a.stateSince)}
                </td>
                <td>{a.contact}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card">
        <h2>{t.queues}</h2>
        <table data-testid="queues-table">
          <TableHead columns={[t.department, t.waiting, t.longestWait, t.ready, t.loggedIn]} />
          <tbody>
            {queues.map((q) => (
              <tr key={q.departmentId}>
                <td>
                  {q.code} {q.name}
                </td>
                <td className={`num ${q.waiting ? 'warn' : ''}`}>{q.waiting}</td>
                <td className="num">{q.waiting ? duration(q.longestWaitSeconds) : '—'}</td>
                <td className="num">{q.readyAgents}</td>
                <td className="num">{q.loggedInAgents}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card">
        <h2>{t.liveCalls}</h2>
        {calls.length === 0 ? (
          <p className="muted">{t.noLiveCalls}</p>
        ) : (
          <table data-testid="calls-table">
            <TableHead columns={[t.caller, t.hotline, t.department, t.state, t.agent, t.wait]} />
            <tbody>
              {calls.map((c) => (
                <tr key={c.id}>
                  <td>{c.callerId}</td>
                  <td>{c.hotline}</td>
                  <td>{c.department}</td>
                  <td>{c.state}</td>
                  <td>{loginOfAgent(c.agentLogin)}</td>
                  <td className="num">{duration(c.waitingSeconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
