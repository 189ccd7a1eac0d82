import { useCallback, useEffect, useState } from 'react';
import { type Company, type Summary, get } from '../api.ts';
import { percent, useT } from '../i18n.tsx';
import { DateRange, TableHead, errorMessage } from '../ui.tsx';
import { localInput } from './Calls.tsx';

export function Report({ company }: { company: Company }) {
  const t = useT();
  const [range, setRange] = useState(() => {
    const start = new Date();
    start.setHours(0, 0, 0, 0);
    return { from: localInput(start.getTime()), to: localInput(start.getTime() + 24 * 3600_000) };
  });
  const [summary, setSummary] = useState<Summary | null>(null);
  const [error, setError] = useState('');

  const load = useCallback(async (): Promise<void> => {
    try {
      setError('');
      const q = new URLSearchParams({
        companyId: String(company.id),
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
      });
      setSummary(await get<Summary>(`/api/v1/reports/summary?${q.toString()}`));
    } catch (err) {
      setError(errorMessage(err));
    }
  }, [company.id, range]);

  useEffect(() => {
    void load();
  }, [company.id]);

  return (
    <div className="report">
      <section className="card">
        <form
          className="inline filters"
          onSubmit={(e) => {
            e.preventDefault();
            void load();
          }}
        >
          <DateRange range={range} setRange={setRange} />
          <button type="submit">{t.show}</button>
        </form>
        {error && <p className="error">{error}</p>}
        {summary && (
          <div className="kpis" data-testid="report-kpis">
            <Kpi
              label={`${t.serviceLevel} (${summary.serviceLevelSeconds} ${t.sec})`}
              value={percent(summary.serviceLevel)}
            />
            <Kpi label={t.callsTotal} value={String(summary.calls)} />
            <Kpi label={t.answered} value={String(summary.answered)} />
            <Kpi label={t.abandoned} value={String(summary.abandoned)} />
            <Kpi label={t.abandonRate} value={percent(summary.abandonRate)} />
            <Kpi
              label={t.asa}
              value={summary.averageSpeedOfAnswer === null ? '—' : String(summary.averageSpeedOfAnswer)}
            />
            <Kpi
              label={t.aht}
              value={summary.averageHandleTime === null ? '—' : String(summary.averageHandleTime)}
            />
          </div>
        )}
      </section>
      {summary && (
        <section className="card">
          <h2>{t.callsByHour}</h2>
          <HourChart hours={summary.hours} />
          <p className="legend">
            <span className="swatch answered" /> {t.answered} <span className="swatch abandoned" />{' '}
            {t.abandoned} <span className="swatch other" /> {t.callsTotal} <span className="swatch sl" />{' '}
            {t.serviceLevel}
          </p>
        </section>
      )}
      {summary && (
        <section className="card">
          <h2>{t.agents}</h2>
          <table>
            <TableHead columns={[t.login, t.answered, t.talkTime, t.loggedInTime, t.occupancy]} />
            <tbody>
              {summary.agents.map((a) => (
                <tr key={a.login}>
                  <td>{a.login}</td>
                  <td className="num">{a.answered}</td>
                  <td className="num">{a.talkSeconds}</td>
                  <td className="num">{Math.round(a.loggedInSeconds / 60)}</td>
                  <td className="num">{percent(a.occupancy)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

function Kpi({ label, value }: { label: string; value: string }) {
  return (
    <div className="kpi">
      <div className="value">{value}</div>
      <div className="label">{label}</div>
    </div>
  );
}

/** Stacked bars (answered, abandoned, other) per hour and the hour's service level as a line. Plain SVG. */
function HourChart({ hours }: { hours: Summary['hours'] }) {
  const W = 900;
  const H = 260;
  const pad = { l: 36, r: 40, t: 12, b: 28 };
  const n = Math.max(1, hours.length);
  const max = Math.max(1, ...hours.map((h) => h.calls));
  const bw = (W - pad.l - pad.r) / n;
  const y = (v: number): number => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const ySl = (v: number): number => pad.t + (H - pad.t - pad.b) * (1 - v);
  const points = hours
    .map((h, i) => (h.serviceLevel === null ? null : `${pad.l + bw * (i + 0.5)},${ySl(h.serviceLevel)}`))
    .filter((p): p is string => p !== null);
  const ticks = [0, Math.ceil(max / 2), max];
  return (
    <svg viewBox={`0 0 ${W} ${H}`} className="chart" role="img" data-testid="hour-chart">
      {ticks.map((v) => (
        <g key={v}>
          <line x1={pad.l} x2={W - pad.r} y1={y(v)} y2={y(v)} className="grid" />
          <text x={pad.l - 6} y={y(v) + 4} textAnchor="end">
            {v}
          </text>
        </g>
      ))}
      {[0, 0.5, 1].map((v) => (
        <text key={v} x={W - pad.r + 6} y={ySl(v) + 4} className="sl-axis">
          {Math.round(v * 100)}%
        </text>
      ))}
      {hours.map((h, i) => {
        const x = pad.l + bw * i + bw * 0.15;
        const w = bw * 0.7;
        const other = h.calls - h.answered - h.abandoned;
        let top = y(0);
        const seg = (v: number, cls: string) => {
          if (v <= 0) return null;
          const hgt = y(0) - y(v);
          top -= hgt;
          return <rect key={cls} x={x} y={top} width={w} height={hgt} className={cls} />;
        };
        const hour = new Date(h.hour).getHours();
        return (
          <g key={h.hour}>
            <title>{`${hour}:00 — ${h.calls} / ${h.answered} / ${h.abandoned}`}</title>
            {seg(h.answered, 'answered')}
            {seg(h.abandoned, 'abandoned')}
            {seg(other, 'other')}
            {(n <= 24 || i % Math.ceil(n / 24) === 0) && (
              <text x={x + w / 2} y={H - 10} textAnchor="middle">
                {hour}
              </text>
            )}
          </g>
        );
      })}
      {points.length > 0 && <polyline points={points.join(' ')} className="sl" />}
      {points.map((p) => {
        const [cx, cy] = p.split(',');
        return <circle key={p} cx={cx} cy={cy} r={3} className="sl-dot" />;
      })}
    </svg>
  );
}
