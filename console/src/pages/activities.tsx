import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { FilterButtons, useFilters } from '../components/filters';
import { ApiError, download, list } from '../api/client';
import { session } from '../api/session';
import { Activity, STATUSES, TARGET_TYPES } from '../api/types';
import { DayChart, DayCount } from '../components/day-chart';
import { formatNumber, formatTime, t } from '../i18n';
import type { MessageKey } from '../i18n/en';
import { ActivityDetails } from './activity-details';
import { ErrorMessage } from '../components/messages';

interface Filters {
  action: string;
  status: string;
  targetType: string;
  from: string;
  to: string;
  q: string;
}

const NO_FILTERS: Filters = { action: '', status: '', targetType: '', from: '', to: '', q: '' };
const PAGE_SIZE = 50;
/** The chart shows at most this many days: the last ones of the range. */
const CHART_DAYS = 31;
/** Without a range, the chart shows the last two weeks. */
const DEFAULT_DAYS = 14;

const day = (date: Date) => date.toISOString().slice(0, 10);

/** The list's query for `filters` (no paging). */
function query(filters: Filters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.action.trim()) params.set('action', filters.action.trim());
  if (filters.status) params.set('status', filters.status);
  if (filters.targetType) params.set('targetType', filters.targetType);
  if (filters.from) params.set('start', filters.from);
  if (filters.to) params.set('end', filters.to);
  if (filters.q.trim()) params.set('q', filters.q.trim());
  return params;
}

/** The days the chart covers: the filtered range, or the last two weeks; at most CHART_DAYS. */
function chartDays(filters: Filters): string[] {
  const end = filters.to ? new Date(`${filters.to}T00:00:00Z`) : new Date();
  const start = filters.from
    ? new Date(`${filters.from}T00:00:00Z`)
    : new Date(end.getTime() - (DEFAULT_DAYS - 1) * 86_400_000);
  const days: string[] = [];
  for (let at = end.getTime(); at >= start.getTime() && days.length < CHART_DAYS; at -= 86_400_000) {
    days.unshift(day(new Date(at)));
  }
  return days;
}

/** Per day, how many activities match: the total of a one-row page for each day, asked all at once. */
async function countPerDay(filters: Filters): Promise<DayCount[]> {
  return Promise.all(
    chartDays(filters).map(async (date) => {
      const params = query(filters);
      params.set('start', date);
      params.set('end', date);
      params.set('limit', '1');
      const page = await list<Activity>(`/activities?${params}`);
      return { day: date, count: page.meta.totalItems ?? 0 };
    }),
  );
}

export function ActivitiesPage() {
  const { filters, field, apply, clear } = useFilters(NO_FILTERS);
  const [rows, setRows] = useState<Activity[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [days, setDays] = useState<DayCount[]>([]);
  const [open, setOpen] = useState<Activity | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const generation = useRef(0);

  const load = useCallback(async (next: Filters, after: string | null) => {
    const mine = generation.current;
    setLoading(true);
    setError(null);
    try {
      const params = query(next);
      params.set('limit', String(PAGE_SIZE));
      if (after) params.set('cursor', after);
      const page = await list<Activity>(`/activities?${params}`);
      if (mine !== generation.current) return;
      setRows((before) => (after ? [...before, ...page.data] : page.data));
      if (!after) setTotal(page.meta.totalItems);
      setCursor(page.meta.nextCursor);
    } catch (failure) {
      if (mine === generation.current) setError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    generation.current += 1;
    setRows([]);
    setCursor(null);
    const mine = generation.current;
    // The chart's requests wait for the first page: the rows are what the reader came for.
    void load(filters, null)
      .then(() => countPerDay(filters))
      .then(
        (counts) => mine === generation.current && setDays(counts),
        () => mine === generation.current && setDays([]),
      );
  }, [filters, load]);

  // The next page as the end of the table scrolls into view.
  useEffect(() => {
    const target = sentinel.current;
    if (!target || !cursor) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting) && !loading) void load(filters, cursor);
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [cursor, loading, filters, load]);

  const exportAs = async (format: 'csv' | 'ndjson') => {
    try {
      const params = query(filters);
      params.set('format', format);
      const file = await download(`/activities/export?${params}`);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(file.blob);
      link.download = file.name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    }
  };

  const changed = (activity: Activity) => {
    setRows((before) => before.map((row) => (row.id === activity.id ? activity : row)));
    setOpen(activity);
  };

  return (
    <section aria-labelledby="activities-title">
      <h1 id="activities-title">{t('activities')}</h1>
      <form class="filters" aria-label={t('filters')} onSubmit={apply}>
        <label>
          {t('action')}
          <input type="text" name="action" {...field('action')} />
        </label>
        <label>
          {t('status')}
          <select name="status" {...field('status')}>
            <option value="">{t('any')}</option>
            {STATUSES.map((status) => (
              <option key={status} value={status}>
                {t(`status.${status}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('targetType')}
          <select name="targetType" {...field('targetType')}>
            <option value="">{t('any')}</option>
            {TARGET_TYPES.map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('from')}
          <input type="date" name="from" {...field('from')} />
        </label>
        <label>
          {t('to')}
          <input type="date" name="to" {...field('to')} />
        </label>
        <label>
          {t('text')}
          <input type="search" name="q" {...field('q')} />
        </label>
        <FilterButtons onClear={clear} />
      </form>

      <DayChart days={days} />

      <div class="toolbar">
        <span aria-live="polite">{total !== null && t('count', { count: formatNumber(total) })}</span>
        <button type="button" class="secondary" onClick={() => void exportAs('csv')}>
          {t('exportCsv')}
        </button>
        <button type="button" class="secondary" onClick={() => void exportAs('ndjson')}>
          {t('exportNdjson')}
        </button>
      </div>

      <ErrorMessage text={error} />

      <table class="activities">
        <thead>
          <tr>
            <th scope="col">{t('time')}</th>
            <th scope="col">{t('action')}</th>
            <th scope="col">{t('status')}</th>
            <th scope="col">{t('actor')}</th>
            <th scope="col">{t('target')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} class={row.deletedAt ? 'deleted' : undefined}>
              <td>{formatTime(row.timestamp)}</td>
              <td>
                <button type="button" class="link" onClick={() => setOpen(row)}>
                  {row.action}
                </button>
              </td>
              <td>
                <span class={`status status-${row.status}`}>{t(`status.${row.status}` as MessageKey)}</span>
              </td>
              <td>{row.actor?.name ?? row.actor?.email ?? ''}</td>
              <td>{row.target ? [row.target.type, row.target.name].filter(Boolean).join(' · ') : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && rows.length === 0 && !error && <p>{t('noActivities')}</p>}
      <div ref={sentinel} class="sentinel" />
      {cursor ? (
        <button type="button" class="secondary" disabled={loading} onClick={() => void load(filters, cursor)}>
          {loading ? t('loading') : t('loadMore')}
        </button>
      ) : (
        rows.length > 0 && <p class="muted">{t('endOfList')}</p>
      )}
      {open && (
        <ActivityDetails
          activity={open}
          admin={session()?.user.role === 'ADMIN'}
          onChange={changed}
          onClose={() => setOpen(null)}
        />
      )}
    </section>
  );
}
