import { useState } from 'preact/hooks';
import { call } from '../api/client';
import { CopyButton } from '../components/copy-button';
import { More } from '../components/more';
import { messageOf, useList } from '../components/use-list';
import { formatTime, t } from '../i18n';
import { ActionsHeader, ErrorMessage } from '../components/messages';

interface Endpoint {
  id: number;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  createdAt: string;
  secret?: string;
}

interface Attempt {
  id: number;
  eventId: string;
  eventType: string;
  attempt: number;
  status: 'pending' | 'succeeded' | 'failed';
  responseStatus: number | null;
  durationMs: number | null;
  error: string | null;
  createdAt: string;
  nextAttemptAt: string | null;
}

const EVENTS = [
  'activity.created',
  'activity.updated',
  'activity.deleted',
  'activity.restored',
  'audit.created',
  'ledger.checkpoint',
  'webhook.test',
];

/** An endpoint's attempt log, newest first. */
function Attempts({ endpoint }: { endpoint: Endpoint }) {
  const attempts = useList<Attempt>(`/webhooks/${endpoint.id}/deliveries`);
  return (
    <div class="entry">
      <h3>{t('attemptsOf', { url: endpoint.url })}</h3>
      <button type="button" class="secondary" onClick={attempts.reload}>
        {t('refresh')}
      </button>
      {attempts.error && <p class="error">{attempts.error}</p>}
      {attempts.rows.length === 0 && !attempts.loading ? (
        <p>{t('noAttempts')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('time')}</th>
              <th scope="col">{t('event')}</th>
              <th scope="col">{t('attempt')}</th>
              <th scope="col">{t('status')}</th>
              <th scope="col">{t('answer')}</th>
              <th scope="col">{t('nextAttempt')}</th>
            </tr>
          </thead>
          <tbody>
            {attempts.rows.map((row) => (
              <tr key={row.id}>
                <td>{formatTime(row.createdAt)}</td>
                <td>
                  {row.eventType} <code>{row.eventId}</code>
                </td>
                <td>{row.attempt}</td>
                <td>{t(`delivery.${row.status}`)}</td>
                <td>
                  {row.responseStatus ?? ''} {row.error ?? ''} {row.durationMs !== null ? `(${row.durationMs} ms)` : ''}
                </td>
                <td>{row.nextAttemptAt ? formatTime(row.nextAttemptAt) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <More more={attempts.more} loading={attempts.loading} />
    </div>
  );
}

/** Webhook endpoints (ADMIN): create (the secret shown once), enable or disable, test, replay, the attempt log. */
export function WebhooksPage() {
  const endpoints = useList<Endpoint>('/webhooks');
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['activity.created']);
  const [description, setDescription] = useState('');
  const [created, setCreated] = useState<Endpoint | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [since, setSince] = useState('');

  const run = async (work: () => Promise<void>) => {
    endpoints.setError(null);
    setNotice(null);
    try {
      await work();
    } catch (failure) {
      endpoints.setError(messageOf(failure));
    }
  };

  const create = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const body: Record<string, unknown> = { url, events };
      if (description.trim()) body.description = description.trim();
      setCreated(await call<Endpoint>('POST', '/webhooks', body));
      setUrl('');
      setDescription('');
      endpoints.reload();
    });
  };

  const toggle = (endpoint: Endpoint) =>
    run(async () => {
      const changed = await call<Endpoint>('PATCH', `/webhooks/${endpoint.id}`, { enabled: !endpoint.enabled });
      endpoints.setRows(endpoints.rows.map((row) => (row.id === changed.id ? changed : row)));
    });

  const test = (endpoint: Endpoint) =>
    run(async () => {
      const { eventId } = await call<{ eventId: string }>('POST', `/webhooks/${endpoint.id}/test`);
      setNotice(t('testSent', { id: eventId }));
    });

  const replay = (endpoint: Endpoint) =>
    run(async () => {
      const from = since ? new Date(since) : new Date(Date.now() - 86_400_000);
      const answer = await call<{ events: number }>('POST', `/webhooks/${endpoint.id}/replay`, {
        since: from.toISOString(),
      });
      setNotice(t('replayed', { count: answer.events }));
    });

  const remove = (endpoint: Endpoint) =>
    run(async () => {
      if (!window.confirm(t('confirmDeleteEndpoint', { url: endpoint.url }))) return;
      await call('DELETE', `/webhooks/${endpoint.id}`);
      endpoints.setRows(endpoints.rows.filter((row) => row.id !== endpoint.id));
    });

  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">{t('webhooks')}</h1>
      <form class="filters" aria-label={t('createEndpoint')} onSubmit={create}>
        <label>
          {t('url')}
          <input type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>{t('events')}</legend>
          {EVENTS.map((type) => (
            <label key={type} class="inline">
              <input
                type="checkbox"
                checked={events.includes(type)}
                onChange={(e) =>
                  setEvents(e.currentTarget.checked ? [...events, type] : events.filter((item) => item !== type))
                }
              />
              {type}
            </label>
          ))}
        </fieldset>
        <label>
          {t('description')}
          <input
            type="text"
            maxLength={500}
            value={description}
            onInput={(e) => setDescription(e.currentTarget.value)}
          />
        </label>
        <div class="buttons">
          <button type="submit" disabled={!events.length}>
            {t('createEndpoint')}
          </button>
        </div>
      </form>
      {created?.secret && (
        <div class="secret" role="status">
          <p>{t('secretShownOnce', { url: created.url })}</p>
          <code>{created.secret}</code> <CopyButton text={created.secret} />
        </div>
      )}
      <label class="replay-since">
        {t('replaySince')}
        <input type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
      </label>
      <p aria-live="polite">{notice}</p>
      <ErrorMessage text={endpoints.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">{t('url')}</th>
            <th scope="col">{t('events')}</th>
            <th scope="col">{t('status')}</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {endpoints.rows.map((endpoint) => (
            <tr key={endpoint.id}>
              <td>
                {endpoint.url}
                {endpoint.description && <div class="muted">{endpoint.description}</div>}
              </td>
              <td>{endpoint.events.join(', ')}</td>
              <td>{endpoint.enabled ? t('enabled') : t('disabled')}</td>
              <td class="buttons">
                <button type="button" class="secondary" onClick={() => void toggle(endpoint)}>
                  {endpoint.enabled ? t('disable') : t('enable')}
                </button>
                <button type="button" class="secondary" onClick={() => void test(endpoint)}>
                  {t('sendTest')}
                </button>
                <button type="button" class="secondary" onClick={() => void replay(endpoint)}>
                  {t('replay')}
                </button>
                <button
                  type="button"
                  class="secondary"
                  aria-expanded={open === endpoint.id}
                  onClick={() => setOpen(open === endpoint.id ? null : endpoint.id)}
                >
                  {t('attempts')}
                </button>
                <button type="button" class="danger" onClick={() => void remove(endpoint)}>
                  {t('delete')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <More more={endpoints.more} loading={endpoints.loading} />
      {open !== null && endpoints.rows.some((row) => row.id === open) && (
        <Attempts key={open} endpoint={endpoints.rows.find((row) => row.id === open)!} />
      )}
    </section>
  );
}
