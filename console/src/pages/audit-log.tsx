import { useState } from 'preact/hooks';
import { FilterButtons, useFilters } from '../components/filters';
import type { AuditEntry } from '../api/types';
import { Diff } from '../components/diff';
import { More } from '../components/more';
import { useList } from '../components/use-list';
import { VerifyRecord } from '../components/verify-record';
import { formatTime, t } from '../i18n';
import { ErrorMessage } from '../components/messages';

const ENTITY_TYPES = ['User', 'Auth', 'ActivityLog', 'AuditLog', 'ApiKey', 'Webhook'];
const ACTIONS = [
  'CREATE',
  'UPDATE',
  'DELETE',
  'RESTORE',
  'LOGIN_SUCCESS',
  'LOGIN_FAILED',
  'LOGOUT',
  'PASSWORD_CHANGE',
  'RETENTION',
];

interface Filters {
  action: string;
  entityType: string;
  entityId: string;
  userId: string;
  from: string;
  to: string;
}

const NONE: Filters = { action: '', entityType: '', entityId: '', userId: '', from: '', to: '' };

function query(filters: Filters): string {
  const params = new URLSearchParams();
  if (filters.action) params.set('action', filters.action);
  if (filters.entityType) params.set('entity_type', filters.entityType);
  if (filters.entityId.trim()) params.set('entity_id', filters.entityId.trim());
  if (filters.userId.trim()) params.set('user_id', filters.userId.trim());
  if (filters.from) params.set('start_date', filters.from);
  if (filters.to) params.set('end_date', filters.to);
  return params.toString();
}

/** The audit trail (ADMIN): its entries with filters, each with its changes as a diff and `Verify`. */
export function AuditLogPage() {
  const { filters, field, apply, clear } = useFilters(NONE);
  const [open, setOpen] = useState<number | null>(null);
  const entries = useList<AuditEntry>(`/audit-logs?${query(filters)}`);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">{t('auditLog')}</h1>
      <form class="filters" aria-label={t('filters')} onSubmit={apply}>
        <label>
          {t('action')}
          <select {...field('action')}>
            <option value="">{t('any')}</option>
            {ACTIONS.map((action) => (
              <option key={action}>{action}</option>
            ))}
          </select>
        </label>
        <label>
          {t('entityType')}
          <select {...field('entityType')}>
            <option value="">{t('any')}</option>
            {ENTITY_TYPES.map((type) => (
              <option key={type}>{type}</option>
            ))}
          </select>
        </label>
        <label>
          {t('entityId')}
          <input type="text" {...field('entityId')} />
        </label>
        <label>
          {t('userId')}
          <input type="number" min="1" {...field('userId')} />
        </label>
        <label>
          {t('from')}
          <input type="date" {...field('from')} />
        </label>
        <label>
          {t('to')}
          <input type="date" {...field('to')} />
        </label>
        <FilterButtons onClear={clear} />
      </form>
      <ErrorMessage text={entries.error} />
      <table class="audit">
        <thead>
          <tr>
            <th scope="col">{t('time')}</th>
            <th scope="col">{t('action')}</th>
            <th scope="col">{t('entity')}</th>
            <th scope="col">{t('by')}</th>
            <th scope="col">{t('changes')}</th>
          </tr>
        </thead>
        <tbody>
          {entries.rows.map((entry) => (
            <tr key={entry.id}>
              <td>{formatTime(entry.created_at)}</td>
              <td>{entry.action}</td>
              <td>
                {entry.entity_type} {entry.entity_id ?? ''}
              </td>
              <td>{entry.username ?? ''}</td>
              <td>
                <button
                  type="button"
                  class="link"
                  aria-expanded={open === entry.id}
                  onClick={() => setOpen(open === entry.id ? null : entry.id)}
                >
                  {t('showChanges', { id: entry.id })}
                </button>
                {open === entry.id && (
                  <div class="entry">
                    <Diff before={entry.old_values} after={entry.new_values} />
                    <VerifyRecord kind="audit" id={entry.id} />
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <More more={entries.more} loading={entries.loading} />
    </section>
  );
}
