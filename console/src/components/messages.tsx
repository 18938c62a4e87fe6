import { t } from '../i18n';

/** An error as the page shows it: announced at once to screen readers; nothing when there is none. */
export function ErrorMessage({ text }: { text: string | null | undefined }) {
  if (!text) return null;
  return (
    <p role="alert" class="error">
      {text}
    </p>
  );
}

/** The header of a table's last column, which holds each row's buttons: named for screen readers only. */
export function ActionsHeader() {
  return (
    <th scope="col">
      <span class="visually-hidden">{t('actions')}</span>
    </th>
  );
}
