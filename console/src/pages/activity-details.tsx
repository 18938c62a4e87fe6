import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, list } from '../api/client';
import { Activity, AuditEntry, NEXT_STATUSES } from '../api/types';
import { formatTime, t } from '../i18n';
import type { MessageKey } from '../i18n/en';
import { VerifyRecord } from '../components/verify-record';
import { ErrorMessage } from '../components/messages';

interface Props {
  activity: Activity;
  /** An ADMIN reads the status history from the audit trail. */
  admin: boolean;
  onChange: (activity: Activity) => void;
  onClose: () => void;
}

const statusLabel = (status: string) => t(`status.${status}` as MessageKey);

/** An activity in a modal dialog: everything it holds, its history, and what may be done to it. */
export function ActivityDetails({ activity, admin, onChange, onClose }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [history, setHistory] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  useEffect(() => {
    if (!admin) return;
    const params = new URLSearchParams({
      entity_type: 'ActivityLog',
      entity_id: String(activity.id),
      sort_order: 'ASC',
      limit: '100',
    });
    list<AuditEntry>(`/audit-logs?${params}`).then(
      (page) => setHistory(page.data),
      () => setHistory([]),
    );
  }, [activity.id, activity.status, activity.deletedAt, admin]);

  /** Runs a change; the API's answer does not say whether the activity is deleted, so `deletedAt` is kept here. */
  const act = async (work: () => Promise<Activity>, deletedAt: string | null = activity.deletedAt ?? null) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      onChange({ ...(await work()), deletedAt });
      setNotice(t('saved'));
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  const deleted = Boolean(activity.deletedAt);
  return (
    <dialog ref={dialog} class="details" aria-labelledby="details-title" onClose={onClose}>
      <header>
        <h2 id="details-title">
          {activity.action} <span class="muted">#{activity.id}</span>
        </h2>
        <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
          {t('close')}
        </button>
      </header>
      <dl>
        <dt>{t('status')}</dt>
        <dd>
          <span class={`status status-${activity.status}`}>{statusLabel(activity.status)}</span>
          {deleted && <span class="status status-deleted">{t('deleted')}</span>}
        </dd>
        <dt>{t('time')}</dt>
        <dd>{formatTime(activity.timestamp)}</dd>
        <dt>{t('actor')}</dt>
        <dd>
          {activity.actor
            ? [activity.actor.name, activity.actor.email, activity.actor.role].filter(Boolean).join(' · ')
            : ''}
        </dd>
        <dt>{t('target')}</dt>
        <dd>
          {activity.target
            ? [activity.target.type, activity.target.model, activity.target.id, activity.target.name]
                .filter(Boolean)
                .join(' · ')
            : ''}
        </dd>
        <dt>{t('context')}</dt>
        <dd>
          <pre>{JSON.stringify(activity.context, null, 2)}</pre>
        </dd>
        <dt>{t('metadata')}</dt>
        <dd>
          <pre>{JSON.stringify(activity.metadata, null, 2)}</pre>
        </dd>
      </dl>
      {admin && (
        <section aria-labelledby="history-title">
          <h3 id="history-title">{t('history')}</h3>
          {history === null ? (
            <p>{t('loading')}</p>
          ) : history.length === 0 ? (
            <p>{t('noHistory')}</p>
          ) : (
            <ol class="history">
              {history.map((entry) => (
                <li key={entry.id}>
                  {formatTime(entry.created_at)}: {entry.action}
                  {entry.old_values?.status !== undefined &&
                    ` ${statusLabel(entry.old_values.status as string)} → ${statusLabel(entry.new_values?.status as string)}`}
                  {entry.username ? ` (${entry.username})` : ''}
                </li>
              ))}
            </ol>
          )}
        </section>
      )}
      <div class="buttons">
        {!deleted &&
          NEXT_STATUSES[activity.status].map((status) => (
            <button
              key={status}
              type="button"
              disabled={busy}
              onClick={() => void act(() => call<Activity>('PATCH', `/activities/${activity.id}/status`, { status }))}
            >
              {t('setStatus', { status: statusLabel(status) })}
            </button>
          ))}
        {deleted ? (
          <button
            type="button"
            disabled={busy}
            onClick={() => void act(() => call<Activity>('POST', `/activities/${activity.id}/restore`), null)}
          >
            {t('restore')}
          </button>
        ) : (
          <button
            type="button"
            class="danger"
            disabled={busy}
            onClick={() => {
              if (window.confirm(t('confirmDelete'))) {
                void act(() => call<Activity>('DELETE', `/activities/${activity.id}`), new Date().toISOString());
              }
            }}
          >
            {t('delete')}
          </button>
        )}
      </div>
      <VerifyRecord kind="activity" id={activity.id} />
      <p aria-live="polite">{notice}</p>
      <ErrorMessage text={error} />
    </dialog>
  );
}
