import { useCallback, useEffect, useState } from 'react';
import {
  type CallJourney,
  type Cdr,
  type Company,
  type Department,
  type JourneyEvent,
  download,
  get,
} from '../api.ts';
import { type T, duration, useT } from '../i18n.tsx';
import { DateRange, TableHead, errorMessage } from '../ui.tsx';

const OUTCOMES = ['answered', 'abandoned', 'overflow', 'no_agents', 'transferred', 'failed'];
const PAGE_SIZE = 25;

/** The call whose journey is open: `#calls/<id>`. */
function journeyFromHash(): string | null {
  const m = /^#\/?calls\/(.+)$/.exec(location.hash);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

/** `YYYY-MM-DDTHH:mm` in local time, for datetime-local inputs. */
export function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function Calls({ company }: { company: Company }) {
  const t = useT();
  const [filters, setFilters] = useState({
    from: localInput(Date.now() - 24 * 3600_000),
    to: localInput(Date.now() + 3600_000),
    outcome: '',
    department: '',
    agent: '',
  });
  const [page, setPage] = useState(1);
  const [result, setResult] = useState<{ calls: Cdr[]; total: number }>({ calls: [], total: 0 });
  const [departments, setDepartments] = useState<Department[]>([]);
  const [error, setError] = useState('');
  const [journeyId, setJourneyId] = useState<string | null>(journeyFromHash);
  useEffect(() => {
    const onHash = (): void => setJourneyId(journeyFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const query = useCallback(
    (p: number): string => {
      const q = new URLSearchParams({
        companyId: String(company.id),
        page: String(p),
        pageSize: String(PAGE_SIZE),
      });
      if (filters.from) q.set('from', new Date(filters.from).toISOString());
      if (filters.to) q.set('to', new Date(filters.to).toISOString());
      if (filters.outcome) q.set('outcome', filters.outcome);
      if (filters.department) q.set('department', filters.department);
      if (filters.agent) q.set('agent', filters.agent);
      return q.toString();
    },
    [company.id, filters],
  );

  const load = useCallback(
    async (p: number): Promise<void> => {
      try {
        setError('');
        setResult(await get<{ calls: Cdr[]; total: number }>(`/api/v1/calls?${query(p)}`));
        setPage(p);
      } catch (err) {
        setError(errorMessage(err));
      }
    },
    [query],
  );

  useEffect(() => {
    void get<{ departments: Department[] }>(`/api/v1/companies/${company.id}/departments`).then((r) =>
      setDepartments(r.departments),
    );
  }, [company.id]);
  useEffect(() => {
    void load(1);
    // Only on entering the page or changing company; filters apply with the button.
  }, [company.id]);

  const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
  const time = (iso: string | null): string => (iso ? new Date(iso).toLocaleString() : '—');

  return (
    <section className="card">
      <h2>{t.calls}</h2>
      <form
        className="inline filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load(1);
        }}
      >
        <DateRange range={filters} setRange={setFilters} />
        <label>
          {t.outcome}{' '}
          <select
            value={filters.outcome}
            onChange={(e) => setFilters({ ...filters, outcome: e.target.value })}
          >
            <option value="">{t.any}</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {t.outcomes[o] ?? o}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t.department}{' '}
          <select
            value={filters.department}
            onChange={(e) => setFilters({ ...filters, department: e.target.value })}
          >
            <option value="">{t.any}</option>
            {departments.map((d) => (
              <option key={d.code} value={d.code}>
                {d.code} {d.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t.agent}{' '}
          <input
            className="short"
            value={filters.agent}
            onChange={(e) => setFilters({ ...filters, agent: e.target.value })}
          />
        </label>
        <button type="submit">{t.search}</button>
        <button type="button" onClick={() => void download(`/api/v1/calls.csv?${query(1)}`, 'calls.csv')}>
          {t.exportCsv}
        </button>
      </form>
      {error && <p className="error">{error}</p>}
      <table data-testid="cdr-table">
        <TableHead
          columns={[
            t.started,
            t.caller,
            t.hotline,
            t.department,
            t.outcome,
            t.queueTime,
            t.talkTime,
            t.agents,
            t.transfers,
            '',
          ]}
        />
        <tbody>
          {result.calls.map((c) => (
            <tr key={c.id}>
              <td>{time(c.startedAt)}</td>
              <td>{c.callerId}</td>
              <td>{c.hotline}</td>
              <td>{c.departments.length > 1 ? c.departments.join(' → ') : (c.department ?? '')}</td>
              <td>{c.outcome ? (t.outcomes[c.outcome] ?? c.outcome) : '…'}</td>
              <td className="num">{c.queueSeconds ?? '—'}</td>
              <td className="num">{c.talkSeconds}</td>
              <td>{c.agentLogins.join(', ')}</td>
              <td className="num">{c.transfers}</td>
              <td>
                <a href={`#calls/${encodeURIComponent(c.id)}`} data-testid={`journey-link-${c.id}`}>
                  {t.journey}
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {journeyId && <Journey id={journeyId} />}
      <div className="pager">
        <button type="button" disabled={page <= 1} onClick={() => void load(page - 1)}>
          {t.prev}
        </button>{' '}
        {t.page} {page} / {pages} ({result.total} {t.total}){' '}
        <button type="button" disabled={page >= pages} onClick={() => void load(page + 1)}>
          {t.next}
        </button>
      </div>
    </section>
  );
}

/** A call's journey as a timeline: each event with its time, department and agent. */
function Journey({ id }: { id: string }) {
  const t = useT();
  const [call, setCall] = useState<CallJourney | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    setCall(null);
    setError('');
    get<CallJourney>(`/api/v1/calls/${encodeURIComponent(id)}`).then(setCall, (err: unknown) =>
      setError(errorMessage(err)),
    );
  }, [id]);
  return (
    <section className="card journey" data-testid="journey">
      <h3>
        {t.journeyOf} {call?.callerId ?? ''}{' '}
        <a href="#calls" className="close">
          {t.close}
        </a>
      </h3>
      {error && <p className="error">{error}</p>}
      {call && (
        <>
          <p>
            {t.departmentsOnTheWay}:{' '}
            <span data-testid="journey-departments">{call.departments.join(' → ')}</span>
            {' · '}
            {t.outcome}: {call.outcome ? (t.outcomes[call.outcome] ?? call.outcome) : '…'}
            {call.agentTalk.length > 0 && (
              <>
                {' · '}
                {t.talkTime}: {call.agentTalk.map((a) => `${a.agent} ${a.talkSeconds}`).join(', ')}
              </>
            )}
          </p>
          <ol className="timeline" data-testid="journey-events">
            {call.events.map((e, i) => (
              <li key={i} data-kind={e.kind}>
                <time dateTime={e.at}>{new Date(e.at).toLocaleTimeString()}</time>{' '}
                <strong>{t.journeyKinds[e.kind] ?? e.kind}</strong>
                {e.department && <span className="tag">{`${t.department} ${e.department}`}</span>}
                {e.agent && <span className="tag">{`${t.agent} ${e.agent}`}</span>}
                {e.supervisor && <span className="tag">{`${t.supervisor} ${e.supervisor}`}</span>}
                {eventDetail(e, t) && <span className="detail">{eventDetail(e, t)}</span>}
              </li>
            ))}
          </ol>
          {call.recordings.length > 0 && (
            <>
              <h4>{t.recordings}</h4>
              <ul className="recordings" data-testid="journey-recordings">
                {call.recordings.map((r) => (
                  <li key={r.id}>
                    <time dateTime={r.startedAt}>{new Date(r.startedAt).toLocaleTimeString()}</time>{' '}
                    {r.durationMs !== null && duration(Math.round(r.durationMs / 1000))}{' '}
                    {r.endedAt === null ? '…' : <RecordingPlayer url={r.url} id={r.id} />}
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}

/**
 * A recording's player: the browser fetches the WAV itself with the console's session cookie
 * (same origin, no token in the URL) and seeks with range requests; a download link beside it.
 */
function RecordingPlayer({ url, id }: { url: string; id: number }) {
  const t = useT();
  const [failed, setFailed] = useState(false);
  return (
    <>
      <audio
        controls
        preload="metadata"
        src={url}
        data-testid={`recording-${id}`}
        onError={() => setFailed(true)}
      />{' '}
      <a href={url} download={`recording-${id}.wav`}>
        WAV
      </a>
      {failed && <span className="error">{t.recordingFailed}</span>}
    </>
  );
}

/** What else an event says: a transfer's target and mode, the customer's key, the outcome. */
function eventDetail(e: JourneyEvent, t: T): string {
  // The wait before an answer or a hang-up in the queue, the outcome in words; the rest as sent.
  const waited = (e.kind === 'answered' || e.kind === 'abandoned') && e.detail;
  const detail = waited
    ? `${t.wait} ${duration(Number(e.detail))}`
    : e.kind === 'ended' && e.detail
      ? (t.outcomes[e.detail] ?? e.detail)
      : e.detail;
  const parts = [e.target && `→ ${e.target}`, e.mode, e.choice && `[${e.choice}]`, detail];
  return parts.filter(Boolean).join(' ');
}
