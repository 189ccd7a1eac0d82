/** Small pieces the console's pages share. */
import { useT } from './i18n.tsx';

/** What to show of a failed request: the error's message. */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A table's header row of `columns` (an empty string gives an empty cell). */
export function TableHead({ columns }: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c, i) => (
          <th key={i}>{c}</th>
        ))}
      </tr>
    </thead>
  );
}

/** The from / to datetime-local inputs of a filter form. */
export function DateRange<R extends { from: string; to: string }>({
  range,
  setRange,
}: {
  range: R;
  setRange: (r: R) => void;
}) {
  const t = useT();
  return (
    <>
      <label>
        {t.from}{' '}
        <input
          type="datetime-local"
          value={range.from}
          onChange={(e) => setRange({ ...range, from: e.target.value })}
        />
      </label>
      <label>
        {t.to}{' '}
        <input
          type="datetime-local"
          value={range.to}
          onChange={(e) => setRange({ ...range, to: e.target.value })}
        />
      </label>
    </>
  );
}
